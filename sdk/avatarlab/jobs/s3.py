"""Finished job files in an S3-compatible store; downloads redirect to presigned URLs (docs/jobs.md, "Storage").

boto3 is an optional dependency (``pip install "avatarlab[s3]"``): it is imported only when ``--storage s3://``
asks for it, so the bridge runs without it in the default (folder) mode.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .storage import URL_LIFETIME_S, LocalStorage, ResultStorage, StorageError

#: Seconds to open a connection and to wait for a read: a dead endpoint fails in seconds, not minutes.
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 30
#: Attempts per call (the first one included): one retry for a transient failure, no more.
MAX_ATTEMPTS = 2
#: Keys per listing page when deleting a job: at most what one delete_objects call takes (1000).
LIST_PAGE = 1000

_FORMS = '"local" (the jobs folder, the default) or "s3://bucket" or "s3://bucket/prefix"'
# S3's bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, starting and ending alphanumeric.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENDPOINT_HINT = "check --s3-endpoint-url (or AWS_ENDPOINT_URL)"
_CREDENTIALS_HINT = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, ~/.aws/credentials)"


def parse_storage(spec: str | None, jobs_root: Path, endpoint_url: str | None = None) -> ResultStorage:
    """The store that ``--storage`` names: the jobs folder for "" / "local" / None, else an S3 bucket."""
    text = (spec or "").strip()
    if text in ("", "local"):
        if endpoint_url:
            raise StorageError("--s3-endpoint-url is only used with --storage s3://bucket/prefix")
        return LocalStorage(Path(jobs_root))
    if not text.startswith("s3://"):
        raise StorageError(f"unknown storage {spec!r}: use {_FORMS}")
    bucket, _, prefix = text[len("s3://"):].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise StorageError(f"{bucket!r} in --storage {spec!r} is not an S3 bucket name (3-63 lowercase letters, "
                           f"digits, dots and hyphens); use {_FORMS}")
    parts = [part for part in prefix.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise StorageError(f"the prefix in --storage {spec!r} may not contain '.' or '..' parts; use {_FORMS}")
    return S3Storage(bucket, "/".join(parts), endpoint_url=endpoint_url)


def _boto() -> tuple[Any, Any]:
    """boto3 and botocore.config.Config, or a StorageError that says how to install them."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as error:
        raise StorageError('--storage s3:// needs boto3, which is not installed: pip install "avatarlab[s3]"') \
            from error
    return boto3, Config


def _client_config(config_class: Any, path_style: bool) -> Any:
    """Short timeouts, one retry, and checksums only where S3 requires them (other stores reject the new ones)."""
    options: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S,
        "retries": {"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        "signature_version": "s3v4",
    }
    if path_style:
        options["s3"] = {"addressing_style": "path"}
    for option in ("request_checksum_calculation", "response_checksum_validation"):
        if option in config_class.OPTION_DEFAULTS:  # botocore >= 1.36
            options[option] = "when_required"
    return config_class(**options)


def content_disposition(filename: str) -> str:
    """``attachment; filename="..."`` that survives quotes and non-ASCII names (RFC 6266's filename*)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def _part(text: str) -> str:
    """A job id or file name as one key segment; anything that could name another job's keys is a bug."""
    if not text or "/" in text or text in (".", ".."):
        raise ValueError(f"not a job id or file name: {text!r}")
    return text


class S3Storage:
    """Files under ``{prefix}/jobs/{job id}/{name}`` in ``bucket``; the store (or its CDN) serves the bytes."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.label = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        boto3, config_class = _boto()
        # An endpoint other than AWS (MinIO, Ceph, moto...) usually has no per-bucket host names.
        path_style = bool(endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
        try:
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint_url or None, config=_client_config(config_class, path_style))
        except ValueError as error:  # botocore: "Invalid endpoint: ..."
            raise StorageError(f"cannot use the S3 endpoint {endpoint_url!r}: {error}; {_ENDPOINT_HINT}") from error
        self.endpoint = self._client.meta.endpoint_url
        from botocore import exceptions as bce

        # What a store call can raise that _error explains (a missing source file for put included).
        self._failures: tuple[type[Exception], ...] = (bce.BotoCoreError, bce.ClientError, OSError)

    def _job_prefix(self, job_id: str) -> str:
        """The key prefix of every file of ``job_id``, ending in '/' so that job "ab" is not under job "a"."""
        head = f"{self.prefix}/jobs" if self.prefix else "jobs"
        return f"{head}/{_part(job_id)}/"

    def _key(self, job_id: str, name: str) -> str:
        return self._job_prefix(job_id) + _part(name)

    def check(self) -> None:
        """Write and delete a small probe object: a wrong bucket, endpoint or credentials stop the bridge at start."""
        key = f"{self.prefix}/jobs/" if self.prefix else "jobs/"
        key += f".write-check-{secrets.token_hex(8)}"
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=b"avatarlab write check",
                                    ContentType="text/plain")
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except self._failures as error:
            raise self._error("cannot write to", error) from error

    def put(self, job_id: str, name: str, source: Path, media_type: str) -> None:
        key = self._key(job_id, name)
        try:
            with Path(source).open("rb") as body:
                self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=media_type)
        except self._failures as error:
            raise self._error(f"cannot store {name} of job {job_id} in", error) from error

    def local_path(self, job_id: str, name: str) -> Path | None:
        return None

    def url(self, job_id: str, name: str, filename: str, media_type: str) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(job_id, name),
                  "ResponseContentDisposition": content_disposition(filename), "ResponseContentType": media_type}
        try:
            return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=URL_LIFETIME_S)
        except self._failures as error:
            raise self._error(f"cannot sign a download URL for {name} of job {job_id} in", error) from error

    def delete(self, job_id: str) -> None:
        prefix = self._job_prefix(job_id)
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE})
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    reply = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                    self._raise_refused(job_id, reply.get("Errors", []))
        except self._failures as error:
            raise self._error(f"cannot delete the files of job {job_id} from", error) from error

    def _raise_refused(self, job_id: str, refused: list[dict[str, str]]) -> None:
        """delete_objects answers 200 even when the store kept some keys: say which, and why."""
        if refused:
            first = refused[0]
            raise StorageError(f"cannot delete the files of job {job_id} from {self.label} at {self.endpoint}: "
                               f"{len(refused)} kept, e.g. {first.get('Key')} ({first.get('Code')}: "
                               f"{first.get('Message')}); {_CREDENTIALS_HINT}, and that they may delete objects")

    def _error(self, doing: str, error: Exception) -> StorageError:
        """A StorageError that says what went wrong where, and what to check."""
        from botocore import exceptions as bce

        where = f"{self.label} at {self.endpoint}"
        if isinstance(error, (bce.NoCredentialsError, bce.PartialCredentialsError)):
            return StorageError(f"{doing} {where}: no S3 credentials found; {_CREDENTIALS_HINT}")
        if isinstance(error, (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ReadTimeoutError)):
            return StorageError(f"{doing} {where}: the endpoint does not answer ({error}); {_ENDPOINT_HINT}")
        if isinstance(error, bce.ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchBucket", "404", "NotFound"):
                return StorageError(f"{doing} {where}: the bucket {self.bucket!r} does not exist; check the bucket "
                                    f"name in --storage, or create it")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                        "AccessDenied", "AllAccessDisabled", "403") or status == 403:
                return StorageError(f"{doing} {where}: access denied ({code}); {_CREDENTIALS_HINT}, and that they "
                                    f"may write to the bucket {self.bucket!r}")
            return StorageError(f"{doing} {where}: {code or status}: {error}; check the bucket name in --storage, "
                                f"{_ENDPOINT_HINT} and the AWS_* variables")
        if isinstance(error, bce.BotoCoreError):
            return StorageError(f"{doing} {where}: {error}; check the bucket name in --storage, {_ENDPOINT_HINT} "
                                f"and the AWS_* variables")
        return StorageError(f"{doing} {where}: {error}")  # OSError: put's source file
