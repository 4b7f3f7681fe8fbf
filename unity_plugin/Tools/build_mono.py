#!/usr/bin/env python3
"""Build the package's C# with Mono's `mcs` outside Unity, into a folder of your choice.

    python unity_plugin/Tools/build_mono.py OUT_DIR

- AvatarLab.Protocol.dll: Runtime/Protocol, referencing nothing but the .NET base library;
- runner.exe: Tests/Runner + Tests/Protocol (the tests and the benchmark mode);
- UnityEngine.dll / UnityEditor.dll: the stand-in in Tests/UnityStandIn (NOT Unity; it only
  declares the members the package uses), then AvatarLab.Runtime.dll, AvatarLab.Editor.dll and the
  sample compiled against it: a compile check of the Unity layer, claiming no behaviour.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]


def _sources(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*.cs"))


def mcs(out: Path, sources: list[str], target: str = "library", refs: tuple[Path, ...] = (),
        defines: tuple[str, ...] = ()) -> Path:
    cmd = ["mcs", f"-target:{target}", f"-out:{out}", "-nowarn:1591", "-warnaserror+", "-debug-",
           *(f"-r:{r}" for r in refs), *(f"-define:{d}" for d in defines), *sources]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"mcs failed for {out.name}:\n{result.stdout}\n{result.stderr}")
    return out


def build_protocol(out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    protocol = mcs(out_dir / "AvatarLab.Protocol.dll", _sources(PLUGIN / "Runtime" / "Protocol"))
    runner = mcs(out_dir / "runner.exe", _sources(PLUGIN / "Tests" / "Runner") + _sources(PLUGIN / "Tests" / "Protocol"),
                 target="exe", refs=(protocol,))
    return {"protocol": protocol, "runner": runner}


def build_unity_layer(out_dir: Path) -> dict[str, Path]:
    """Compile-check only: Runtime/Unity, Editor and the sample against the UnityEngine stand-in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    protocol = out_dir / "AvatarLab.Protocol.dll"
    if not protocol.exists():
        mcs(protocol, _sources(PLUGIN / "Runtime" / "Protocol"))
    stand_in = PLUGIN / "Tests" / "UnityStandIn"
    engine = mcs(out_dir / "UnityEngine.dll", [str(stand_in / "UnityEngine.cs")])
    editor_api = mcs(out_dir / "UnityEditor.dll", [str(stand_in / "UnityEditor.cs")], refs=(engine,))
    runtime = mcs(out_dir / "AvatarLab.Runtime.dll", _sources(PLUGIN / "Runtime" / "Unity"), refs=(engine, protocol))
    editor = mcs(out_dir / "AvatarLab.Editor.dll", _sources(PLUGIN / "Editor"), refs=(engine, editor_api, protocol, runtime))
    sample = mcs(out_dir / "AvatarLab.Samples.dll", _sources(PLUGIN / "Samples~"), refs=(engine, protocol, runtime))
    return {"runtime": runtime, "editor": editor, "sample": sample}


def main() -> int:
    if shutil.which("mcs") is None:
        print("mcs not found: apt-get install mono-mcs mono-runtime", file=sys.stderr)
        return 1
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/unity")
    for name, path in {**build_protocol(out), **build_unity_layer(out)}.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
