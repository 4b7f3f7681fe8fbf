using System.Collections.Generic;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab
{
    /// <summary>
    /// Plays the audio chunks of a stream gaplessly: a streamed AudioClip whose PCM reader callback (on
    /// Unity's audio thread) reads a ring buffer that the main thread fills. Playback is scheduled on the
    /// DSP clock once a little audio is buffered, and PlaybackSample tells where the listener is, in
    /// samples of the stream, from AudioSettings.dspTime: the clock BlendshapeDriver samples curves at.
    /// </summary>
    [RequireComponent(typeof(AudioSource))]
    [AddComponentMenu("AvatarLab/Streaming Audio Player")]
    public sealed class StreamingAudioPlayer : MonoBehaviour, IAudioClock
    {
        [Tooltip("Seconds of audio buffered before playback starts")] [Range(0.02f, 1f)] public float prebufferSeconds = 0.1f;
        [Tooltip("Seconds the ring buffer holds; chunks beyond wait on the main thread")] public float ringSeconds = 10f;

        AudioSource source;
        AudioClip clip;
        PcmRingBuffer ring;
        readonly Queue<float[]> pending = new Queue<float[]>();
        int pendingOffset;
        int sampleRate;
        volatile bool started;
        double dspStart;
        long underrunAtStart;
        bool finished;

        public int SampleRate { get { return sampleRate; } }
        public bool IsPlaying { get { return started; } }
        /// <summary>Samples of this stream heard so far (from the DSP clock), or -1 before playback starts.</summary>
        public double PlaybackSample
        {
            get
            {
                if (!started || ring == null) return -1;
                double heard = (AudioSettings.dspTime - dspStart) * sampleRate - (ring.UnderrunSamples - underrunAtStart);
                if (heard < 0) return 0;
                return heard > ring.ReadTotal ? ring.ReadTotal : heard;
            }
        }
        /// <summary>All of the stream has been played.</summary>
        public bool Done { get { return finished && ring != null && ring.Available == 0 && pending.Count == 0; } }

        void Awake() { source = GetComponent<AudioSource>(); source.playOnAwake = false; }

        /// <summary>Get ready for a new stream at this sample rate (stops the previous one).</summary>
        public void Begin(int streamSampleRate)
        {
            Stop();
            sampleRate = streamSampleRate;
            ring = new PcmRingBuffer((int)(ringSeconds * sampleRate));
            // a long streamed clip; Unity resamples it to the output rate
            clip = AudioClip.Create("avatarlab-stream", sampleRate * 3600, 1, sampleRate, true, OnAudioRead);
            source.clip = clip;
            source.loop = false;
        }

        public void Enqueue(float[] samples) { if (ring != null) { pending.Enqueue(samples); Pump(); } }

        /// <summary>No more chunks: play out what is buffered without counting the end as an underrun.</summary>
        public void Finish() { finished = true; }

        public void Stop()
        {
            started = false; finished = false;
            if (source != null) source.Stop();
            pending.Clear(); pendingOffset = 0;
            if (ring != null) ring.Clear();
            if (clip != null) { Object.Destroy(clip); clip = null; }
        }

        void Update() { Pump(); }

        void Pump()
        {
            if (ring == null) return;
            while (pending.Count > 0)
            {
                float[] chunk = pending.Peek();
                int n = ring.Write(chunk, pendingOffset, chunk.Length - pendingOffset);
                pendingOffset += n;
                if (pendingOffset < chunk.Length) break;
                pending.Dequeue(); pendingOffset = 0;
            }
            if (finished && pending.Count == 0) ring.Finished = true;
            if (!started && (ring.Available >= prebufferSeconds * sampleRate || (finished && ring.Available > 0)))
            {
                underrunAtStart = ring.UnderrunSamples;
                dspStart = AudioSettings.dspTime + 0.05;   // a little ahead, so the start is sample-exact
                started = true;
                source.PlayScheduled(dspStart);
            }
        }

        // Unity's audio thread
        void OnAudioRead(float[] data)
        {
            if (!started || ring == null) { System.Array.Clear(data, 0, data.Length); return; }
            ring.Read(data, 0, data.Length);
        }
    }
}
