"""`avatarlab lipsync` over many files or a folder in one process: transcripts from a .txt beside each file or a
CSV, a failing file reported without stopping the rest (exit 1), usage problems refused up front (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatarlab.cli import main
from avatarlab.engine import Engine
from avatarlab.options import SynthesisOptions
from avatarlab.output import wav_bytes

LINES = {"gate": "Open the gate before the storm.", "bread": "Bring me bread and water.",
         "guards": "Keep your voice down."}


@pytest.fixture(scope="module")
def takes(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each line spoken by the engine, as WAV bytes."""
    return {name: wav_bytes(u.audio, u.sample_rate) for name, u in
            ((name, engine.speak(text, seed=1)) for name, text in LINES.items())}


def _write(folder: Path, takes: dict[str, bytes], *names: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name in names:
        (folder / f"{name}.wav").write_bytes(takes[name])
        paths.append(folder / f"{name}.wav")
    return paths


def _text(out: Path, name: str) -> str:
    return json.loads((out / f"{name}.json").read_text())["text"]


def test_a_bad_file_in_the_middle_fails_alone(takes, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gate, guards = _write(tmp_path / "in", takes, "gate", "guards")
    bad = tmp_path / "in" / "broken.wav"
    bad.write_text("not a recording\n")
    out = tmp_path / "out"
    assert main(["lipsync", str(gate), str(bad), str(guards), "--out", str(out)]) == 1
    printed = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["gate.json", "gate.wav", "guards.json", "guards.wav"]
    assert printed.out.split() == [str(out / "gate.wav"), str(out / "gate.json"), str(out / "guards.wav"),
                                   str(out / "guards.json")]
    assert "2 animated, 1 failed" in printed.err
    assert f"failed {bad}: " in printed.err and "not an audio file" in printed.err
    assert "Traceback" not in printed.err
    # the same batch without the bad file: exit 0, and --quiet prints nothing
    assert main(["lipsync", str(gate), str(guards), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_a_folder_uses_the_txt_beside_each_file(takes, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "takes"
    _write(folder, takes, "gate", "bread")
    (folder / "gate.txt").write_text(LINES["gate"] + "\n", encoding="utf-8")
    (folder / "notes.md").write_text("not audio: skipped\n")
    out = tmp_path / "out"
    assert main(["lipsync", str(folder), "--out", str(out), "--format", "csv"]) == 0
    assert "2 animated, 0 failed" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["bread.csv", "bread.json", "bread.wav", "gate.csv", "gate.json",
                                                     "gate.wav"]
    assert _text(out, "gate") == LINES["gate"] + "\n"  # aligned to the transcript
    assert _text(out, "bread") != LINES["bread"]  # no transcript: recognized words
    with_live = tmp_path / "live"
    assert main(["lipsync", str(folder), "--out", str(with_live), "--live", "--quiet"]) == 0
    assert _text(with_live, "gate") == ""  # the network hears no words; the .txt is not used


def test_csv_transcripts(takes, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gate, bread = _write(tmp_path / "in", takes, "gate", "bread")
    (tmp_path / "in" / "bread.txt").write_text("Not what is said.", encoding="utf-8")
    listing = tmp_path / "lines.csv"
    listing.write_text(f"file,transcript\nin/gate.wav,{LINES['gate']}\nin/bread.wav,\"{LINES['bread']}\"\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    assert main(["lipsync", str(gate), str(bread), "--transcripts", str(listing), "--out", str(out), "--quiet"]) == 0
    assert _text(out, "gate") == LINES["gate"] and _text(out, "bread") == LINES["bread"]  # the CSV before the .txt
    # one file takes --transcripts too
    single = tmp_path / "single"
    assert main(["lipsync", str(gate), "--transcripts", str(listing), "--out", str(single), "--quiet"]) == 0
    assert _text(single, "gate") == LINES["gate"]


def test_a_bad_transcript_fails_its_file_only(takes, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gate, bread = _write(tmp_path / "in", takes, "gate", "bread")
    (tmp_path / "in" / "gate.txt").write_bytes(b"Open\x00 the gate.")
    out = tmp_path / "out"
    assert main(["lipsync", str(gate), str(bread), "--out", str(out), "--quiet"]) == 1
    error = capsys.readouterr().err
    assert f"failed {gate}: " in error and "NUL" in error
    assert sorted(p.name for p in out.iterdir()) == ["bread.json", "bread.wav"]


@pytest.mark.parametrize("problem", ["name", "transcript", "empty folder", "same name", "csv columns", "live csv",
                                     "sample rate", "fps"])
def test_usage_problems_stop_the_batch_before_any_work(takes, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                       problem: str) -> None:
    gate, bread = _write(tmp_path / "in", takes, "gate", "bread")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "gate.wav").write_bytes(takes["gate"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.csv").write_text("path,text\ngate.wav,Hi.\n")
    args, message = {
        "name": ([gate, bread, "--name", "x"], "--name applies to one audio file"),
        "transcript": ([gate, bread, "--transcript", "Hi."], "--transcript and --transcript-file apply to one"),
        "empty folder": ([tmp_path / "empty", gate], "holds no audio files"),
        "same name": ([gate, tmp_path / "other" / "gate.wav"], "would both write gate.wav and gate.json"),
        "csv columns": ([gate, bread, "--transcripts", tmp_path / "bad.csv"], "the columns file,transcript"),
        "live csv": ([gate, "--live", "--transcripts", tmp_path / "bad.csv"], "--transcripts is not allowed"),
        "sample rate": ([gate, bread, "--sample-rate", "100"], "--sample-rate must be from 8000"),
        "fps": ([gate, bread, "--fps", "7"], "fps must be"),
    }[problem]
    out = tmp_path / "out"
    assert main(["lipsync", *map(str, args), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("avatarlab: error: ") and message in error, error
    assert not out.exists()


# --- the batch on two cores (lipsync/batch.py, workers.share_stream) ----------------------------------------

def _batch_takes(takes: dict[str, bytes], folder: Path, bad_at: int | None = None) -> list:
    """Six takes (the three lines twice), with a broken file at ``bad_at``."""
    from avatarlab.lipsync.batch import Take

    paths = _write(folder, takes, *LINES) * 2
    if bad_at is not None:
        bad = folder / "broken.wav"
        bad.write_text("not a recording\n")
        paths.insert(bad_at, bad)
    return [Take(path) for path in paths]


def _summary(animated, folder: Path) -> tuple:
    """What must not depend on the process that animated a take: its timeline, curves, or failure."""
    if animated.utterance is None:
        return ("failed", animated.failure.replace(str(folder), "<folder>"))
    u = animated.utterance
    return (u.text, u.method, [(p.symbol, p.start, p.end) for p in u.timeline.phonemes],
            u.frames.visemes.tobytes(), u.frames.blendshapes.tobytes(), u.frames.head.tobytes(), u.audio.tobytes())


@pytest.fixture(scope="module")
def one_core_results(takes, tmp_path_factory: pytest.TempPathFactory) -> list:
    """The batch animated take by take in this process (sharing off): what the shared batch must equal."""
    from avatarlab.lipsync import batch

    how = batch.HowToAnimate(SynthesisOptions(), 22050)
    folder = tmp_path_factory.mktemp("one-core")
    return [_summary(batch.animate_take(take, how), folder) for take in _batch_takes(takes, folder, bad_at=3)]


def _two_cores() -> bool:
    from avatarlab.lipsync import workers

    return workers.enabled()


def test_a_batch_shares_the_helper_and_gives_the_same_results(takes, one_core_results, tmp_path: Path) -> None:
    from avatarlab.lipsync import batch, workers

    how = batch.HowToAnimate(SynthesisOptions(), 22050)
    batch_takes = _batch_takes(takes, tmp_path, bad_at=3)
    sent = []
    real_send = workers._send
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workers, "_send", lambda task, args: sent.append(args[0]) or real_send(task, args))
        results = list(batch.animate_many(batch_takes, how))
    assert [take for take, _ in results] == batch_takes  # every take, in order
    assert [_summary(animated, tmp_path) for _, animated in results] == one_core_results
    assert "not an audio file" in one_core_results[3][1]
    if _two_cores():
        assert 0 < len(sent) < len(batch_takes)  # the helper animated some takes, this process the rest
        assert workers.helper_pid() is not None


@pytest.mark.skipif(not _two_cores(), reason="one CPU: a batch is animated in this process alone")
def test_a_helper_killed_mid_batch_costs_no_take(takes, one_core_results, tmp_path: Path) -> None:
    import os
    import signal

    from avatarlab.lipsync import batch, workers

    how = batch.HowToAnimate(SynthesisOptions(), 22050)
    summaries = []
    for _, animated in batch.animate_many(_batch_takes(takes, tmp_path, bad_at=3), how):
        if not summaries:
            pid = workers.helper_pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
        summaries.append(_summary(animated, tmp_path))
    assert summaries == one_core_results


@pytest.mark.skipif(not _two_cores(), reason="one CPU: a batch is animated in this process alone")
def test_a_batch_stopped_early_leaves_the_helper_usable(takes, one_core_results, tmp_path: Path) -> None:
    from avatarlab.lipsync import batch, workers

    how = batch.HowToAnimate(SynthesisOptions(), 22050)
    stream = batch.animate_many(_batch_takes(takes, tmp_path, bad_at=3), how)
    next(stream)
    stream.close()  # as Ctrl-C or an error in the caller does: the helper's queued takes are dropped with it
    assert workers.helper_pid() is None
    assert [_summary(a, tmp_path) for _, a in batch.animate_many(_batch_takes(takes, tmp_path, bad_at=3), how)] \
        == one_core_results
    assert workers.helper_pid() is not None
