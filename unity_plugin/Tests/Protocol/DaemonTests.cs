// Against the real daemon, started by tests/test_unity_plugin.py and given with --url.
using System;
using System.Collections.Generic;
using System.Threading;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class DaemonTests
    {
        public const string Line = "Hello there, traveler! Mind the bridge.";
        public const string LongLine = "The bridge to the northern village washed away in the storm last night, so the merchants " +
            "will have to take the long road through the forest, past the old mill and the ruined watchtower, before they reach the market.";

        public static DaemonConnection Open(int queueCapacity = 256)
        {
            var c = new DaemonConnection(Env.Url, queueCapacity);
            c.Start();
            Assert.True(c.WaitConnected(10000), "connected and greeted within 10 s");
            return c;
        }

        /// <summary>Read messages until the stream's terminal one, skipping connection notices.</summary>
        public static SpeechStream Collect(DaemonConnection c, string id, int timeoutMs = 60000, Action<SpeechStream, DaemonMessage> each = null)
        {
            var s = new SpeechStream(id);
            long deadline = ZmtpSocket.NowMs + timeoutMs;
            while (!s.Done)
            {
                var m = c.Receive((int)Math.Max(1, deadline - ZmtpSocket.NowMs));
                if (m == null) throw new AssertionException("stream " + id + " timed out after " + s.AudioChunks + " audio chunks");
                if (m.Id != id) continue;
                float[] audio;
                s.Apply(m, out audio);
                if (each != null) each(s, m);
            }
            return s;
        }

        static DaemonMessage Reply(DaemonConnection c, string id, int timeoutMs = 10000)
        {
            long deadline = ZmtpSocket.NowMs + timeoutMs;
            while (true)
            {
                var m = c.Receive((int)Math.Max(1, deadline - ZmtpSocket.NowMs));
                if (m == null) throw new AssertionException("no reply to " + id);
                if (m.Id == id) return m;
            }
        }

        [Test(Needs = "daemon")]
        public static void HelloPingStatusVoices()
        {
            using (var c = Open())
            {
                Assert.True(c.Instance != null && c.Instance.Length > 0, "welcome gave an instance");
                Assert.Equal("ROUTER", c.Socket.PeerSocketType, "daemon socket type");
                Assert.Equal(1L, (long)c.Welcome["version"], "version 1 chosen");
                var hello = Wire.Request("hello", "h1"); hello["versions"] = new object[] { 1 };
                c.Send(hello);
                Assert.Equal("welcome", Reply(c, "h1").Type, "hello -> welcome");
                var ping = Wire.Request("ping", "p1"); ping["t"] = 42;
                c.Send(ping);
                var pong = Reply(c, "p1");
                Assert.Equal("pong", pong.Type, "ping -> pong"); Assert.Equal(42L, pong.GetLong("t", 0), "t echoed");
                Assert.Equal(c.Instance, pong.GetString("instance"), "same instance");
                c.Send(Wire.Request("voices", "v1"));
                var voices = Reply(c, "v1");
                Assert.True(voices.GetList("voices").Length >= 1, "at least one voice");
                c.Send(Wire.Request("status", "s1"));
                Assert.Equal("status", Reply(c, "s1").Type, "status");
                var bad = Wire.Request("ping", "p2"); bad["v"] = 99;
                c.Send(bad);
                var err = Reply(c, "p2");
                Assert.Equal("unsupported_version", err.GetString("code"), "v 99 refused");
            }
        }

        [Test(Needs = "daemon")]
        public static void SpeakReceivesTheWholeStream()
        {
            using (var c = Open())
            {
                string id = c.Speak(new SpeakOptions { Text = Line, Fps = 60, Seed = 3 });
                var s = Collect(c, id);
                Assert.True(s.Ok, "end ok, got " + s.Terminal.Type + " " + s.ErrorCode);
                Assert.Equal(0, s.Violations.Count, "no protocol violations: " + string.Join("; ", s.Violations));
                var stats = s.Terminal.GetMap("stats");
                Assert.Equal((long)stats["audio_samples"], s.AudioSamples, "audio_samples = the audio received");
                Assert.Equal(15 + 52 + 3 + 4, s.Start.NumChannels, "all groups by default");
                Assert.Equal(CurveTrack.FirstFrameAt(s.AudioSamples, 60, s.Start.SampleRate), (long)s.Curves.FrameCount, "a frame for every 1/60 s of audio");
                Assert.Equal((long)stats["frames"], (long)s.Curves.FrameCount, "frames = stats.frames");
                Assert.True(s.EventsMessages > 0, "events came");
                var jaw = new float[s.Start.NumChannels];
                float maxJaw = 0; int col = s.Curves.ColumnOf("jawOpen");
                for (long x = 0; x < s.AudioSamples; x += 100) { s.Curves.Sample(x, jaw); maxJaw = Math.Max(maxJaw, jaw[col]); }
                Assert.True(maxJaw > 0.1f, "the jaw opens while speaking: " + maxJaw);
            }
        }

        [Test(Needs = "daemon")]
        public static void HalfFloatCurvesMatchFloat32()
        {
            using (var c = Open())
            {
                var opts = new SpeakOptions { Text = "Good morning.", Fps = 30, Seed = 9, Channels = new[] { "visemes", "head" } };
                var a = Collect(c, c.Speak(opts));
                opts.CurveFormat = "f16";
                var b = Collect(c, c.Speak(opts));
                Assert.True(a.Ok && b.Ok, "both ok");
                Assert.Equal("f16", b.Start.CurveFormat, "f16 announced");
                Assert.Equal(0L, a.AudioSamples, "no audio requested");
                Assert.Equal(a.Curves.FrameCount, b.Curves.FrameCount, "same frames");
                for (int f = 0; f < a.Curves.FrameCount; f++)
                    for (int k = 0; k < a.Curves.NumChannels; k++)
                        Assert.Near(a.Curves.Value(f, k), b.Curves.Value(f, k), 1e-3, "frame " + f + " channel " + k);
            }
        }

        [Test(Needs = "daemon")]
        public static void CancelEndsTheStreamAtOnce()
        {
            using (var c = Open())
            {
                string id = c.Speak(new SpeakOptions { Text = LongLine + " " + LongLine });
                long cancelAt = 0; bool sentCancel = false;
                var s = Collect(c, id, 60000, (st, m) =>
                {
                    if (!sentCancel && m.Type == "audio") { c.Cancel(id); cancelAt = ZmtpSocket.NowMs; sentCancel = true; }
                });
                Assert.True(s.Cancelled, "end status cancelled, got " + s.Terminal.Type + " " + s.Terminal.GetString("status") + s.ErrorCode);
                Assert.Equal(0, s.Violations.Count, "no violations: " + string.Join("; ", s.Violations));
                Console.WriteLine("  cancel acknowledged after " + (s.Terminal.ReceivedMs - cancelAt) + " ms");
                c.Cancel(id);
                var err = Reply(c, id);
                Assert.Equal("unknown_request", err.GetString("code"), "cancel of a finished id");
            }
        }

        [Test(Needs = "daemon")]
        public static void BadRequestsGetErrors()
        {
            using (var c = Open())
            {
                var s = Collect(c, c.Speak(new SpeakOptions { Text = "   " }));
                Assert.Equal("invalid_text", s.ErrorCode, "whitespace text");
                s = Collect(c, c.Speak(new SpeakOptions { Text = "Hi.", Fps = 500 }));
                Assert.Equal("invalid_option", s.ErrorCode, "fps 500");
                Assert.Equal("fps", s.Terminal.GetString("field"), "field named");
                c.SendFrames(new[] { new byte[] { 0xc1, 0x00 } });
                var m = c.Receive(5000);
                while (m != null && m.Type != "error") m = c.Receive(5000);
                Assert.True(m != null && m.GetString("code") == "bad_message", "garbage header -> bad_message");
                var ok = Collect(c, c.Speak(new SpeakOptions { Text = "Still here.", Channels = new[] { "audio" } }));
                Assert.True(ok.Ok, "the connection still works");
            }
        }

        [Test(Needs = "daemon")]
        public static void SlowReaderGetsTheWholeStream()
        {
            using (var c = Open(8))
            {
                string id = c.Speak(new SpeakOptions { Text = LongLine, Fps = 120 });
                Thread.Sleep(3000);                           // the application reads nothing for 3 s
                Assert.True(c.QueueCount <= 8, "the queue stayed bounded: " + c.QueueCount);
                var s = Collect(c, id);
                Assert.True(s.Ok, "end ok after the pause: " + s.Terminal.Type + " " + s.ErrorCode);
                Assert.Equal(0, s.Violations.Count, "nothing lost: " + string.Join("; ", s.Violations));
                Assert.Equal(8, c.MaxQueueDepth, "the queue filled up (the receive thread waited) and never went over");
                Assert.Equal(1, c.Connections, "one connection throughout");
            }
        }

        [Test(Needs = "restart")]
        public static void DaemonRestartMidSession()
        {
            using (var c = Open())
            {
                string before = c.Instance;
                string id = c.Speak(new SpeakOptions { Text = LongLine + " " + LongLine });
                var first = Reply(c, id);
                Assert.Equal("start", first.Type, "stream started");
                Env.RestartDaemon();                          // SIGTERM, then a new daemon on the same URL
                var s = new SpeechStream(id);
                float[] audio;
                s.Apply(first, out audio);
                while (!s.Done)
                {
                    var m = c.Receive(30000);
                    if (m == null) throw new AssertionException("the stream never ended after the restart");
                    if (m.Id == id) s.Apply(m, out audio);
                }
                string code = s.ErrorCode;
                Assert.True(code == "shutting_down" || code == "connection_lost", "the stream ends in shutting_down or connection_lost, got " + code);
                Assert.True(s.Terminal.GetBool("retryable"), "retryable");
                Assert.True(c.WaitConnected(20000), "reconnected");
                long deadline = ZmtpSocket.NowMs + 20000;
                while (c.Instance == before && ZmtpSocket.NowMs < deadline) Thread.Sleep(20);
                Assert.True(c.Instance != before, "a new instance");
                Assert.Equal(1, c.Restarts, "one restart seen");
                var again = Collect(c, c.Speak(new SpeakOptions { Text = "Back again.", Channels = new[] { "audio", "visemes" } }));
                Assert.True(again.Ok, "the next request works: " + again.Terminal.Type + " " + again.ErrorCode);
            }
        }

        [Test(Needs = "daemon")]
        public static void SpeakWhileDisconnectedFailsFast()
        {
            using (var c = new DaemonConnection("tcp://127.0.0.1:1"))
            {
                c.Start();
                string id = c.Speak(new SpeakOptions { Text = "Nobody listens." });
                var m = c.Receive(2000);
                Assert.True(m != null && m.Id == id && m.GetString("code") == "not_connected", "local not_connected error");
                Assert.True(m.IsLocal, "made locally");
            }
        }
    }
}
