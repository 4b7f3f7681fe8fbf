using System;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab
{
    /// <summary>
    /// Live lip sync: takes audio as it happens (a microphone, an AudioSource playing a clip, whatever
    /// passes through OnAudioFilterRead, or samples a script feeds in), pushes it to the daemon in 20 ms
    /// pieces over a `listen` stream (docs/protocol.md section 5a) and drives a BlendshapeDriver with
    /// the curves that come back. The curves are sampled at the pushed audio's own clock (frame f at
    /// f / fps seconds of pushed audio), shown behind the newest audio by the delay the daemon states
    /// (`max_delay_s`) plus one piece and a margin; a clip source reads ahead by as much instead, so
    /// the face is on the sound it plays, and the audio-filter source can delay its sound to match.
    /// It opens its own connection; one stream at a time, restarted after errors.
    /// </summary>
    [AddComponentMenu("AvatarLab/Live Lip Sync")]
    [DisallowMultipleComponent]
    public sealed class LiveLipSync : MonoBehaviour, IAudioClock
    {
        public enum Source
        {
            /// <summary>A microphone (Unity's Microphone class).</summary>
            Microphone,
            /// <summary>The clip an AudioSource plays, read ahead of its play position (the face is in sync with no delay).</summary>
            AudioSourceClip,
            /// <summary>Whatever this GameObject's audio filter chain passes (OnAudioFilterRead: an AudioSource here, or the AudioListener).</summary>
            AudioFilter,
            /// <summary>Samples given to Feed() by a script (voice chat, another TTS).</summary>
            Script,
        }

        /// <summary>Until `start` arrives, the daemon's delay is taken as this (the protocol: 57.5 ms plus about 5 ms of resampling).</summary>
        public const double EstimatedMaxDelaySeconds = 0.065;
        const float MaxSoundDelaySeconds = 0.5f;

        [Tooltip("The daemon (NULL security: loopback only)")] public string url = "tcp://127.0.0.1:5555";
        public Source source = Source.Microphone;
        [Tooltip("Microphone: the device name; empty for the default device")] public string microphoneDevice = "";
        [Tooltip("Microphone: the rate asked for, Hz (clamped to the device's and to 8000..48000)")] public int microphoneRate = 16000;
        [Tooltip("AudioSourceClip: the AudioSource playing the clip (its clip must be Decompress On Load)")] public AudioSource audioSource;
        [Tooltip("Script: the rate of the samples given to Feed(), Hz")] public int scriptSampleRate = 16000;
        [Range(24, 120)] public int fps = 60;
        public string emotion = "neutral";
        [Range(0f, 1f)] public float emotionIntensity = 1f;
        [Tooltip("Seconds of audio in one push")] [Range(0.01f, 0.1f)] public float pieceSeconds = 0.02f;
        [Tooltip("Seconds of audio that may wait to be pushed; past it the stream restarts")] public float bufferSeconds = 2f;
        [Tooltip("Seconds the face is shown further behind the newest audio (network and frame jitter)")] [Range(0f, 0.2f)] public float extraDelaySeconds = 0.03f;
        [Tooltip("AudioFilter: delay the sound passing through by the face's delay, so that they stay in sync")] public bool delaySound;
        [Tooltip("Start listening when enabled")] public bool listenOnEnable = true;
        [Tooltip("Messages the receive thread may hold before it stops reading (backpressure)")] public int queueCapacity = 256;
        [Tooltip("Messages handled per frame at most")] public int maxMessagesPerFrame = 128;
        public BlendshapeDriver driver;

        /// <summary>A stream's `start` arrived (its columns, fps, and MaxDelaySeconds).</summary>
        public event Action<StreamStart> Started;
        /// <summary>Viseme segments that closed (times in samples of the stream).</summary>
        public event Action<VisemeSegment[]> Visemes;
        /// <summary>(code, message): the stream failed (protocol error codes, connection_lost, not_connected, overflow); it restarts by itself.</summary>
        public event Action<string, string> Failed;
        /// <summary>The stream ended after End() (or was cancelled), with the daemon's stats.</summary>
        public event Action<LiveStats> Ended;

        DaemonConnection connection;
        volatile LiveAudioFeed feed;     // the audio thread writes to it (AudioFilter, Script)
        ListenStream stream;
        bool listening, ending;
        float retryAt;
        int sampleRate;
        double clock = -1;
        // Microphone
        AudioClip micClip;
        string micDevice;
        int micRead;
        float[] block = new float[0], mono = new float[0];
        // AudioSourceClip
        int clipStart, clipPushed;
        // AudioFilter (audio thread)
        int decimate = 1, decimateCount;
        float decimateSum;
        float[] filterMono = new float[0], delayLine;
        int delayChannels, delayPos;
        volatile int delayFrames;
        volatile bool filterOn;

        public bool IsListening { get { return listening; } }
        public ListenStream Stream { get { return stream; } }
        /// <summary>The rate of the pushed audio (the source's; the audio filter's output rate divided down to 48 kHz at most).</summary>
        public int SampleRate { get { return sampleRate; } }
        /// <summary>How far behind the newest audio the face is shown: the daemon's max delay + one piece + extraDelaySeconds.</summary>
        public double FaceDelaySeconds
        {
            get { return (stream != null && stream.Started ? stream.MaxDelaySeconds : EstimatedMaxDelaySeconds) + pieceSeconds + extraDelaySeconds; }
        }
        /// <summary>IAudioClock: the sample of the current stream the face shows now (negative before there is one).</summary>
        public double PlaybackSample { get { return stream != null && stream.Started ? clock : -1; } }

        void OnEnable()
        {
            connection = new DaemonConnection(url, queueCapacity);
            connection.Start();
            if (listenOnEnable) Begin();
        }

        void OnDisable()
        {
            Cancel();
            if (connection != null) connection.Dispose();
            connection = null;
        }

        /// <summary>Start taking audio from the source and streaming it (a stream opens once connected).</summary>
        public void Begin()
        {
            if (listening) return;
            sampleRate = SourceRate();
            if (sampleRate < 8000 || sampleRate > 48000) { Fail("invalid_option", "the source's rate " + sampleRate + " Hz is outside 8000..48000"); return; }
            listening = true; ending = false; retryAt = 0;
            if (source == Source.Microphone)
            {
                micDevice = string.IsNullOrEmpty(microphoneDevice) ? null : microphoneDevice;
                micClip = UnityEngine.Microphone.Start(micDevice, true, 2, sampleRate);
                micRead = 0;
            }
            if (source == Source.AudioFilter)
            {
                delayFrames = (int)(FaceDelaySeconds * AudioSettings.outputSampleRate);
                filterOn = true;
            }
        }

        /// <summary>The source has ended: push what is left, marked last; `Ended` follows.</summary>
        public void End()
        {
            if (!listening) return;
            StopSource();
            ending = true;
            if (feed != null) feed.Finish();
        }

        /// <summary>Stop at once: the stream is cancelled and the face eases back to rest.</summary>
        public void Cancel()
        {
            StopSource();
            listening = false; ending = false;
            if (stream != null && !stream.Done && connection != null) stream.Cancel();
            CloseStream();
        }

        /// <summary>Source Script: mono or interleaved samples at scriptSampleRate, from any thread (one caller).</summary>
        public int Feed(float[] samples, int channels)
        {
            var f = feed;
            if (f == null || source != Source.Script) return 0;
            return f.WriteInterleaved(samples, channels);
        }

        void StopSource()
        {
            filterOn = false;
            if (micClip != null) { UnityEngine.Microphone.End(micDevice); micClip = null; }
        }

        void CloseStream()
        {
            feed = null;
            stream = null;
            clock = -1;
            if (driver != null) driver.Unbind();
        }

        int SourceRate()
        {
            switch (source)
            {
                case Source.Microphone:
                    {
                        int min, max;
                        UnityEngine.Microphone.GetDeviceCaps(string.IsNullOrEmpty(microphoneDevice) ? null : microphoneDevice, out min, out max);
                        int rate = microphoneRate;
                        if (max > 0) rate = Math.Min(Math.Max(rate, min), max);
                        return Math.Min(Math.Max(rate, 8000), 48000);
                    }
                case Source.AudioSourceClip:
                    return audioSource != null && audioSource.clip != null ? audioSource.clip.frequency : 0;
                case Source.AudioFilter:
                    {
                        int rate = AudioSettings.outputSampleRate;
                        decimate = (rate + 47999) / 48000;
                        return rate / decimate;
                    }
                default: return scriptSampleRate;
            }
        }

        void Update()
        {
            if (connection == null) return;
            DaemonMessage m;
            for (int n = 0; n < maxMessagesPerFrame && connection.TryDequeue(out m); n++) Dispatch(m);
            if (!listening) return;
            if (stream == null && !ending && connection.IsConnected && Time.realtimeSinceStartup >= retryAt && SourceReady()) Open();
            Capture();
            var f = feed;
            if (f == null) return;
            if (f.DroppedSamples > 0)
            {
                Fail("overflow", "more than " + bufferSeconds + " s of audio waited to be pushed; restarting the stream");
                return;
            }
            if (ending) f.Finish(); else f.Pump();
            UpdateClock(f);
        }

        bool SourceReady()
        {
            if (source == Source.AudioSourceClip) return audioSource != null && audioSource.clip != null && audioSource.isPlaying;
            if (source == Source.Microphone) return micClip != null;
            return true;
        }

        void Open()
        {
            var options = new ListenOptions
            {
                SampleRate = sampleRate, AudioFormat = "f32le", Fps = fps, Emotion = emotion, EmotionIntensity = emotionIntensity,
                Channels = new[] { "visemes", "blendshapes", "head", "eyes", "events" },
            };
            stream = connection.Listen(options);
            int piece = Math.Min(LiveAudioFeed.PieceFor(stream, pieceSeconds), stream.MaxPushSamples);
            feed = new LiveAudioFeed(stream, piece, Math.Max(piece, (int)(bufferSeconds * sampleRate)));
            clock = -1;
            if (source == Source.Microphone && micClip != null) micRead = UnityEngine.Microphone.GetPosition(micDevice);
            if (source == Source.AudioSourceClip && audioSource != null) clipStart = clipPushed = audioSource.timeSamples;
        }

        void Dispatch(DaemonMessage m)
        {
            if (stream == null || m.Id != stream.Id)
            {
                if (m.Type == "error" && m.Id == null) Debug.LogWarning("avatarlab: " + m.GetString("code") + ": " + m.GetString("message"));
                return;   // connection notices, and the rest of a stream this component has left
            }
            LiveReply reply;
            try { reply = stream.Apply(m); }
            catch (ProtocolException e) { Fail("bad_message", e.Message); return; }
            if (reply == null) return;
            switch (reply.Kind)
            {
                case LiveReplyKind.Start:
                    if (driver != null) driver.Bind(stream.Curves, this);
                    if (source == Source.AudioFilter) delayFrames = (int)(FaceDelaySeconds * AudioSettings.outputSampleRate);
                    if (Started != null) Started(stream.Start);
                    break;
                case LiveReplyKind.Visemes:
                    if (Visemes != null) Visemes(((LiveVisemes)reply).Segments);
                    break;
                case LiveReplyKind.End:
                    {
                        var end = (LiveEnd)reply;
                        CloseStream();
                        if (ending) { listening = false; ending = false; }
                        if (Ended != null) Ended(end.Stats);
                        break;
                    }
                case LiveReplyKind.Error:
                    {
                        var error = (LiveError)reply;
                        Fail(error.Code, error.Text);
                        break;
                    }
            }
            if (stream != null && stream.Violations.Count > 0)
            {
                Debug.LogWarning("avatarlab: listen stream " + stream.Id + ": " + string.Join("; ", stream.Violations.ToArray()));
                stream.Violations.Clear();
            }
        }

        /// <summary>The stream failed: report it, drop it, and open a new one a second later (unless ending).</summary>
        void Fail(string code, string message)
        {
            if (stream != null && !stream.Done && connection != null) stream.Cancel();
            CloseStream();
            retryAt = Time.realtimeSinceStartup + 1f;
            if (ending) { listening = false; ending = false; }
            if (Failed != null) Failed(code, message);
            else Debug.LogWarning("avatarlab live lip sync: " + code + ": " + message);
        }

        // ---- sources ------------------------------------------------------------------------------
        void Capture()
        {
            var f = feed;
            if (source == Source.Microphone && micClip != null)
            {
                int piece = Math.Max(1, (int)Math.Round(pieceSeconds * sampleRate)), length = micClip.samples;
                int pos = UnityEngine.Microphone.GetPosition(micDevice);
                if (length <= 0) return;
                int fresh = (pos - micRead + length) % length;
                while (fresh >= piece)                 // whole pieces; GetData wraps round the looping clip
                {
                    if (f != null) f.Write(Read(micClip, micRead, piece), 0, piece);
                    micRead = (micRead + piece) % length; fresh -= piece;
                }
            }
            else if (source == Source.AudioSourceClip && audioSource != null && audioSource.clip != null && f != null)
            {
                var clip = audioSource.clip;
                int piece = f.PieceSamples;
                if (!audioSource.isPlaying && clipPushed > clipStart) { End(); return; }
                // read ahead of the play position by the face's delay, so the frames are there when it is heard
                long ahead = audioSource.timeSamples + (long)Math.Ceiling(FaceDelaySeconds * sampleRate) + piece;
                while (clipPushed < clip.samples && clipPushed + piece <= ahead)
                {
                    int n = Math.Min(piece, clip.samples - clipPushed);
                    f.Write(Read(clip, clipPushed, n), 0, n);
                    clipPushed += n;
                }
                if (clipPushed >= clip.samples) End();
            }
        }

        /// <summary>`count` mono samples of a clip from `offset` (its channels averaged).</summary>
        float[] Read(AudioClip clip, int offset, int count)
        {
            int channels = Math.Max(1, clip.channels);
            if (block.Length != count * channels) block = new float[count * channels];
            if (mono.Length < count) mono = new float[count];
            clip.GetData(block, offset);
            for (int i = 0, k = 0; i < count; i++)
            {
                float s = 0;
                for (int c = 0; c < channels; c++, k++) s += block[k];
                mono[i] = s / channels;
            }
            return mono;
        }

        // Unity's audio thread: the filter chain's samples, averaged to mono and divided down to 48 kHz at most.
        void OnAudioFilterRead(float[] data, int channels)
        {
            if (source != Source.AudioFilter) return;
            var f = feed;
            if (filterOn && f != null)
            {
                int frames = data.Length / Math.Max(1, channels);
                if (filterMono.Length < frames) filterMono = new float[frames];
                int n = 0;
                for (int i = 0, k = 0; i < frames; i++)
                {
                    float s = 0;
                    for (int c = 0; c < channels; c++, k++) s += data[k];
                    decimateSum += s / channels;
                    if (++decimateCount == decimate) { filterMono[n++] = decimateSum / decimate; decimateSum = 0; decimateCount = 0; }
                }
                f.Write(filterMono, 0, n);
            }
            if (delaySound) DelaySound(data, channels);
        }

        void DelaySound(float[] data, int channels)
        {
            int size = ((int)(MaxSoundDelaySeconds * AudioSettings.outputSampleRate) + 1) * channels;
            if (delayLine == null || delayChannels != channels || delayLine.Length != size) { delayLine = new float[size]; delayChannels = channels; delayPos = 0; }
            int d = Math.Min(delayFrames, size / channels - 1) * channels;
            for (int i = 0; i < data.Length; i++)
            {
                delayLine[delayPos] = data[i];
                int r = delayPos - d;
                if (r < 0) r += size;
                data[i] = delayLine[r];
                if (++delayPos == size) delayPos = 0;
            }
        }

        // ---- the clock ----------------------------------------------------------------------------
        void UpdateClock(LiveAudioFeed f)
        {
            if (source == Source.AudioSourceClip && audioSource != null)
            {
                clock = audioSource.timeSamples - clipStart;       // the sample being heard: the clip was pushed ahead
                return;
            }
            // the newest audio minus the face's delay, advanced smoothly between the source's blocks
            double target = f.SamplesWritten - FaceDelaySeconds * sampleRate;
            if (clock < 0 || Math.Abs(target - clock) > 0.1 * sampleRate) clock = target;
            else
            {
                clock += Time.unscaledDeltaTime * sampleRate;
                clock += (target - clock) * 0.1;
            }
        }
    }
}
