// ZMTP interop with libzmq itself: pyzmq ROUTER and DEALER peers started by tests/test_unity_plugin.py
// that echo every message back (the ROUTER strips and re-adds the identity frame).
using System;
using System.Collections.Generic;
using System.Threading;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class InteropTests
    {
        static ZmtpSocket Connect(string url)
        {
            string host; int port;
            ZmtpSocket.ParseEndpoint(url, out host, out port);
            return ZmtpSocket.Connect(host, port, 5000);
        }

        static List<byte[]> Frames(params int[] sizes)
        {
            var r = new List<byte[]>();
            var rng = new Random(sizes.Length);
            foreach (int n in sizes) { var b = new byte[n]; rng.NextBytes(b); r.Add(b); }
            return r;
        }

        static void Echo(string url, string expectType)
        {
            using (var z = Connect(url))
            {
                Assert.Equal(expectType, z.PeerSocketType, "peer socket type");
                var messages = new List<List<byte[]>>
                {
                    Frames(5), Frames(0), Frames(255), Frames(256), Frames(10, 0, 300), Frames(3 << 20), Frames(1, 2, 3, 4, 5, 6),
                };
                for (int i = 0; i < 200; i++) messages.Add(new List<byte[]> { BitConverter.GetBytes(i) });
                foreach (var m in messages) z.Send(m);
                foreach (var sent in messages)
                {
                    var got = z.Receive(10000);
                    Assert.True(got != null, "echo arrived");
                    Assert.Equal(sent.Count, got.Count, "frame count");
                    for (int k = 0; k < sent.Count; k++)
                        Assert.Equal(Convert.ToBase64String(sent[k]), Convert.ToBase64String(got[k]), "frame " + k + " bytes");
                }
            }
        }

        [Test(Needs = "router-echo")]
        public static void DealerTalksToPyzmqRouter() { Echo(Env.RouterEcho, "ROUTER"); }

        [Test(Needs = "dealer-echo")]
        public static void DealerTalksToPyzmqDealer() { Echo(Env.DealerEcho, "DEALER"); }

        [Test(Needs = "heartbeat-router")]
        public static void AnswersHeartbeatsSoTheConnectionStays()
        {
            // the peer pings every 100 ms and drops a connection silent for 500 ms
            using (var z = Connect(Env.HeartbeatRouter))
            {
                z.Send(new[] { new byte[] { 1 } });
                Assert.True(z.Receive(5000) != null, "first echo");
                long until = ZmtpSocket.NowMs + 2000;
                while (ZmtpSocket.NowMs < until) Assert.True(z.Receive(100) == null, "nothing but heartbeats while idle");
                Assert.True(z.PingsReceived >= 5, "the peer pinged: " + z.PingsReceived);
                z.SendPing(10, new byte[] { 7, 7 });
                z.Send(new[] { new byte[] { 2 } });
                var got = z.Receive(5000);
                Assert.True(got != null && got[0][0] == 2, "still connected after 2 s of heartbeats only");
                Assert.True(z.PongsReceived >= 1, "libzmq answered our PING");
            }
        }

        [Test(Needs = "router-echo")]
        public static void MalformedMessageFromPeerIsReportedNotHung()
        {
            // DaemonConnection against the echo ROUTER: its own hello comes back as a `hello`, then garbage
            using (var c = new DaemonConnection(Env.RouterEcho))
            {
                c.Start();
                long deadline = ZmtpSocket.NowMs + 5000;
                while (c.Socket == null && ZmtpSocket.NowMs < deadline) Thread.Sleep(10);
                Thread.Sleep(100);
                c.SendFrames(new[] { new byte[] { 0x85, 0xa1, 0x76 } });                  // truncated map
                c.SendFrames(new[] { MsgPack.Pack(new Dictionary<string, object> { { "v", 1 }, { "type", "pong" }, { "id", "ok" } }) });
                DaemonMessage bad = null, good = null;
                while ((bad == null || good == null) && ZmtpSocket.NowMs < deadline + 5000)
                {
                    var m = c.Receive(1000);
                    if (m == null) continue;
                    if (m.Type == "error" && m.IsLocal) bad = m;
                    if (m.Id == "ok") good = m;
                }
                Assert.True(bad != null, "a local bad_message error");
                Assert.Equal("bad_message", bad.GetString("code"), "code");
                Assert.True(bad.GetString("message").Contains("malformed MessagePack"), bad.GetString("message"));
                Assert.True(good != null, "the next message still arrives");
            }
        }
    }
}
