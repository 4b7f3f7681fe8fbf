// Reads the curves JSON written by `avatarlab speak` (docs/curves-json.md) for the Editor importer.
// A small strict JSON parser is included so the package needs nothing else. Engine-free (no Unity types).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace AvatarLab.Protocol
{
    public sealed class JsonException : Exception
    {
        public JsonException(string message, int at) : base("invalid JSON at character " + at + ": " + message) { }
    }

    /// <summary>JSON to null, bool, double, string, List&lt;object&gt;, Dictionary&lt;string, object&gt;.</summary>
    public static class MiniJson
    {
        public static object Parse(string text)
        {
            int i = 0;
            object v = Value(text, ref i, 0);
            Ws(text, ref i);
            if (i != text.Length) throw new JsonException("trailing characters", i);
            return v;
        }

        static void Ws(string s, ref int i) { while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++; }

        static object Value(string s, ref int i, int depth)
        {
            if (depth > 256) throw new JsonException("nesting too deep", i);
            Ws(s, ref i);
            if (i >= s.Length) throw new JsonException("unexpected end", i);
            char c = s[i];
            if (c == '{')
            {
                var m = new Dictionary<string, object>(); i++; Ws(s, ref i);
                if (i < s.Length && s[i] == '}') { i++; return m; }
                while (true)
                {
                    Ws(s, ref i);
                    if (i >= s.Length || s[i] != '"') throw new JsonException("expected a string key", i);
                    string k = Str(s, ref i); Ws(s, ref i);
                    if (i >= s.Length || s[i] != ':') throw new JsonException("expected ':'", i);
                    i++; m[k] = Value(s, ref i, depth + 1); Ws(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == '}') { i++; return m; }
                    throw new JsonException("expected ',' or '}'", i);
                }
            }
            if (c == '[')
            {
                var l = new List<object>(); i++; Ws(s, ref i);
                if (i < s.Length && s[i] == ']') { i++; return l; }
                while (true)
                {
                    l.Add(Value(s, ref i, depth + 1)); Ws(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == ']') { i++; return l; }
                    throw new JsonException("expected ',' or ']'", i);
                }
            }
            if (c == '"') return Str(s, ref i);
            if (Lit(s, ref i, "true")) return true;
            if (Lit(s, ref i, "false")) return false;
            if (Lit(s, ref i, "null")) return null;
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) i++;
            double d;
            if (i == start || !double.TryParse(s.Substring(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                throw new JsonException("unexpected character '" + c + "'", start);
            return d;
        }

        static bool Lit(string s, ref int i, string lit)
        {
            if (string.CompareOrdinal(s, i, lit, 0, lit.Length) != 0) return false;
            i += lit.Length; return true;
        }

        static string Str(string s, ref int i)
        {
            var sb = new StringBuilder(); i++;
            while (true)
            {
                if (i >= s.Length) throw new JsonException("unterminated string", i);
                char c = s[i++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (i >= s.Length) throw new JsonException("unterminated escape", i);
                char e = s[i++];
                switch (e)
                {
                    case '"': case '\\': case '/': sb.Append(e); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (i + 4 > s.Length) throw new JsonException("short \\u escape", i);
                        sb.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)); i += 4; break;
                    default: throw new JsonException("bad escape \\" + e, i - 1);
                }
            }
        }
    }

    /// <summary>A curves document: frame rate, channel names (groups in protocol order), the frame matrix.</summary>
    public sealed class CurvesDocument
    {
        public string Text, Voice, Audio;
        public int Fps, SampleRate, NumSamples, NumFrames;
        public string[] Channels;
        public float[][] Frames;      // [frame][channel]

        public double TimeOfFrame(int f) { return (double)f / Fps; }

        public static CurvesDocument Parse(string json)
        {
            var root = MiniJson.Parse(json) as Dictionary<string, object>;
            if (root == null || !(root.ContainsKey("format") && (root["format"] as string) == "avatarlab.curves"))
                throw new FormatException("not an avatarlab.curves document");
            if (Num(root, "version") != 1) throw new FormatException("unsupported curves version " + Num(root, "version"));
            var doc = new CurvesDocument
            {
                Text = root.ContainsKey("text") ? root["text"] as string : null,
                Voice = root.ContainsKey("voice") ? root["voice"] as string : null,
                Audio = root.ContainsKey("audio") ? root["audio"] as string : null,
                Fps = (int)Num(root, "fps"), SampleRate = (int)Num(root, "sample_rate"),
                NumSamples = (int)Num(root, "num_samples"), NumFrames = (int)Num(root, "num_frames"),
            };
            var names = new List<string>();
            var groups = new List<List<object>>();
            foreach (string g in AvatarLab.Protocol.Channels.GroupNames)
            {
                object o;
                if (!root.TryGetValue(g, out o) || !(o is Dictionary<string, object>)) continue;
                var grp = (Dictionary<string, object>)o;
                foreach (object n in (List<object>)grp["names"]) names.Add((string)n);
                var frames = (List<object>)grp["frames"];
                if (frames.Count != doc.NumFrames) throw new FormatException(g + " has " + frames.Count + " frames, num_frames is " + doc.NumFrames);
                groups.Add(frames);
            }
            doc.Channels = names.ToArray();
            doc.Frames = new float[doc.NumFrames][];
            for (int f = 0; f < doc.NumFrames; f++)
            {
                var row = new float[names.Count]; int c = 0;
                foreach (var frames in groups)
                    foreach (object v in (List<object>)frames[f]) row[c++] = (float)(double)v;
                if (c != names.Count) throw new FormatException("frame " + f + " has " + c + " values for " + names.Count + " channels");
                doc.Frames[f] = row;
            }
            return doc;
        }

        static double Num(Dictionary<string, object> m, string k)
        {
            object v;
            if (!m.TryGetValue(k, out v) || !(v is double)) throw new FormatException("missing number '" + k + "'");
            return (double)v;
        }
    }
}
