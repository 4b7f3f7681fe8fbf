"""An S3 API for tests: moto's server (an emulation of S3, not AWS itself) in its own process on loopback.

    with moto_s3_server() as endpoint:            # "http://127.0.0.1:PORT"
        create_bucket(endpoint, "results")
        env = fake_aws_env()                      # for a child process (the bridge)
        ...

In-process code (S3Storage, boto3) reads the credentials from os.environ: use ``use_fake_aws(monkeypatch)``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from daemon_process import free_port

REGION = "us-east-1"
#: Fake credentials: moto accepts any; they keep boto3 away from a developer's real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def fake_aws_env(base: Mapping[str, str] | None = None, credentials: bool = True) -> dict[str, str]:
    """``base`` (os.environ) without any AWS_* setting, plus fake credentials and region (or none at all).

    The config and credentials files point at /dev/null and instance metadata is off, so nothing on this
    machine (~/.aws, an EC2 role) supplies credentials when ``credentials`` is False.
    """
    env = {key: value for key, value in (os.environ if base is None else base).items()
           if not key.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    if credentials:
        env.update(FAKE_CREDENTIALS)
    return env


def use_fake_aws(monkeypatch: pytest.MonkeyPatch, credentials: bool = True) -> None:
    """Give this test process fake_aws_env()'s AWS_* settings (undone after the test)."""
    env = fake_aws_env(credentials=credentials)
    for key in [key for key in os.environ if key.startswith("AWS_") and key not in env]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)


def _answers(endpoint: str) -> bool:
    """True once the server answers HTTP at all (any status)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextmanager
def moto_s3_server(enforce_auth_after: int | None = None, timeout: float = 60) -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto server process; it is killed when the block ends.

    By default it accepts any credentials. With ``enforce_auth_after=N`` the first N calls are free (to create
    a bucket, say) and later ones need keys moto's IAM issued, so the fake ones get ``InvalidAccessKeyId``.
    """
    port = free_port()
    env = fake_aws_env()
    if enforce_auth_after is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(enforce_auth_after)
    endpoint = f"http://127.0.0.1:{port}"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"moto-s3-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(endpoint):
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto server not answering on {endpoint}:\n{log.read_text()}")
            time.sleep(0.1)
        yield endpoint
    finally:
        proc.kill()
        proc.wait()


def s3_client(endpoint: str, credentials: bool = True) -> Any:
    """A boto3 S3 client for the test's own checks (fake credentials, path-style addressing)."""
    import boto3
    from botocore.config import Config

    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"} if credentials else {}
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION,
                                          config=Config(s3={"addressing_style": "path"}), **keys)


def create_bucket(endpoint: str, name: str) -> None:
    """Create bucket ``name`` on the emulated store."""
    s3_client(endpoint).create_bucket(Bucket=name)


def list_keys(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    """Every key in ``bucket`` under ``prefix``, sorted."""
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
