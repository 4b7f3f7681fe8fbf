"""Jobs over HTTP: jobs per minute for 5-second lines rendered to MP4 (512x512, 30 fps) by the bridge's /v1/ API with
1 and 2 worker processes, beside the same lines rendered by the library calls `avatarlab render` makes, in one
process, one after another; and the API's own overhead.

    .venv/bin/python benchmarks/bench_jobs.py            ->  benchmarks/results/jobs.json + jobs.md
    .venv/bin/python benchmarks/bench_jobs.py --quick    # smoke test: 2 jobs per setting, writes nothing

- lines: 8 distinct sentences of about 5 s of speech each (the default voice, seed 0); the audio length each job
  actually got is read back from its MP4 (ffmpeg's "Duration"). Jobs ask for {"text", "outputs": ["mp4"]} and the
  defaults: 512x512, 30 fps, head-and-shoulders camera, the default avatar.
- direct: Engine.speak then render.video.render_video, the calls `avatarlab render TEXT` makes, in one fresh
  process (not this one: its sampling thread would compete for the GIL) with the Engine loaded once and one untimed warm-up line first (as a bridge worker keeps its Engine between jobs).
  A `avatarlab render` subprocess per line would also pay Python's start, the imports and the voice load each time;
  one such cold run is timed beside it for scale. Per-job wall time = speak + render_video.
- API: a real bridge process (`python -m avatarlab_bridge --job-workers N`, a fresh jobs folder, no daemon), driven
  over HTTP with urllib. One untimed warm-up job per worker first (each worker loads its Engine on its first job);
  then all the jobs are POSTed at once (the queue keeps every worker busy) and GET /v1/jobs is polled every --poll
  seconds. Jobs per minute = jobs / (first POST to the poll that sees the last one done).
- API overhead, from each job's record on disk (job.json: created, started, finished, as the bridge's clock) and
  its MP4's modification time (the moment the worker's ffmpeg finished): submit latency (the POST's round trip),
  dispatch (created -> started for a job that found an idle worker), worker finished -> job done (the pipe, the
  record writes), done -> seen by the client (the poll interval), the bridge process's own CPU time per job.
The 1-minute load average before and after each setting and the other processes' CPU use during it (the machine's
busy time minus this benchmark's process tree: the bridge and its workers included) are recorded: the 2 cores are
shared, and other work slows every setting.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import machine_info, write_results  # noqa: E402
from bench_render import CpuShare  # noqa: E402

LINES = [
    "The bridge to the northern village washed away in the storm, so mind your step on the old stones.",
    "I have not seen the blacksmith since the festival ended, but his forge is still warm every morning.",
    "Take this map with you; it shows the old road through the hills and the well beside the chapel.",
    "Why would anyone build a tower so far from the sea, where no ship could ever see its light?",
    "We should leave before the sun sets behind the mountains, because the wolves come down after dark.",
    "Thank you for your help today, traveler; I will remember your kindness when the harvest comes in.",
    "The captain says the wind will turn by midnight, so load the cargo and check every rope twice.",
    "Our library has a book on every river in the kingdom, except the one that runs beneath the castle.",
]
WARMUP_LINE = "Good morning, and welcome to the workshop."
SIZE, FPS = "512x512", 30
TICK = os.sysconf("SC_CLK_TCK")


# ---- HTTP ----------------------------------------------------------------------------------------------------------
def http(port: int, method: str, path: str, body: Any = None, timeout: float = 60) -> tuple[int, Any, float]:
    """(status, JSON answer, seconds the round trip took)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None, time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_cpu(pid: int) -> tuple[float, float]:
    """(CPU seconds of ``pid`` itself, of its live children and the processes they waited for: ffmpeg) from /proc."""
    def own(p: int, waited: bool = False) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return sum(int(value) for value in fields[11:15 if waited else 13]) / TICK

    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return own(pid), sum(own(child, waited=True) for child in children)


def mp4_seconds(path: Path) -> float:
    """The file's duration as ffmpeg reports it (the audio sets it: the video ends with the speech)."""
    from avatarlab.render.images import ffmpeg_exe

    text = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, timeout=60).stderr
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text).groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# ---- direct: the library calls of `avatarlab render` -----------------------------------------------------------------
def direct(lines: list[str], work: Path) -> dict:
    """The direct run in a fresh process of its own, so that this process's sampling threads (CpuShare) do not
    compete with it for the GIL, as they do not with a bridge worker."""
    (work / "lines.json").write_text(json.dumps(lines), encoding="utf-8")
    share = CpuShare()
    share.start()
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, "--direct-child", str(work)], capture_output=True, text=True,
                          timeout=3600)
    wall, other = share.stop()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "other_work_cores": other, "measured_wall_s": wall,
            "load_average_1m": {"start": load, "end": os.getloadavg()[0]}}


def direct_child(work: Path) -> dict:
    """(In a fresh process) Engine.speak + render_video per line, one after another (Engine loaded once, one
    untimed warm-up line)."""
    from avatarlab.engine import Engine
    from avatarlab.options import SynthesisOptions
    from avatarlab.output import slugify
    from avatarlab.render.curves import Curves
    from avatarlab.render.settings import RenderSettings, parse_size
    from avatarlab.render.video import render_video

    lines = json.loads((work / "lines.json").read_text(encoding="utf-8"))
    settings = RenderSettings(size=parse_size(SIZE), fps=FPS).checked()
    options = SynthesisOptions(fps=FPS, seed=0).checked()
    start = time.perf_counter()
    engine = Engine()
    load_s = time.perf_counter() - start

    def one(text: str) -> dict:
        begin = time.perf_counter()
        utterance = engine.speak(text, options)
        spoken = time.perf_counter()
        result = render_video(Curves.from_utterance(utterance, "line"), work / f"{slugify(text)}.mp4", settings)
        end = time.perf_counter()
        return {"text": text, "audio_s": utterance.duration_s, "frames": result.frames, "speak_s": spoken - begin,
                "render_s": end - spoken, "wall_s": end - begin, "path": str(result.path)}

    warm = one(WARMUP_LINE)
    cpu_before = own_cpu()
    jobs = [one(text) for text in lines]
    cpu = own_cpu() - cpu_before
    total = sum(job["wall_s"] for job in jobs)
    for job in jobs:  # after the timing: ffmpeg reads each file back
        job["mp4_s"] = mp4_seconds(Path(job.pop("path")))
    return {"engine_load_s": load_s, "warmup": warm, "jobs": jobs, "wall_s": total,
            "jobs_per_min": 60 * len(jobs) / total, "renderer_setup_s": renderer_setup(settings),
            "cores_used": cpu / total}


def own_cpu() -> float:
    """CPU seconds of this process and the children it waited for (ffmpeg)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def renderer_setup(settings) -> float:
    """Median seconds to make and close the Renderer (GL context, the default avatar) that render_video makes per
    call when it is not handed one."""
    from avatarlab.render import Avatar, Renderer

    times = []
    for _ in range(3):
        start = time.perf_counter()
        with Renderer(Avatar.load(), settings):
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_cold(text: str, work: Path) -> dict:
    """One `avatarlab render TEXT` subprocess: what a pipeline calling the CLI per line pays."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "avatarlab", "render", text, "--out", str(work), "--size", SIZE, "--quiet"],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT / "sdk")}, timeout=600)
    return {"text": text, "wall_s": time.perf_counter() - start}


# ---- through the bridge ------------------------------------------------------------------------------------------
class Bridge:
    """A bridge process with a fresh jobs folder and ``workers`` job workers, on a free loopback port."""

    def __init__(self, workers: int, jobs_dir: Path) -> None:
        self.port, self.jobs_dir = free_port(), jobs_dir
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "bridge")])}
        self.log = open(jobs_dir.parent / f"bridge-{workers}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "avatarlab_bridge", "--port", str(self.port),
                                         "--jobs-dir", str(jobs_dir), "--job-workers", str(workers),
                                         "--log-level", "WARNING"], env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 180
        while True:
            try:
                if http(self.port, "GET", "/v1/jobs", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the bridge did not start: {(jobs_dir.parent / f'bridge-{workers}.log').read_text()}")
            time.sleep(0.2)

    def record(self, job_id: str) -> dict:
        return json.loads((self.jobs_dir / "jobs" / job_id / "job.json").read_text())

    def video(self, job_id: str) -> Path:
        return self.jobs_dir / "jobs" / job_id / "files" / "video.mp4"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def submit(bridge: Bridge, text: str) -> dict:
    status, job, latency = http(bridge.port, "POST", "/v1/jobs", {"text": text, "outputs": ["mp4"]})
    if status != 202:
        raise RuntimeError(f"POST /v1/jobs answered {status}: {job}")
    return {"id": job["id"], "text": text, "post_s": latency, "posted": time.time() - latency}


def wait_all(bridge: Bridge, jobs: list[dict], poll: float, timeout: float = 1800) -> list[float]:
    """Poll GET /v1/jobs every ``poll`` s until every job is done; sets each job's "seen_done"; poll latencies."""
    pending, latencies = {job["id"]: job for job in jobs}, []
    deadline = time.monotonic() + timeout
    while pending:
        status, answer, latency = http(bridge.port, "GET", "/v1/jobs")
        latencies.append(latency)
        for job in answer["jobs"]:
            if job["id"] in pending and job["state"] in ("done", "failed", "cancelled"):
                if job["state"] != "done":
                    raise RuntimeError(f"job {job['id']} ended {job['state']}: {job['error']}")
                pending.pop(job["id"])["seen_done"] = time.time()
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} jobs not done after {timeout} s")
        if pending:
            time.sleep(poll)
    return latencies


def through_api(lines: list[str], workers: int, work: Path, poll: float) -> dict:
    jobs_dir = work / f"jobs-{workers}"
    jobs_dir.mkdir()
    started = time.perf_counter()
    bridge = Bridge(workers, jobs_dir)
    try:
        bridge_start_s = time.perf_counter() - started
        warm = [submit(bridge, f"{WARMUP_LINE} Worker {i + 1}.") for i in range(workers)]
        wait_all(bridge, warm, poll)
        warm_s = [bridge.record(job["id"])["finished"] - bridge.record(job["id"])["started"] for job in warm]
        load = os.getloadavg()[0]
        share = CpuShare()
        share.start()
        cpu_before = process_cpu(bridge.process.pid)
        first = time.time()
        jobs = [submit(bridge, text) for text in lines]
        latencies = wait_all(bridge, jobs, poll)
        last = max(job["seen_done"] for job in jobs)
        cpu_after = process_cpu(bridge.process.pid)
        wall, other = share.stop()
        for job in jobs:
            record, video = bridge.record(job["id"]), bridge.video(job["id"])
            job.update(created=record["created"], started=record["started"], finished=record["finished"],
                       worker_done=video.stat().st_mtime, mp4_s=mp4_seconds(video), size=video.stat().st_size)
            job["run_s"] = job["finished"] - job["started"]  # in a worker, until the job shows done
            job["worker_s"] = job["worker_done"] - job["started"]  # until its ffmpeg finished
        download_s = download(bridge, jobs[0]["id"])
    finally:
        bridge.stop()
    return {"workers": workers, "bridge_start_s": bridge_start_s, "warmup_job_s": warm_s, "jobs": jobs,
            "wall_s": last - first, "jobs_per_min": 60 * len(jobs) / (last - first), "poll_s": poll,
            "polls": len(latencies), "poll_latency_ms": summary([1000 * s for s in latencies]),
            "bridge_cpu_s": cpu_after[0] - cpu_before[0], "workers_cpu_s": cpu_after[1] - cpu_before[1],
            "download_mp4_s": download_s, "load_average_1m": {"start": load, "end": os.getloadavg()[0]},
            "other_work_cores": other, "measured_wall_s": wall}


def download(bridge: Bridge, job_id: str) -> float:
    """Seconds to GET one finished job's MP4 over HTTP."""
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{bridge.port}/v1/jobs/{job_id}/files/video.mp4") as reply:
        reply.read()
    return time.perf_counter() - start


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def overhead(run: dict, direct_run: dict) -> dict:
    """The API's own costs in one setting, from the jobs' records (seconds unless named _ms)."""
    jobs = run["jobs"]
    first = min(jobs, key=lambda job: job["created"])
    per_job_direct = direct_run["wall_s"] / len(direct_run["jobs"])
    return {
        "submit_ms": summary([1000 * job["post_s"] for job in jobs]),
        "dispatch_ms": 1000 * (first["started"] - first["created"]),  # the first job found an idle worker
        "worker_done_to_done_ms": summary([1000 * (job["finished"] - job["worker_done"]) for job in jobs]),
        "done_to_seen_ms": summary([1000 * (job["seen_done"] - job["finished"]) for job in jobs]),
        "job_run_s": summary([job["run_s"] for job in jobs]),
        "bridge_cpu_ms_per_job": 1000 * run["bridge_cpu_s"] / len(jobs),
        # what the API adds to each job on a busy worker: the idle gap between its jobs (done event -> record
        # written -> next task sent) and the bridge's CPU time (requests, progress events, records)
        "own_ms_per_job": statistics.median(1000 * (job["finished"] - job["worker_done"]) for job in jobs)
        + 1000 * run["bridge_cpu_s"] / len(jobs),
        "own_over_direct": (statistics.median(job["finished"] - job["worker_done"] for job in jobs)
                            + run["bridge_cpu_s"] / len(jobs)) / per_job_direct,
        "wall_per_job_s": run["wall_s"] / len(jobs),
        "cores_used": (run["bridge_cpu_s"] + run["workers_cpu_s"]) / run["wall_s"],  # bridge + workers + ffmpeg
        "wall_per_job_over_direct": run["wall_s"] / len(jobs) / per_job_direct,
    }


# ---- report ------------------------------------------------------------------------------------------------------
def markdown(result: dict) -> str:
    m, d = result["machine"], result["direct"]
    audio = [job["mp4_s"] for run in result["api"] for job in run["jobs"]] + [job["mp4_s"] for job in d["jobs"]]
    n = len(d["jobs"])
    lines = ["# Jobs over HTTP benchmark", "",
             f"`benchmarks/bench_jobs.py`, {result['date']}: {m['logical_cores']} cores ({m['cpu_model']}), shared "
             "with other work (load and other processes' CPU per setting below). "
             f"{n} distinct lines of {min(audio):.2f}-{max(audio):.2f} s of speech (mean "
             f"{statistics.mean(audio):.2f} s, read back from the MP4s), each rendered to an MP4 at {SIZE}, {FPS} fps, "
             "default avatar and camera. Each setting ran in every round (interleaved); the fastest round counts, "
             "the others are listed. Cores used: the CPU time of the direct process, or of the bridge and its "
             "workers, ffmpeg included in both, over the wall time.", "",
             "| setting | jobs | wall s | jobs / min | every round | s per job | vs direct | cores used | "
             "load 1m before | other work (cores) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    per_direct = d["wall_s"] / n

    def rounds(run: dict) -> str:
        return " / ".join(f"{value:.1f}" for value in run["jobs_per_min_rounds"])

    lines.append(f"| direct: Engine.speak + render_video, one process | {n} | {d['wall_s']:.1f} | "
                 f"**{d['jobs_per_min']:.1f}** | {rounds(d)} | {per_direct:.2f} | 1.00x | {d['cores_used']:.2f} | "
                 f"{d['load_average_1m']['start']:.2f} | {d['other_work_cores']:.2f} |")
    for run in result["api"]:
        o = run["overhead"]
        lines.append(f"| API, {run['workers']} worker{'s' if run['workers'] > 1 else ''} | {len(run['jobs'])} | "
                     f"{run['wall_s']:.1f} | **{run['jobs_per_min']:.1f}** | {rounds(run)} | "
                     f"{o['wall_per_job_s']:.2f} | {o['wall_per_job_over_direct']:.2f}x | {o['cores_used']:.2f} | "
                     f"{run['load_average_1m']['start']:.2f} | {run['other_work_cores']:.2f} |")
    lines += ["", "Direct: per line, speaking "
              f"{statistics.median(j['speak_s'] for j in d['jobs']):.2f} s and render_video "
              f"{statistics.median(j['render_s'] for j in d['jobs']):.2f} s (medians); making the Renderer (GL context, "
              f"avatar), which render_video does per call, takes {d['renderer_setup_s']:.2f} s of that. The API's wall "
              "time runs from the first POST to the poll that saw the last job done.", "",
              "The API's own costs (medians over the jobs; min-max in brackets):", "",
              "| workers | POST /v1/jobs ms | dispatch to an idle worker ms | worker finished -> done ms | "
              "done -> seen by the poll ms | GET /v1/jobs ms | bridge CPU per job ms | job in a worker s |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def cell(s: dict, digits: int = 0) -> str:
        return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"

    for run in result["api"]:
        o = run["overhead"]
        lines.append(f"| {run['workers']} | {cell(o['submit_ms'])} | {o['dispatch_ms']:.0f} | "
                     f"{cell(o['worker_done_to_done_ms'])} | {cell(o['done_to_seen_ms'])} | "
                     f"{cell(run['poll_latency_ms'])} | {o['bridge_cpu_ms_per_job']:.0f} | {cell(o['job_run_s'], 2)} |")
    lines += ["", "The API's own cost per job, whatever the other work on the cores (the worker's idle gap from "
              "finishing a job to the job showing done and the next one sent, plus the bridge's CPU time per job): "
              + ", ".join(f"{run['overhead']['own_ms_per_job']:.0f} ms with {run['workers']} worker"
                          f"{'s' if run['workers'] > 1 else ''} ({run['overhead']['own_over_direct']:.1%} of a direct "
                          "job)" for run in result["api"]) + ". The differences in wall time per job above are "
              "larger than that where the other work on the shared cores differed between settings."]
    lines += ["", f"Polling every {result['poll_s']} s: a job is seen done on average half an interval after it is, "
              "and only the last job's wait adds to a batch's wall time (the queue, not the client, feeds the workers). "
              "First job on a fresh worker (Engine load, first render): "
              + ", ".join(f"{max(run['warmup_job_s']):.1f} s with {run['workers']}" for run in result["api"])
              + f"; bridge start to answering: {statistics.mean(r['bridge_start_s'] for r in result['api']):.1f} s."]
    if result.get("cli"):
        lines.append(f"One cold `avatarlab render TEXT` subprocess (Python start, imports, voice load, one line): "
                     f"{result['cli']['wall_s']:.1f} s.")
    return "\n".join(lines) + "\n"


def measure_round(lines: list[str], worker_counts: list[int], work: Path, poll: float) -> dict:
    """Direct, then the API with each worker count."""
    (work / "direct").mkdir(parents=True)
    print(f"{work.name}: direct", flush=True)
    direct_run = direct(lines, work / "direct")
    print(f"  {direct_run['jobs_per_min']:.1f} jobs/min", flush=True)
    runs = []
    for workers in worker_counts:
        print(f"{work.name}: API, {workers} worker(s)", flush=True)
        runs.append(through_api(lines, workers, work, poll))
        print(f"  {runs[-1]['jobs_per_min']:.1f} jobs/min", flush=True)
    return {"direct": direct_run, "api": runs}


def fastest(rounds: list[dict]) -> tuple[dict, list[dict]]:
    """Each setting's fastest round (other work on the shared cores only ever slows a setting down), with every
    round's jobs per minute kept beside it; the API's overhead against the fastest direct run."""
    direct_run = {**max((r["direct"] for r in rounds), key=lambda run: run["jobs_per_min"]),
                  "jobs_per_min_rounds": [r["direct"]["jobs_per_min"] for r in rounds]}
    runs = []
    for index, _ in enumerate(rounds[0]["api"]):
        candidates = [r["api"][index] for r in rounds]
        best = {**max(candidates, key=lambda run: run["jobs_per_min"]),
                "jobs_per_min_rounds": [run["jobs_per_min"] for run in candidates]}
        best["overhead"] = overhead(best, direct_run)
        runs.append(best)
    return direct_run, runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results; with --quick, none)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default 1 2)")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between the client's polls (default 0.25)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="passes over every setting, interleaved; the fastest counts (default 3)")
    parser.add_argument("--quick", action="store_true", help="one round of 2 jobs per setting, no cold CLI run")
    parser.add_argument("--direct-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct_child:
        print(json.dumps(direct_child(args.direct_child)))
        return 0
    lines = LINES[:2] if args.quick else LINES
    load_start = os.getloadavg()[0]
    share = CpuShare()
    share.start()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rounds = []
        for number in range(1 if args.quick else args.rounds):
            rounds.append(measure_round(lines, args.workers, work / f"round-{number + 1}", args.poll))
        direct_run, runs = fastest(rounds)
        cli = None
        if not args.quick:
            (work / "cli").mkdir()
            cli = cli_cold(lines[0], work / "cli")
        shutil.rmtree(work, ignore_errors=True)
    wall, other = share.stop()
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine_info(), "size": SIZE, "fps": FPS,
              "poll_s": args.poll, "lines": lines, "direct": direct_run, "api": runs, "cli": cli, "wall_s": wall,
              "rounds": [{"direct_jobs_per_min": r["direct"]["jobs_per_min"],
                          "api_jobs_per_min": {str(run["workers"]): run["jobs_per_min"] for run in r["api"]},
                          "other_work_cores": {"direct": r["direct"]["other_work_cores"],
                                               **{str(run["workers"]): run["other_work_cores"] for run in r["api"]}}}
                         for r in rounds],
              "other_work_cores": other, "load_average_1m": {"start": load_start, "end": os.getloadavg()[0]},
              "quick": args.quick}
    text = markdown(result)
    print(text)
    write_results(args.out or (None if args.quick else ROOT / "benchmarks/results"), "jobs", result, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
