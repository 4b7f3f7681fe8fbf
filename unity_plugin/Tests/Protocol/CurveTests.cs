using System;
using System.Collections.Generic;
using System.IO;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class CurveTests
    {
        [Test]
        public static void HalfFloatsDecodeExactly()
        {
            Assert.Equal(1f, Payloads.HalfToFloat(0x3c00), "1");
            Assert.Equal(-2f, Payloads.HalfToFloat(0xc000), "-2");
            Assert.Equal(0.5f, Payloads.HalfToFloat(0x3800), "0.5");
            Assert.Equal(65504f, Payloads.HalfToFloat(0x7bff), "max");
            Assert.Equal((float)Math.Pow(2, -24), Payloads.HalfToFloat(0x0001), "smallest subnormal");
            Assert.True(float.IsPositiveInfinity(Payloads.HalfToFloat(0x7c00)), "inf");
            Assert.True(float.IsNaN(Payloads.HalfToFloat(0x7e00)), "nan");
            Assert.Equal(0.333251953125f, Payloads.HalfToFloat(0x3555), "1/3 rounded");
        }

        [Test]
        public static void PcmDecodesToUnitRange()
        {
            var m = new DaemonMessage(new Dictionary<string, object> { { "type", "audio" }, { "num_samples", 3L }, { "sample_offset", 0L } },
                new byte[] { 0x00, 0x80, 0xff, 0x7f, 0x00, 0x40 });
            var s = Payloads.DecodeAudio(m);
            Assert.Equal(-1f, s[0], "min"); Assert.Near(32767 / 32768.0, s[1], 1e-9, "max"); Assert.Equal(0.5f, s[2], "half");
        }

        [Test]
        public static void FramePositionsFollowTheAudioClock()
        {
            // docs/protocol.md section 10: at 30 fps the chunk at sample 8192 starts with frame 12
            Assert.Equal(12L, CurveTrack.FirstFrameAt(8192, 30, 22050), "worked example");
            Assert.Equal(0L, CurveTrack.FirstFrameAt(0, 60, 22050), "zero");
            Assert.Equal(1L, CurveTrack.FirstFrameAt(1, 60, 22050), "ceil");
            Assert.Equal(2L, CurveTrack.FirstFrameAt(735, 60, 22050), "exact multiple (735 = 2 x 367.5)");
            Assert.Equal(60L, CurveTrack.FirstFrameAt(22050, 60, 22050), "one second");
        }

        [Test]
        public static void SamplingInterpolatesAndHolds()
        {
            var t = new CurveTrack(new[] { "a", "b" }, 30, 22050);
            var out2 = new float[2];
            Assert.True(!t.Sample(0, out2), "no frames yet");
            t.Append(0, 2, new[] { 0f, 1f, 1f, 0f });
            t.Append(2, 1, new[] { 0.5f, 0.5f });
            Assert.Equal(3, t.FrameCount, "frames");
            t.Sample(735 / 2.0, out2);                              // halfway between frame 0 and 1
            Assert.Near(0.5, out2[0], 1e-6, "a half"); Assert.Near(0.5, out2[1], 1e-6, "b half");
            t.Sample(735 * 2, out2); Assert.Near(0.5, out2[0], 1e-6, "frame 2");
            t.Sample(1e9, out2); Assert.Near(0.5, out2[0], 1e-6, "holds the last frame");
            t.Sample(-5, out2); Assert.Near(0, out2[0], 1e-6, "holds the first frame");
            t.Append(5, 1, new[] { 1f, 1f });
            Assert.Equal(2, t.FilledFrames, "gap filled by holding");
            Assert.Throws<ArgumentException>(() => t.Append(3, 1, new[] { 0f, 0f }), "frames going back are refused");
        }

        [Test]
        public static void RetargetProfilesMixChannels()
        {
            string[] channels = new string[Channels.Visemes.Length + Channels.Blendshapes.Length];
            Channels.Visemes.CopyTo(channels, 0); Channels.Blendshapes.CopyTo(channels, Channels.Visemes.Length);
            var frame = new float[channels.Length];
            frame[Array.IndexOf(channels, "aa")] = 0.5f; frame[Array.IndexOf(channels, "kk")] = 1f;
            frame[Array.IndexOf(channels, "jawOpen")] = 0.7f;
            var vrm = new RetargetMap(RetargetProfiles.Vrm(), channels);
            var w = new float[vrm.Targets.Length];
            vrm.Evaluate(frame, w);
            Assert.Near(0.9, w[Array.IndexOf(vrm.Targets, "aa")], 1e-6, "vrm aa = aa + 0.4 kk");
            var arkit = new RetargetMap(RetargetProfiles.Arkit(), channels);
            Assert.Equal(52, arkit.Targets.Length, "arkit is the identity over 52 names");
            var aw = new float[52]; arkit.Evaluate(frame, aw);
            Assert.Near(0.7, aw[Array.IndexOf(arkit.Targets, "jawOpen")], 1e-6, "jawOpen");
            var oculus = new RetargetMap(RetargetProfiles.Oculus(), Channels.Visemes);
            Assert.Equal(15, oculus.Targets.Length, "only viseme targets when the stream has only visemes");
            Assert.Equal(-1, oculus.HeadPitch, "no head column");
            foreach (string name in RetargetProfiles.Names)
            {
                var p = RetargetProfiles.ByName(name);
                Assert.True(p.HeadNodes.Length > 0 && p.LeftEyeNodes.Length > 0, name + " has node names");
                foreach (var terms in p.Terms)
                    foreach (var term in terms)
                        Assert.True(Array.IndexOf(Channels.Visemes, term.Channel) >= 0 || Array.IndexOf(Channels.Blendshapes, term.Channel) >= 0,
                            name + ": " + term.Channel + " is a known channel");
            }
        }

        [Test]
        public static void RingBufferIsGapless()
        {
            var ring = new PcmRingBuffer(1000);
            var rng = new Random(7);
            var expected = new List<float>(); var got = new List<float>();
            int value = 0;
            for (int round = 0; round < 200; round++)
            {
                int n = rng.Next(1, 300);
                var chunk = new float[n];
                for (int i = 0; i < n; i++) chunk[i] = value++;
                int w = ring.Write(chunk, 0, n);
                for (int i = 0; i < w; i++) expected.Add(chunk[i]);
                value -= n - w;
                var block = new float[rng.Next(1, 256)];
                int r = ring.Read(block, 0, block.Length);
                for (int i = 0; i < r; i++) got.Add(block[i]);
                for (int i = r; i < block.Length; i++) Assert.Equal(0f, block[i], "silence after the data");
            }
            var rest = new float[ring.Available]; ring.Read(rest, 0, rest.Length); got.AddRange(rest);
            Assert.Equal(expected.Count, got.Count, "every sample comes out");
            for (int i = 0; i < got.Count; i++) if (got[i] != expected[i]) throw new AssertionException("sample " + i + " differs");
            ring.Finished = true;
            long before = ring.UnderrunSamples;
            ring.Read(new float[10], 0, 10);
            Assert.Equal(before, ring.UnderrunSamples, "no underrun counted after the end");
        }

        [Test]
        public static void CurvesJsonParses()
        {
            string json = "{\"format\": \"avatarlab.curves\", \"version\": 1, \"text\": \"Hi \\u00e9\", \"voice\": \"v\", \"audio\": \"hi.wav\"," +
                " \"fps\": 30, \"sample_rate\": 22050, \"num_samples\": 1470, \"num_frames\": 2, \"duration_s\": 0.0667," +
                " \"visemes\": {\"names\": [\"sil\", \"aa\"], \"frames\": [[1.0, 0.0], [0.25, 0.75]]}," +
                " \"head\": {\"names\": [\"headPitch\", \"headYaw\", \"headRoll\"], \"frames\": [[0.01, -0.02, 0.0], [0, 0, 1e-3]]}}";
            var doc = CurvesDocument.Parse(json);
            Assert.Equal("Hi é", doc.Text, "text escape");
            Assert.Equal(5, doc.Channels.Length, "channels");
            Assert.Equal("headPitch", doc.Channels[2], "groups in protocol order");
            Assert.Near(0.75, doc.Frames[1][1], 1e-6, "value"); Assert.Near(0.001, doc.Frames[1][4], 1e-9, "exponent");
            Assert.Throws<JsonException>(() => MiniJson.Parse("{\"a\": [1, 2"), "truncated JSON");
            Assert.Throws<FormatException>(() => CurvesDocument.Parse("{\"format\": \"other\"}"), "not a curves document");
            string sample = Environment.GetEnvironmentVariable("AVATARLAB_CURVES_JSON");
            if (sample != null)
            {   // a real document written by `avatarlab speak`, when the Python test provides one
                var real = CurvesDocument.Parse(File.ReadAllText(sample));
                Assert.Equal(real.NumFrames, real.Frames.Length, "frames");
                Assert.Equal(15 + 52 + 3 + 4, real.Channels.Length, "every group");
            }
        }

        [Test]
        public static void GeneratedVocabularyMatchesTheProtocol()
        {
            Assert.Equal(15, Channels.Visemes.Length, "visemes"); Assert.Equal(52, Channels.Blendshapes.Length, "blendshapes");
            Assert.Equal("headPitch", Channels.Head[0], "head"); Assert.Equal(4, Channels.Eyes.Length, "eyes");
            Assert.Equal(Channels.Blendshapes, Channels.OfGroup("blendshapes"), "OfGroup");
        }
    }
}
