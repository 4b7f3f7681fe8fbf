// Benchmark mode of the runner (benchmarks/bench_unity_client.py drives it):
//   mono runner.exe --bench OUT.json --url tcp://127.0.0.1:PORT
// Decode cost per `frames` and per `audio` message (real messages captured from the daemon), and
// end-to-end first-chunk latency seen by the C# client.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class Bench
    {
        static List<List<byte[]>> Capture(string url, SpeakOptions options)
        {
            string host; int port;
            ZmtpSocket.ParseEndpoint(url, out host, out port);
            var all = new List<List<byte[]>>();
            using (var z = ZmtpSocket.Connect(host, port, 5000))
            {
                z.Send(new[] { MsgPack.Pack(options.ToHeader("cap")) });
                while (true)
                {
                    var f = z.Receive(60000);
                    if (f == null) throw new Exception("capture timed out");
                    all.Add(f);
                    var t = DaemonMessage.Decode(f).Type;
                    if (t == "end" || t == "error") break;
                }
            }
            return all;
        }

        static double Percentile(List<double> xs, double p)
        {
            var s = xs.OrderBy(x => x).ToList();
            double idx = p * (s.Count - 1);
            int lo = (int)Math.Floor(idx), hi = (int)Math.Ceiling(idx);
            return s[lo] + (s[hi] - s[lo]) * (idx - lo);
        }

        /// <summary>Mean microseconds per message of `decode` over the messages, repeated for ~1 s.</summary>
        static double MicrosPerMessage(List<List<byte[]>> messages, Action<List<byte[]>> decode)
        {
            foreach (var m in messages) decode(m);                          // warm-up (JIT)
            int reps = 0; var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 1000) { foreach (var m in messages) decode(m); reps++; }
            return sw.Elapsed.TotalMilliseconds * 1000.0 / (reps * messages.Count);
        }

        public static int Run(string url, string outPath)
        {
            if (url == null) { Console.Error.WriteLine("--bench needs --url"); return 2; }
            var opts = new SpeakOptions { Text = "The bridge to the northern village washed away in the storm, so mind your step.", Fps = 60, Seed = 1 };
            var captured = Capture(url, opts);
            string startCurveFormat = "f32";
            var frames = new List<List<byte[]>>(); var audio = new List<List<byte[]>>();
            foreach (var f in captured)
            {
                var m = DaemonMessage.Decode(f);
                if (m.Type == "frames") frames.Add(f);
                else if (m.Type == "audio") audio.Add(f);
            }
            int nf, nc;
            double frameUs = MicrosPerMessage(frames, f => Payloads.DecodeFrames(DaemonMessage.Decode(f), startCurveFormat, out nf, out nc));
            double frameHeaderUs = MicrosPerMessage(frames, f => DaemonMessage.Decode(f));
            double audioUs = MicrosPerMessage(audio, f => Payloads.DecodeAudio(DaemonMessage.Decode(f)));
            double framesPerMsg = frames.Average(f => DaemonMessage.Decode(f).GetLong("num_frames", 0));
            double channels = DaemonMessage.Decode(frames[0]).GetLong("num_channels", 0);
            double samplesPerChunk = audio.Average(f => DaemonMessage.Decode(f).GetLong("num_samples", 0));

            // end-to-end: Speak() to the first audio chunk taken off the queue by the application thread
            var e2e = new List<double>(); var recv = new List<double>(); var daemonFirst = new List<double>();
            const int runs = 20;
            using (var c = new DaemonConnection(url))
            {
                c.Start();
                if (!c.WaitConnected(10000)) throw new Exception("no connection");
                for (int i = 0; i < runs + 2; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    long t0ms = ZmtpSocket.NowMs;
                    string id = c.Speak(new SpeakOptions { Text = "Hello there, traveler!", Seed = i, Channels = new[] { "audio", "visemes", "blendshapes", "head", "eyes" } });
                    bool first = true;
                    while (true)
                    {
                        var m = c.Receive(30000);
                        if (m == null) throw new Exception("stream timed out");
                        if (m.Id != id) continue;
                        if (m.Type == "audio" && first)
                        {
                            first = false;
                            double ms = (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency;
                            if (i >= 2) { e2e.Add(ms); recv.Add(m.ReceivedMs - t0ms); }   // two warm-up runs
                        }
                        if (m.IsTerminal)
                        {
                            var stats = m.GetMap("stats");
                            if (i >= 2 && stats != null) daemonFirst.Add(Convert.ToDouble(stats["first_chunk_ms"], CultureInfo.InvariantCulture));
                            break;
                        }
                    }
                }
            }
            var inv = CultureInfo.InvariantCulture;
            Func<double, string> f3 = x => x.ToString("0.###", inv);
            var json = new StringBuilder();
            json.Append("{\n");
            json.Append("  \"runtime\": \"" + Type.GetType("Mono.Runtime").GetMethod("GetDisplayName", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static).Invoke(null, null) + "\",\n");
            json.Append("  \"processors\": " + Environment.ProcessorCount + ",\n");
            json.Append("  \"frames_message\": {\"count\": " + frames.Count + ", \"mean_frames\": " + f3(framesPerMsg) + ", \"channels\": " + channels +
                        ", \"decode_us\": " + f3(frameUs) + ", \"header_only_us\": " + f3(frameHeaderUs) + "},\n");
            json.Append("  \"audio_message\": {\"count\": " + audio.Count + ", \"mean_samples\": " + f3(samplesPerChunk) + ", \"decode_us\": " + f3(audioUs) + "},\n");
            json.Append("  \"first_chunk\": {\"runs\": " + e2e.Count + ", \"text\": \"Hello there, traveler!\"" +
                        ", \"client_ms_median\": " + f3(Percentile(e2e, 0.5)) + ", \"client_ms_p90\": " + f3(Percentile(e2e, 0.9)) +
                        ", \"client_ms_min\": " + f3(e2e.Min()) + ", \"receive_thread_ms_median\": " + f3(Percentile(recv, 0.5)) +
                        ", \"daemon_first_chunk_ms_median\": " + f3(Percentile(daemonFirst, 0.5)) + "}\n");
            json.Append("}\n");
            File.WriteAllText(outPath, json.ToString());
            Console.Write(json.ToString());
            return 0;
        }
    }
}
