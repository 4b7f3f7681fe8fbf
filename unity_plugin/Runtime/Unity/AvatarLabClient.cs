using System;
using System.Collections.Generic;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab
{
    /// <summary>
    /// Talks to the local avatarlab daemon. A background thread (DaemonConnection) receives and decodes
    /// messages into a bounded queue; Update() drains it on the main thread and raises the events below
    /// there, feeds the StreamingAudioPlayer and binds the BlendshapeDriver. One line plays at a time:
    /// Speak() cancels the line before it.
    /// </summary>
    [AddComponentMenu("AvatarLab/AvatarLab Client")]
    [DisallowMultipleComponent]
    public sealed class AvatarLabClient : MonoBehaviour
    {
        [Tooltip("The daemon (NULL security: loopback only; the C# client has no CURVE)")] public string url = "tcp://127.0.0.1:5555";
        public string voice = "";
        [Range(24, 120)] public int fps = 60;
        public string emotion = "neutral";
        [Range(0f, 1f)] public float emotionIntensity = 1f;
        [Tooltip("Messages the receive thread may hold before it stops reading (backpressure)")] public int queueCapacity = 256;
        [Tooltip("Messages handled per frame at most")] public int maxMessagesPerFrame = 128;
        public StreamingAudioPlayer player;
        public BlendshapeDriver driver;

        /// <summary>(id, start) when a line's stream starts.</summary>
        public event Action<string, StreamStart> LineStarted;
        /// <summary>(id, events message with phonemes, words, visemes) as they arrive.</summary>
        public event Action<string, DaemonMessage> TimingEvents;
        /// <summary>(id, status "ok" or "cancelled") when all of a line has been received.</summary>
        public event Action<string, string> LineReceived;
        /// <summary>(id or null, code, message): docs/protocol.md error codes, plus connection_lost and not_connected.</summary>
        public event Action<string, string, string> Failed;
        /// <summary>(state: connected, disconnected or restarted; daemon instance).</summary>
        public event Action<string, string> ConnectionChanged;

        DaemonConnection connection;
        readonly Dictionary<string, SpeechStream> streams = new Dictionary<string, SpeechStream>();
        string current;

        public bool IsConnected { get { return connection != null && connection.IsConnected; } }
        public string CurrentLine { get { return current; } }

        void OnEnable()
        {
            connection = new DaemonConnection(url, queueCapacity);
            connection.Start();
        }

        void OnDisable()
        {
            if (connection != null) connection.Dispose();
            connection = null;
            streams.Clear(); current = null;
        }

        /// <summary>Speak a line; returns its request id. Events follow on the main thread.</summary>
        public string Speak(string text, string lineEmotion = null)
        {
            if (connection == null) throw new InvalidOperationException("AvatarLabClient is not enabled");
            Cancel();
            var options = new SpeakOptions
            {
                Text = text, Fps = fps, Emotion = lineEmotion ?? emotion, EmotionIntensity = emotionIntensity,
                Voice = string.IsNullOrEmpty(voice) ? null : voice,
            };
            string id = connection.NewId();
            streams[id] = new SpeechStream(id);
            current = id;
            connection.Speak(options, id);
            return id;
        }

        /// <summary>Cancel the line being spoken (its audio stops at once).</summary>
        public void Cancel()
        {
            if (current == null) return;
            if (streams.ContainsKey(current) && !streams[current].Done) connection.Cancel(current);
            if (player != null) player.Stop();
            if (driver != null) driver.Unbind();
            current = null;
        }

        void Update()
        {
            if (connection == null) return;
            DaemonMessage m;
            for (int n = 0; n < maxMessagesPerFrame && connection.TryDequeue(out m); n++) Dispatch(m);
        }

        void Dispatch(DaemonMessage m)
        {
            if (m.Type == "connection") { Raise(ConnectionChanged, m.GetString("state"), m.GetString("instance")); return; }
            SpeechStream s;
            if (m.Id == null || !streams.TryGetValue(m.Id, out s))
            {
                if (m.Type == "error") RaiseFailed(m);
                return;
            }
            float[] audio;
            try { s.Apply(m, out audio); }
            catch (ProtocolException e)
            {
                Debug.LogError("avatarlab: " + e.Message);
                return;
            }
            bool isCurrent = m.Id == current;
            switch (m.Type)
            {
                case "start":
                    if (isCurrent && player != null) player.Begin(s.Start.SampleRate);
                    if (isCurrent && driver != null) driver.Bind(s.Curves, player);
                    if (LineStarted != null) LineStarted(m.Id, s.Start);
                    break;
                case "audio":
                    if (isCurrent && player != null) player.Enqueue(audio);
                    break;
                case "events":
                    if (TimingEvents != null) TimingEvents(m.Id, m);
                    break;
                case "end":
                    if (isCurrent && player != null) player.Finish();
                    streams.Remove(m.Id);
                    if (LineReceived != null) LineReceived(m.Id, m.GetString("status"));
                    break;
                case "error":
                    streams.Remove(m.Id);
                    if (isCurrent) { if (player != null) player.Finish(); current = null; }
                    RaiseFailed(m);
                    break;
            }
            if (s.Violations.Count > 0)
            {
                Debug.LogWarning("avatarlab: stream " + s.Id + ": " + string.Join("; ", s.Violations.ToArray()));
                s.Violations.Clear();
            }
        }

        void RaiseFailed(DaemonMessage m)
        {
            if (Failed != null) Failed(m.Id, m.GetString("code"), m.GetString("message"));
            else Debug.LogWarning("avatarlab: " + m.GetString("code") + ": " + m.GetString("message"));
        }

        static void Raise(Action<string, string> handler, string a, string b) { if (handler != null) handler(a, b); }
    }
}
