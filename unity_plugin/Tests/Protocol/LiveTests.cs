// Live audio (listen / push, docs/protocol.md section 5a). Offline: push encodings, the windowed
// curve track, ListenStream's checks on hand-made replies. Against the real daemon (--url) with a line
// the engine spoke (--live-wav, written by tests/test_unity_live.py): replies per push, frame coverage,
// the stated delay, the end stats, formats, errors, LiveAudioFeed. The model is a placeholder being
// retrained: these tests check the protocol, never how right the visemes are.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class LiveTests
    {
        // ---- offline --------------------------------------------------------------------------------
        [Test]
        public static void PushEncodingsAreLittleEndianAndClamped()
        {
            var pcm = Payloads.FloatToPcm16(new[] { 0f, 1f, -1f, 2f, -2f, 0.5f, float.NaN }, 0, 7);
            var expect = new short[] { 0, 32767, -32767, 32767, -32768, 16384, 0 };
            for (int i = 0; i < expect.Length; i++)
                Assert.Equal(expect[i], (short)(pcm[2 * i] | pcm[2 * i + 1] << 8), "pcm16 sample " + i);
            var shorts = Payloads.Int16ToPcm16(new short[] { -2, 258 }, 0, 2);
            Assert.Equal("feff0201", Hex(shorts), "int16 little-endian");
            var f32 = Payloads.FloatToF32(new[] { 9f, 1f, -0.5f }, 1, 2);
            Assert.Equal("0000803f000000bf", Hex(f32), "float32 little-endian, offset respected");
            Assert.Equal("000080bf", Hex(Payloads.Int16ToF32(new short[] { -32768 }, 0, 1)), "-32768 is -1");
        }

        static string Hex(byte[] b)
        {
            var s = new StringBuilder();
            foreach (byte x in b) s.Append(x.ToString("x2"));
            return s.ToString();
        }

        [Test]
        public static void ListenOptionsMakeTheHeader()
        {
            var h = new ListenOptions { SampleRate = 22050, AudioFormat = "f32le", Fps = 30, Channels = new[] { "visemes" }, CurveFormat = "f16" }.ToHeader("L1");
            Assert.Equal("listen", (string)h["type"], "type");
            Assert.Equal(22050, (int)h["sample_rate"], "sample_rate");
            Assert.Equal("f32le", (string)h["audio_format"], "audio_format");
            Assert.True(!new ListenOptions().ToHeader("L2").ContainsKey("sample_rate"), "defaults left to the daemon");
            Assert.Equal(16000, new ListenOptions().EffectiveSampleRate, "the protocol's default rate");
            var back = MsgPack.UnpackMap(MsgPack.Pack(h));
            Assert.Equal(22050L, (long)back["sample_rate"], "round trip");
        }

        [Test]
        public static void WindowedCurveTrackKeepsTheLatestFrames()
        {
            var t = new CurveTrack(new[] { "a" }, 100, 100, 10);   // one frame per sample, a 10-frame window
            var one = new float[1];
            for (int f = 0; f < 1000; f++) t.Append(f, 1, new[] { (float)f });
            Assert.Equal(1000, t.FrameCount, "frames received");
            Assert.True(t.FirstFrame >= 980 && t.FirstFrame <= 990, "only the latest frames held: first " + t.FirstFrame);
            Assert.Equal(999f, t.Value(999, 0), "the newest frame");
            Assert.Equal(990f, t.Value(990, 0), "a frame inside the window");
            Assert.Throws<ArgumentOutOfRangeException>(() => t.Value(5, 0), "a dropped frame");
            t.Sample(995.5, one); Assert.Near(995.5, one[0], 1e-4, "interpolates inside the window");
            t.Sample(3, one); Assert.Equal((float)t.FirstFrame, one[0], "holds the oldest frame held before it");
            t.Append(1000, 25, new float[25]);                      // a block larger than the window
            Assert.Equal(1025, t.FrameCount, "big block");
            Assert.Equal(0f, t.Value(1024, 0), "big block's last frame");
            t.Append(1100, 1, new[] { 7f });                        // a gap longer than the window: held, bounded
            Assert.Equal(0f, t.Value(1099, 0), "the gap holds the last frame");
            Assert.Equal(7f, t.Value(1100, 0), "after the gap");
            Assert.True(t.FrameCount - t.FirstFrame <= 20, "bounded: " + (t.FrameCount - t.FirstFrame) + " frames held");
            var empty = new CurveTrack(new[] { "a" }, 100, 100, 10);
            empty.Append(0, 0, new float[0]);
            Assert.Equal(0, empty.FrameCount, "an empty frames message adds nothing");
        }

        static DaemonMessage Msg(string type, string id, long seq, byte[] payload, params object[] kv)
        {
            var h = new Dictionary<string, object> { { "v", 1L }, { "type", type }, { "id", id }, { "seq", seq } };
            for (int i = 0; i < kv.Length; i += 2)
                h[(string)kv[i]] = kv[i + 1] is int ? (long)(int)kv[i + 1] : kv[i + 1];
            return new DaemonMessage(h, payload);
        }

        static DaemonMessage LiveStartMessage(string id, int rate, int fps)
        {
            var groups = new object[] { new Dictionary<string, object> { { "name", "visemes" }, { "channels", new object[] { "sil", "PP" } } } };
            return Msg("start", id, 0, null, "model", "audio2face", "sample_rate", rate, "fps", fps, "audio_format", "pcm16le",
                "curve_format", "f32", "groups", groups, "num_channels", 2, "max_delay_s", 0.06, "max_delay_samples", 960);
        }

        [Test]
        public static void ListenStreamChecksTheRepliesOffline()
        {
            using (var c = new DaemonConnection("tcp://127.0.0.1:1"))   // never connected: sends fail locally
            {
                var s = c.Listen(new ListenOptions { SampleRate = 16000 }, "L");
                Assert.Throws<ArgumentException>(() => c.Listen(new ListenOptions { AudioFormat = "mp3" }), "a format the client cannot encode");
                Assert.Equal(16000, s.MaxPushSamples, "1 s per push before the daemon's limits are known");
                Assert.Throws<ArgumentOutOfRangeException>(() => s.Push(new short[16001]), "over max_push_s");
                s.MaxPendingPushes = 2;
                Assert.True(s.Push(new short[800]), "first push"); Assert.True(s.Push(new short[800]), "second push");
                Assert.True(!s.Push(new short[800]) && s.Pushes == 2, "a third waits: refused, nothing sent");
                var start = (LiveStart)s.Apply(LiveStartMessage("L", 16000, 50));
                Assert.Near(0.06, start.MaxDelaySeconds, 1e-12, "max_delay_s"); Assert.Equal(960L, s.MaxDelaySamples, "max_delay_samples");
                Assert.True(s.Apply(Msg("frames", "other", 1, new byte[0])) == null, "another id's message is not taken");
                var f0 = (LiveFrames)s.Apply(Msg("frames", "L", 1, new byte[0], "start_frame", 0, "num_frames", 0, "num_channels", 2, "sample_offset", 0, "samples_in", 800));
                Assert.True(f0.NumFrames == 0 && f0.PushIndex == 0 && f0.SamplesBefore == 0, "an empty reply");
                var values = new byte[2 * 2 * 4];
                var f1 = (LiveFrames)s.Apply(Msg("frames", "L", 2, values, "start_frame", 0, "num_frames", 2, "num_channels", 2, "sample_offset", 0, "samples_in", 1600));
                Assert.True(f1.PushIndex == 1 && f1.SamplesBefore == 800 && s.Curves.FrameCount == 2, "two frames");
                Assert.Equal(0, s.Violations.Count, "no violations yet: " + string.Join("; ", s.Violations));
                Assert.True(s.Push(new short[100], true), "last push");
                Assert.Throws<InvalidOperationException>(() => s.Push(new short[1]), "push after last");
                s.Apply(Msg("frames", "L", 3, values, "start_frame", 3, "num_frames", 2, "num_channels", 2, "sample_offset", 961, "samples_in", 1700));
                Assert.True(s.Violations.Exists(v => v.Contains("expected 2")), "a gap in the frames is flagged: " + string.Join("; ", s.Violations));
                Assert.True(s.Violations.Exists(v => v.Contains("sample_offset 961")), "a wrong sample_offset is flagged");
                s.Violations.Clear();
                var end = (LiveEnd)s.Apply(Msg("end", "L", 5, null, "status", "ok", "stats", new Dictionary<string, object> { { "frames", 5L }, { "pushes", 3L }, { "max_delay_s", 0.06 } }));
                Assert.True(s.Violations.Exists(v => v.Contains("seq 5 after 3")), "a seq gap is flagged");
                Assert.True(s.Ok && end.Stats.Frames == 5 && end.Stats.Pushes == 3, "end and its stats");
                Assert.True(s.Apply(Msg("error", "L", -1, null, "code", "unknown_request")) == null && s.LateMessages == 1, "messages after the end are counted, not taken");
                Assert.Throws<InvalidOperationException>(() => s.Push(new short[1]), "push after the end");
            }
        }

        // ---- against the daemon -----------------------------------------------------------------------
        static short[] lineCache;
        static int lineRate;

        /// <summary>The spoken line of --live-wav (mono PCM16 WAV).</summary>
        static short[] Line(out int rate)
        {
            if (lineCache == null)
            {
                var b = File.ReadAllBytes(Env.LiveWav);
                if (Encoding.ASCII.GetString(b, 0, 4) != "RIFF" || Encoding.ASCII.GetString(b, 8, 4) != "WAVE") throw new AssertionException("not a WAV file");
                int at = 12, channels = 0, bits = 0;
                while (at + 8 <= b.Length)
                {
                    string chunk = Encoding.ASCII.GetString(b, at, 4);
                    int size = BitConverter.ToInt32(b, at + 4);
                    if (chunk == "fmt ")
                    {
                        channels = BitConverter.ToInt16(b, at + 10); lineRate = BitConverter.ToInt32(b, at + 12); bits = BitConverter.ToInt16(b, at + 22);
                    }
                    else if (chunk == "data")
                    {
                        if (channels != 1 || bits != 16) throw new AssertionException("the WAV must be mono 16-bit");
                        lineCache = new short[size / 2];
                        Buffer.BlockCopy(b, at + 8, lineCache, 0, size / 2 * 2);
                        break;
                    }
                    at += 8 + size + (size & 1);
                }
                if (lineCache == null) throw new AssertionException("no data chunk in " + Env.LiveWav);
            }
            rate = lineRate;
            return lineCache;
        }

        /// <summary>The next message of the stream, typed (others are skipped).</summary>
        static LiveReply Next(DaemonConnection c, ListenStream s, int timeoutMs = 15000)
        {
            long deadline = ZmtpSocket.NowMs + timeoutMs;
            while (true)
            {
                var m = c.Receive((int)Math.Max(1, deadline - ZmtpSocket.NowMs));
                if (m == null) throw new AssertionException("listen stream " + s.Id + " timed out after " + s.Replies + " replies to " + s.Pushes + " pushes");
                var r = s.Apply(m);
                if (r != null) return r;
            }
        }

        static DaemonMessage NextWithId(DaemonConnection c, Func<DaemonMessage, bool> which, int timeoutMs = 10000)
        {
            long deadline = ZmtpSocket.NowMs + timeoutMs;
            while (true)
            {
                var m = c.Receive((int)Math.Max(1, deadline - ZmtpSocket.NowMs));
                if (m == null) throw new AssertionException("no such reply within " + timeoutMs + " ms");
                if (which(m)) return m;
            }
        }

        sealed class LiveRun
        {
            public ListenStream Stream;
            public LiveStart Start;
            public LiveEnd End;
            public readonly List<LiveFrames> Replies = new List<LiveFrames>();
            public readonly List<long> PushedTotals = new List<long>();
            public readonly List<VisemeSegment> Visemes = new List<VisemeSegment>();
            public int Refused, MaxPending;
        }

        static void Take(LiveRun run, LiveReply r)
        {
            switch (r.Kind)
            {
                case LiveReplyKind.Start: run.Start = (LiveStart)r; break;
                case LiveReplyKind.Frames: run.Replies.Add((LiveFrames)r); break;
                case LiveReplyKind.Visemes: run.Visemes.AddRange(((LiveVisemes)r).Segments); break;
                case LiveReplyKind.End: run.End = (LiveEnd)r; break;
                case LiveReplyKind.Error:
                    var e = (LiveError)r;
                    throw new AssertionException("the stream failed: " + e.Code + ": " + e.Text);
            }
        }

        /// <summary>Push the whole line in pieces of nextPiece() samples, as fast as the stream takes them, and read everything.</summary>
        static LiveRun PushLine(DaemonConnection c, ListenOptions options, short[] audio, Func<int> nextPiece, int maxPending,
                                bool asFloat = false, bool emptyLast = false)
        {
            var run = new LiveRun();
            var s = run.Stream = c.Listen(options);
            s.MaxPendingPushes = maxPending;
            s.WindowSeconds = 0;                               // keep every frame for the checks
            float[] floats = null;
            if (asFloat) { floats = new float[audio.Length]; for (int i = 0; i < audio.Length; i++) floats[i] = audio[i] / 32768f; }
            int pos = 0;
            while (!s.Done)
            {
                if (!s.LastPushed)
                {
                    int n = pos >= audio.Length ? 0 : Math.Min(Math.Min(nextPiece(), s.MaxPushSamples), audio.Length - pos);
                    bool last = pos + n >= audio.Length && (n > 0 ? !emptyLast : true);
                    bool sent = asFloat ? s.Push(floats, pos, n, last) : s.Push(audio, pos, n, last);
                    if (sent)
                    {
                        pos += n;
                        run.PushedTotals.Add(pos);
                        run.MaxPending = Math.Max(run.MaxPending, s.PendingPushes);
                        continue;
                    }
                    run.Refused++;
                }
                Take(run, Next(c, s));
            }
            return run;
        }

        /// <summary>Every protocol promise of section 5a that one finished run can show.</summary>
        static void CheckRun(LiveRun run, short[] audio, int rate, int fps, string what)
        {
            var s = run.Stream;
            Assert.True(s.Ok, what + ": end ok, got " + (s.ErrorCode ?? s.Terminal.GetString("status")));
            Assert.Equal(0, s.Violations.Count, what + ": no violations: " + string.Join("; ", s.Violations));
            Assert.True(run.Start != null && run.Start.Start.Model == "audio2face", what + ": start names the model");
            Assert.Equal(rate, run.Start.Start.SampleRate, what + ": start's sample_rate is the pushed rate");
            Assert.Equal(fps, run.Start.Start.Fps, what + ": fps");
            double delay = run.Start.MaxDelaySeconds;
            Assert.True(delay > 0 && delay < 0.5, what + ": max_delay_s is a small positive number: " + delay);
            Assert.True(Math.Abs(run.Start.MaxDelaySamples - Math.Ceiling(delay * rate)) <= 1, what + ": max_delay_samples = ceil(max_delay_s x rate): " + run.Start.MaxDelaySamples);
            // one frames reply per push, in order, each saying how much audio was pushed up to it
            Assert.Equal(run.PushedTotals.Count, run.Replies.Count, what + ": one frames reply per push");
            int next = 0;
            long total = audio.Length, maxDelaySamples = run.Start.MaxDelaySamples;
            double worstLate = double.NegativeInfinity;
            for (int k = 0; k < run.Replies.Count; k++)
            {
                var r = run.Replies[k];
                Assert.Equal(run.PushedTotals[k], r.SamplesIn, what + ": samples_in of reply " + k);
                Assert.Equal(k, r.PushIndex, what + ": push index");
                Assert.Equal(next, r.StartFrame, what + ": reply " + k + " continues the frames");
                Assert.Equal(k == run.Replies.Count - 1, r.IsLast, what + ": only the last reply answers the last push");
                for (int f = r.StartFrame; f < r.StartFrame + r.NumFrames; f++)
                {
                    double at = (double)f * rate / fps;                        // the frame's moment, in input samples
                    Assert.True(at < r.SamplesIn, what + ": frame " + f + " released before its audio was pushed");
                    if (r.IsLast) continue;                                  // the last push releases everything left
                    // released by the first push after which max_delay_samples beyond its moment were pushed (or earlier)
                    Assert.True(r.SamplesBefore < at + maxDelaySamples, what + ": frame " + f + " (sample " + at + ") came late: " +
                        r.SamplesBefore + " samples had been pushed before the push that released it, max delay " + maxDelaySamples);
                    worstLate = Math.Max(worstLate, r.SamplesBefore - at);
                }
                next = r.StartFrame + r.NumFrames;
                foreach (float v in r.Values) if (float.IsNaN(v) || float.IsInfinity(v)) throw new AssertionException(what + ": a value that is not finite");
            }
            long expected = CurveTrack.FirstFrameAt(total, fps, rate);
            Assert.Equal(expected, (long)next, what + ": frames cover the audio, ceil(samples x fps / rate)");
            Assert.Equal((long)next, (long)s.Curves.FrameCount, what + ": the curve track holds them");
            // the end and its stats
            var stats = run.End.Stats;
            Assert.Equal("ok", run.End.Status, what + ": end status");
            Assert.Equal(total, stats.AudioSamples, what + ": stats.audio_samples");
            Assert.Near((double)total / rate, stats.AudioSeconds, 1e-3, what + ": stats.audio_s");
            Assert.Equal((long)next, stats.Frames, what + ": stats.frames");
            Assert.Equal((long)run.PushedTotals.Count, stats.Pushes, what + ": stats.pushes");
            Assert.Near(delay, stats.MaxDelaySeconds, 1e-6, what + ": stats.max_delay_s = start's");
            Assert.True(stats.WorstPushMs >= 0 && stats.ComputeMs >= 0, what + ": timings");
            Console.WriteLine("  " + what + ": " + run.PushedTotals.Count + " pushes (" + run.Refused + " refused while " + run.Stream.MaxPendingPushes +
                " waited), " + next + " frames, latest release " + (worstLate / rate * 1000).ToString("0.0") + " ms after a frame's moment (max " +
                (delay * 1000).ToString("0.0") + " ms), worst_push_ms " + stats.WorstPushMs + ", compute_ms " + stats.ComputeMs);
        }

        static void CheckVisemes(LiveRun run, long total, string what)
        {
            var v = run.Visemes;
            Assert.True(v.Count > 0, what + ": viseme events came");
            for (int i = 0; i < v.Count; i++)
            {
                Assert.True(Array.IndexOf(Channels.Visemes, v[i].Viseme) >= 0, what + ": a known viseme: " + v[i].Viseme);
                Assert.Equal((long)i, v[i].Index, what + ": segments counted from the stream's start");
                Assert.True(v[i].End > v[i].Start, what + ": segment " + i + " has a length");
                Assert.Equal(i == 0 ? 0L : v[i - 1].End, v[i].Start, what + ": segment " + i + " starts where the one before ended");
            }
            long lastEnd = v[v.Count - 1].End;
            Assert.True(lastEnd <= total && lastEnd >= total - 2, what + ": the segments tile the audio: last end " + lastEnd + " of " + total);
        }

        static ListenOptions Options(int rate, int fps = 60)
        {
            return new ListenOptions { SampleRate = rate, Fps = fps, Seed = 5 };
        }

        [Test(Needs = "live")]
        public static void LineInRandomPiecesGetsOneReplyPerPush()
        {
            int rate;
            var audio = Line(out rate);
            using (var c = DaemonTests.Open())
            {
                var rng = new Random(7);
                Func<int> cut = () => rng.Next(4) == 0 ? rng.Next(1, 64) : rng.Next(64, 6000);
                var run = PushLine(c, Options(rate), audio, cut, 4);
                CheckRun(run, audio, rate, 60, "random pieces");
                CheckVisemes(run, audio.Length, "random pieces");
                Assert.Equal(15 + 52 + 3 + 4, run.Start.Start.NumChannels, "all groups by default");
                Assert.True(run.Refused > 0 && run.MaxPending <= 4, "pushes wait for replies: " + run.Refused + " refused, at most " + run.MaxPending + " pending");
                int jaw = run.Stream.Curves.ColumnOf("jawOpen"), sil = run.Stream.Curves.ColumnOf("sil");
                Assert.True(jaw >= 0 && sil >= 0, "columns named by start");
            }
        }

        [Test(Needs = "live")]
        public static void ReleaseDoesNotDependOnHowTheAudioIsCut()
        {
            int rate;
            var audio = Line(out rate);
            using (var c = DaemonTests.Open())
            {
                var rng = new Random(11);
                var runs = new[]
                {
                    PushLine(c, new ListenOptions { SampleRate = rate, Channels = new[] { "visemes", "events" } }, audio, () => rng.Next(1, 9000), 16),
                    PushLine(c, new ListenOptions { SampleRate = rate, Channels = new[] { "visemes", "events" } }, audio, () => rate / 50, 16),
                    PushLine(c, new ListenOptions { SampleRate = rate, Channels = new[] { "visemes", "events" } }, audio, () => rng.Next(1, 200), 16),
                };
                string[] names = { "cut 1-9000", "cut 20 ms", "cut 1-200" };
                for (int i = 0; i < runs.Length; i++) CheckRun(runs[i], audio, rate, 60, names[i]);
                // each frame goes out with the first push that passes one threshold of its own: the intervals
                // (samples before, samples in] of the pushes that released it overlap in every cut
                int frames = runs[0].Stream.Curves.FrameCount;
                var low = new long[frames]; var high = new long[frames]; var final = new bool[frames];
                for (int f = 0; f < frames; f++) high[f] = long.MaxValue;
                foreach (var run in runs)
                    foreach (var r in run.Replies)
                        for (int f = r.StartFrame; f < r.StartFrame + r.NumFrames; f++)
                        {
                            low[f] = Math.Max(low[f], r.SamplesBefore); high[f] = Math.Min(high[f], r.SamplesIn);
                            final[f] |= r.IsLast;
                        }
                for (int f = 0; f < frames; f++)
                    if (!final[f]) Assert.True(low[f] < high[f], "frame " + f + " released at different points of the audio: after " + low[f] + " in one cut, by " + high[f] + " in another");
                for (int i = 1; i < runs.Length; i++)
                {
                    Assert.Equal(runs[0].Visemes.Count, runs[i].Visemes.Count, names[i] + ": the same viseme segments");
                    for (int k = 0; k < runs[0].Visemes.Count; k++)
                        Assert.True(runs[0].Visemes[k].Viseme == runs[i].Visemes[k].Viseme && runs[0].Visemes[k].Start == runs[i].Visemes[k].Start,
                            names[i] + ": segment " + k + " is the same");
                }
            }
        }

        [Test(Needs = "live")]
        public static void FloatPushesAsF32leWithHalfFloatCurves()
        {
            int rate;
            var audio = Line(out rate);
            using (var c = DaemonTests.Open())
            {
                int piece = rate / 50;                              // 20 ms
                var a = PushLine(c, new ListenOptions { SampleRate = rate, Fps = 30, Seed = 1, Channels = new[] { "visemes", "events" } }, audio, () => piece, 16);
                var b = PushLine(c, new ListenOptions { SampleRate = rate, Fps = 30, Seed = 1, Channels = new[] { "visemes", "events" }, AudioFormat = "f32le", CurveFormat = "f16" },
                                 audio, () => piece, 16, asFloat: true, emptyLast: true);
                CheckRun(a, audio, rate, 30, "pcm16le");
                CheckRun(b, audio, rate, 30, "f32le + f16");
                Assert.Equal("f32le", b.Start.Start.AudioFormat, "start says f32le");
                Assert.Equal("f16", b.Start.Start.CurveFormat, "start says f16");
                Assert.Equal(15, b.Start.Start.NumChannels, "visemes only");
                Assert.Equal(0L, b.PushedTotals[b.PushedTotals.Count - 1] - b.PushedTotals[b.PushedTotals.Count - 2], "the last push was empty");
                // the same samples (x / 32768 either way) cut the same way: the same decisions and curves
                Assert.Equal(a.Visemes.Count, b.Visemes.Count, "the same viseme segments");
                for (int f = 0; f < a.Stream.Curves.FrameCount; f++)
                    for (int k = 0; k < 15; k++)
                        Assert.Near(a.Stream.Curves.Value(f, k), b.Stream.Curves.Value(f, k), 2e-3, "frame " + f + " channel " + k + " (f16 of f32)");
            }
        }

        [Test(Needs = "live")]
        public static void FeedCutsTwentyMillisecondPieces()
        {
            int rate;
            var audio = Line(out rate);
            using (var c = DaemonTests.Open())
            {
                var s = c.Listen(new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } });
                s.WindowSeconds = 0;
                int piece = LiveAudioFeed.PieceFor(s, 0.02);
                Assert.Equal(rate / 50, piece, "20 ms");
                var feed = new LiveAudioFeed(s, piece, rate);
                var run = new LiveRun { Stream = s };
                var floats = new float[audio.Length];
                for (int i = 0; i < audio.Length; i++) floats[i] = audio[i] / 32768f;
                var rng = new Random(3);
                int pos = 0;
                while (pos < audio.Length)                          // blocks of a microphone or an audio callback
                {
                    int n = Math.Min(rng.Next(1, 3000), audio.Length - pos);
                    Assert.Equal(n, feed.Write(floats, pos, n), "the ring takes the block");
                    pos += n;
                    feed.Pump();
                    DaemonMessage m;
                    while (c.TryDequeue(out m)) { var r = s.Apply(m); if (r != null) Take(run, r); }
                    while (feed.Buffered > rate / 2) { Take(run, Next(c, s)); feed.Pump(); }   // faster than real time: let the daemon catch up
                }
                while (!feed.Finish()) Take(run, Next(c, s));
                while (!s.Done) Take(run, Next(c, s));
                long before = 0;
                foreach (var r in run.Replies) { run.PushedTotals.Add(r.SamplesIn); }
                for (int k = 0; k < run.Replies.Count; k++)
                {
                    long size = run.Replies[k].SamplesIn - before; before = run.Replies[k].SamplesIn;
                    if (k < run.Replies.Count - 1) Assert.Equal((long)piece, size, "push " + k + " is one piece");
                    else Assert.True(size >= 0 && size <= piece, "the last push holds the rest: " + size);
                }
                Assert.Equal((long)audio.Length, feed.SamplesWritten, "everything written");
                Assert.Equal(0L, feed.DroppedSamples, "nothing dropped");
                CheckRun(run, audio, rate, 60, "LiveAudioFeed");
                // a ring that cannot take more while the stream waits: Write takes what fits, the rest is counted
                var s2 = c.Listen(new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } });
                s2.MaxPendingPushes = 1;
                var small = new LiveAudioFeed(s2, piece, 2 * piece);
                small.Write(floats, 0, piece); small.Pump();             // one push waits for its reply, unread
                int took = small.Write(floats, 0, 3 * piece);
                small.Pump();
                Assert.Equal(2 * piece, took, "the ring took what fits");
                Assert.Equal((long)piece, small.DroppedSamples, "the rest is counted as dropped");
                s2.Cancel();
                var last = Next(c, s2);
                while (last.Kind != LiveReplyKind.End && last.Kind != LiveReplyKind.Error) last = Next(c, s2);
                Assert.True(s2.Cancelled, "cancelled");
            }
        }

        [Test(Needs = "live")]
        public static void ErrorsEndOrRefuseTheStream()
        {
            int rate;
            var audio = Line(out rate);
            using (var c = DaemonTests.Open())
            {
                // options out of range: the daemon answers the listen with one error
                var bad = c.Listen(new ListenOptions { SampleRate = 4000 });
                var e = Next(c, bad) as LiveError;
                Assert.True(e != null && e.Code == "invalid_option" && e.Field == "sample_rate" && !e.Retryable, "sample_rate 4000: invalid_option on sample_rate");
                Assert.Throws<InvalidOperationException>(() => bad.Push(new short[10]), "no push to a stream that failed");
                var badFps = c.Listen(new ListenOptions { SampleRate = rate, Fps = 500 });
                e = Next(c, badFps) as LiveError;
                Assert.True(e != null && e.Code == "invalid_option" && e.Field == "fps", "fps 500: invalid_option on fps");
                Assert.Throws<ArgumentException>(() => c.Listen(new ListenOptions { AudioFormat = "mp3" }), "mp3 is refused before sending");

                // a push after the last: refused by the client; at the wire, after the end: unknown_request
                var s = c.Listen(new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } });
                Assert.True(s.Push(audio, 0, rate / 2, true), "half a second, marked last");
                Assert.Throws<InvalidOperationException>(() => s.Push(audio, 0, 10), "push after last is refused locally");
                while (!s.Done) Next(c, s);
                Assert.True(s.Ok && s.Replies == 1, "one reply, then end ok");
                c.SendFrames(PushFrames(s.Id, false, new byte[4]));
                var late = NextWithId(c, m => m.Type == "error");
                Assert.True(late.GetString("code") == "unknown_request" && late.Id == s.Id, "after the end: unknown_request, got " + late.GetString("code"));
                // at the wire, right behind the last push: the stream's end is on its way; the spec says invalid_audio with id nil
                var s2 = c.Listen(new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } });
                Next(c, s2);
                c.SendFrames(PushFrames(s2.Id, true, new byte[2 * 400]));
                c.SendFrames(PushFrames(s2.Id, false, new byte[2 * 400]));
                var refusal = NextWithId(c, m => m.Type == "error");
                string code = refusal.GetString("code");
                Console.WriteLine("  push right after the last: " + code + " (id " + (refusal.Id ?? "nil") + ")");
                Assert.True((code == "invalid_audio" && refusal.Id == null) || (code == "unknown_request" && refusal.Id == s2.Id),
                    "push right after the last: invalid_audio with id nil (or unknown_request once the end was sent), got " + code + " id " + refusal.Id);

                // a payload that is not whole samples ends the stream with invalid_audio
                var s3 = c.Listen(new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } });
                Assert.True(s3.Push(audio, 0, 500), "a good push");
                c.SendFrames(PushFrames(s3.Id, false, new byte[3]));
                LiveReply r;
                do r = Next(c, s3); while (r.Kind != LiveReplyKind.Error && r.Kind != LiveReplyKind.End);
                Assert.Equal("invalid_audio", s3.ErrorCode, "3 bytes of pcm16le");
                Assert.True(s3.Replies <= 1, "at most the good push was answered");

                // more than max_push_s: refused by the client; at the wire: invalid_audio
                var s4 = c.Listen(new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } });
                Assert.Equal(rate, s4.MaxPushSamples, "max_push_s from the daemon's welcome: 1 s");
                Assert.Throws<ArgumentOutOfRangeException>(() => s4.Push(new short[rate + 1]), "over max_push_s refused locally");
                Assert.Equal(0, s4.Pushes, "nothing sent");
                c.SendFrames(PushFrames(s4.Id, false, new byte[2 * (rate + 1)]));
                do r = Next(c, s4); while (r.Kind != LiveReplyKind.Error && r.Kind != LiveReplyKind.End);
                Assert.Equal("invalid_audio", s4.ErrorCode, "over max_push_s at the wire");

                // a push to an id that is not a running listen
                c.SendFrames(PushFrames("nobody", false, new byte[2]));
                var unknown = NextWithId(c, m => m.Id == "nobody");
                Assert.Equal("unknown_request", unknown.GetString("code"), "push to an unknown id");

                // cancel: end with status cancelled, nothing after it; the stream refuses pushes
                var s5 = c.Listen(new ListenOptions { SampleRate = rate });
                for (int i = 0; i < 5; i++) Assert.True(s5.Push(audio, i * 441, 441), "push " + i);
                s5.Cancel();
                do r = Next(c, s5); while (r.Kind != LiveReplyKind.Error && r.Kind != LiveReplyKind.End);
                Assert.True(s5.Cancelled, "end status cancelled");
                Assert.Throws<InvalidOperationException>(() => s5.Push(audio, 0, 10), "no push after cancel");
                Assert.True(s5.Replies <= 5, "at most one reply per push before the cancel");
                var ok = PushLine(c, new ListenOptions { SampleRate = rate, Channels = new[] { "visemes" } }, audio, () => 4000, 16);
                Assert.True(ok.Stream.Ok, "the connection still works after all that");
            }
        }

        static List<byte[]> PushFrames(string id, bool last, byte[] payload)
        {
            var h = Wire.Request("push", id);
            if (last) h["last"] = true;
            return new List<byte[]> { MsgPack.Pack(h), payload };
        }
    }
}
