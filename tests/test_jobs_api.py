"""The bridge's /v1/ jobs API (docs/jobs.md) against the real bridge process, its worker processes and, for S3, a
real S3 API server (moto's emulation) in a process of its own. Nothing is timed: jobs are polled until they end.

- a photo uploaded, a job for mp4 + glb polled to done, the files downloaded with and without Range; the MP4
  decodes and equals what ``avatarlab render`` makes from the same inputs (frame by frame, sample by sample);
- a recording uploaded and animated; the OpenAPI description and the docs page;
- a restart mid-job: finished jobs are kept, the interrupted one is failed, or run again with --resume;
- a full queue answers 429 with Retry-After; cancelling queued, running and finished jobs;
- every bad input gets its stable code and the right status, never a traceback;
- S3: the files land in the bucket and downloads redirect to presigned URLs that work;
- a token: required for every call, signed file URLs, and no listening beyond loopback without one;
- Wav2Lip as a job's renderer, with a checkpoint the tests save in the released format.
"""

from __future__ import annotations

import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from daemon_process import free_port
from jobs_http import call, upload, wait_for_job
from tools import egl_missing, needs
from web_processes import ROOT, running_bridge

pytestmark = [needs(egl_missing())]
NO_DAEMON = "tcp://127.0.0.1:9"  # jobs need no daemon: the bridge reports it down and serves /v1/ all the same
ARTIFACTS = ROOT / "out/test-artifacts"
LINE = "Welcome back, captain. The northern bridge is open again."
#: About 50 s of speech: a job that is surely still running when a test stops the bridge or cancels it.
LONG_LINE = " ".join(["This line is long on purpose, so that the job is still running when the bridge stops."] * 8)


@pytest.fixture(scope="module")
def photo_png(tmp_path_factory) -> bytes:
    from avatarlab.render.images import write_png

    astronaut = pytest.importorskip("skimage.data").astronaut()
    return write_png(tmp_path_factory.mktemp("photo") / "astronaut.png", astronaut).read_bytes()


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    """One bridge for the flow and bad-input tests: uploads limited to 2 MB."""
    jobs = tmp_path_factory.mktemp("jobs")
    with running_bridge(NO_DAEMON, "--jobs-dir", str(jobs), "--max-upload-mb", "2", wait_for="any") as port:
        yield port


def submit(port: int, request: dict, headers: dict | None = None) -> dict:
    reply = call(port, "POST", "/v1/jobs", json_body=request, headers=headers)
    assert reply.status == 202, reply.body
    assert reply.headers["Location"] == f"/v1/jobs/{reply.json()['id']}"
    return reply.json()


def wait_running(port: int, job_id: str, headers: dict | None = None) -> dict:
    """Until the worker has begun the video (frames done > 0)."""
    while True:
        job = wait_for_job(port, job_id, ("running", "done", "failed", "cancelled"), headers=headers)
        if job["state"] != "running" or (job["progress"]["stage"] == "rendering" and job["progress"]["done"] > 0):
            return job


# ---- the whole flow ----------------------------------------------------------------------------------------
def _decode(path: Path, width: int, height: int) -> np.ndarray:
    from avatarlab.render.images import ffmpeg_exe

    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-xerror", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True, timeout=300).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def _audio(path: Path) -> np.ndarray:
    from avatarlab.sync_check.video import probe, read_audio

    return read_audio(probe(path))


def test_photo_to_mp4_and_glb_over_http_equals_the_cli(bridge, photo_png, tmp_path):
    from avatarlab.cli import main
    from avatarlab.render.images import write_png
    from avatarlab.sync_check.video import probe

    added = upload(bridge, "/v1/avatars", {"photo": ("portrait.png", photo_png), "name": "Astronaut"})
    assert added.status == 201, added.body
    avatar = added.json()
    assert avatar["kind"] == "photo" and avatar["has_photo"] and avatar["name"] == "Astronaut"
    assert re.fullmatch(r"[0-9a-f]{32}", avatar["id"])
    listed = [a["id"] for a in call(bridge, "GET", "/v1/avatars").json()["avatars"]]
    assert listed[0] == "default" and avatar["id"] in listed

    request = {"text": LINE, "avatar": avatar["id"], "outputs": ["mp4", "glb"], "size": "256x256", "fps": 25,
               "seed": 3}
    job = submit(bridge, request)
    assert job["state"] in ("queued", "running") and job["request"]["camera"] == "head-shoulders"
    seen: list[dict] = []
    job = wait_for_job(bridge, job["id"], seen=seen)
    assert job["state"] == "done", job
    fractions = [j["progress"]["fraction"] for j in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [f["name"] for f in job["files"]] == ["avatar.glb", "video.mp4"]
    video = next(f for f in job["files"] if f["name"] == "video.mp4")
    assert video["media_type"] == "video/mp4" and video["url"] == f"/v1/jobs/{job['id']}/files/video.mp4"

    whole = call(bridge, "GET", video["url"])
    assert whole.status == 200 and whole.headers["Content-Type"] == "video/mp4"
    assert len(whole.body) == video["size"] and whole.headers["Accept-Ranges"] == "bytes"
    assert 'filename="welcome-back-captain-the-northern-bridge-is-open.mp4"' in whole.headers["Content-Disposition"]
    part = call(bridge, "GET", video["url"], headers={"Range": "bytes=100-299"})
    assert part.status == 206 and part.body == whole.body[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{video['size']}"
    tail = call(bridge, "GET", video["url"], headers={"Range": "bytes=-50"})
    assert tail.status == 206 and tail.body == whole.body[-50:]
    head = call(bridge, "HEAD", video["url"])
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) == video["size"]

    ours = tmp_path / "job.mp4"
    ours.write_bytes(whole.body)
    info = probe(ours)
    assert (info.width, info.height, info.fps, info.has_audio) == (256, 256, 25.0, True)
    frames = _decode(ours, 256, 256)  # -xerror: any damage in the stream fails the decode

    glb = call(bridge, "GET", next(f for f in job["files"] if f["name"] == "avatar.glb")["url"]).body
    assert glb[:4] == b"glTF"
    avatar_glb = tmp_path / "astronaut.glb"
    avatar_glb.write_bytes(call(bridge, "GET", avatar["url"]).body)
    code = main(["render", LINE, "--avatar", str(avatar_glb), "--size", "256x256", "--fps", "25", "--seed", "3",
                 "--out", str(tmp_path / "cli"), "--name", "line", "--quiet"])
    assert code == 0
    theirs = _decode(tmp_path / "cli/line.mp4", 256, 256)
    assert frames.shape == theirs.shape and len(frames) > 50
    difference = np.abs(frames.astype(np.int16) - theirs).mean(axis=(1, 2, 3))
    assert difference.max() < 0.5, f"the job's frames differ from the CLI's: worst frame {difference.argmax()}"
    assert np.abs(_audio(ours) - _audio(tmp_path / "cli/line.mp4")).max() < 1e-3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    write_png(ARTIFACTS / "jobs-api-frame.png", frames[len(frames) // 3])

    from gltf_checks import assert_valid

    (tmp_path / "job.glb").write_bytes(glb)
    assert_valid(tmp_path / "job.glb")


def test_a_recording_is_uploaded_and_animated(bridge, engine, tmp_path):
    import json

    from avatarlab.output import wav_bytes

    utterance = engine.speak("Hold the line.")
    added = upload(bridge, "/v1/uploads", {"audio": ("take.wav", wav_bytes(utterance.audio, utterance.sample_rate))})
    assert added.status == 201, added.body
    record = added.json()
    assert record["media_type"] == "audio/wav" and abs(record["duration_s"] - utterance.duration_s) < 0.01
    job = submit(bridge, {"audio_id": record["id"], "transcript": "Hold the line.", "outputs": ["json", "csv"]})
    job = wait_for_job(bridge, job["id"])
    assert job["state"] == "done", job
    assert job["request"]["outputs"] == ["json", "csv"]
    curves = json.loads(call(bridge, "GET", f"/v1/jobs/{job['id']}/files/curves.json").body)
    assert curves["audio"] == "speech.wav" and curves["num_frames"] >= 20 and curves["fps"] == 30
    assert [w["text"].lower().strip(".") for w in curves["words"]] == ["hold", "the", "line"]
    csv = call(bridge, "GET", f"/v1/jobs/{job['id']}/files/curves.csv")
    assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert 'filename="recording-' in csv.headers["Content-Disposition"]


def test_openapi_description_and_docs_page(bridge):
    spec = call(bridge, "GET", "/v1/openapi.json").json()
    assert spec["servers"] == [{"url": "/v1"}]
    for path in ("/jobs", "/jobs/{job_id}", "/jobs/{job_id}/files/{name}", "/avatars", "/uploads"):
        assert path in spec["paths"], path
    schema = spec["components"]["schemas"]["JobRequest"]
    assert schema["additionalProperties"] is False and {"text", "audio_id", "outputs", "fps"} <= set(schema["properties"])
    assert "multipart/form-data" in spec["paths"]["/avatars"]["post"]["requestBody"]["content"]
    page = call(bridge, "GET", "/v1/docs")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert "/v1/jobs/{job_id}/files/{name}" in text and "<code>outputs</code>" in text and "http" not in \
        re.sub(r"https?://127\.0\.0\.1", "", text.replace("href='/v1", "")), "nothing loaded from elsewhere"


# ---- bad input ------------------------------------------------------------------------------------------------
BAD_JSON_CASES = [
    (b"{not json", "bad_json", None),
    (b"[1, 2]", "bad_json", None),
    (b'{"text": "Hi", "txt": "typo"}', "unknown_field", "txt"),
    (b'{"text": "Hi", "fps": 29}', "invalid_value", "fps"),
    (b'{"text": "Hi", "outputs": ["mp3"]}', "invalid_value", "outputs"),
    (b'{"text": "Hi", "outputs": []}', "invalid_value", "outputs"),
    (b'{"text": "Hi", "size": "513x512"}', "invalid_value", "size"),
    (b'{"text": "Hi", "size": "9000x9000"}', "invalid_value", "size"),
    (b'{"text": "Hi", "emotion": "smug"}', "invalid_value", "emotion"),
    (b'{"text": "Hi", "seed": true}', "invalid_value", "seed"),
    (b'{"text": "Hi", "background": "url(x)"}', "invalid_value", "background"),
    (b'{"text": ""}', "invalid_value", "text"),
    (b'{"text": "' + b"a" * 5001 + b'"}', "invalid_value", "text"),
    (b"{}", "missing_field", "text"),
    (b'{"text": "Hi", "audio_id": "' + b"0" * 32 + b'"}', "invalid_value", "text"),
    (b'{"text": "Hi", "transcript": "Hi"}', "invalid_value", "transcript"),
    (b'{"text": "Hi", "avatar": "../../etc/passwd"}', "invalid_value", "avatar"),
    (b'{"text": "Hi", "avatar": "' + b"0" * 32 + b'"}', "invalid_value", "avatar"),
    (b'{"audio_id": "' + b"1" * 32 + b'"}', "invalid_value", "audio_id"),
    (b'{"text": "Hi", "voice": "/etc/passwd"}', "invalid_value", "voice"),
    (b'{"text": "Hi", "renderer": "wav2lip", "outputs": ["glb"]}', "invalid_value", "outputs"),
]


@pytest.mark.parametrize("body,code,field", BAD_JSON_CASES)
def test_a_bad_job_request_gets_its_code_and_field(bridge, body, code, field):
    reply = call(bridge, "POST", "/v1/jobs", body, {"Content-Type": "application/json"})
    assert reply.status == 400, reply.body
    error = reply.json()
    assert error["error"] == code and error.get("field") == field, error
    assert "Traceback" not in error["message"] and len(error["message"]) < 400


def test_bad_uploads_and_unknown_things(bridge, photo_png):
    noise = np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    from avatarlab.render.images import png_bytes

    cases = [
        (upload(bridge, "/v1/avatars", {"picture": ("a.png", photo_png)}), 400, "bad_upload"),
        (upload(bridge, "/v1/avatars", {"photo": ("a.png", b"")}), 400, "bad_upload"),
        (upload(bridge, "/v1/avatars", {"photo": ("a.png", b"just some text, not an image")}), 415,
         "unsupported_media_type"),
        (upload(bridge, "/v1/avatars", {"photo": ("noise.png", png_bytes(noise))}), 400, "bad_upload"),
        (upload(bridge, "/v1/avatars", {"avatar": ("a.glb", b"glTF" + bytes(40))}), 400, "bad_upload"),
        (upload(bridge, "/v1/avatars", {"photo": ("big.png", photo_png[:8] + bytes(3 << 20))}), 413, "too_large"),
        (call(bridge, "POST", "/v1/avatars", b"raw bytes", {"Content-Type": "image/png"}), 400, "bad_upload"),
        (upload(bridge, "/v1/uploads", {"audio": ("a.wav", b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk")}), 400,
         "bad_upload"),
        (upload(bridge, "/v1/uploads", {"audio": ("a.png", photo_png)}), 415, "unsupported_media_type"),
        (call(bridge, "GET", "/v1/jobs/" + "0" * 32), 404, "not_found"),
        (call(bridge, "GET", "/v1/jobs/..%2F..%2Fetc"), 404, "not_found"),
        (call(bridge, "GET", "/v1/jobs/" + "0" * 32 + "/files/..%2Fjob.json"), 404, "not_found"),
        (call(bridge, "DELETE", "/v1/jobs/" + "0" * 32), 404, "not_found"),
        (call(bridge, "GET", "/v1/avatars/" + "0" * 32), 404, "not_found"),
        (call(bridge, "DELETE", "/v1/avatars/default"), 400, "invalid_value"),
        (call(bridge, "GET", "/v1/nothing-here"), 404, "not_found"),
        (call(bridge, "PUT", "/v1/jobs"), 405, "method_not_allowed"),
        (call(bridge, "POST", "/v1/jobs", json_body={"text": "Hi", "renderer": "wav2lip", "outputs": ["mp4"]}), 409,
         "wav2lip_unavailable"),
        (call(bridge, "POST", "/v1/jobs", json_body={"text": "Hi"}, headers={"Origin": "https://evil.example"}), 403,
         "origin_not_allowed"),
        (call(bridge, "GET", "/v1/jobs", headers={"Host": "evil.example"}), 403, "host_not_allowed"),
    ]
    for reply, status, code in cases:
        assert (reply.status, reply.json()["error"]) == (status, code), reply.body
        assert b"Traceback" not in reply.body


def test_a_file_of_an_unfinished_job_is_not_ready(bridge):
    job = submit(bridge, {"text": LONG_LINE, "outputs": ["mp4"], "size": "128x128"})
    reply = call(bridge, "GET", f"/v1/jobs/{job['id']}/files/video.mp4")
    assert (reply.status, reply.json()["error"]) == (409, "not_ready")
    assert call(bridge, "DELETE", f"/v1/jobs/{job['id']}").json()["state"] == "cancelled"
    finished = wait_for_job(bridge, job["id"])
    assert finished["state"] == "cancelled" and finished["files"] == []


# ---- queue, cancel ----------------------------------------------------------------------------------------
def test_full_queue_429_and_cancelling_queued_running_and_finished_jobs(tmp_path):
    with running_bridge(NO_DAEMON, "--jobs-dir", str(tmp_path), "--max-queued-jobs", "1", wait_for="any") as port:
        running = submit(port, {"text": LONG_LINE, "outputs": ["mp4"], "size": "128x128"})
        queued = submit(port, {"text": "Short.", "outputs": ["json"]})
        assert queued["state"] == "queued" and queued["queue_position"] == 1
        full = call(port, "POST", "/v1/jobs", json_body={"text": "One more.", "outputs": ["json"]})
        assert (full.status, full.json()["error"]) == (429, "queue_full")
        assert full.headers["Retry-After"].isdigit() and int(full.headers["Retry-After"]) >= 1

        assert call(port, "DELETE", f"/v1/jobs/{queued['id']}").json()["state"] == "cancelled"
        assert wait_running(port, running["id"])["state"] == "running"
        cancelled = call(port, "DELETE", f"/v1/jobs/{running['id']}").json()
        assert cancelled["state"] == "cancelled" and cancelled["files"] == []
        assert call(port, "GET", f"/v1/jobs/{running['id']}").json()["state"] == "cancelled"
        assert not (tmp_path / "jobs" / running["id"] / "files" / "video.mp4").exists()

        after = wait_for_job(port, submit(port, {"text": "The worker was replaced.", "outputs": ["json"]})["id"])
        assert after["state"] == "done", after
        assert call(port, "DELETE", f"/v1/jobs/{after['id']}").status == 204
        assert call(port, "GET", f"/v1/jobs/{after['id']}").status == 404
        assert not (tmp_path / "jobs" / after["id"]).exists()
        states = {j["id"]: j["state"] for j in call(port, "GET", "/v1/jobs").json()["jobs"]}
        assert states == {running["id"]: "cancelled", queued["id"]: "cancelled"}


# ---- restarts -------------------------------------------------------------------------------------------------
def test_a_restarted_bridge_keeps_finished_jobs_and_fails_or_resumes_interrupted_ones(tmp_path):
    args = ("--jobs-dir", str(tmp_path))
    with running_bridge(NO_DAEMON, *args, wait_for="any") as port:
        finished = wait_for_job(port, submit(port, {"text": "Short line.", "outputs": ["wav", "json"]})["id"])
        assert finished["state"] == "done"
        wav = call(port, "GET", f"/v1/jobs/{finished['id']}/files/speech.wav").body
        interrupted = submit(port, {"text": LONG_LINE, "outputs": ["mp4"], "size": "128x128"})
        assert wait_running(port, interrupted["id"])["state"] == "running"
    with running_bridge(NO_DAEMON, *args, wait_for="any") as port:
        jobs = {j["id"]: j for j in call(port, "GET", "/v1/jobs").json()["jobs"]}
        assert jobs[finished["id"]]["state"] == "done"
        assert call(port, "GET", f"/v1/jobs/{finished['id']}/files/speech.wav").body == wav
        failed = jobs[interrupted["id"]]
        assert failed["state"] == "failed" and failed["error"]["code"] == "interrupted", failed
        assert "--resume" in failed["error"]["message"]
        resumed = submit(port, {"text": LONG_LINE, "outputs": ["mp4"], "size": "128x128"})
        assert wait_running(port, resumed["id"])["state"] == "running"
    with running_bridge(NO_DAEMON, *args, "--resume", wait_for="any") as port:
        assert call(port, "GET", f"/v1/jobs/{interrupted['id']}").json()["state"] == "failed"
        done = wait_for_job(port, resumed["id"])
        assert done["state"] == "done", done
        assert [f["name"] for f in done["files"]] == ["video.mp4"]
        assert call(port, "GET", f"/v1/jobs/{resumed['id']}/files/video.mp4").body[4:8] == b"ftyp"


def test_old_jobs_and_uploads_expire(tmp_path):
    import time

    from avatarlab.jobs.service import JobLimits, JobService
    from avatarlab.jobs.store import JobRecord, write_json_atomically
    from avatarlab.jobs.uploads import UploadRecord

    service = JobService(tmp_path, JobLimits(keep_days=2))
    now = time.time()
    old_done, new_done, old_running = ("3d".ljust(32, "0"), "1d".ljust(32, "0"), "3a".ljust(32, "0"))
    for job_id, age_days, state in ((old_done, 3, "done"), (new_done, 1, "done"), (old_running, 3, "running")):
        record = JobRecord(job_id, {"outputs": []}, {}, created=now - age_days * 86400, state=state,
                           finished=now - age_days * 86400 if state == "done" else None)
        service.jobs[record.id] = record
        service.store.save(record)
    for upload_id, age_days in (("3e".ljust(32, "0"), 3), ("1e".ljust(32, "0"), 1)):
        upload_record = UploadRecord(upload_id, "wav", 10, 1.0, created=now - age_days * 86400)
        write_json_atomically(tmp_path / "uploads" / upload_id / "upload.json", vars(upload_record))
    assert service.expire(now) == 1
    assert sorted(service.jobs) == sorted([new_done, old_running]), "a running job is never expired"
    assert not (tmp_path / "jobs" / old_done).exists() and (tmp_path / "jobs" / new_done).exists()
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == ["1e".ljust(32, "0")]


# ---- S3 -------------------------------------------------------------------------------------------------------
def test_s3_storage_puts_files_in_the_bucket_and_redirects_downloads(tmp_path, monkeypatch):
    import urllib.request

    from s3_server import create_bucket, list_keys, moto_s3_server, use_fake_aws

    use_fake_aws(monkeypatch)  # the bridge inherits these fake credentials
    with moto_s3_server() as endpoint:
        create_bucket(endpoint, "results")
        with running_bridge(NO_DAEMON, "--jobs-dir", str(tmp_path), "--storage", "s3://results/avatarlab",
                            "--s3-endpoint-url", endpoint, wait_for="any") as port:
            job = wait_for_job(port, submit(port, {"text": LINE, "outputs": ["wav", "json", "mp4"],
                                                   "size": "128x128"})["id"])
            assert job["state"] == "done", job["error"]
            keys = list_keys(endpoint, "results", "avatarlab/")
            assert sorted(keys) == sorted(f"avatarlab/jobs/{job['id']}/{name}"
                                          for name in ("speech.wav", "curves.json", "video.mp4"))
            assert not list((tmp_path / "jobs" / job["id"] / "files").glob("*")), "no local copies are kept"
            moved = call(port, "GET", f"/v1/jobs/{job['id']}/files/video.mp4")
            assert moved.status == 307
            location = moved.headers["Location"]
            assert location.startswith(endpoint) and "X-Amz-Signature=" in location
            with urllib.request.urlopen(location, timeout=30) as reply:
                data = reply.read()
                assert "welcome-back-captain" in reply.headers["Content-Disposition"]
            assert data[4:8] == b"ftyp" and len(data) == next(f["size"] for f in job["files"]
                                                              if f["name"] == "video.mp4")
            assert call(port, "DELETE", f"/v1/jobs/{job['id']}").status == 204
            assert list_keys(endpoint, "results", "avatarlab/") == []
        missing = subprocess.run([sys.executable, "-m", "avatarlab_bridge", "--port", str(free_port()), "--jobs-dir",
                                  str(tmp_path), "--storage", "s3://no-such-bucket", "--s3-endpoint-url", endpoint],
                                 capture_output=True, text=True, timeout=120, env=_bridge_env())
    assert missing.returncode == 2 and "no-such-bucket" in missing.stderr and "Traceback" not in missing.stderr


def _bridge_env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "bridge")])}


# ---- token ----------------------------------------------------------------------------------------------------
def test_beyond_loopback_needs_a_token_file(tmp_path):
    refused = subprocess.run([sys.executable, "-m", "avatarlab_bridge", "--host", "0.0.0.0", "--port",
                              str(free_port()), "--jobs-dir", str(tmp_path)], capture_output=True, text=True,
                             timeout=120, env=_bridge_env())
    assert refused.returncode == 2 and "--token-file" in refused.stderr and "Traceback" not in refused.stderr
    (tmp_path / "short").write_text("abc\n")
    short = subprocess.run([sys.executable, "-m", "avatarlab_bridge", "--host", "0.0.0.0", "--token-file",
                            str(tmp_path / "short"), "--port", str(free_port()), "--jobs-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=120, env=_bridge_env())
    assert short.returncode == 2 and "16 or more" in short.stderr


def test_with_a_token_every_call_needs_it_and_file_urls_are_signed(tmp_path):
    token = "s3cr3t-" + "x" * 24
    (tmp_path / "token").write_text(token + "\n")
    auth = {"Authorization": f"Bearer {token}"}
    with running_bridge(NO_DAEMON, "--host", "0.0.0.0", "--token-file", str(tmp_path / "token"), "--jobs-dir",
                        str(tmp_path / "jobs"), wait_for="any") as port:
        for path in ("/v1/jobs", "/v1/avatars", "/v1/openapi.json", "/v1/docs"):
            reply = call(port, "GET", path)
            assert (reply.status, reply.json()["error"]) == (401, "unauthorized"), path
            assert reply.headers["WWW-Authenticate"] == "Bearer"
        assert call(port, "GET", "/v1/jobs", headers={"Authorization": "Bearer wrong"}).status == 401
        assert call(port, "POST", "/v1/jobs", json_body={"text": "Hi"}).status == 401
        job = wait_for_job(port, submit(port, {"text": "Signed.", "outputs": ["json"]}, auth)["id"], headers=auth)
        assert job["state"] == "done"
        url = job["files"][0]["url"]
        assert "signature=" in url and "expires=" in url
        assert call(port, "GET", url).status == 200, "a signed URL needs no header (a <video> element sends none)"
        tampered = re.sub(r"signature=\w", "signature=0", url) if "signature=0" not in url else \
            url.replace("signature=0", "signature=1")
        assert call(port, "GET", tampered).status == 401
        assert call(port, "GET", url.split("?")[0]).status == 401
        other = url.replace("curves.json", "speech.wav")
        assert call(port, "GET", other).status == 401, "a signature is for one file"
        assert call(port, "GET", "/health").status in (200, 503), "the rest of the bridge does not need the token"


# ---- Wav2Lip --------------------------------------------------------------------------------------------------
def test_a_wav2lip_job_lip_syncs_the_photo_of_a_photo_avatar(tmp_path):
    pytest.importorskip("torch")
    from test_wav2lip_pipeline import _astronaut  # her head and shoulders, the face large enough for Wav2Lip
    from wav2lip_weights import random_generator, save_public_checkpoint

    from avatarlab.render.images import png_bytes

    from avatarlab.sync_check.video import probe

    checkpoint = save_public_checkpoint(tmp_path / "wav2lip_gan.pth", random_generator(seed=0).state_dict())
    with running_bridge(NO_DAEMON, "--jobs-dir", str(tmp_path / "jobs"), "--wav2lip", str(checkpoint),
                        wait_for="any") as port:
        portrait = _astronaut()
        avatar = upload(port, "/v1/avatars", {"photo": ("portrait.png", png_bytes(portrait))}).json()
        default = call(port, "POST", "/v1/jobs", json_body={"text": "Hi", "renderer": "wav2lip"})
        assert (default.status, default.json()["error"]) == (409, "wav2lip_unavailable"), "the default has no photo"
        job = wait_for_job(port, submit(port, {"text": "Hold the line.", "avatar": avatar["id"],
                                               "renderer": "wav2lip", "outputs": ["mp4", "wav"], "fps": 25})["id"])
        assert job["state"] == "done", job["error"]
        video = tmp_path / "w.mp4"
        video.write_bytes(call(port, "GET", f"/v1/jobs/{job['id']}/files/video.mp4").body)
        speech = tmp_path / "w.wav"
        speech.write_bytes(call(port, "GET", f"/v1/jobs/{job['id']}/files/speech.wav").body)
    info = probe(video)
    height, width = portrait.shape[:2]
    assert (info.width, info.height, info.fps, info.has_audio) == (width, height, 25.0, True)
    with wave.open(str(speech)) as stream:
        seconds = stream.getnframes() / stream.getframerate()
    assert len(_decode(video, width, height)) == int(np.ceil(seconds * 25 - 1e-9))
