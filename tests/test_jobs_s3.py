"""S3Storage against moto's S3 server (an emulation of the S3 API) running in its own process on loopback."""

from __future__ import annotations

import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from avatarlab.jobs import s3
from avatarlab.jobs.s3 import S3Storage, parse_storage
from avatarlab.jobs.storage import URL_LIFETIME_S, LocalStorage, StorageError
from daemon_process import free_port
from s3_server import create_bucket, list_keys, moto_s3_server, s3_client, use_fake_aws

JOB = "0123456789abcdef0123456789abcdef"
OTHER_JOB = "fedcba9876543210fedcba9876543210"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_s3_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch)


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"results-{uuid.uuid4().hex[:12]}"
    create_bucket(endpoint, name)
    return name


def stored(tmp_path: Path, data: bytes, name: str = "source.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("prefix", "head"), [("", ""), ("/team//renders/", "team/renders/")])
def test_put_stores_the_file_under_prefix_jobs_id_name_with_its_type(endpoint: str, bucket: str, tmp_path: Path,
                                                                       prefix: str, head: str) -> None:
    storage = parse_storage(f"s3://{bucket}{prefix}", tmp_path, endpoint)
    storage.put(JOB, "video.mp4", stored(tmp_path, b"mp4 bytes"), "video/mp4")
    storage.put(JOB, "line.json", stored(tmp_path, b"{}"), "application/json")
    assert list_keys(endpoint, bucket) == [f"{head}jobs/{JOB}/line.json", f"{head}jobs/{JOB}/video.mp4"]
    head_reply = s3_client(endpoint).head_object(Bucket=bucket, Key=f"{head}jobs/{JOB}/video.mp4")
    assert head_reply["ContentType"] == "video/mp4"
    assert storage.local_path(JOB, "video.mp4") is None


def test_url_is_a_presigned_download_with_the_bytes_name_and_type(endpoint: str, bucket: str, tmp_path: Path) -> None:
    storage = parse_storage(f"s3://{bucket}/cdn", tmp_path, endpoint)
    data = bytes(range(256)) * 40
    storage.put(JOB, "video.mp4", stored(tmp_path, data), "video/mp4")
    url = storage.url(JOB, "video.mp4", "hello-world.mp4", "video/mp4")
    assert url is not None and url.startswith(f"{endpoint}/{bucket}/cdn/jobs/{JOB}/video.mp4?")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(URL_LIFETIME_S)]
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.read() == data
        assert reply.headers["Content-Disposition"] == 'attachment; filename="hello-world.mp4"'
        assert reply.headers["Content-Type"] == "video/mp4"


def test_url_names_a_file_with_quotes_and_accents_safely(endpoint: str, bucket: str, tmp_path: Path) -> None:
    storage = parse_storage(f"s3://{bucket}", tmp_path, endpoint)
    storage.put(JOB, "line.csv", stored(tmp_path, b"t,v\n"), "text/csv")
    url = storage.url(JOB, "line.csv", 'say "olá".csv', "text/csv")
    assert url is not None
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.read() == b"t,v\n"
        assert reply.headers["Content-Disposition"] == (
            "attachment; filename=\"say _ol__.csv\"; filename*=UTF-8''say%20%22ol%C3%A1%22.csv")


def test_delete_removes_every_file_of_that_job_only(endpoint: str, bucket: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3, "LIST_PAGE", 2)  # several listing pages: delete must follow them all
    storage = parse_storage(f"s3://{bucket}/p", tmp_path, endpoint)
    source = stored(tmp_path, b"data")
    names = ["a.wav", "b.json", "c.csv", "d.glb", "e.mp4"]
    for name in names:
        storage.put(JOB, name, source, "application/octet-stream")
    storage.put(JOB + "0", "a.wav", source, "audio/wav")  # a job id that starts with JOB's
    storage.put(OTHER_JOB, "a.wav", source, "audio/wav")
    other_store = parse_storage(f"s3://{bucket}/q", tmp_path, endpoint)
    other_store.put(JOB, "a.wav", source, "audio/wav")  # the same job id under another prefix
    storage.delete(JOB)
    assert list_keys(endpoint, bucket) == sorted([f"p/jobs/{JOB}0/a.wav", f"p/jobs/{OTHER_JOB}/a.wav",
                                                  f"q/jobs/{JOB}/a.wav"])
    storage.delete(JOB)  # nothing left: fine


def test_job_ids_and_names_cannot_reach_outside_the_job(endpoint: str, bucket: str, tmp_path: Path) -> None:
    storage = parse_storage(f"s3://{bucket}", tmp_path, endpoint)
    source = stored(tmp_path, b"x")
    for job_id, name in [(JOB, "../x.mp4"), (JOB, ""), ("..", "x.mp4"), ("a/b", "x.mp4")]:
        with pytest.raises(ValueError):
            storage.put(job_id, name, source, "video/mp4")
    storage.put(OTHER_JOB, "a.wav", source, "audio/wav")
    for job_id in ["", "..", f"{OTHER_JOB}/.."]:
        with pytest.raises(ValueError):
            storage.delete(job_id)
    assert list_keys(endpoint, bucket) == [f"jobs/{OTHER_JOB}/a.wav"]


def test_check_writes_a_probe_and_leaves_nothing_behind(endpoint: str, bucket: str, tmp_path: Path) -> None:
    parse_storage(f"s3://{bucket}/prefix", tmp_path, endpoint).check()
    assert list_keys(endpoint, bucket) == []


def test_check_names_a_missing_bucket(endpoint: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"the bucket 'no-such-bucket' does not exist; check the bucket name"):
        parse_storage("s3://no-such-bucket/x", tmp_path, endpoint).check()


def test_check_says_the_endpoint_does_not_answer(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(StorageError) as error:
        parse_storage("s3://results", tmp_path, closed).check()
    assert f"s3://results at {closed}: the endpoint does not answer" in str(error.value)
    assert "--s3-endpoint-url" in str(error.value)


def test_check_says_no_credentials_were_found(endpoint: str, bucket: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch, credentials=False)
    with pytest.raises(StorageError, match="no S3 credentials found; check AWS_ACCESS_KEY_ID"):
        parse_storage(f"s3://{bucket}", tmp_path, endpoint).check()


def test_check_says_access_was_denied(tmp_path: Path) -> None:
    with moto_s3_server(enforce_auth_after=1) as strict:
        create_bucket(strict, "locked")  # the one call it lets through without known keys
        with pytest.raises(StorageError, match=r"access denied \(InvalidAccessKeyId\); check AWS_ACCESS_KEY_ID"):
            parse_storage("s3://locked", tmp_path, strict).check()


def test_put_and_url_failures_are_storage_errors(endpoint: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    storage = parse_storage("s3://no-such-bucket", tmp_path, endpoint)
    with pytest.raises(StorageError, match=r"cannot store video.mp4 of job .* does not exist"):
        storage.put(JOB, "video.mp4", stored(tmp_path, b"x"), "video/mp4")
    with pytest.raises(StorageError, match="cannot store video.mp4"):
        storage.put(JOB, "video.mp4", tmp_path / "missing.mp4", "video/mp4")
    use_fake_aws(monkeypatch, credentials=False)
    with pytest.raises(StorageError, match="cannot sign a download URL .* no S3 credentials"):
        parse_storage("s3://no-such-bucket", tmp_path, endpoint).url(JOB, "video.mp4", "a.mp4", "video/mp4")


def test_the_endpoint_can_come_from_aws_endpoint_url(endpoint: str, bucket: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    storage = parse_storage(f"s3://{bucket}", tmp_path)
    storage.check()
    storage.put(JOB, "video.mp4", stored(tmp_path, b"via env"), "video/mp4")
    url = storage.url(JOB, "video.mp4", "a.mp4", "video/mp4")
    assert url is not None
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.read() == b"via env"


@pytest.mark.parametrize("spec", ["", "local", None, "  local "])
def test_parse_storage_local_forms_give_the_jobs_folder(spec: str | None, tmp_path: Path) -> None:
    storage = parse_storage(spec, tmp_path)  # type: ignore[arg-type]
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path


def test_parse_storage_s3_forms(endpoint: str, tmp_path: Path) -> None:
    plain = parse_storage("s3://my.bucket-1", tmp_path, endpoint)
    assert isinstance(plain, S3Storage) and (plain.bucket, plain.prefix, plain.label) == (
        "my.bucket-1", "", "s3://my.bucket-1")
    nested = parse_storage("s3://results/a/b/", tmp_path, endpoint)
    assert isinstance(nested, S3Storage) and (nested.prefix, nested.label) == ("a/b", "s3://results/a/b")
    assert nested.endpoint == endpoint


@pytest.mark.parametrize("spec", ["gs://bucket", "/srv/jobs", "s3:/bucket", "s3://", "s3://Upper", "s3://ab",
                                  "s3://-bucket", "s3://bucket_name", "s3://a..b", "s3://bucket/../x",
                                  "s3://bucket/a/./b", "S3://bucket"])
def test_parse_storage_refuses_other_forms_and_names_the_accepted_ones(spec: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match='"local" .* or "s3://bucket" or "s3://bucket/prefix"'):
        parse_storage(spec, tmp_path)


def test_an_endpoint_url_without_s3_storage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="--s3-endpoint-url is only used with --storage s3://"):
        parse_storage("local", tmp_path, "http://127.0.0.1:9000")


def test_a_malformed_endpoint_url_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot use the S3 endpoint 'not a url'.*--s3-endpoint-url"):
        parse_storage("s3://results", tmp_path, "not a url")


def test_without_boto3_the_error_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now raises ImportError
    with pytest.raises(StorageError, match=r'needs boto3, which is not installed: pip install "avatarlab\[s3\]"'):
        parse_storage("s3://results", tmp_path)
    assert isinstance(parse_storage("local", tmp_path), LocalStorage)  # the folder needs no boto3
