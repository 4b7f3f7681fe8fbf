// A small ZMTP 3.1 client (https://rfc.zeromq.org/spec/23/ and /37/ for heartbeats): one TCP
// connection, NULL security mechanism, DEALER socket type, multipart messages, PING/PONG.
// No UnityEngine, no NuGet. CURVE is not implemented: the C# client needs a loopback daemon
// (docs/protocol.md section 9).
using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace AvatarLab.Protocol
{
    public sealed class ZmtpException : Exception
    {
        public ZmtpException(string message) : base(message) { }
        public ZmtpException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>Thrown when the peer closed the connection or it broke.</summary>
    public sealed class ZmtpDisconnectedException : Exception
    {
        public ZmtpDisconnectedException(string message) : base(message) { }
        public ZmtpDisconnectedException(string message, Exception inner) : base(message, inner) { }
    }

    public sealed class ZmtpSocket : IDisposable
    {
        const byte FlagMore = 0x01, FlagLong = 0x02, FlagCommand = 0x04;
        public const string OwnSocketType = "DEALER";

        readonly Socket socket;
        readonly object sendLock = new object();
        readonly byte[] rbuf = new byte[64 * 1024];
        int rpos, rlen;
        volatile bool closed;

        /// <summary>The largest frame accepted; larger ones end the connection (like ZMQ_MAXMSGSIZE).</summary>
        public long MaxFrameBytes = 64L << 20;
        public string PeerSocketType { get; private set; }
        public int PeerMinorVersion { get; private set; }
        /// <summary>PINGs the peer sent (each answered with a PONG), PONGs it returned.</summary>
        public int PingsReceived, PongsReceived;
        /// <summary>Monotonic milliseconds (Environment.TickCount64-like) of the last byte received.</summary>
        public long LastReceiveMs { get; private set; }

        public static long NowMs { get { return System.Diagnostics.Stopwatch.GetTimestamp() * 1000 / System.Diagnostics.Stopwatch.Frequency; } }

        ZmtpSocket(Socket s) { socket = s; }

        /// <summary>Connect, exchange greetings and READY. Throws ZmtpException or SocketException.</summary>
        public static ZmtpSocket Connect(string host, int port, int timeoutMs)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.NoDelay = true;
            try
            {
                IAsyncResult ar = s.BeginConnect(host, port, null, null);
                if (!ar.AsyncWaitHandle.WaitOne(timeoutMs))
                    throw new ZmtpException("connect to " + host + ":" + port + " timed out");
                s.EndConnect(ar);
                var z = new ZmtpSocket(s);
                z.Handshake(timeoutMs);
                return z;
            }
            catch
            {
                s.Close();
                throw;
            }
        }

        /// <summary>Parse "tcp://host:port".</summary>
        public static void ParseEndpoint(string url, out string host, out int port)
        {
            if (url == null || !url.StartsWith("tcp://", StringComparison.Ordinal))
                throw new ArgumentException("only tcp:// endpoints are supported, got " + url);
            string rest = url.Substring(6);
            int colon = rest.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(rest.Substring(colon + 1), out port) || port <= 0 || port > 65535)
                throw new ArgumentException("endpoint needs host:port, got " + url);
            host = rest.Substring(0, colon);
            if (host == "localhost" || host == "*") host = "127.0.0.1";
        }

        public static byte[] Greeting()
        {
            var g = new byte[64];
            g[0] = 0xFF; g[9] = 0x7F; g[10] = 3; g[11] = 1;
            Encoding.ASCII.GetBytes("NULL", 0, 4, g, 12);
            return g; // as-server 0, filler zeros
        }

        void Handshake(int timeoutMs)
        {
            long deadline = NowMs + timeoutMs;
            SendRaw(Greeting());
            var peer = new byte[64];
            ReadExact(peer, 0, 64, deadline);
            if (peer[0] != 0xFF || (peer[9] & 1) != 1) throw new ZmtpException("peer is not a ZMTP 3 endpoint (bad signature)");
            if (peer[10] < 3) throw new ZmtpException("peer speaks ZMTP " + peer[10] + "." + peer[11] + "; 3.x is needed");
            PeerMinorVersion = peer[11];
            string mechanism = Encoding.ASCII.GetString(peer, 12, 20).TrimEnd('\0');
            if (mechanism != "NULL")
                throw new ZmtpException("peer wants security mechanism " + mechanism + "; this client speaks NULL only (use a loopback daemon)");
            SendCommand("READY", Properties("Socket-Type", OwnSocketType));
            // the first frame must be the peer's READY (or ERROR)
            bool more; byte flags;
            byte[] body = ReadFrame(out flags, out more, deadline);
            if ((flags & FlagCommand) == 0) throw new ZmtpException("peer sent a message before READY");
            string name; int at = CommandName(body, out name);
            if (name == "ERROR") throw new ZmtpException("peer refused the handshake: " + ErrorReason(body, at));
            if (name != "READY") throw new ZmtpException("expected READY, got " + name);
            var props = ParseProperties(body, at);
            string type;
            if (!props.TryGetValue("Socket-Type", out type)) throw new ZmtpException("READY without Socket-Type");
            if (type != "ROUTER" && type != "DEALER") throw new ZmtpException("a DEALER cannot talk to a " + type + " socket");
            PeerSocketType = type;
        }

        static byte[] Properties(string name, string value)
        {
            byte[] n = Encoding.ASCII.GetBytes(name), v = Encoding.ASCII.GetBytes(value);
            var p = new byte[1 + n.Length + 4 + v.Length];
            p[0] = (byte)n.Length;
            Buffer.BlockCopy(n, 0, p, 1, n.Length);
            int at = 1 + n.Length;
            p[at] = (byte)(v.Length >> 24); p[at + 1] = (byte)(v.Length >> 16); p[at + 2] = (byte)(v.Length >> 8); p[at + 3] = (byte)v.Length;
            Buffer.BlockCopy(v, 0, p, at + 4, v.Length);
            return p;
        }

        public static Dictionary<string, string> ParseProperties(byte[] body, int at)
        {
            var props = new Dictionary<string, string>();
            while (at < body.Length)
            {
                int nlen = body[at++];
                if (at + nlen + 4 > body.Length) throw new ZmtpException("truncated property in READY");
                string name = Encoding.ASCII.GetString(body, at, nlen); at += nlen;
                long vlen = (long)body[at] << 24 | (long)body[at + 1] << 16 | (long)body[at + 2] << 8 | body[at + 3]; at += 4;
                if (at + vlen > body.Length) throw new ZmtpException("truncated property value in READY");
                props[name] = Encoding.ASCII.GetString(body, at, (int)vlen); at += (int)vlen;
            }
            return props;
        }

        static int CommandName(byte[] body, out string name)
        {
            if (body.Length < 1 || body.Length < 1 + body[0]) throw new ZmtpException("malformed command frame");
            name = Encoding.ASCII.GetString(body, 1, body[0]);
            return 1 + body[0];
        }

        static string ErrorReason(byte[] body, int at)
        {
            if (at >= body.Length) return "(no reason)";
            int n = Math.Min(body[at], body.Length - at - 1);
            return Encoding.ASCII.GetString(body, at + 1, n);
        }

        // ---- sending --------------------------------------------------------------------
        void SendRaw(byte[] data)
        {
            lock (sendLock) SendLocked(data, 0, data.Length);
        }

        void SendLocked(byte[] data, int offset, int count)
        {
            try
            {
                while (count > 0)
                {
                    int n = socket.Send(data, offset, count, SocketFlags.None);
                    offset += n; count -= n;
                }
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                throw new ZmtpDisconnectedException("send failed: " + e.Message, e);
            }
        }

        static int FrameHeader(byte[] into, byte flags, long size)
        {
            if (size <= 255) { into[0] = flags; into[1] = (byte)size; return 2; }
            into[0] = (byte)(flags | FlagLong);
            for (int i = 0; i < 8; i++) into[1 + i] = (byte)(size >> (8 * (7 - i)));
            return 9;
        }

        void SendCommand(string name, byte[] data)
        {
            var body = new byte[1 + name.Length + data.Length];
            body[0] = (byte)name.Length;
            Encoding.ASCII.GetBytes(name, 0, name.Length, body, 1);
            Buffer.BlockCopy(data, 0, body, 1 + name.Length, data.Length);
            var head = new byte[9];
            int h = FrameHeader(head, FlagCommand, body.Length);
            lock (sendLock) { SendLocked(head, 0, h); SendLocked(body, 0, body.Length); }
        }

        /// <summary>Send one multipart message (thread-safe; frames go out whole and in order).</summary>
        public void Send(IList<byte[]> frames)
        {
            if (frames == null || frames.Count == 0) throw new ArgumentException("a message needs at least one frame");
            var head = new byte[9];
            lock (sendLock)
            {
                for (int i = 0; i < frames.Count; i++)
                {
                    byte[] f = frames[i] ?? new byte[0];
                    int h = FrameHeader(head, i < frames.Count - 1 ? FlagMore : (byte)0, f.Length);
                    if (f.Length <= 4096)
                    {   // one send call for small frames
                        var both = new byte[h + f.Length];
                        Buffer.BlockCopy(head, 0, both, 0, h); Buffer.BlockCopy(f, 0, both, h, f.Length);
                        SendLocked(both, 0, both.Length);
                    }
                    else { SendLocked(head, 0, h); SendLocked(f, 0, f.Length); }
                }
            }
        }

        /// <summary>Send a ZMTP 3.1 PING (ttlDeciseconds tells the peer how long to wait for traffic).</summary>
        public void SendPing(int ttlDeciseconds, byte[] context)
        {
            context = context ?? new byte[0];
            var data = new byte[2 + context.Length];
            data[0] = (byte)(ttlDeciseconds >> 8); data[1] = (byte)ttlDeciseconds;
            Buffer.BlockCopy(context, 0, data, 2, context.Length);
            SendCommand("PING", data);
        }

        // ---- receiving --------------------------------------------------------------------
        bool Fill(long deadline)
        {
            if (rpos < rlen) return true;
            rpos = rlen = 0;
            while (true)
            {
                if (closed) throw new ZmtpDisconnectedException("socket closed");
                long left = deadline - NowMs;
                if (left <= 0) return false;
                bool ready;
                try { ready = socket.Poll((int)Math.Min(left, 200) * 1000, SelectMode.SelectRead); }
                catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
                { throw new ZmtpDisconnectedException("connection lost: " + e.Message, e); }
                if (!ready) continue;
                int n;
                try { n = socket.Receive(rbuf, 0, rbuf.Length, SocketFlags.None); }
                catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
                { throw new ZmtpDisconnectedException("connection lost: " + e.Message, e); }
                if (n <= 0) throw new ZmtpDisconnectedException("the peer closed the connection");
                rlen = n;
                LastReceiveMs = NowMs;
                return true;
            }
        }

        void ReadExact(byte[] into, int offset, int count, long deadline)
        {
            while (count > 0)
            {
                if (!Fill(deadline)) throw new ZmtpDisconnectedException("timed out in the middle of a frame");
                int n = Math.Min(count, rlen - rpos);
                Buffer.BlockCopy(rbuf, rpos, into, offset, n);
                rpos += n; offset += n; count -= n;
            }
        }

        readonly byte[] hdr = new byte[8];

        byte[] ReadFrame(out byte flags, out bool more, long deadline)
        {
            ReadExact(hdr, 0, 1, deadline);
            flags = hdr[0];
            if ((flags & 0xF8) != 0) throw new ZmtpException("reserved frame flag bits set (0x" + flags.ToString("x2") + ")");
            long size;
            if ((flags & FlagLong) != 0)
            {
                ReadExact(hdr, 0, 8, deadline);
                size = 0;
                for (int i = 0; i < 8; i++) size = size << 8 | hdr[i];
            }
            else { ReadExact(hdr, 0, 1, deadline); size = hdr[0]; }
            if (size < 0 || size > MaxFrameBytes) throw new ZmtpException("frame of " + size + " bytes is over the " + MaxFrameBytes + "-byte limit");
            more = (flags & FlagMore) != 0;
            var body = new byte[size];
            ReadExact(body, 0, (int)size, deadline);
            return body;
        }

        /// <summary>
        /// Receive one multipart message. Returns null if none began within timeoutMs (commands such as
        /// PING are handled here and do not count). Once a message begins, it is read whole (a stalled
        /// peer mid-message for frameTimeoutMs ends the connection).
        /// </summary>
        public List<byte[]> Receive(int timeoutMs, int frameTimeoutMs = 30000)
        {
            long deadline = NowMs + timeoutMs;
            while (true)
            {
                if (!Fill(deadline)) return null;
                long frameDeadline = NowMs + frameTimeoutMs;
                var frames = new List<byte[]>(2);
                while (true)
                {
                    byte flags; bool more;
                    byte[] body = ReadFrame(out flags, out more, frameDeadline);
                    if ((flags & FlagCommand) != 0)
                    {
                        if (frames.Count > 0) throw new ZmtpException("command frame inside a multipart message");
                        HandleCommand(body);
                        break;
                    }
                    frames.Add(body);
                    if (!more) return frames;
                }
            }
        }

        void HandleCommand(byte[] body)
        {
            string name; int at = CommandName(body, out name);
            switch (name)
            {
                case "PING":
                    {
                        Interlocked.Increment(ref PingsReceived);
                        if (body.Length < at + 2) throw new ZmtpException("PING without TTL");
                        int ctx = Math.Min(16, body.Length - at - 2);
                        var context = new byte[ctx];
                        Buffer.BlockCopy(body, at + 2, context, 0, ctx);
                        SendCommand("PONG", context);
                        break;
                    }
                case "PONG": Interlocked.Increment(ref PongsReceived); break;
                case "ERROR": throw new ZmtpDisconnectedException("peer sent ERROR: " + ErrorReason(body, at));
                default: break; // unknown commands are ignored (RFC 37)
            }
        }

        public void Dispose()
        {
            if (closed) return;
            closed = true;
            try { socket.Shutdown(SocketShutdown.Both); } catch (Exception) { }
            socket.Close();
        }
    }
}
