"""avatarlab export in batch: bad rows reported while the rest goes on, resume after an interrupted run,
a read-only output folder, exit codes, and a single text line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gltf_checks import assert_valid, needs_node

SDK = str(Path(__file__).parents[1] / "sdk")


def export(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SDK}
    return subprocess.run([sys.executable, "-m", "avatarlab.cli", "export", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300, **kwargs)


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("id,text,voice,emotion,speed\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _outputs(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


@needs_node
def test_bad_rows_are_reported_and_the_batch_goes_on_then_resumes(tmp_path: Path) -> None:
    _csv(tmp_path / "lines.csv", [
        "greet_01,Hello there.,,happy,",
        "no_text,,,,",
        "bad_emotion,Why not?,,furious,",
        "bad_speed,Go on.,,,fast",
        "bye_01,See you soon.,,,1.2",
    ])
    result = export("lines.csv", "--out", "out", "--jobs", "2", "--fps", "30", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "2 exported, 0 already done (skipped), 3 failed" in result.stderr
    assert "no_text: CSV row 3: no text" in result.stderr
    assert "furious" in result.stderr and "speed must be a number" in result.stderr
    assert _outputs(tmp_path / "out") == ["bye_01.glb", "bye_01.json", "bye_01.wav",
                                          "greet_01.glb", "greet_01.json", "greet_01.wav"]
    assert_valid(tmp_path / "out" / "greet_01.glb")
    again = export("lines.csv", "--out", "out", "--jobs", "2", "--fps", "30", cwd=tmp_path)
    assert again.returncode == 1 and "0 exported, 2 already done (skipped), 3 failed" in again.stderr
    changed = export("lines.csv", "--out", "out", "--jobs", "1", "--fps", "24", "--quiet", cwd=tmp_path)
    assert changed.returncode == 1  # other options: the lines are redone, not skipped
    assert "0 exported" not in changed.stderr


def test_resume_after_a_killed_run(tmp_path: Path) -> None:
    _csv(tmp_path / "lines.csv", [f"l{i},Line number {i} is here.,,," for i in range(6)])
    env = {**os.environ, "PYTHONPATH": SDK}
    process = subprocess.Popen([sys.executable, "-m", "avatarlab.cli", "export", "lines.csv", "--out", "out",
                                "--jobs", "2", "--fps", "24", "--quiet"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    out = tmp_path / "out"
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir() and any(out.glob("*.glb")):
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the parent and its workers, mid-batch, no cleanup
    process.wait()
    finished_before = {p.stem for p in out.glob("*.glb")}
    result = export("lines.csv", "--out", "out", "--jobs", "2", "--fps", "24", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{6 - len(finished_before)} exported, {len(finished_before)} already done" in result.stderr
    assert _outputs(out) == sorted(f"l{i}.{ext}" for i in range(6) for ext in ("glb", "json", "wav"))
    assert not list(out.glob(".*.part"))


def _make_read_only(folder: Path) -> None:
    """chmod for a normal user; root ignores permissions, so it gets the immutable flag (ext4, xfs...)."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: cannot make a folder read-only")


def _make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    os.chmod(folder, 0o755)


def test_read_only_output_folder_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _make_read_only(out)
    try:
        result = export("Hello.", "--out", str(out), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "cannot write to output folder" in result.stderr and "Traceback" not in result.stderr
        assert list(out.iterdir()) == []
    finally:
        _make_writable(out)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = export("nope.csv", "--out", "out", cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read nope.csv" in missing.stderr
    (tmp_path / "bad.glb").write_bytes(b"not a glb")
    bad_avatar = export("Hello.", "--avatar", "bad.glb", cwd=tmp_path)
    assert bad_avatar.returncode == 2 and "not a usable GLB" in bad_avatar.stderr
    empty = export("   ", cwd=tmp_path)
    assert empty.returncode == 2


def test_single_line_with_name_and_csv(tmp_path: Path) -> None:
    result = export("Good morning!", "--out", "o", "--name", "gm", "--csv", "--profile", "oculus", "--quiet",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _outputs(tmp_path / "o") == ["gm.csv", "gm.glb", "gm.json", "gm.wav"]
