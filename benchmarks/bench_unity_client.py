#!/usr/bin/env python3
"""The Unity package's C# client under Mono against the real daemon.

Builds unity_plugin/ with mcs, starts `avatarlab serve` on a free loopback port, and runs the
runner's benchmark mode (unity_plugin/Tests/Runner/Bench.cs), which measures:
- decode cost per `frames` message (header + float32 matrix, 60 fps, all 74 channels) and per
  `audio` chunk (header + PCM16 to float), on real messages captured from the daemon;
- end-to-end first-chunk latency: `Speak()` to the first audio chunk taken off the client's queue,
  beside the daemon's own `first_chunk_ms`.
Writes benchmarks/results/unity_client.json and .md.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from daemon_process import running_daemon  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def main() -> int:
    spec = importlib.util.spec_from_file_location("build_mono", ROOT / "unity_plugin" / "Tools" / "build_mono.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    with tempfile.TemporaryDirectory() as tmp:
        built = builder.build_protocol(Path(tmp))
        out = Path(tmp) / "bench.json"
        with running_daemon() as daemon:
            subprocess.run(["mono", "--optimize=all", str(built["runner"]), "--url", daemon.url, "--bench", str(out)],
                           check=True, timeout=300)
        result = json.loads(out.read_text())
    mono = subprocess.run(["mono", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    result["machine"] = {"python": platform.python_version(), "cpu_count": result.pop("processors"), "mono": mono,
                         "platform": platform.platform()}
    result.pop("runtime", None)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "unity_client.json").write_text(json.dumps(result, indent=2) + "\n")
    f, a, e = result["frames_message"], result["audio_message"], result["first_chunk"]
    md = f"""# Unity C# client under Mono (`benchmarks/bench_unity_client.py`)

{mono}; {result['machine']['cpu_count']} cores. Real messages captured from the daemon for one line at 60 fps.

| what | per message | message size |
|---|---:|---|
| `frames` decode (header + float32 matrix) | {f['decode_us']:.1f} us | {f['mean_frames']:.1f} frames x {f['channels']} channels |
| `frames` header only (MessagePack map) | {f['header_only_us']:.1f} us | |
| `audio` decode (header + PCM16 to float) | {a['decode_us']:.1f} us | {a['mean_samples']:.0f} samples |

End to end, "{e['text']}" ({e['runs']} runs after 2 warm-ups, one at a time, all channels):

| first audio chunk | median | p90 | min |
|---|---:|---:|---:|
| `Speak()` to the chunk taken off the queue (C# client) | {e['client_ms_median']:.1f} ms | {e['client_ms_p90']:.1f} ms | {e['client_ms_min']:.1f} ms |
| daemon's own `first_chunk_ms` (request received to first audio sent) | {e['daemon_first_chunk_ms_median']:.1f} ms | | |
"""
    (RESULTS / "unity_client.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
