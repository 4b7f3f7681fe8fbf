"""Blender (Debian package, background mode) imports an export and finds the shape keys and the actions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


from avatarlab.avatar import default_avatar_glb
from avatarlab.avatar.head import shape_names
from avatarlab.export.glb import animate_avatar
from tools import command_missing, needs

SCRIPT = Path(__file__).parent / "blender" / "check_glb.py"


@needs(command_missing("blender", package="blender"))
def test_blender_imports_shape_keys_and_actions(engine, tmp_path: Path) -> None:
    utterance = engine.speak("Nice to meet you.", fps=30)
    glb, _ = animate_avatar(default_avatar_glb(), utterance.frames, "auto", "meet", {"audio": "meet.wav"})
    path = tmp_path / "meet.glb"
    path.write_bytes(glb)
    result = subprocess.run(["blender", "--background", "--factory-startup", "--python", str(SCRIPT), "--", str(path)],
                            capture_output=True, text=True, timeout=240)
    marker = [line for line in result.stdout.splitlines() if line.startswith("AVATARLAB_JSON ")]
    assert marker, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(marker[0].split(" ", 1)[1])
    assert report["shape_keys"]["HeadMesh"] == shape_names()
    n = len(utterance.frames)
    actions = report["actions"]
    shape_action = next(a for name, a in actions.items() if name.endswith("HeadMesh"))
    assert shape_action["fcurves"] == 67 and shape_action["keyframes"] == n
    assert any(name.endswith("LeftEye") for name in actions) and any(name.endswith("_Head") for name in actions)
