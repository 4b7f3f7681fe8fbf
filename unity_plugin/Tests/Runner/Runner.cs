// A tiny test runner for the engine-free assembly under Mono (no NUnit needed):
//   mono runner.exe [--url tcp://127.0.0.1:PORT] [--router-echo URL] [--dealer-echo URL]
//                   [--heartbeat-router URL] [--restart-via-stdio] [--live-wav LINE.wav]
//                   [--glb AVATAR.glb [--glb-report OUT.json]] [--filter TEXT] [--bench OUT.json]
// Each public static method marked [Test] runs once; a test whose needs are not given on the
// command line is skipped. The last line is "N passed, N failed".
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;

namespace AvatarLab.Tests
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TestAttribute : Attribute
    {
        /// <summary>What the test needs: "daemon", "router-echo", "dealer-echo", "heartbeat-router", "restart", "live", "glb".</summary>
        public string Needs;
    }

    public sealed class AssertionException : Exception { public AssertionException(string m) : base(m) { } }

    public static class Assert
    {
        public static void True(bool cond, string what) { if (!cond) throw new AssertionException(what); }
        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new AssertionException(what + ": expected " + expected + ", got " + actual);
        }
        public static void Near(double expected, double actual, double tol, string what)
        {
            if (Math.Abs(expected - actual) > tol) throw new AssertionException(what + ": expected " + expected + " +- " + tol + ", got " + actual);
        }
        public static T Throws<T>(Action a, string what) where T : Exception
        {
            try { a(); }
            catch (T e) { return e; }
            catch (Exception e) { throw new AssertionException(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message); }
            throw new AssertionException(what + ": expected " + typeof(T).Name + ", nothing thrown");
        }
    }

    public static class Env
    {
        public static string Url, RouterEcho, DealerEcho, HeartbeatRouter;
        /// <summary>A spoken line (mono PCM16 WAV) for the live-audio tests, with --url.</summary>
        public static string LiveWav;
        public static bool RestartViaStdio;
        /// <summary>An avatarlab GLB (models/avatar/default_head.glb) for the GLB reader's tests.</summary>
        public static string Glb;

        public static bool Has(string need)
        {
            switch (need)
            {
                case null: return true;
                case "daemon": return Url != null;
                case "router-echo": return RouterEcho != null;
                case "dealer-echo": return DealerEcho != null;
                case "heartbeat-router": return HeartbeatRouter != null;
                case "restart": return Url != null && RestartViaStdio;
                case "live": return Url != null && LiveWav != null;
                case "glb": return Glb != null;
                default: return false;
            }
        }

        /// <summary>Ask the Python test that started us to restart the daemon on the same URL; waits for it.</summary>
        public static void RestartDaemon()
        {
            Console.Out.WriteLine("@@restart");
            Console.Out.Flush();
            string answer = Console.In.ReadLine();
            if (answer != "ok") throw new AssertionException("daemon restart failed: " + answer);
        }
    }

    public static class Runner
    {
        public static int Main(string[] args)
        {
            string filter = null, bench = null, glbReport = null;
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                Func<string> next = () => { if (i + 1 >= args.Length) throw new ArgumentException(a + " needs a value"); return args[++i]; };
                switch (a)
                {
                    case "--url": Env.Url = next(); break;
                    case "--router-echo": Env.RouterEcho = next(); break;
                    case "--dealer-echo": Env.DealerEcho = next(); break;
                    case "--heartbeat-router": Env.HeartbeatRouter = next(); break;
                    case "--restart-via-stdio": Env.RestartViaStdio = true; break;
                    case "--live-wav": Env.LiveWav = next(); break;
                    case "--filter": filter = next(); break;
                    case "--bench": bench = next(); break;
                    case "--glb": Env.Glb = next(); break;
                    case "--glb-report": glbReport = next(); break;
                    default: Console.Error.WriteLine("unknown option " + a); return 2;
                }
            }
            if (bench != null) return Bench.Run(Env.Url, bench);
            if (glbReport != null) return GlbTests.WriteReport(Env.Glb, glbReport);

            var tests = typeof(Runner).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                .OrderBy(m => m.DeclaringType.Name).ThenBy(m => m.MetadataToken).ToList();
            int passed = 0, failed = 0, skipped = 0;
            foreach (var m in tests)
            {
                string name = m.DeclaringType.Name + "." + m.Name;
                if (filter != null && name.IndexOf(filter, StringComparison.OrdinalIgnoreCase) < 0) continue;
                var attr = (TestAttribute)m.GetCustomAttributes(typeof(TestAttribute), false)[0];
                if (!Env.Has(attr.Needs)) { skipped++; Console.WriteLine("SKIP " + name + " (needs " + attr.Needs + ")"); continue; }
                var sw = Stopwatch.StartNew();
                try
                {
                    m.Invoke(null, null);
                    passed++;
                    Console.WriteLine("PASS " + name + " (" + sw.ElapsedMilliseconds + " ms)");
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    var inner = e.InnerException;
                    Console.WriteLine("FAIL " + name + " (" + sw.ElapsedMilliseconds + " ms): " + inner.GetType().Name + ": " + inner.Message);
                    Console.WriteLine(inner.StackTrace);
                }
                Console.Out.Flush();
            }
            Console.WriteLine(skipped + " skipped");
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }
    }
}
