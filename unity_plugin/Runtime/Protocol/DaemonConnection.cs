// A connection to the avatarlab daemon: a background thread owns the receive side of a ZMTP DEALER
// connection, decodes messages and puts them in a bounded queue; the application (Unity's main
// thread) takes them out. When the queue is full the thread stops reading, so TCP pushes back on
// the daemon (docs/protocol.md section 6). It reconnects by itself and tells apart a lost
// connection and a restarted daemon (a new `instance`).
using System;
using System.Collections.Generic;
using System.Threading;

namespace AvatarLab.Protocol
{
    public sealed class DaemonConnection : IDisposable
    {
        public readonly string Url;
        public readonly int QueueCapacity;
        public int ConnectTimeoutMs = 2000;
        public int HeartbeatIntervalMs = 1000;
        /// <summary>No traffic at all for this long ends the connection; replaced by the daemon's heartbeat_timeout_ms.</summary>
        public int HeartbeatTimeoutMs = 30000;
        public int MaxReconnectDelayMs = 1000;

        readonly string host;
        readonly int port;
        readonly Queue<DaemonMessage> queue = new Queue<DaemonMessage>();
        readonly object qlock = new object();
        readonly HashSet<string> active = new HashSet<string>();
        readonly ManualResetEvent connectedEvent = new ManualResetEvent(false);
        readonly Thread thread;
        volatile ZmtpSocket current;
        volatile bool disposed;
        volatile string instance;
        int nextId, helloCount;
        int maxDepth;

        /// <summary>The daemon instance last greeted (changes when the daemon restarts).</summary>
        public string Instance { get { return instance; } }
        public bool IsConnected { get { return current != null && connectedEvent.WaitOne(0); } }
        public int Connections { get; private set; }
        public int Restarts { get; private set; }
        public int MaxQueueDepth { get { lock (qlock) return maxDepth; } }
        public int QueueCount { get { lock (qlock) return queue.Count; } }
        public ZmtpSocket Socket { get { return current; } }
        public Dictionary<string, object> Welcome { get; private set; }

        public DaemonConnection(string url, int queueCapacity = 256)
        {
            if (queueCapacity < 1) throw new ArgumentOutOfRangeException("queueCapacity");
            Url = url; QueueCapacity = queueCapacity;
            ZmtpSocket.ParseEndpoint(url, out host, out port);
            thread = new Thread(Run) { IsBackground = true, Name = "avatarlab-receive" };
        }

        public void Start() { thread.Start(); }

        /// <summary>Wait until connected and greeted (the daemon's `welcome` received).</summary>
        public bool WaitConnected(int timeoutMs) { return connectedEvent.WaitOne(timeoutMs); }

        // ---- requests (any thread) --------------------------------------------------------
        public string NewId() { return "u" + Interlocked.Increment(ref nextId); }

        /// <summary>Start a speak stream; its messages (ending in `end` or `error`) come through the queue.</summary>
        public string Speak(SpeakOptions options, string id = null)
        {
            id = id ?? NewId();
            lock (active) active.Add(id);
            SendRequest(options.ToHeader(id), id);
            return id;
        }

        /// <summary>
        /// Open a listen stream (live audio, docs/protocol.md section 5a): push audio with the returned
        /// stream's Push; its messages (`start`, one `frames` per push, `events`, then `end` or `error`)
        /// come through the queue: give them to ListenStream.Apply.
        /// </summary>
        public ListenStream Listen(ListenOptions options, string id = null)
        {
            if (options == null) throw new ArgumentNullException("options");
            string format = options.EffectiveAudioFormat;
            if (format != "pcm16le" && format != "f32le") throw new ArgumentException("audio_format must be pcm16le or f32le, not " + format);
            id = id ?? NewId();
            var stream = new ListenStream(this, id, options, MaxPushSamples(options.EffectiveSampleRate));
            lock (active) active.Add(id);
            SendRequest(options.ToHeader(id), id);
            return stream;
        }

        /// <summary>The most samples one push may hold at this rate: the daemon's max_push_s (1 s until greeted).</summary>
        public int MaxPushSamples(int sampleRate)
        {
            double seconds = 1.0;
            var welcome = Welcome;
            object limits, v;
            if (welcome != null && welcome.TryGetValue("limits", out limits) && limits is Dictionary<string, object>
                && ((Dictionary<string, object>)limits).TryGetValue("max_push_s", out v))
                seconds = v is double ? (double)v : v is long ? (long)v : seconds;
            return (int)Math.Max(1, Math.Floor(seconds * sampleRate));
        }

        /// <summary>Send one `push` ([header, audio]) of a listen stream; ListenStream.Push calls this.</summary>
        internal void SendPush(string id, bool last, byte[] payload)
        {
            var header = Wire.Request("push", id);
            if (last) header["last"] = true;
            SendRequest(header, id, payload);
        }

        public void Cancel(string id) { SendRequest(Wire.Request("cancel", id), null); }

        /// <summary>Send any request header (hello, ping, status, voices...).</summary>
        public void Send(Dictionary<string, object> header) { SendRequest(header, null); }

        /// <summary>Send raw frames (tests: malformed input).</summary>
        public void SendFrames(IList<byte[]> frames)
        {
            var s = current;
            if (s == null) throw new InvalidOperationException("not connected to " + Url);
            s.Send(frames);
        }

        void SendRequest(Dictionary<string, object> header, string streamId, byte[] payload = null)
        {
            var s = current;
            string why = null;
            if (s == null || !connectedEvent.WaitOne(0)) why = "not connected to the daemon at " + Url;
            else
            {
                try { s.Send(payload == null ? new[] { MsgPack.Pack(header) } : new[] { MsgPack.Pack(header), payload }); }
                catch (ZmtpDisconnectedException e) { why = e.Message; }
            }
            if (why == null) return;
            if (streamId != null && ForgetActive(streamId))
                Put(LocalError(streamId, "not_connected", why), false);
            else if (streamId == null && header.ContainsKey("type") && (string)header["type"] != "cancel")
                Put(LocalError(header.ContainsKey("id") ? header["id"] as string : null, "not_connected", why), false);
        }

        bool ForgetActive(string id) { lock (active) return active.Remove(id); }

        static DaemonMessage LocalError(string id, string code, string message)
        {
            return new DaemonMessage(new Dictionary<string, object> {
                { "v", Wire.Version }, { "type", "error" }, { "id", id }, { "code", code }, { "message", message },
                { "retryable", code != "bad_message" }, { "local", true } }, null, true);
        }

        static DaemonMessage Notice(string state, string inst)
        {
            return new DaemonMessage(new Dictionary<string, object> {
                { "v", Wire.Version }, { "type", "connection" }, { "state", state }, { "instance", inst } }, null, true);
        }

        // ---- the queue (the application's side) --------------------------------------------
        public bool TryDequeue(out DaemonMessage message)
        {
            lock (qlock)
            {
                if (queue.Count == 0) { message = null; return false; }
                message = queue.Dequeue();
                Monitor.PulseAll(qlock);
                return true;
            }
        }

        /// <summary>The next message, or null after timeoutMs.</summary>
        public DaemonMessage Receive(int timeoutMs)
        {
            long deadline = ZmtpSocket.NowMs + timeoutMs;
            lock (qlock)
            {
                while (queue.Count == 0)
                {
                    long left = deadline - ZmtpSocket.NowMs;
                    if (left <= 0 || disposed) return null;
                    Monitor.Wait(qlock, (int)left);
                }
                var m = queue.Dequeue();
                Monitor.PulseAll(qlock);
                return m;
            }
        }

        /// <summary>Add to the queue; the receive thread waits while it is full (backpressure).</summary>
        void Put(DaemonMessage m, bool wait)
        {
            lock (qlock)
            {
                while (wait && queue.Count >= QueueCapacity && !disposed) Monitor.Wait(qlock, 100);
                queue.Enqueue(m);
                if (queue.Count > maxDepth) maxDepth = queue.Count;
                Monitor.PulseAll(qlock);
            }
        }

        // ---- the receive thread --------------------------------------------------------------
        void Run()
        {
            int delay = 50;
            while (!disposed)
            {
                ZmtpSocket s;
                try { s = ZmtpSocket.Connect(host, port, ConnectTimeoutMs); }
                catch (Exception)
                {
                    Sleep(delay); delay = Math.Min(delay * 2, MaxReconnectDelayMs);
                    continue;
                }
                delay = 50;
                current = s;
                Connections++;
                string lost = null;
                try { Serve(s); }
                catch (ZmtpDisconnectedException e) { lost = e.Message; }
                catch (ZmtpException e) { lost = "protocol error: " + e.Message; }
                catch (Exception e) { lost = "unexpected " + e.GetType().Name + ": " + e.Message; }
                connectedEvent.Reset();
                current = null;
                s.Dispose();
                if (disposed) break;
                string[] ids;
                lock (active) { ids = new string[active.Count]; active.CopyTo(ids); active.Clear(); }
                foreach (string id in ids)
                    Put(LocalError(id, "connection_lost", "connection to the daemon lost (" + lost + "); the request is gone"), true);
                Put(Notice("disconnected", instance), true);
                Sleep(delay);
            }
        }

        void Sleep(int ms)
        {
            long until = ZmtpSocket.NowMs + ms;
            while (!disposed && ZmtpSocket.NowMs < until) Thread.Sleep(10);
        }

        void Serve(ZmtpSocket s)
        {
            string helloId = "__conn-hello-" + (++helloCount);
            var hello = Wire.Request("hello", helloId);
            hello["versions"] = new object[] { Wire.Version };
            hello["client"] = Wire.ClientName;
            s.Send(new[] { MsgPack.Pack(hello) });
            long lastPing = ZmtpSocket.NowMs;
            while (!disposed)
            {
                List<byte[]> frames = s.Receive(Math.Max(10, HeartbeatIntervalMs / 2), HeartbeatTimeoutMs);
                long now = ZmtpSocket.NowMs;
                if (frames == null)
                {
                    if (now - s.LastReceiveMs > HeartbeatTimeoutMs)
                        throw new ZmtpDisconnectedException("no traffic from the daemon for " + HeartbeatTimeoutMs + " ms");
                }
                if (now - lastPing >= HeartbeatIntervalMs)
                {
                    s.SendPing(Math.Min(65535, HeartbeatTimeoutMs / 100), null);
                    lastPing = now;
                }
                if (frames == null) continue;
                DaemonMessage m;
                try { m = DaemonMessage.Decode(frames); }
                catch (ProtocolException e)
                {
                    Put(LocalError(null, "bad_message", "undecodable message from the daemon: " + e.Message), true);
                    continue;
                }
                m.ReceivedMs = now;
                if (m.Type == "welcome" && m.Id == helloId)
                {
                    Greeted(m);
                    continue;
                }
                if (m.Id != null && m.IsTerminal) ForgetActive(m.Id);
                Put(m, true);
            }
        }

        void Greeted(DaemonMessage m)
        {
            Welcome = m.Header;
            long timeout = m.GetLong("heartbeat_timeout_ms", 0);
            if (timeout > 0) HeartbeatTimeoutMs = (int)timeout;
            string inst = m.GetString("instance");
            string before = instance;
            instance = inst;
            bool restarted = before != null && before != inst;
            if (restarted) Restarts++;
            Put(Notice(restarted ? "restarted" : "connected", inst), true);
            connectedEvent.Set();
        }

        public void Dispose()
        {
            if (disposed) return;
            var s = current;
            if (s != null && connectedEvent.WaitOne(0))
            {
                try { s.Send(new[] { MsgPack.Pack(Wire.Request("bye", null)) }); } catch (Exception) { }
            }
            disposed = true;
            lock (qlock) Monitor.PulseAll(qlock);
            if (s != null) s.Dispose();
            if (thread.IsAlive) thread.Join(2000);
        }
    }
}
