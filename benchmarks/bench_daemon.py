"""Daemon benchmark: the wire against in-process, transport latency, throughput, real-time capacity, memory.

Measured in one run on this machine:

* first-chunk latency over the wire (speak sent -> first audio message received, real daemon on
  loopback) against in-process (Engine.synthesize -> first chunk), same texts, interleaved;
* transport latency: ping round trips (median, p99);
* messages per second: pipelined pings, and the stream messages of a speak request;
* real-time capacity: N clients each speak a line at once; a stream keeps real time when every
  audio chunk arrives before it is due to play (first chunk arrival + its position in the audio).
  The largest N at which every stream keeps real time is reported;
* daemon memory: peak resident set (VmHWM) of the daemon process after the load.

Results go to benchmarks/results/daemon.json and .md. No thresholds: it measures and reports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import msgpack
import numpy as np
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "sdk"), str(ROOT / "tests")]

from avatarlab.engine import Engine  # noqa: E402
from bench_engine import machine_info  # noqa: E402
from daemon_process import running_daemon  # noqa: E402

TEXTS = {
    "short": "See you tomorrow.",
    "medium": "I told you the bridge was out, so we will have to cross the river at the old ford near the mill.",
}
SAMPLE_RATE = 22050


class Wire:
    def __init__(self, url: str) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(url)

    def send(self, header: dict) -> None:
        self.socket.send(msgpack.packb({"v": 1, **header}))

    def recv(self) -> tuple[dict, list[bytes]]:
        if not self.socket.poll(120_000):
            raise TimeoutError("daemon silent for 120 s")
        frames = self.socket.recv_multipart()
        return msgpack.unpackb(frames[0], raw=False), frames[1:]

    def speak_timed(self, request_id: str, text: str) -> list[tuple[float, dict]]:
        """(arrival time, header) of every message of one request, times from the send."""
        start = time.perf_counter()
        self.send({"type": "speak", "id": request_id, "text": text})
        arrivals = []
        while True:
            header, _ = self.recv()
            arrivals.append((time.perf_counter() - start, header))
            if header["type"] in ("end", "error"):
                return arrivals

    def close(self) -> None:
        self.socket.close(0)


def first_chunk(repeats: int, url: str, engine: Engine) -> dict:
    results = {}
    wire = Wire(url)
    for name, text in TEXTS.items():
        wire_ms, local_ms = [], []
        for r in range(repeats + 1):
            arrivals = wire.speak_timed(f"fc-{name}-{r}", text)
            first_audio = next(t for t, h in arrivals if h["type"] == "audio")
            began = time.perf_counter()
            for _ in engine.synthesize(text):
                local = time.perf_counter() - began
                break
            if r:  # the first round warms both up
                wire_ms.append(first_audio * 1000)
                local_ms.append(local * 1000)
        results[name] = {"wire_ms": statistics.median(wire_ms), "in_process_ms": statistics.median(local_ms),
                         "overhead_ms": statistics.median(wire_ms) - statistics.median(local_ms),
                         "raw_wire_ms": wire_ms, "raw_in_process_ms": local_ms}
    wire.close()
    return results


def transport(url: str, pings: int) -> dict:
    wire = Wire(url)
    rtts = []
    for i in range(pings):
        began = time.perf_counter()
        wire.send({"type": "ping", "t": i})
        wire.recv()
        rtts.append((time.perf_counter() - began) * 1e6)
    began = time.perf_counter()
    for i in range(pings):
        wire.send({"type": "ping", "t": i})
    for _ in range(pings):
        wire.recv()
    pipelined = pings / (time.perf_counter() - began)
    arrivals = wire.speak_timed("throughput", " ".join([TEXTS["medium"]] * 3))
    wire.close()
    span = arrivals[-1][0] - arrivals[0][0]
    return {"ping_rtt_median_us": statistics.median(rtts), "ping_rtt_p99_us": float(np.percentile(rtts, 99)),
            "pipelined_pings_per_s": pipelined, "stream_messages": len(arrivals),
            "stream_messages_per_s": len(arrivals) / span if span > 0 else None}


def keeps_real_time(arrivals: list[tuple[float, dict]]) -> tuple[bool, float]:
    """Does every audio chunk arrive before it is due, once the first one has arrived? Returns (ok, worst lag s)."""
    audio = [(t, h) for t, h in arrivals if h["type"] == "audio"]
    if not audio:
        return False, float("inf")
    t0 = audio[0][0]
    worst = max(t - (t0 + h["sample_offset"] / SAMPLE_RATE) for t, h in audio)
    return worst <= 0.0, worst


def concurrent(url: str, clients: int) -> dict:
    results: list[tuple[bool, float, float]] = [None] * clients  # type: ignore[list-item]

    def run(i: int) -> None:
        wire = Wire(url)
        arrivals = wire.speak_timed(f"c{i}", TEXTS["medium"])
        ok, worst = keeps_real_time(arrivals)
        first = next((t for t, h in arrivals if h["type"] == "audio"), float("inf"))
        results[i] = (ok and arrivals[-1][1]["type"] == "end", worst, first)
        wire.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"clients": clients, "all_real_time": all(r[0] for r in results),
            "real_time_streams": sum(r[0] for r in results),
            "worst_lag_ms": max(r[1] for r in results) * 1000,
            "median_first_chunk_ms": statistics.median(r[2] for r in results) * 1000}


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def to_markdown(report: dict) -> str:
    fc = report["first_chunk"]
    tr = report["transport"]
    lines = [
        "# avatarlab daemon benchmark", "",
        f"{report['date']}, {report['cpu']}, {report['cores']} cores, daemon with {report['workers']} workers, "
        f"loopback TCP; median of {report['repeats']} runs after a warm-up.", "",
        "| text | first audio over the wire | in-process | wire overhead |", "|---|---:|---:|---:|",
    ]
    for name, row in fc.items():
        lines.append(f"| {name} | {row['wire_ms']:.1f} ms | {row['in_process_ms']:.1f} ms | {row['overhead_ms']:+.1f} ms |")
    lines += [
        "", "| transport | value |", "|---|---:|",
        f"| ping round trip, median | {tr['ping_rtt_median_us']:.0f} us |",
        f"| ping round trip, p99 | {tr['ping_rtt_p99_us']:.0f} us |",
        f"| pipelined pings | {tr['pipelined_pings_per_s']:.0f} messages/s |",
        f"| speak stream ({tr['stream_messages']} messages) | {tr['stream_messages_per_s']:.0f} messages/s |",
        "", "| concurrent clients | streams in real time | worst lag behind playback | median first audio |",
        "|---:|---:|---:|---:|",
    ]
    for row in report["concurrency"]:
        lines.append(f"| {row['clients']} | {row['real_time_streams']}/{row['clients']} | "
                     f"{max(row['worst_lag_ms'], 0):.0f} ms | {row['median_first_chunk_ms']:.0f} ms |")
    lines += ["", f"Largest number of concurrent streams that all kept real time: **{report['max_real_time_streams']}**.",
              f"Daemon peak memory (VmHWM) after the load: **{report['daemon_peak_rss_mib']:.0f} MiB**.", "",
              "A stream keeps real time when every audio chunk arrives no later than the moment it would start "
              "playing if playback began as the first chunk arrived."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pings", type=int, default=1000, help="pings, sent one by one and then pipelined (the daemon holds at most ~1,300 unread replies per client)")
    parser.add_argument("--max-clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    engine = Engine()
    engine.warm_up()
    extra = ["--threads-per-worker", str(args.threads_per_worker)] if args.threads_per_worker else []
    with running_daemon("--workers", str(args.workers), "--max-active-requests", str(max(32, args.max_clients)),
                        *extra) as daemon:
        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "cpu": machine_info()["cpu_model"], "cores": len(os.sched_getaffinity(0)),
            "workers": args.workers, "repeats": args.repeats,
            "first_chunk": first_chunk(args.repeats, daemon.url, engine),
            "transport": transport(daemon.url, args.pings),
            "concurrency": [],
        }
        clients = 1
        best = 0
        while clients <= args.max_clients:
            row = concurrent(daemon.url, clients)
            report["concurrency"].append(row)
            print(f"{clients} clients: {row['real_time_streams']}/{clients} real time", flush=True)
            if not row["all_real_time"]:
                break
            best = clients
            clients *= 2
        report["max_real_time_streams"] = best
        report["daemon_peak_rss_mib"] = peak_rss_mib(daemon.proc.pid)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "daemon.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = to_markdown(report)
    (args.out / "daemon.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
