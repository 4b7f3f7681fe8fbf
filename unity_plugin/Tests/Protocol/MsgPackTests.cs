using System;
using System.Collections.Generic;
using System.Diagnostics;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class MsgPackTests
    {
        static byte[] H(string hex)
        {
            hex = hex.Replace(" ", "");
            var b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
            return b;
        }

        [Test]
        public static void RoundTripsEveryType()
        {
            var map = new Dictionary<string, object>
            {
                { "nil", null }, { "t", true }, { "f", false }, { "small", 5L }, { "neg", -5L }, { "u8", 200L },
                { "u16", 60000L }, { "u32", 4000000000L }, { "i64", long.MinValue }, { "big", ulong.MaxValue },
                { "i8", -100L }, { "i16", -30000L }, { "i32", -2000000000L }, { "d", 0.1 }, { "s", "héllo ✓" },
                { "long", new string('x', 300) }, { "bin", new byte[] { 0, 1, 2, 255 } },
                { "arr", new object[] { 1L, "two", new object[] { 3.5 } } },
                { "nested", new Dictionary<string, object> { { "k", "v" } } },
            };
            var back = MsgPack.UnpackMap(MsgPack.Pack(map));
            Assert.Equal(map.Count, back.Count, "keys");
            foreach (var kv in map)
            {
                object v = back[kv.Key];
                if (kv.Value is byte[]) Assert.Equal(BitConverter.ToString((byte[])kv.Value), BitConverter.ToString((byte[])v), kv.Key);
                else if (kv.Value is object[]) Assert.Equal(3, ((object[])v).Length, kv.Key);
                else if (kv.Value is Dictionary<string, object>) Assert.Equal("v", ((Dictionary<string, object>)v)["k"], kv.Key);
                else Assert.Equal(kv.Value, v, kv.Key);
            }
        }

        [Test]
        public static void ReadsPythonMsgpackEncodings()
        {
            // msgpack.packb({"v": 1, "type": "audio", "x": -1, "f": 1.5, "b": b"\x01"}, use_bin_type=True)
            var m = MsgPack.UnpackMap(H("85 a1 76 01 a4 74 79 70 65 a5 61 75 64 69 6f a1 78 ff a1 66 cb 3f f8 00 00 00 00 00 00 a1 62 c4 01 01"));
            Assert.Equal(1L, m["v"], "v"); Assert.Equal("audio", m["type"], "type"); Assert.Equal(-1L, m["x"], "x");
            Assert.Equal(1.5, m["f"], "f"); Assert.Equal(1, ((byte[])m["b"]).Length, "b");
            Assert.Equal(1.5, MsgPack.Unpack(H("ca 3f c0 00 00")), "float32");
            Assert.Equal(65536L, MsgPack.Unpack(H("ce 00 01 00 00")), "uint32");
            Assert.Equal(-129L, MsgPack.Unpack(H("d1 ff 7f")), "int16");
            Assert.Equal("a", MsgPack.Unpack(H("d9 01 61")), "str8");
            Assert.True(MsgPack.Unpack(H("d4 01 00")) is MsgPackExt, "fixext is skipped as MsgPackExt");
        }

        [Test]
        public static void MalformedInputGivesAClearException()
        {
            var cases = new Dictionary<string, byte[]>
            {
                { "empty", new byte[0] },
                { "reserved 0xc1", H("c1") },
                { "truncated map", H("82 a1 61 01") },
                { "truncated str32", H("db 00 00 00 05 61") },
                { "huge declared str", H("db ff ff ff ff") },
                { "huge declared map", H("df ff ff ff ff") },
                { "huge declared array", H("dd 7f ff ff ff 01") },
                { "non-string key", H("81 01 02") },
                { "bad utf-8", H("a2 c3 28") },
                { "trailing bytes", H("01 02") },
                { "truncated int64", H("d3 00 00") },
            };
            foreach (var kv in cases)
            {
                var e = Assert.Throws<MsgPackException>(() => MsgPack.Unpack(kv.Value), kv.Key);
                Assert.True(e.Message.StartsWith("malformed MessagePack at byte "), kv.Key + ": " + e.Message);
            }
            var deep = new byte[100000];
            for (int i = 0; i < deep.Length; i++) deep[i] = 0x91;   // [[[[...
            Assert.True(Assert.Throws<MsgPackException>(() => MsgPack.Unpack(deep), "deep").Message.Contains("nesting"), "depth limit");
            Assert.Throws<MsgPackException>(() => MsgPack.UnpackMap(H("93 01 02 03")), "top level must be a map");
        }

        [Test]
        public static void FuzzedHeadersNeverHangOrCrash()
        {
            var valid = MsgPack.Pack(new Dictionary<string, object> {
                { "v", 1 }, { "type", "frames" }, { "id", "r1" }, { "seq", 2 }, { "start_frame", 12 }, { "num_frames", 8 },
                { "groups", new object[] { new Dictionary<string, object> { { "name", "visemes" }, { "channels", new object[] { "sil", "PP" } } } } } });
            var rng = new Random(1234);
            int ok = 0, rejected = 0;
            var sw = Stopwatch.StartNew();
            for (int n = 0; n < 20000; n++)
            {
                byte[] b;
                if (n % 2 == 0)
                {
                    b = (byte[])valid.Clone();
                    int flips = 1 + rng.Next(4);
                    for (int k = 0; k < flips; k++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                    if (rng.Next(4) == 0) Array.Resize(ref b, rng.Next(b.Length + 1));
                }
                else { b = new byte[rng.Next(40)]; rng.NextBytes(b); }
                try { MsgPack.Unpack(b); ok++; }
                catch (MsgPackException) { rejected++; }
                catch (ArgumentOutOfRangeException) { throw; }
            }
            Assert.True(rejected > 1000, "most mutations are rejected: " + rejected);
            Assert.True(sw.ElapsedMilliseconds < 20000, "20,000 decodes finished");
        }

        [Test]
        public static void MalformedDaemonMessagesRaiseProtocolException()
        {
            var e = Assert.Throws<ProtocolException>(() => DaemonMessage.Decode(new[] { H("c1") }), "garbage header");
            Assert.Equal("bad_message", e.Code, "code");
            Assert.True(e.Message.Contains("header frame"), e.Message);
            Assert.Throws<ProtocolException>(() => DaemonMessage.Decode(new[] { MsgPack.Pack(new Dictionary<string, object> { { "v", 1 } }) }), "no type");
            var audio = new DaemonMessage(new Dictionary<string, object> { { "type", "audio" }, { "num_samples", 4L }, { "sample_offset", 0L } }, new byte[6]);
            Assert.Throws<ProtocolException>(() => Payloads.DecodeAudio(audio), "payload size mismatch");
            var frames = new DaemonMessage(new Dictionary<string, object> { { "type", "frames" }, { "num_frames", 2L }, { "num_channels", 3L } }, new byte[20]);
            int nf, nc;
            Assert.Throws<ProtocolException>(() => Payloads.DecodeFrames(frames, "f32", out nf, out nc), "frames size mismatch");
        }
    }
}
