#!/usr/bin/env python3
"""Copy the default avatar (models/avatar/default_head.glb) to where the PhotoAvatar sample reads it.

    python unity_plugin/Tools/stage_sample_avatar.py                   # into Samples~/PhotoAvatar (gitignored)
    python unity_plugin/Tools/stage_sample_avatar.py --project PATH    # into PATH/Assets/StreamingAssets

The repository keeps one copy of the GLB (models/avatar/, with its generator and test); this step puts a copy
in the sample folder as `default_head.glb.bytes` (Unity imports *.bytes as a TextAsset whose bytes are the
file's), so a package added from this checkout ships it with the sample, or into a Unity project's
StreamingAssets as `default_head.glb` (the sample's default `glbPath`) for a package added by git URL.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
SOURCE = PLUGIN.parent / "models" / "avatar" / "default_head.glb"
SAMPLE_COPY = PLUGIN / "Samples~" / "PhotoAvatar" / "default_head.glb.bytes"


def stage(destination: Path = SAMPLE_COPY) -> Path:
    """Copy the GLB to `destination` unless an identical copy is there; returns the destination."""
    if not SOURCE.is_file():
        raise FileNotFoundError(f"{SOURCE} is missing: it is committed in the repository (make avatar rebuilds it)")
    data = SOURCE.read_bytes()
    if destination.is_file() and destination.read_bytes() == data:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    shutil.copyfile(SOURCE, partial)
    partial.replace(destination)
    return destination


USAGE = "usage: stage_sample_avatar.py [--project UNITY_PROJECT]"


def main(argv: list[str]) -> int:
    if argv and (argv[0] != "--project" or len(argv) != 2):
        print(f"{USAGE}\nstage_sample_avatar: error: unexpected arguments {' '.join(argv)}", file=sys.stderr)
        return 2
    destination = SAMPLE_COPY
    if argv:
        project = Path(argv[1])
        if not (project / "Assets").is_dir():
            print(f"stage_sample_avatar: error: {project} is not a Unity project (no Assets folder)", file=sys.stderr)
            return 2
        destination = project / "Assets" / "StreamingAssets" / "default_head.glb"
    try:
        print(stage(destination))
    except OSError as error:
        print(f"stage_sample_avatar: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
