// The messages of docs/protocol.md (version 1): request headers, and typed views of daemon messages.
using System;
using System.Collections.Generic;

namespace AvatarLab.Protocol
{
    /// <summary>One message from the daemon (or made locally by DaemonConnection: IsLocal).</summary>
    public sealed class DaemonMessage
    {
        public readonly Dictionary<string, object> Header;
        public readonly byte[] Payload;   // frame 1, or null
        public readonly string Type;
        public readonly string Id;
        public readonly long Seq;         // -1 when absent
        public readonly bool IsLocal;
        public long ReceivedMs;           // ZmtpSocket.NowMs when the receive thread decoded it

        public DaemonMessage(Dictionary<string, object> header, byte[] payload, bool isLocal = false)
        {
            Header = header; Payload = payload; IsLocal = isLocal;
            Type = GetString("type"); Id = GetString("id"); Seq = GetLong("seq", -1);
        }

        /// <summary>Decode [header, payload?] frames; throws ProtocolException on anything malformed.</summary>
        public static DaemonMessage Decode(IList<byte[]> frames)
        {
            if (frames.Count < 1 || frames.Count > 2)
                throw new ProtocolException("bad_message", "a daemon message has 1 or 2 frames, got " + frames.Count);
            Dictionary<string, object> header;
            try { header = MsgPack.UnpackMap(frames[0]); }
            catch (MsgPackException e) { throw new ProtocolException("bad_message", "header frame: " + e.Message); }
            object type;
            if (!header.TryGetValue("type", out type) || !(type is string))
                throw new ProtocolException("bad_message", "header has no string 'type'");
            return new DaemonMessage(header, frames.Count > 1 ? frames[1] : null);
        }

        public bool Has(string key) { return Header.ContainsKey(key); }
        public string GetString(string key) { object v; return Header.TryGetValue(key, out v) ? v as string : null; }
        public long GetLong(string key, long dflt)
        {
            object v;
            if (!Header.TryGetValue(key, out v) || v == null) return dflt;
            if (v is long) return (long)v;
            if (v is double) return (long)(double)v;
            if (v is ulong) return unchecked((long)(ulong)v);
            return dflt;
        }
        public double GetDouble(string key, double dflt)
        {
            object v;
            if (!Header.TryGetValue(key, out v) || v == null) return dflt;
            if (v is double) return (double)v;
            if (v is long) return (long)v;
            return dflt;
        }
        public bool GetBool(string key) { object v; return Header.TryGetValue(key, out v) && v is bool && (bool)v; }
        public object[] GetList(string key) { object v; return Header.TryGetValue(key, out v) ? v as object[] : null; }
        public Dictionary<string, object> GetMap(string key) { object v; return Header.TryGetValue(key, out v) ? v as Dictionary<string, object> : null; }

        /// <summary>`end` or `error`: nothing more comes for this id.</summary>
        public bool IsTerminal { get { return Type == "end" || Type == "error"; } }

        long RequireLong(string key)
        {
            long v = GetLong(key, long.MinValue);
            if (v == long.MinValue) throw new ProtocolException("bad_message", Type + " message lacks integer '" + key + "'");
            return v;
        }

        public long Require(string key) { return RequireLong(key); }
        public override string ToString() { return "[" + Type + " id=" + Id + " seq=" + Seq + "]"; }
    }

    public sealed class ProtocolException : Exception
    {
        public readonly string Code;
        public ProtocolException(string code, string message) : base(message) { Code = code; }
    }

    /// <summary>The options of a `speak` request (docs/protocol.md section 4). Null fields are left to the daemon.</summary>
    public sealed class SpeakOptions
    {
        public string Text;
        public string Voice;
        public int? Fps;
        public string Emotion;
        public double? EmotionIntensity;
        public long? Seed;
        public double? Speed;
        public double? SentenceSilence;
        public string[] Channels;      // audio, visemes, blendshapes, head, eyes, events
        public string CurveFormat;     // f32 or f16

        public Dictionary<string, object> ToHeader(string id)
        {
            var h = new Dictionary<string, object> { { "v", Wire.Version }, { "type", "speak" }, { "id", id }, { "text", Text } };
            if (Voice != null) h["voice"] = Voice;
            if (Fps.HasValue) h["fps"] = Fps.Value;
            if (Emotion != null) h["emotion"] = Emotion;
            if (EmotionIntensity.HasValue) h["emotion_intensity"] = EmotionIntensity.Value;
            if (Seed.HasValue) h["seed"] = Seed.Value;
            if (Speed.HasValue) h["speed"] = Speed.Value;
            if (SentenceSilence.HasValue) h["sentence_silence"] = SentenceSilence.Value;
            if (Channels != null) h["channels"] = Channels;
            if (CurveFormat != null) h["curve_format"] = CurveFormat;
            return h;
        }
    }

    /// <summary>The options of a `listen` request (docs/protocol.md section 5a). Null fields are left to the daemon.</summary>
    public sealed class ListenOptions
    {
        public const int DefaultSampleRate = 16000;
        /// <summary>The rate of the pushed audio, 8000 to 48000 (the daemon's default: 16000).</summary>
        public int? SampleRate;
        /// <summary>"pcm16le" (the default) or "f32le": how pushes go on the wire, whatever Push is given.</summary>
        public string AudioFormat;
        public int? Fps;
        public string Emotion;
        public double? EmotionIntensity;
        public long? Seed;
        public string[] Channels;      // visemes, blendshapes, head, eyes, events
        public string CurveFormat;     // f32 or f16

        public int EffectiveSampleRate { get { return SampleRate ?? DefaultSampleRate; } }
        public string EffectiveAudioFormat { get { return AudioFormat ?? "pcm16le"; } }

        public Dictionary<string, object> ToHeader(string id)
        {
            var h = new Dictionary<string, object> { { "v", Wire.Version }, { "type", "listen" }, { "id", id } };
            if (SampleRate.HasValue) h["sample_rate"] = SampleRate.Value;
            if (AudioFormat != null) h["audio_format"] = AudioFormat;
            if (Fps.HasValue) h["fps"] = Fps.Value;
            if (Emotion != null) h["emotion"] = Emotion;
            if (EmotionIntensity.HasValue) h["emotion_intensity"] = EmotionIntensity.Value;
            if (Seed.HasValue) h["seed"] = Seed.Value;
            if (Channels != null) h["channels"] = Channels;
            if (CurveFormat != null) h["curve_format"] = CurveFormat;
            return h;
        }
    }

    public static class Wire
    {
        public const int Version = 1;
        public const string ClientName = "avatarlab-unity/0.1.0";

        public static Dictionary<string, object> Request(string type, string id)
        {
            var h = new Dictionary<string, object> { { "v", Version }, { "type", type } };
            if (id != null) h["id"] = id;
            return h;
        }
    }

    /// <summary>The `start` of a speak stream, or of a listen stream (ParseLive: Model and the delay are set).</summary>
    public sealed class StreamStart
    {
        public string Voice, CurveFormat, AudioFormat;
        public int SampleRate, Fps, NumChannels;
        public string[] GroupNames;
        public string[] Channels;       // column names of `frames`, groups in order
        /// <summary>Listen streams: the model ("audio2face"); null for speak.</summary>
        public string Model;
        /// <summary>Listen streams: the longest time from a frame's moment to the push that releases it (0 for speak).</summary>
        public double MaxDelaySeconds;
        public long MaxDelaySamples;

        public static StreamStart Parse(DaemonMessage m) { return Parse(m, false); }

        /// <summary>The `start` of a listen stream (docs/protocol.md section 5a).</summary>
        public static StreamStart ParseLive(DaemonMessage m) { return Parse(m, true); }

        static StreamStart Parse(DaemonMessage m, bool live)
        {
            if (m.Type != "start") throw new ProtocolException("bad_message", "expected start, got " + m.Type);
            var s = new StreamStart
            {
                Voice = m.GetString("voice"), CurveFormat = m.GetString("curve_format") ?? "f32",
                AudioFormat = m.GetString("audio_format"),
                SampleRate = (int)m.Require("sample_rate"), Fps = (int)m.Require("fps"),
                NumChannels = (int)m.GetLong("num_channels", 0),
            };
            if (s.AudioFormat != "pcm16le" && !(live && s.AudioFormat == "f32le"))
                throw new ProtocolException("bad_message", "unknown audio_format " + s.AudioFormat);
            if (live)
            {
                s.Model = m.GetString("model");
                s.MaxDelaySeconds = m.GetDouble("max_delay_s", -1);
                s.MaxDelaySamples = m.GetLong("max_delay_samples", -1);
                if (s.MaxDelaySeconds < 0 || s.MaxDelaySamples < 0)
                    throw new ProtocolException("bad_message", "a listen start lacks max_delay_s or max_delay_samples");
            }
            if (s.SampleRate <= 0 || s.Fps <= 0) throw new ProtocolException("bad_message", "sample_rate and fps must be positive");
            var groups = m.GetList("groups") ?? new object[0];
            var names = new List<string>(); var channels = new List<string>();
            foreach (object g in groups)
            {
                var map = g as Dictionary<string, object>;
                if (map == null) throw new ProtocolException("bad_message", "a group is not a map");
                names.Add(map["name"] as string);
                foreach (object c in (object[])map["channels"]) channels.Add((string)c);
            }
            s.GroupNames = names.ToArray(); s.Channels = channels.ToArray();
            if (s.NumChannels != s.Channels.Length)
                throw new ProtocolException("bad_message", "num_channels " + s.NumChannels + " but groups list " + s.Channels.Length);
            return s;
        }
    }

    /// <summary>Payload decoding: PCM16 LE audio and float32/float16 LE curve matrices.</summary>
    public static class Payloads
    {
        public static int AudioSamples(DaemonMessage m)
        {
            long n = m.Require("num_samples");
            if (m.Payload == null || m.Payload.Length != n * 2)
                throw new ProtocolException("bad_message", "audio payload of " + (m.Payload == null ? 0 : m.Payload.Length) + " bytes for " + n + " samples");
            return (int)n;
        }

        /// <summary>PCM16 LE to floats in [-1, 1).</summary>
        public static void Pcm16ToFloat(byte[] pcm, int numSamples, float[] into, int offset)
        {
            const float scale = 1f / 32768f;
            for (int i = 0, b = 0; i < numSamples; i++, b += 2)
                into[offset + i] = (short)(pcm[b] | pcm[b + 1] << 8) * scale;
        }

        public static float[] DecodeAudio(DaemonMessage m)
        {
            int n = AudioSamples(m);
            var r = new float[n];
            Pcm16ToFloat(m.Payload, n, r, 0);
            return r;
        }

        /// <summary>The row-major num_frames x num_channels matrix of a `frames` message.</summary>
        public static float[] DecodeFrames(DaemonMessage m, string curveFormat, out int numFrames, out int numChannels)
        {
            numFrames = (int)m.Require("num_frames");
            numChannels = (int)m.Require("num_channels");
            int count = numFrames * numChannels;
            int width = curveFormat == "f16" ? 2 : 4;
            if (curveFormat != "f16" && curveFormat != "f32") throw new ProtocolException("bad_message", "unknown curve_format " + curveFormat);
            if (numFrames < 0 || numChannels < 0 || m.Payload == null || m.Payload.Length != (long)count * width)
                throw new ProtocolException("bad_message", "frames payload of " + (m.Payload == null ? 0 : m.Payload.Length) + " bytes for " + numFrames + " x " + numChannels + " " + curveFormat);
            var r = new float[count];
            if (width == 4)
            {
                if (BitConverter.IsLittleEndian) Buffer.BlockCopy(m.Payload, 0, r, 0, count * 4);
                else for (int i = 0; i < count; i++)
                    {
                        var b = m.Payload; int o = i * 4;
                        r[i] = BitConverter.ToSingle(new[] { b[o + 3], b[o + 2], b[o + 1], b[o] }, 0);
                    }
            }
            else for (int i = 0; i < count; i++) r[i] = HalfToFloat((ushort)(m.Payload[2 * i] | m.Payload[2 * i + 1] << 8));
            return r;
        }

        /// <summary>Floats in [-1, 1] to PCM16 LE (clamped, rounded), the `pcm16le` push format.</summary>
        public static byte[] FloatToPcm16(float[] samples, int offset, int count)
        {
            var r = new byte[count * 2];
            for (int i = 0, b = 0; i < count; i++, b += 2)
            {
                float x = samples[offset + i] * 32767f;
                int v = float.IsNaN(x) ? 0 : x >= 32767f ? 32767 : x <= -32768f ? -32768 : (int)Math.Round(x);
                r[b] = (byte)v; r[b + 1] = (byte)(v >> 8);
            }
            return r;
        }

        public static byte[] Int16ToPcm16(short[] samples, int offset, int count)
        {
            var r = new byte[count * 2];
            for (int i = 0, b = 0; i < count; i++, b += 2) { short v = samples[offset + i]; r[b] = (byte)v; r[b + 1] = (byte)(v >> 8); }
            return r;
        }

        /// <summary>Floats to float32 LE, the `f32le` push format (the daemon clamps to [-1, 1]).</summary>
        public static byte[] FloatToF32(float[] samples, int offset, int count)
        {
            var r = new byte[count * 4];
            if (BitConverter.IsLittleEndian) Buffer.BlockCopy(samples, offset * 4, r, 0, count * 4);
            else for (int i = 0; i < count; i++)
                {
                    byte[] b = BitConverter.GetBytes(samples[offset + i]);
                    r[4 * i] = b[3]; r[4 * i + 1] = b[2]; r[4 * i + 2] = b[1]; r[4 * i + 3] = b[0];
                }
            return r;
        }

        public static byte[] Int16ToF32(short[] samples, int offset, int count)
        {
            var f = new float[count];
            for (int i = 0; i < count; i++) f[i] = samples[offset + i] * (1f / 32768f);
            return FloatToF32(f, 0, count);
        }

        /// <summary>IEEE 754 binary16 to float (subnormals, infinities and NaN included).</summary>
        public static float HalfToFloat(ushort h)
        {
            int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
            float v;
            if (exp == 0) v = mant * (1f / (1 << 24));                      // subnormal: mant * 2^-24
            else if (exp == 31) v = mant == 0 ? float.PositiveInfinity : float.NaN;
            else v = (1f + mant / 1024f) * (float)Math.Pow(2, exp - 15);
            return sign == 1 ? -v : v;
        }
    }
}
