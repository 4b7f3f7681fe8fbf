"""A small HTTP client for the bridge's /v1/ jobs API in tests (urllib only: what a build pipeline would use)."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 307 comes back as the answer, to be looked at
        return None


_OPENER = urllib.request.build_opener(NoRedirect)


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         json_body: Any = None, timeout: float = 60) -> Reply:
    url = path if path.startswith("http") else f"http://127.0.0.1:{port}{path}"
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as reply:
            return Reply(reply.status, reply.headers, reply.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def multipart(fields: dict[str, tuple[str, bytes] | str]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data upload; a tuple value is (file name, bytes)."""
    boundary = "avatarlab" + secrets.token_hex(8)
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, data = value
            head = (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n")
        else:
            head, data = f'Content-Disposition: form-data; name="{name}"\r\n\r\n', value.encode()
        parts.append(f"--{boundary}\r\n".encode() + head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(port: int, path: str, fields: dict[str, tuple[str, bytes] | str], headers: dict | None = None) -> Reply:
    body, content_type = multipart(fields)
    return call(port, "POST", path, body, {"Content-Type": content_type, **(headers or {})}, timeout=300)


def wait_for_job(port: int, job_id: str, states=("done", "failed", "cancelled"), timeout: float = 900,
                 headers: dict | None = None, seen: list | None = None) -> dict:
    """Poll until the job is in one of ``states`` (generous timeout: the machine may be busy)."""
    deadline = time.monotonic() + timeout
    while True:
        job = call(port, "GET", f"/v1/jobs/{job_id}", headers=headers).json()
        if seen is not None:
            seen.append(job)
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s: {job}")
        time.sleep(0.2)
