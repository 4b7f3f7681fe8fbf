"""The README's "Use it" examples run as pasted: its Python block, and every command of its first shell block and
of "Animate speech you already have", from the repository root (outputs go to a temporary folder), on the files
examples/ ships."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from avatarlab.lipsync.audio_input import load_audio

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


USE_IT = _section("Use it")
SHELL_LINES = [line for block in (_blocks(USE_IT, "sh")[0],
                                  _blocks(USE_IT.split("Animate speech you already have", 1)[1], "sh")[0])
               for line in block.splitlines() if line.strip()]


def test_the_blocks_are_found() -> None:
    assert len(SHELL_LINES) >= 7
    assert any(" lipsync " in line for line in SHELL_LINES) and any(" export " in line for line in SHELL_LINES)


@pytest.mark.parametrize("line", SHELL_LINES, ids=[" ".join(shlex.split(line, comments=True)[1:3])
                                                    for line in SHELL_LINES])
def test_readme_command_runs(line: str, tmp_path: Path) -> None:
    words = shlex.split(line, comments=True)
    assert words[0] == ".venv/bin/avatarlab", line  # the README's install location; run it with this interpreter
    writes = words[1] in ("speak", "lipsync", "export") and "--help" not in words
    assert not writes or "--out" in words, f"{line!r} would write into the repository's out/"
    out = tmp_path / "out"
    args = [f"{out}/" if word == "out/" else word for word in words[1:]]
    result = subprocess.run([sys.executable, "-m", "avatarlab.cli", *args], cwd=ROOT, env=ENV, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"{line}\n{result.stderr}"
    if writes:
        assert sorted(p.suffix for p in out.iterdir() if p.suffix in (".wav", ".json")), result.stderr


def test_readme_python_block_runs(tmp_path: Path) -> None:
    [code] = _blocks(USE_IT, "python")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert len(printed) >= 2 and all(re.fullmatch(r" *\d+\.\d\d s  jawOpen \d\.\d\d", row) for row in printed)
    with wave.open(str(tmp_path / "hello.wav")) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2 and wav.getnframes() > wav.getframerate() // 2


def test_examples_are_small_and_the_take_can_be_made_again(tmp_path: Path) -> None:
    take = ROOT / "examples" / "take.ogg"
    assert take.stat().st_size < 100_000
    assert (ROOT / "examples" / "take.ogg").name in (ROOT / "examples" / "lines.csv").read_text()
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "make_take.py"), str(tmp_path / "take.ogg")],
                            env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    shipped, made = load_audio(take, 16000), load_audio(tmp_path / "take.ogg", 16000)
    assert abs(len(shipped) - len(made)) <= 160  # the same line (10 ms of codec padding at most)
