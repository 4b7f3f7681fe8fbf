"""End to end in a real browser: daemon + bridge + the demo page in Debian's chromium (playwright-core).

Speaks a line and asserts that its audio buffers were scheduled back to back (wherever a chunk came in
time: what the client does on an underrun is tested deterministically in threejs_client/test/underrun.test.js),
that morph influences move with the speech (jawOpen peaks in vowels, the lips close within one frame of
each p/b/m), that Stop stops audio and mouth together and the panel shows what was played, that the
connection is open before the first Speak, and the layout of a 420 px wide window. Saves screenshots
(mid-word, and the narrow window) under out/test-artifacts/. Also runs the package's node tests.
No assertion depends on the machine's speed: the page is waited for, never timed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from daemon_process import running_daemon
from tools import browser_missing, needs
from web_processes import drive_demo, running_bridge

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "threejs_client"
ARTIFACTS = ROOT / "out/test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VOWELS = set("aeiouɑɐɒɔəɚɛɜɪʊʌæøœy")

needs_browser = needs(browser_missing())


def test_node_unit_tests():
    # `npm test`: its pretest writes the TypeScript declarations (generated, never committed) first
    result = subprocess.run(["npm", "test"], cwd=PKG, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout


@pytest.fixture(scope="module")
def page_run():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot, narrow = ARTIFACTS / "avatar-mid-word.png", ARTIFACTS / "demo-420px.png"
    shot.unlink(missing_ok=True)
    narrow.unlink(missing_ok=True)
    with running_daemon() as daemon, running_bridge(daemon.url) as port:
        data = drive_demo(PKG / "e2e/drive_page.mjs", port, CHROMIUM, "--screenshot", str(shot),
                          "--narrow-screenshot", str(narrow))
    data["narrow"]["screenshot"] = narrow
    return data, shot


@needs_browser
def test_audio_buffers_scheduled_back_to_back(page_run):
    data, _ = page_run
    result = data["line"]["result"]
    assert result["status"] == "ok"
    schedule, sr = result["schedule"], result["sampleRate"]
    assert len(schedule) >= 2
    assert schedule[0]["sampleOffset"] == 0
    assert not schedule[0]["late"]
    for a, b in zip(schedule, schedule[1:]):
        assert b["sampleOffset"] == a["sampleOffset"] + a["numSamples"]          # no missing or doubled audio
        end = a["when"] + a["numSamples"] / sr
        if b["late"]:  # an underrun (a busy machine): re-anchored later, a gap, never an overlap (test/underrun.test.js)
            assert b["when"] > end
        else:          # every chunk that came in time plays gapless on the clock, right after the one before
            assert b["when"] == pytest.approx(end, abs=1e-6)
    assert sum(c["numSamples"] for c in schedule) == result["stats"]["audio_samples"]
    assert result["underruns"] == sum(c["late"] for c in schedule)             # what the page reports
    assert result["firstAudioMs"] > 0


@needs_browser
def test_sound_comes_out_and_mouth_moves_with_it(page_run):
    data, _ = page_run
    frames = [f for f in data["line"]["frames"] if f["t"] is not None and f["speaking"]]
    assert len(frames) >= 5
    jaw = [f["jawOpen"] for f in frames]
    assert max(jaw) > 0.3 and min(jaw) < 0.05           # influences move, open and closed
    assert max(f["rms"] for f in frames) > 0.01           # the analyser heard the speech
    # jawOpen peaks in vowels: the most open rendered frames fall within one frame of a vowel
    result = data["line"]["result"]
    sr, fps = result["sampleRate"], result["fps"]
    vowels = [(p["start"] / sr, p["end"] / sr) for p in result["events"]["phonemes"] if p["symbol"][:1] in VOWELS]
    peaks = sorted(frames, key=lambda f: f["jawOpen"], reverse=True)[:3]
    for frame in peaks:
        assert any(start - 1 / fps <= frame["t"] <= end + 1 / fps for start, end in vowels), frame


@needs_browser
def test_lips_close_within_one_frame_of_each_bilabial(page_run):
    data, _ = page_run
    bilabials = data["bilabials"]
    assert len(bilabials) >= 8                            # "Bob bought a big blue map, maybe more maps"
    for b in bilabials:
        assert b["maxPP"] >= 0.5, b                       # the PP viseme within one frame of each p/b/m
        assert b["minJaw"] < 0.1, b                       # and the avatar's jaw closed on it
        assert b["maxPress"] > 0.5, b                     # the lips pressed (ARKit: mouthPress, mouthRoll)
        assert b["closeOverJaw"] <= 1e-6, b               # mouthClose never above jawOpen (ARKit's convention)
    # the rendered frames agree wherever one fell inside a bilabial
    frames = [f for f in data["line"]["frames"] if f["t"] is not None and f["speaking"]]
    inside = [f for f in frames for b in bilabials if b["start"] <= f["t"] <= b["end"]]
    assert all(f["PP"] > 0.3 and f["jawOpen"] < 0.15 for f in inside), inside


@needs_browser
def test_interrupt_stops_audio_and_mouth_together(page_run):
    data, _ = page_run
    it = data["interrupt"]
    assert it["result"]["status"] == "interrupted"
    assert it["stopped"] and it["sourcesAfter"] == 0
    before = [f for f in it["frames"] if f["wall"] < it["wall"]]
    after = [f for f in it["frames"] if f["wall"] > it["wall"]]
    assert any(f["rms"] > 0.01 for f in before) and any(f["jawOpen"] > 0.1 for f in before)
    assert len(after) >= 3
    assert all(not f["speaking"] and f["jawOpen"] == 0 for f in after)  # the mouth rests from the next frame
    # silence once the audio clock has passed the 5 ms fade and the analyser's window (512 samples) after it
    quiet = [f for f in after if f["ctx"] > it["ctx"] + 0.05]
    assert quiet and all(f["rms"] < 1e-3 for f in quiet)
    assert data["after"]["status"] == "ok"             # and the next line plays


@needs_browser
def test_screenshot_of_the_avatar_mid_word(page_run):
    _, shot = page_run
    assert shot.exists() and shot.stat().st_size > 20_000


def figures(text: str, pattern: str) -> tuple[float, ...]:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return tuple(float(g) for g in match.groups())


@needs_browser
def test_stop_shows_what_was_played(page_run):
    data, _ = page_run
    it = data["interrupt"]
    result, metrics = it["result"], it["metrics"]
    heard = result["heardS"]
    assert heard == pytest.approx(it["heardBefore"], abs=0.05)   # where the line was when Stop was pressed
    assert heard > 1.0                                              # (the driver waited for a second of it)
    if result["stats"]:  # the daemon had finished the line: its length is known
        played, total = figures(metrics, r"played (\d+\.\d\d) s of (\d+\.\d\d) s \(stopped\)")
        assert total == pytest.approx(result["stats"]["audio_s"], abs=0.006) and heard < total
    else:
        (played,) = figures(metrics, r"played (\d+\.\d\d) s \(stopped\)")
    assert played == pytest.approx(heard, abs=0.006)
    assert "audio " not in metrics and it["status"] == "interrupted"   # not the whole line's length
    # a line heard to the end shows its length
    after = data["after"]
    assert figures(data["afterMetrics"], r"audio (\d+\.\d\d) s in")[0] == pytest.approx(after["stats"]["audio_s"], abs=0.006)
    assert after["heardS"] == pytest.approx(after["stats"]["audio_samples"] / after["sampleRate"], abs=1e-9)


@needs_browser
def test_connection_is_open_before_the_first_speak(page_run):
    """The first Speak used to open the WebSocket (and say hello) itself, a few hundred ms the later ones skip."""
    data, _ = page_run
    assert data["atReady"]["connected"] and data["atReady"]["welcome"]
    assert data["atReady"]["websockets"] == 1
    assert len(data["websockets"]) == 1      # every line of the run used that one connection


@needs_browser
def test_layout_in_a_420_px_window(page_run):
    data, _ = page_run
    narrow = data["narrow"]
    width, canvas, panel = narrow["innerWidth"], narrow["canvas"], narrow["panel"]
    assert width == 420 and narrow["scrollWidth"] <= width        # nothing sticks out sideways
    assert canvas["width"] >= 0.9 * width                           # the face gets the width (it had 80 px)
    assert canvas["height"] >= 0.4 * narrow["innerHeight"]
    assert panel["y"] >= canvas["y"] + canvas["height"] - 1         # the controls below it, not over it
    for control in (narrow["speak"], narrow["text"]):
        assert control["width"] > 0 and control["x"] >= 0 and control["x"] + control["width"] <= width
    shot = narrow["screenshot"]
    assert shot.exists() and shot.stat().st_size > 20_000


def heard_at(schedule: list[dict], sample_rate: int, when: float) -> float:
    """The line time sounding at context time `when`, from the chunks' schedule: inside a chunk, its
    offset plus the time since it started; in a gap before a late chunk, that chunk's start (the face
    holds). On a busy machine later chunks can be late too: each re-anchors, and this follows all of them."""
    for chunk in schedule:                          # back to back in samples (test_audio_buffers_scheduled_...)
        start, length = chunk["sampleOffset"] / sample_rate, chunk["numSamples"] / sample_rate
        if when < chunk["when"] + length:
            return start + max(0.0, when - chunk["when"])
    return sum(chunk["numSamples"] for chunk in schedule) / sample_rate


@needs_browser
def test_a_late_chunk_re_anchors_the_clock_and_the_face_follows(page_run):
    """An underrun made on purpose (the page gets the second chunk only after its moment has passed): the
    chunk is scheduled after it arrives (a silent gap, never an overlap), the face holds through the gap
    and then follows the new anchor. The same, on a controlled clock: threejs_client/test/underrun.test.js."""
    data, _ = page_run
    u = data["underrun"]
    result = u["result"]
    assert result is not None and result["status"] == "ok"
    sr, latency = result["sampleRate"], u["outputLatency"]
    late = next(c for c in result["schedule"] if c["sampleOffset"] == u["offset"])
    assert late["late"] and result["underruns"] == sum(c["late"] for c in result["schedule"]) >= 1
    assert late["when"] >= u["releasedAt"] > u["due"]                 # after it came: a gap, no overlap
    resume = u["offset"] / sr
    total = result["stats"]["audio_samples"] / sr
    frames = [f for f in u["frames"] if f["t"] is not None and f["line"] == result["id"]]
    times = [f["t"] for f in frames]
    assert times == sorted(times)                                       # the face never goes back in time
    gap = [f for f in frames if u["due"] + latency + 0.02 < f["ctx"] < late["when"] + latency - 0.02]
    assert len(gap) >= 2 and all(f["t"] == pytest.approx(resume, abs=1e-9) for f in gap)   # it holds
    silent = [f for f in frames if u["due"] + latency + 0.05 < f["ctx"] < late["when"] - 0.005]
    assert silent and all(f["rms"] < 1e-3 for f in silent)             # nothing plays in the gap
    after = [f for f in frames if late["when"] + latency + 0.02 < f["ctx"] and f["t"] < total - 0.02]
    assert after and all(f["t"] == pytest.approx(heard_at(result["schedule"], sr, f["ctx"] - latency), abs=0.01)
                         for f in after)
    assert any(f["speaking"] and f["rms"] > 0.01 for f in after)       # the sound and the mouth go on together
