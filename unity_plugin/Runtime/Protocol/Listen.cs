// Live audio (docs/protocol.md section 5a): a `listen` stream takes audio the application has (a
// microphone, voice chat, another TTS) in pushes of any size, and the daemon answers every push with
// exactly one `frames` message (maybe with no frame), `events` when viseme segments closed, and `end`
// after the push marked last. ListenStream sends the pushes, keeps the number of unanswered ones
// bounded and turns the replies into typed objects; LiveAudioFeed cuts audio arriving in any block
// size into fixed pieces for it. Engine-free, like the rest of this assembly.
using System;
using System.Collections.Generic;
using System.Threading;

namespace AvatarLab.Protocol
{
    public enum LiveReplyKind { Start, Frames, Visemes, End, Error }

    /// <summary>A message of a listen stream, typed (what ListenStream.Apply returns).</summary>
    public abstract class LiveReply
    {
        public readonly DaemonMessage Message;
        protected LiveReply(DaemonMessage message) { Message = message; }
        public abstract LiveReplyKind Kind { get; }
    }

    /// <summary>`start`: the columns, the clock, and the delay the daemon promises.</summary>
    public sealed class LiveStart : LiveReply
    {
        public readonly StreamStart Start;
        public LiveStart(DaemonMessage m, StreamStart start) : base(m) { Start = start; }
        public override LiveReplyKind Kind { get { return LiveReplyKind.Start; } }
        public double MaxDelaySeconds { get { return Start.MaxDelaySeconds; } }
        public long MaxDelaySamples { get { return Start.MaxDelaySamples; } }
    }

    /// <summary>The one `frames` reply to a push: the frames that push released (maybe none).</summary>
    public sealed class LiveFrames : LiveReply
    {
        /// <summary>Which push this answers (0 for the first).</summary>
        public int PushIndex;
        public int StartFrame, NumFrames, NumChannels;
        public long SampleOffset;
        /// <summary>Samples pushed up to and including the push this answers; SamplesBefore: before it.</summary>
        public long SamplesIn, SamplesBefore;
        /// <summary>The reply to the push marked last (the stream's `end` follows).</summary>
        public bool IsLast;
        /// <summary>NumFrames x NumChannels, row-major (f16 curves are widened to float).</summary>
        public float[] Values;
        public LiveFrames(DaemonMessage m) : base(m) { }
        public override LiveReplyKind Kind { get { return LiveReplyKind.Frames; } }
    }

    public struct VisemeSegment
    {
        public string Viseme;
        /// <summary>Input samples from the stream's start; End is exclusive.</summary>
        public long Start, End;
        /// <summary>Segments counted from the start of the stream (the protocol's `phoneme` field).</summary>
        public long Index;
    }

    /// <summary>`events`: viseme segments that closed (a listen stream has no words or phonemes).</summary>
    public sealed class LiveVisemes : LiveReply
    {
        public readonly VisemeSegment[] Segments;
        public LiveVisemes(DaemonMessage m, VisemeSegment[] segments) : base(m) { Segments = segments; }
        public override LiveReplyKind Kind { get { return LiveReplyKind.Visemes; } }
    }

    /// <summary>`end.stats` of a listen stream.</summary>
    public struct LiveStats
    {
        public long AudioSamples, Frames, Pushes;
        public double AudioSeconds, ComputeMs, WorstPushMs, MaxDelaySeconds;
    }

    public sealed class LiveEnd : LiveReply
    {
        /// <summary>"ok" (after the last push) or "cancelled".</summary>
        public readonly string Status;
        public readonly LiveStats Stats;
        public LiveEnd(DaemonMessage m, string status, LiveStats stats) : base(m) { Status = status; Stats = stats; }
        public override LiveReplyKind Kind { get { return LiveReplyKind.End; } }
    }

    /// <summary>The stream's terminal `error` (from the daemon, or made locally: connection_lost, not_connected).</summary>
    public sealed class LiveError : LiveReply
    {
        public readonly string Code, Text, Field;
        public readonly bool Retryable;
        public LiveError(DaemonMessage m) : base(m)
        {
            Code = m.GetString("code"); Text = m.GetString("message"); Field = m.GetString("field"); Retryable = m.GetBool("retryable");
        }
        public bool IsLocal { get { return Message.IsLocal; } }
        public override LiveReplyKind Kind { get { return LiveReplyKind.Error; } }
    }

    /// <summary>
    /// One listen stream, made by DaemonConnection.Listen. Push audio with Push; take this stream's
    /// messages off the connection's queue and give them to Apply, which checks them against the
    /// protocol (one `frames` per push in order, contiguous frames, `samples_in`) and returns them typed.
    /// At most MaxPendingPushes pushes are unanswered at a time (the daemon fails a stream with
    /// `overrun` beyond its own limit): Push returns false, sending nothing, when that many wait.
    /// Not thread-safe: push and apply from one thread (Unity's main thread).
    /// </summary>
    public sealed class ListenStream
    {
        public const int DefaultMaxPendingPushes = 16;
        public const int MaxViolations = 100;

        public readonly string Id;
        public readonly ListenOptions Options;
        /// <summary>The rate and the wire format of the pushes (the options', or the protocol's defaults).</summary>
        public readonly int SampleRate;
        public readonly string AudioFormat;
        /// <summary>The most samples one push may hold (the daemon's max_push_s).</summary>
        public readonly int MaxPushSamples;
        /// <summary>Pushes sent and not answered yet at most; below the daemon's max_pending_pushes.</summary>
        public int MaxPendingPushes = DefaultMaxPendingPushes;
        /// <summary>Seconds of frames Curves holds (0: all; set before `start` arrives).</summary>
        public double WindowSeconds = 10;

        readonly DaemonConnection connection;
        readonly Queue<long> unanswered = new Queue<long>();   // samples_in expected per push; bounded by MaxPendingPushes

        public StreamStart Start { get; private set; }
        public CurveTrack Curves { get; private set; }
        public long SamplesPushed { get; private set; }
        /// <summary>Pushes sent, and `frames` replies received.</summary>
        public int Pushes { get; private set; }
        public int Replies { get; private set; }
        public int PendingPushes { get { return Pushes - Replies; } }
        /// <summary>samples_in of the latest reply: audio the daemon has processed.</summary>
        public long SamplesAnswered { get; private set; }
        public bool LastPushed { get; private set; }
        public int EventsMessages { get; private set; }
        public long LastSeq { get; private set; }
        public DaemonMessage Terminal { get; private set; }
        /// <summary>Messages with this id after the terminal one (e.g. errors for pushes in flight when the stream failed).</summary>
        public int LateMessages { get; private set; }
        public readonly List<string> Violations = new List<string>();

        internal ListenStream(DaemonConnection connection, string id, ListenOptions options, int maxPushSamples)
        {
            this.connection = connection; Id = id; Options = options;
            SampleRate = options.EffectiveSampleRate; AudioFormat = options.EffectiveAudioFormat;
            MaxPushSamples = maxPushSamples;
            LastSeq = -1;
        }

        /// <summary>The longest time from a frame's moment to the push that releases it (from `start`; 0 before).</summary>
        public double MaxDelaySeconds { get { return Start != null ? Start.MaxDelaySeconds : 0; } }
        public long MaxDelaySamples { get { return Start != null ? Start.MaxDelaySamples : 0; } }
        public bool Started { get { return Start != null; } }
        public bool Done { get { return Terminal != null; } }
        public bool Ok { get { return Terminal != null && Terminal.Type == "end" && Terminal.GetString("status") == "ok"; } }
        public bool Cancelled { get { return Terminal != null && Terminal.Type == "end" && Terminal.GetString("status") == "cancelled"; } }
        public string ErrorCode { get { return Terminal != null && Terminal.Type == "error" ? Terminal.GetString("code") : null; } }
        /// <summary>A push now would be sent (the stream runs, nothing marked last, fewer than MaxPendingPushes wait).</summary>
        public bool CanPush { get { return !Done && !LastPushed && PendingPushes < MaxPendingPushes; } }

        // ---- pushing ----------------------------------------------------------------------------
        public bool Push(float[] samples, bool last = false) { return Push(samples, 0, samples.Length, last); }
        public bool Push(short[] samples, bool last = false) { return Push(samples, 0, samples.Length, last); }

        /// <summary>
        /// Push mono samples in [-1, 1] (sent as the stream's AudioFormat). False, sending nothing, when
        /// MaxPendingPushes pushes wait for their reply: apply replies, then push again. Throws
        /// InvalidOperationException after the push marked last or once the stream has ended.
        /// </summary>
        public bool Push(float[] samples, int offset, int count, bool last = false)
        {
            if (!Check(samples == null ? -1 : samples.Length, offset, count)) return false;
            return Send(AudioFormat == "f32le" ? Payloads.FloatToF32(samples, offset, count) : Payloads.FloatToPcm16(samples, offset, count), count, last);
        }

        /// <summary>Push mono 16-bit samples (sent as the stream's AudioFormat); as the float overload.</summary>
        public bool Push(short[] samples, int offset, int count, bool last = false)
        {
            if (!Check(samples == null ? -1 : samples.Length, offset, count)) return false;
            return Send(AudioFormat == "f32le" ? Payloads.Int16ToF32(samples, offset, count) : Payloads.Int16ToPcm16(samples, offset, count), count, last);
        }

        bool Check(int length, int offset, int count)
        {
            if (length < 0) throw new ArgumentNullException("samples");
            if (offset < 0 || count < 0 || offset + count > length) throw new ArgumentOutOfRangeException("count", "offset " + offset + " + count " + count + " outside " + length + " samples");
            if (count > MaxPushSamples) throw new ArgumentOutOfRangeException("count", "a push holds at most " + MaxPushSamples + " samples (max_push_s); got " + count);
            if (LastPushed) throw new InvalidOperationException("listen stream " + Id + ": push after the push marked last");
            if (Done) throw new InvalidOperationException("listen stream " + Id + " has ended (" + (ErrorCode ?? Terminal.GetString("status")) + ")");
            return PendingPushes < MaxPendingPushes;
        }

        bool Send(byte[] payload, int count, bool last)
        {
            SamplesPushed += count;
            Pushes++;
            unanswered.Enqueue(SamplesPushed);
            if (last) LastPushed = true;
            connection.SendPush(Id, last, payload);
            return true;
        }

        /// <summary>End the stream now; its `end` with status "cancelled" follows.</summary>
        public void Cancel() { if (!Done) connection.Cancel(Id); }

        // ---- replies ----------------------------------------------------------------------------
        void Violation(string what) { if (Violations.Count < MaxViolations) Violations.Add(what); }

        /// <summary>
        /// Take one message of this stream (in the order received). Returns it typed, or null for a
        /// message that is not this stream's, comes after its terminal one, or has an unknown type.
        /// </summary>
        public LiveReply Apply(DaemonMessage m)
        {
            if (m.Id != Id) return null;
            if (Terminal != null) { LateMessages++; return null; }
            if (!m.IsLocal)
            {
                if (m.Seq != -1 && m.Seq != LastSeq + 1 && !(m.Type == "error" && LastSeq == -1))
                    Violation("seq " + m.Seq + " after " + LastSeq);
                if (m.Seq != -1) LastSeq = m.Seq;
            }
            switch (m.Type)
            {
                case "start": return ApplyStart(m);
                case "frames": return ApplyFrames(m);
                case "events":
                    {
                        EventsMessages++;
                        var list = m.GetList("visemes") ?? new object[0];
                        var segments = new VisemeSegment[list.Length];
                        for (int i = 0; i < list.Length; i++)
                        {
                            var v = list[i] as Dictionary<string, object>;
                            if (v == null) throw new ProtocolException("bad_message", "a viseme is not a map");
                            segments[i] = new VisemeSegment { Viseme = v.ContainsKey("viseme") ? v["viseme"] as string : null,
                                Start = AsLong(v, "start"), End = AsLong(v, "end"), Index = AsLong(v, "phoneme") };
                        }
                        return new LiveVisemes(m, segments);
                    }
                case "end":
                    {
                        Terminal = m;
                        var s = m.GetMap("stats") ?? new Dictionary<string, object>();
                        var stats = new LiveStats
                        {
                            AudioSamples = AsLong(s, "audio_samples"), Frames = AsLong(s, "frames"), Pushes = AsLong(s, "pushes"),
                            AudioSeconds = AsDouble(s, "audio_s"), ComputeMs = AsDouble(s, "compute_ms"),
                            WorstPushMs = AsDouble(s, "worst_push_ms"), MaxDelaySeconds = AsDouble(s, "max_delay_s"),
                        };
                        string status = m.GetString("status");
                        if (status == "ok" && (!LastPushed || PendingPushes != 0))
                            Violation("end ok with " + PendingPushes + " pushes unanswered" + (LastPushed ? "" : " and none marked last"));
                        return new LiveEnd(m, status, stats);
                    }
                case "error":
                    Terminal = m;
                    return new LiveError(m);
                default: return null;   // unknown types are ignored (forward compatibility)
            }
        }

        LiveStart ApplyStart(DaemonMessage m)
        {
            if (Start != null) Violation("a second start");
            var s = StreamStart.ParseLive(m);
            if (s.SampleRate != SampleRate) Violation("start says sample_rate " + s.SampleRate + ", the stream pushes at " + SampleRate);
            if (s.AudioFormat != AudioFormat) Violation("start says audio_format " + s.AudioFormat + ", the stream pushes " + AudioFormat);
            Start = s;
            Curves = new CurveTrack(s.Channels, s.Fps, s.SampleRate, WindowSeconds > 0 ? Math.Max(2, (int)Math.Ceiling(WindowSeconds * s.Fps)) : 0);
            return new LiveStart(m, s);
        }

        LiveFrames ApplyFrames(DaemonMessage m)
        {
            if (Start == null) throw new ProtocolException("bad_message", "frames before start in listen stream " + Id);
            var r = new LiveFrames(m)
            {
                StartFrame = (int)m.Require("start_frame"), NumFrames = (int)m.Require("num_frames"),
                NumChannels = (int)m.Require("num_channels"), SampleOffset = m.Require("sample_offset"),
                SamplesIn = m.Require("samples_in"), SamplesBefore = SamplesAnswered, PushIndex = Replies,
            };
            if (r.NumFrames == 0 && (m.Payload == null || m.Payload.Length == 0)) r.Values = new float[0];
            else { int nf, nc; r.Values = Payloads.DecodeFrames(m, Start.CurveFormat, out nf, out nc); }
            if (unanswered.Count == 0) Violation("a frames reply with no push unanswered");
            else
            {
                long expected = unanswered.Dequeue();
                if (r.SamplesIn != expected) Violation("reply " + r.PushIndex + " says samples_in " + r.SamplesIn + ", " + expected + " were pushed");
            }
            r.IsLast = LastPushed && unanswered.Count == 0;
            if (r.NumChannels != Start.NumChannels) Violation("frames with " + r.NumChannels + " channels, start said " + Start.NumChannels);
            if (r.StartFrame != Curves.FrameCount) Violation("frames start at " + r.StartFrame + ", expected " + Curves.FrameCount);
            // sample_offset = ceil(start_frame * sample_rate / fps): FirstFrameAt with the rates swapped
            if (r.SampleOffset != CurveTrack.FirstFrameAt(r.StartFrame, Start.SampleRate, Start.Fps))
                Violation("sample_offset " + r.SampleOffset + " for start_frame " + r.StartFrame);
            if (r.NumFrames > 0 && r.NumChannels == Start.NumChannels && r.StartFrame >= Curves.FrameCount)
                Curves.Append(r.StartFrame, r.NumFrames, r.Values);
            Replies++;
            SamplesAnswered = r.SamplesIn;
            return r;
        }

        static long AsLong(Dictionary<string, object> map, string key)
        {
            object v;
            if (!map.TryGetValue(key, out v) || v == null) return 0;
            if (v is long) return (long)v;
            if (v is ulong) return unchecked((long)(ulong)v);
            if (v is double) return (long)(double)v;
            return 0;
        }

        static double AsDouble(Dictionary<string, object> map, string key)
        {
            object v;
            if (!map.TryGetValue(key, out v) || v == null) return 0;
            if (v is double) return (double)v;
            if (v is long) return (long)v;
            return 0;
        }
    }

    /// <summary>
    /// Cuts audio that arrives in blocks of any size (a microphone's clip, OnAudioFilterRead, voice
    /// chat) into pieces of PieceSamples and pushes them to a ListenStream, never more than it allows.
    /// What waits sits in a bounded ring: Write takes what fits and counts the rest as dropped (the
    /// stream's clock then no longer matches the source: start a new stream). Write may run on
    /// another thread (one writer); Pump and Finish run on the thread that owns the stream.
    /// </summary>
    public sealed class LiveAudioFeed
    {
        public readonly ListenStream Stream;
        public readonly int PieceSamples;
        readonly PcmRingBuffer ring;
        readonly float[] piece;
        float[] mono = new float[0];
        long written, dropped;
        bool finishing;

        public LiveAudioFeed(ListenStream stream, int pieceSamples, int bufferSamples)
        {
            if (stream == null) throw new ArgumentNullException("stream");
            if (pieceSamples < 1 || pieceSamples > stream.MaxPushSamples) throw new ArgumentOutOfRangeException("pieceSamples", "1 to " + stream.MaxPushSamples);
            if (bufferSamples < pieceSamples) throw new ArgumentOutOfRangeException("bufferSamples", "at least one piece");
            Stream = stream; PieceSamples = pieceSamples;
            ring = new PcmRingBuffer(bufferSamples);
            piece = new float[pieceSamples];
        }

        /// <summary>Pieces of `seconds` at the stream's rate (20 ms: 320 samples at 16 kHz).</summary>
        public static int PieceFor(ListenStream stream, double seconds) { return Math.Max(1, (int)Math.Round(seconds * stream.SampleRate)); }

        /// <summary>Samples taken by Write so far: the position, in the stream's samples, of the newest audio.</summary>
        public long SamplesWritten { get { return Interlocked.Read(ref written); } }
        public long DroppedSamples { get { return Interlocked.Read(ref dropped); } }
        /// <summary>Samples written and not pushed yet.</summary>
        public int Buffered { get { return ring.Available; } }
        public bool Finished { get { return Stream.LastPushed; } }

        /// <summary>Mono samples; returns how many fit (the rest are dropped and counted).</summary>
        public int Write(float[] samples, int offset, int count)
        {
            if (finishing) return 0;
            int n = ring.Write(samples, offset, count);
            Interlocked.Add(ref written, n);
            if (n < count) Interlocked.Add(ref dropped, count - n);
            return n;
        }

        /// <summary>Interleaved frames of `channels` channels, averaged to mono (OnAudioFilterRead's layout).</summary>
        public int WriteInterleaved(float[] data, int channels)
        {
            if (channels <= 1) return Write(data, 0, data.Length);
            int frames = data.Length / channels;
            if (mono.Length < frames) mono = new float[frames];
            float scale = 1f / channels;
            for (int f = 0, i = 0; f < frames; f++)
            {
                float s = 0;
                for (int c = 0; c < channels; c++, i++) s += data[i];
                mono[f] = s * scale;
            }
            return Write(mono, 0, frames);
        }

        /// <summary>Push every whole piece the stream takes now; returns the pushes sent.</summary>
        public int Pump()
        {
            int sent = 0;
            while (!Stream.LastPushed && !Stream.Done && ring.Available >= PieceSamples && Stream.CanPush)
            {
                ring.Read(piece, 0, PieceSamples);
                Stream.Push(piece, 0, PieceSamples, false);
                sent++;
            }
            if (finishing) TryPushLast();
            return sent;
        }

        /// <summary>No more audio: push what is buffered, the last piece marked last. True once that push is sent.</summary>
        public bool Finish()
        {
            finishing = true;
            Pump();
            return Stream.LastPushed;
        }

        void TryPushLast()
        {
            if (Stream.LastPushed || Stream.Done || !Stream.CanPush) return;
            int left = ring.Available;
            if (left > PieceSamples) return;   // whole pieces still wait for room
            ring.Read(piece, 0, left);
            Stream.Push(piece, 0, left, true);
        }
    }
}
