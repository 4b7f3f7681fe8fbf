// Curve sampling against the audio clock, retargeting, and a gapless PCM ring buffer. Engine-free (no Unity types).
using System;
using System.Collections.Generic;

namespace AvatarLab.Protocol
{
    /// <summary>
    /// The frames of one stream, growing as `frames` messages arrive, sampled at an audio position.
    /// With a window (live streams, which may run for hours) only the latest frames are held: frames
    /// older than the latest WindowFrames may be dropped, so memory stays bounded.
    /// </summary>
    public sealed class CurveTrack
    {
        public readonly int Fps, SampleRate, NumChannels;
        public readonly string[] Channels;
        /// <summary>0: every frame is kept (a speak line). Otherwise at most 2 x WindowFrames frames are held.</summary>
        public readonly int WindowFrames;
        float[] data = new float[0];
        float[] lastFrame;      // the newest frame, for gaps
        int first;              // the frame held at data[0]
        /// <summary>One past the newest frame received (frames count from the stream's start).</summary>
        public int FrameCount { get; private set; }
        /// <summary>The oldest frame still held (0 unless a window dropped older ones).</summary>
        public int FirstFrame { get { return first; } }
        /// <summary>Frames that were missing from the stream and filled by holding the previous one.</summary>
        public int FilledFrames { get; private set; }

        public CurveTrack(string[] channels, int fps, int sampleRate) : this(channels, fps, sampleRate, 0) { }

        public CurveTrack(string[] channels, int fps, int sampleRate, int windowFrames)
        {
            if (windowFrames < 0) throw new ArgumentOutOfRangeException("windowFrames");
            Channels = channels; NumChannels = channels.Length; Fps = fps; SampleRate = sampleRate; WindowFrames = windowFrames;
            lastFrame = new float[NumChannels];
        }

        /// <summary>The first frame shown at or after a sample: ceil(sample * fps / sample_rate), exact.</summary>
        public static long FirstFrameAt(long sampleOffset, int fps, int sampleRate)
        {
            return (sampleOffset * fps + sampleRate - 1) / sampleRate;
        }

        /// <summary>Frame f shows the face at audio sample f * sample_rate / fps.</summary>
        public double FramePosition(double sample) { return sample * Fps / SampleRate; }

        public int ColumnOf(string name) { return Array.IndexOf(Channels, name); }

        public void Append(int startFrame, int numFrames, float[] values)
        {
            if (values.Length != numFrames * NumChannels) throw new ArgumentException("values do not match frames x channels");
            if (startFrame < FrameCount) throw new ArgumentException("frame " + startFrame + " arrives after frame " + (FrameCount - 1));
            if (numFrames < 0) throw new ArgumentException("negative frame count");
            int total = startFrame + numFrames;
            if (total == FrameCount) return;   // an empty `frames` message (live streams send them)
            if (WindowFrames > 0 && total - first > 2 * WindowFrames) Drop(total - WindowFrames);
            int held = total - first;
            if ((long)held * NumChannels > data.Length)
            {
                var nd = new float[Math.Max(held * NumChannels, Math.Min(data.Length * 2, WindowFrames > 0 ? 2 * WindowFrames * NumChannels : int.MaxValue))];
                Buffer.BlockCopy(data, 0, nd, 0, Math.Max(0, FrameCount - first) * NumChannels * 4);
                data = nd;
            }
            for (int f = Math.Max(FrameCount, first); f < startFrame; f++)   // a gap: hold the last frame
                Array.Copy(lastFrame, 0, data, (f - first) * NumChannels, NumChannels);
            FilledFrames += startFrame - FrameCount;
            int skip = Math.Max(0, first - startFrame);   // frames that fall before the window already
            Buffer.BlockCopy(values, skip * NumChannels * 4, data, (startFrame + skip - first) * NumChannels * 4, (values.Length - skip * NumChannels) * 4);
            if (numFrames > 0) Array.Copy(values, (numFrames - 1) * NumChannels, lastFrame, 0, NumChannels);
            FrameCount = total;
        }

        /// <summary>Forget frames before newFirst (windowed tracks).</summary>
        void Drop(int newFirst)
        {
            if (newFirst <= first) return;
            int keep = Math.Max(0, FrameCount - newFirst);
            if (keep > 0) Buffer.BlockCopy(data, (newFirst - first) * NumChannels * 4, data, 0, keep * NumChannels * 4);
            first = newFirst;
        }

        /// <summary>Frame `frame`'s value in `column`; the frame must be held (FirstFrame to FrameCount - 1).</summary>
        public float Value(int frame, int column)
        {
            if (frame < first || frame >= FrameCount) throw new ArgumentOutOfRangeException("frame", "frame " + frame + " is not held (" + first + " to " + (FrameCount - 1) + ")");
            return data[(frame - first) * NumChannels + column];
        }

        /// <summary>
        /// Linear interpolation between the frames around audio sample position `sample` (a fractional
        /// sample count from the stream's start); holds the first/last frame held outside. False if no frames yet.
        /// </summary>
        public bool Sample(double sample, float[] into)
        {
            if (FrameCount == 0) return false;
            double pos = FramePosition(sample) - first;
            if (pos <= 0) { Array.Copy(data, 0, into, 0, NumChannels); return true; }
            int f0 = (int)Math.Floor(pos), held = FrameCount - first;
            if (f0 >= held - 1) { Array.Copy(data, (held - 1) * NumChannels, into, 0, NumChannels); return true; }
            float t = (float)(pos - f0);
            int a = f0 * NumChannels, b = a + NumChannels;
            for (int c = 0; c < NumChannels; c++) into[c] = data[a + c] + (data[b + c] - data[a + c]) * t;
            return true;
        }
    }

    /// <summary>A rig convention: each target (morph) name is a weighted sum of avatarlab channels.</summary>
    public sealed class RetargetProfileData
    {
        public struct Term { public string Channel; public float Weight; public Term(string c, float w) { Channel = c; Weight = w; } }
        public string Name, Description;
        public string[] TargetNames;
        public Term[][] Terms;           // per target
        public string[] HeadNodes, LeftEyeNodes, RightEyeNodes;
    }

    /// <summary>A profile bound to the column order of one stream: evaluates target weights from a frame.</summary>
    public sealed class RetargetMap
    {
        public readonly string[] Targets;
        readonly int[][] cols;
        readonly float[][] weights;
        public readonly int HeadPitch, HeadYaw, HeadRoll, LeftEyePitch, LeftEyeYaw, RightEyePitch, RightEyeYaw;

        public RetargetMap(RetargetProfileData profile, string[] streamChannels)
        {
            var targets = new List<string>(); var c = new List<int[]>(); var w = new List<float[]>();
            for (int t = 0; t < profile.TargetNames.Length; t++)
            {
                var ci = new List<int>(); var wi = new List<float>();
                foreach (var term in profile.Terms[t])
                {
                    int col = Array.IndexOf(streamChannels, term.Channel);
                    if (col >= 0) { ci.Add(col); wi.Add(term.Weight); }
                }
                if (ci.Count == 0) continue;  // the stream does not carry what this target needs
                targets.Add(profile.TargetNames[t]); c.Add(ci.ToArray()); w.Add(wi.ToArray());
            }
            Targets = targets.ToArray(); cols = c.ToArray(); weights = w.ToArray();
            HeadPitch = Array.IndexOf(streamChannels, "headPitch"); HeadYaw = Array.IndexOf(streamChannels, "headYaw");
            HeadRoll = Array.IndexOf(streamChannels, "headRoll");
            LeftEyePitch = Array.IndexOf(streamChannels, "leftEyePitch"); LeftEyeYaw = Array.IndexOf(streamChannels, "leftEyeYaw");
            RightEyePitch = Array.IndexOf(streamChannels, "rightEyePitch"); RightEyeYaw = Array.IndexOf(streamChannels, "rightEyeYaw");
        }

        /// <summary>Target weights in 0..1 (clamped) from one frame of stream values.</summary>
        public void Evaluate(float[] frame, float[] into)
        {
            for (int t = 0; t < cols.Length; t++)
            {
                float v = 0; int[] ci = cols[t]; float[] wi = weights[t];
                for (int k = 0; k < ci.Length; k++) v += frame[ci[k]] * wi[k];
                into[t] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
        }

        public static float At(float[] frame, int column) { return column >= 0 ? frame[column] : 0f; }
    }

    /// <summary>
    /// A single-producer single-consumer ring of audio samples: chunks written as they arrive are read
    /// back as one gapless signal (the audio thread reads in its own block sizes). Reading past the
    /// written end gives silence and counts it as underrun.
    /// </summary>
    public sealed class PcmRingBuffer
    {
        readonly float[] ring;
        long written, read;          // totals; guarded by the lock
        readonly object gate = new object();
        public long UnderrunSamples { get; private set; }
        public bool Finished { get; set; }   // no more chunks will come

        public PcmRingBuffer(int capacity) { ring = new float[capacity]; }
        public int Capacity { get { return ring.Length; } }
        public long Written { get { lock (gate) return written; } }
        public long ReadTotal { get { lock (gate) return read; } }
        public int Available { get { lock (gate) return (int)(written - read); } }
        public int Free { get { lock (gate) return ring.Length - (int)(written - read); } }

        /// <summary>Write as many samples as fit; returns how many were written.</summary>
        public int Write(float[] samples, int offset, int count)
        {
            lock (gate)
            {
                int n = Math.Min(count, ring.Length - (int)(written - read));
                for (int i = 0; i < n; i++) ring[(written + i) % ring.Length] = samples[offset + i];
                written += n;
                return n;
            }
        }

        /// <summary>Fill `into` completely: buffered samples, then silence (counted as underrun unless Finished).</summary>
        public int Read(float[] into, int offset, int count)
        {
            lock (gate)
            {
                int n = Math.Min(count, (int)(written - read));
                for (int i = 0; i < n; i++) into[offset + i] = ring[(read + i) % ring.Length];
                read += n;
                for (int i = n; i < count; i++) into[offset + i] = 0f;
                if (n < count && !Finished) UnderrunSamples += count - n;
                return n;
            }
        }

        public void Clear() { lock (gate) { read = written; Finished = false; } }
    }

    /// <summary>
    /// The state of one speak stream as its messages arrive in order: checks the protocol's
    /// guarantees (seq without gaps, audio without gaps, frames where the audio says) and keeps the curves.
    /// </summary>
    public sealed class SpeechStream
    {
        public readonly string Id;
        public StreamStart Start { get; private set; }
        public CurveTrack Curves { get; private set; }
        public long AudioSamples { get; private set; }
        public int AudioChunks { get; private set; }
        public int FramesMessages { get; private set; }
        public int EventsMessages { get; private set; }
        public long LastSeq { get; private set; }
        public DaemonMessage Terminal { get; private set; }
        public readonly List<string> Violations = new List<string>();
        long lastAudioOffset = -1;

        public SpeechStream(string id) { Id = id; LastSeq = -1; }

        public bool Done { get { return Terminal != null; } }
        public bool Ok { get { return Terminal != null && Terminal.Type == "end" && Terminal.GetString("status") == "ok"; } }
        public bool Cancelled { get { return Terminal != null && Terminal.Type == "end" && Terminal.GetString("status") == "cancelled"; } }
        public string ErrorCode { get { return Terminal != null && Terminal.Type == "error" ? Terminal.GetString("code") : null; } }

        /// <summary>Take one message of this stream. Audio comes back decoded in `audio` (else null).</summary>
        public void Apply(DaemonMessage m, out float[] audio)
        {
            audio = null;
            if (Terminal != null) { Violations.Add("message " + m + " after the terminal " + Terminal); return; }
            if (!m.IsLocal)
            {
                if (m.Seq != -1 && m.Seq != LastSeq + 1 && !(m.Type == "error" && LastSeq == -1))
                    Violations.Add("seq " + m.Seq + " after " + LastSeq);
                if (m.Seq != -1) LastSeq = m.Seq;
            }
            switch (m.Type)
            {
                case "start":
                    Start = StreamStart.Parse(m);
                    Curves = new CurveTrack(Start.Channels, Start.Fps, Start.SampleRate);
                    break;
                case "audio":
                    {
                        long off = m.Require("sample_offset");
                        if (off != AudioSamples) Violations.Add("audio at sample " + off + ", expected " + AudioSamples);
                        audio = Payloads.DecodeAudio(m);
                        lastAudioOffset = off;
                        AudioSamples = off + audio.Length;
                        AudioChunks++;
                        break;
                    }
                case "frames":
                    {
                        if (Start == null) { Violations.Add("frames before start"); break; }
                        int nf, nc;
                        float[] values = Payloads.DecodeFrames(m, Start.CurveFormat, out nf, out nc);
                        long off = m.Require("sample_offset"), first = m.Require("start_frame");
                        if (nc != Start.NumChannels) Violations.Add("frames with " + nc + " channels, start said " + Start.NumChannels);
                        if (first != CurveTrack.FirstFrameAt(off, Start.Fps, Start.SampleRate))
                            Violations.Add("start_frame " + first + " for sample_offset " + off);
                        if (lastAudioOffset >= 0 && off != lastAudioOffset) Violations.Add("frames for sample " + off + " after audio at " + lastAudioOffset);
                        Curves.Append((int)first, nf, values);
                        FramesMessages++;
                        break;
                    }
                case "events": EventsMessages++; break;
                case "end":
                case "error":
                    Terminal = m;
                    break;
                default: break; // unknown types are ignored (forward compatibility)
            }
        }
    }
}
