"""avatarlab export in batch: bad rows reported while the rest goes on, resume after an interrupted run,
a read-only output folder, exit codes, a single text line, and rows animated from a recorded take (`audio`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from avatarlab.avatar import default_avatar_glb
from avatarlab.avatar.gltf import glb_json_chunk
from avatarlab.export.batch import (BadLine, ExportError, Line, Recording, Settings, export_line, job_fingerprint,
                                    read_csv_lines)
from avatarlab.lipsync.audio_input import ffmpeg_exe
from avatarlab.options import SynthesisOptions
from avatarlab.output import wav_bytes
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


def _finished_lines(out: Path) -> list[str]:
    """Lines whose three files are all on disk (a line's files are renamed into place together)."""
    return sorted(p.stem for p in out.glob("*.glb") if (out / f"{p.stem}.wav").is_file()
                  and (out / f"{p.stem}.json").is_file())


def test_an_interrupted_export_counts_the_lines_on_disk(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group) mid-batch: the summary counts exactly the finished lines, lines
    still queued for a worker are not started after the interrupt, and a rerun exports only the rest."""
    _csv(tmp_path / "lines.csv", [f"l{i:02d},Line number {i} is spoken here and then some more.,,," for i in range(12)])
    process = subprocess.Popen([sys.executable, "-m", "avatarlab.cli", "export", "lines.csv", "--out", "out",
                                "--jobs", "2", "--fps", "24"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": SDK},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    out = tmp_path / "out"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and len(_finished_lines(out) if out.is_dir()
                                                                         else []) < 2:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=240)
    finished = _finished_lines(out)
    assert process.returncode == 130, stderr
    assert 2 <= len(finished) < 12, stderr
    assert (f"{len(finished)} exported, 0 already done (skipped), 0 failed" in stderr
            and f"interrupted, {12 - len(finished)} left" in stderr), (finished, stderr)
    assert not list(out.glob(".*.part"))
    again = export("lines.csv", "--out", "out", "--jobs", "2", "--fps", "24", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{12 - len(finished)} exported, {len(finished)} already done" in again.stderr


def test_broken_csv_quoting_is_reported_with_its_lines(tmp_path: Path) -> None:
    cases = {
        'id,text\na,"Hello there\nb,Fine.\nc,Okay.\n': 'lines 2-4: broken CSV quoting (a field opened with a double '
                                                        'quote is never closed)',
        'id,text\na,Fine.\nb,"Hello" there\n': "line 3: broken CSV quoting",
        'id,text\na,"Hello there\nb,"Fine."\n': "lines 2-3: broken CSV quoting",
    }
    for content, message in cases.items():
        (tmp_path / "lines.csv").write_text(content, encoding="utf-8")
        with pytest.raises(ExportError, match=re.escape(message)):
            read_csv_lines(tmp_path / "lines.csv", SynthesisOptions(), None)
    result = export("lines.csv", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and "lines.csv, lines 2-3: broken CSV quoting" in result.stderr, result.stderr
    assert "no text or audio" not in result.stderr and not (tmp_path / "out").exists()
    (tmp_path / "ok.csv").write_text('id,text\nq,"She said ""go"", then\nleft."\n', encoding="utf-8")
    [line] = read_csv_lines(tmp_path / "ok.csv", SynthesisOptions(), None)  # quoting done right still works
    assert isinstance(line, Line) and line.text == 'She said "go", then\nleft.'


def test_an_unknown_voice_fails_once_before_any_row(tmp_path: Path) -> None:
    _csv(tmp_path / "lines.csv", ["a,Hello there.,,,", "b,See you.,,,", "c,Bye.,nope-row,,",
                                  "d,Hello, there,,,"])  # an unquoted comma pushes "there" into the voice column
    once = export("lines.csv", "--voice", "nope", "--out", "out", cwd=tmp_path)
    assert once.returncode == 2, once.stderr
    assert once.stderr.count("unknown voice 'nope'; available: en_US-joe-medium") == 1 and "failed" not in once.stderr
    assert not (tmp_path / "out").exists()
    single = export("Hello.", "--voice", "nope", "--out", "out", cwd=tmp_path)
    assert single.returncode == 2 and "unknown voice 'nope'; available:" in single.stderr
    a, b, c, d = read_csv_lines(tmp_path / "lines.csv", SynthesisOptions(), None)  # per row: when the CSV is read
    assert isinstance(a, Line) and isinstance(b, Line)
    assert isinstance(c, BadLine) and c.error.startswith("unknown voice 'nope-row'; available:")
    assert isinstance(d, BadLine) and "6 cells but the header names 5 columns" in d.error


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


# ---- rows with a recorded take (the `audio` column) ----------------------------------------------------------
def _record(engine, text: str, path: Path) -> float:
    """A take made with the engine, as a recording would arrive: WAV as is, other formats through ffmpeg."""
    utterance = engine.speak(text, seed=1)
    wav = wav_bytes(utterance.audio, utterance.sample_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".wav":
        path.write_bytes(wav)
    else:
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "wav", "-i", "pipe:", str(path)], input=wav,
                       check=True)
    return utterance.duration_s


def _extras(glb: Path) -> dict:
    return glb_json_chunk(glb)["asset"]["extras"]["avatarlab"]


def _audio_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("id,text,voice,emotion,speed,audio\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@needs_node
def test_csv_mixing_tts_and_recorded_lines_then_resumes_and_redoes_a_new_take(engine, tmp_path: Path) -> None:
    gate_s = _record(engine, "Open the gate.", tmp_path / "takes" / "gate.wav")
    reply_s = _record(engine, "Yes, my lord.", tmp_path / "takes" / "reply.flac")
    (tmp_path / "takes" / "junk.ogg").write_bytes(b"not audio at all")
    _audio_csv(tmp_path / "lines.csv", [
        "greet,Hello there.,,happy,,",
        "gate,Open the gate.,,angry,,takes/gate.wav",  # a transcript: forced alignment
        f",,,,,{tmp_path / 'takes' / 'reply.flac'}",  # absolute path, no text: recognized, named after the file
        "missing,Where is it?,,,,takes/missing.wav",
        "junk,,,,,takes/junk.ogg",
        "tts_only,Hi.,,,1.2,takes/gate.wav",
    ])
    out = tmp_path / "out"
    result = export("lines.csv", "--out", "out", "--jobs", "1", "--fps", "30", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "3 exported, 0 already done (skipped), 3 failed" in result.stderr
    assert "failed missing: CSV row 5: audio file 'takes/missing.wav' not found" in result.stderr
    assert "failed junk: " in result.stderr and "junk.ogg is not an audio file ffmpeg can read" in result.stderr
    assert "failed tts_only: CSV row 7: speed only applies to TTS rows" in result.stderr
    assert _outputs(out) == sorted(f"{name}.{ext}" for name in ("gate", "greet", "reply")
                                   for ext in ("glb", "json", "wav"))
    for name, take_s, method in (("gate", gate_s, "aligned"), ("reply", reply_s, "recognized")):
        assert_valid(out / f"{name}.glb")
        curves = json.loads((out / f"{name}.json").read_text())
        assert abs(curves["duration_s"] - take_s) < 0.005 and curves["audio"] == f"{name}.wav"
        assert abs(curves["num_frames"] - take_s * 30) <= 1 and curves["speed"] == 1.0
        extras = _extras(out / f"{name}.glb")
        assert extras["method"] == method and extras["voice"] == "input audio"
        assert abs(extras["duration_s"] - take_s) < 0.005
    assert json.loads((out / "gate.json").read_text())["emotion"] == "angry"
    assert [w["text"] for w in json.loads((out / "gate.json").read_text())["words"]] == ["Open", "the", "gate"]
    assert _extras(out / "reply.glb")["recording"] == "reply.flac" and _extras(out / "reply.glb")["text"]

    again = export("lines.csv", "--out", "out", "--jobs", "1", "--fps", "30", cwd=tmp_path)
    assert "0 exported, 3 already done (skipped), 3 failed" in again.stderr, again.stderr

    new_gate_s = _record(engine, "Open the gate before the night falls.", tmp_path / "takes" / "gate.wav")
    redone = export("lines.csv", "--out", "out", "--jobs", "1", "--fps", "30", cwd=tmp_path)
    assert "1 exported, 2 already done (skipped), 3 failed" in redone.stderr, redone.stderr
    assert abs(json.loads((out / "gate.json").read_text())["duration_s"] - new_gate_s) < 0.005
    assert abs(_extras(out / "gate.glb")["duration_s"] - new_gate_s) < 0.005


def test_audio_rows_are_checked_when_the_csv_is_read(tmp_path: Path) -> None:
    takes = tmp_path / "csv" / "takes"
    takes.mkdir(parents=True)
    (takes / "a.wav").write_bytes(b"RIFF recorded take")
    rows = ["a,Open the gate.,,sad,,takes/a.wav", ",,,,,takes/a.wav", "gone,,,,,takes/gone.wav", "dir,,,,,takes",
            "v,Hi.,en_US-joe-medium,,,takes/a.wav", "vs,Hi.,en_US-joe-medium,,2,takes/a.wav", "none,,,happy,,",
            "tts,Hello.,,,,"]
    base = SynthesisOptions(speed=1.5, fps=30)
    lines = read_csv_lines(_audio_csv(tmp_path / "csv" / "lines.csv", rows), base, "en_US-joe-medium")
    a, a2, gone, folder, voice, both, none, tts = lines
    assert isinstance(a, Line) and a.audio.path == (takes / "a.wav").absolute() and a.text == "Open the gate."
    assert a.voice is None and a.options == SynthesisOptions(fps=30, emotion="sad")  # speed is TTS only
    assert isinstance(a2, Line) and a2.name == "a-2" and a2.text == "" and a2.audio.sha256 == a.audio.sha256
    assert isinstance(gone, BadLine) and "audio file 'takes/gone.wav' not found" in gone.error
    assert str(takes / "gone.wav") in gone.error  # where it looked: the CSV's folder, not the working directory
    assert isinstance(folder, BadLine) and "is not a file" in folder.error
    assert isinstance(voice, BadLine) and voice.error.startswith("voice only applies to TTS rows")
    assert isinstance(both, BadLine) and both.error.startswith("voice and speed only apply to TTS rows")
    assert isinstance(none, BadLine) and none.error.startswith("no text or audio")
    assert isinstance(tts, Line) and tts.audio is None and tts.voice == "en_US-joe-medium" and tts.options.speed == 1.5

    only_audio = tmp_path / "csv" / "only_audio.csv"
    only_audio.write_text("audio\ntakes/a.wav\n", encoding="utf-8")
    [line] = read_csv_lines(only_audio, SynthesisOptions(), None)
    assert isinstance(line, Line) and line.name == "a"

    settings = Settings(tmp_path / "out", b"avatar", "default")
    before = job_fingerprint(a, settings)
    assert job_fingerprint(read_csv_lines(tmp_path / "csv" / "lines.csv", replace(base, speed=1.0), None)[0],
                           settings) == before  # --speed does not touch a recorded line
    (takes / "a.wav").write_bytes(b"RIFF another take")
    assert job_fingerprint(read_csv_lines(tmp_path / "csv" / "lines.csv", base, None)[0], settings) != before


def test_a_take_that_changes_while_it_is_exported_fails_its_line(engine, tmp_path: Path) -> None:
    take = tmp_path / "take.wav"
    _record(engine, "Hold.", take)
    line = Line("hold", "Hold.", None, SynthesisOptions(fps=30), 2, Recording(take, "0" * 64))  # hashed earlier
    result = export_line(line, Settings(tmp_path / "out", default_avatar_glb(), "default"))
    assert result.status == "failed" and "changed during the export" in result.error


def test_a_worker_per_core_starts_no_lip_sync_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a worker on every core, a worker's recognition must not start a helper process of its own as well."""
    from avatarlab.export import batch as export_batch
    from avatarlab.lipsync import workers

    for name in ("_THREADS", "_STOP", "_FRAMES"):
        monkeypatch.setattr(export_batch, name, getattr(export_batch, name))
    for name in ("AVATARLAB_LIPSYNC_WORKERS", "LP_NUM_THREADS"):  # restored after the test, set or not
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    export_batch._init_worker(2, ())
    assert "AVATARLAB_LIPSYNC_WORKERS" not in os.environ  # two cores each: the helper may take the second
    export_batch._init_worker(1, ())
    assert os.environ["AVATARLAB_LIPSYNC_WORKERS"] == "0" and not workers.enabled()
