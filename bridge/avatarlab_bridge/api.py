"""``/v1/``: render and export jobs over HTTP (docs/jobs.md), a thin shell around avatarlab.jobs.JobService."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from avatarlab.jobs.request import JobRequest, RequestError, is_id, request_error
from avatarlab.jobs.service import JobService
from avatarlab.jobs.storage import URL_LIFETIME_S

from .openapi_page import docs_page

log = logging.getLogger("avatarlab_bridge")
MULTIPART_SLACK = 64 << 10  # the multipart envelope around an upload: boundaries, headers, a name field
DRAIN_FACTOR = 4  # an oversize body up to this many times the limit is read to its end before the 413
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


@dataclass(frozen=True)
class ApiSecurity:
    """Who may call ``/v1/``: pages of these origins (when a browser says), and holders of the token if any."""

    origins: Callable[[], set[str]]
    token: str | None = None

    def sign(self, path: str, now: float | None = None) -> str:
        """``path`` with ``?expires=...&signature=...`` when a token is set: a link a <video> element can load."""
        if self.token is None:
            return path
        expires = int((now if now is not None else time.time()) + URL_LIFETIME_S)
        return f"{path}?{urlencode({'expires': expires, 'signature': self._signature(path, expires)})}"

    def _signature(self, path: str, expires: int) -> str:
        return hmac.new(self.token.encode(), f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signed(self, request: Request) -> bool:
        expires, signature = request.query_params.get("expires"), request.query_params.get("signature")
        if self.token is None or not expires or not signature or not expires.isdigit():
            return False
        return int(expires) >= time.time() and hmac.compare_digest(signature,
                                                                   self._signature(request.url.path, int(expires)))

    def problem(self, request: Request) -> RequestError | None:
        origin = request.headers.get("origin")
        origins = self.origins()
        if origin is not None and "*" not in origins and origin not in origins:
            return RequestError("origin_not_allowed", f"pages from {origin} may not call this bridge; start it with "
                                f"--allow-origin {origin} to allow them", status=403)
        if self.token is None:
            return None
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode()):
            return None
        if request.method in ("GET", "HEAD") and "/files/" in request.url.path and self.signed(request):
            return None
        return RequestError("unauthorized", "this bridge needs its token: send 'Authorization: Bearer <token>' "
                            "(the token is in the file given to the bridge's --token-file)", status=401)


class Guard:
    """ASGI middleware of the API: the origin and token checks before any handler runs."""

    def __init__(self, app: ASGIApp, security: ApiSecurity) -> None:
        self.app, self.security = app, security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self.security.problem(Request(scope))
            if problem is not None:
                await _error(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(error: RequestError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    return JSONResponse(error.body(), status_code=error.status, headers={**headers, **error.headers})


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 once it passes ``limit``. A body up to DRAIN_FACTOR times the limit is read to its
    end first (discarded), so that an ordinary client gets the 413 instead of a broken pipe; a bigger one is
    answered at once."""
    cap = limit + MULTIPART_SLACK
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap * DRAIN_FACTOR:
        raise _too_large(limit)
    body, size = bytearray(), 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap * DRAIN_FACTOR:
            raise _too_large(limit)
        if size <= cap:
            body += chunk
    if size > cap:
        raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> RequestError:
    return RequestError("too_large", f"uploads are limited to {limit / (1 << 20):g} MB (the bridge's "
                        "--max-upload-mb)", status=413)


async def upload(request: Request, field: str | tuple[str, ...], limit: int) -> tuple[str, bytes, str | None]:
    """(the field's name, the uploaded file's bytes, the optional ``name`` field) of a multipart body."""
    fields = (field,) if isinstance(field, str) else field
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise RequestError("bad_upload", f"send the file as multipart/form-data in the field "
                           f"{' or '.join(repr(f) for f in fields)} (e.g. curl -F {fields[0]}=@file)")
    body = await read_body(request, limit)

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=2, max_fields=8)
    except Exception as error:  # noqa: BLE001 - any parse failure is the client's malformed body
        raise RequestError("bad_upload", f"the multipart body cannot be read: {error}") from None
    for name in fields:
        item = form.get(name)
        if item is not None and hasattr(item, "read"):
            data = await item.read()
            if not data:
                raise RequestError("bad_upload", f"the file in {name!r} is empty", name)
            if len(data) > limit:
                raise _too_large(limit)
            label = form.get("name")
            return name, data, label if isinstance(label, str) else None
    raise RequestError("bad_upload", f"no file in the field {' or '.join(repr(f) for f in fields)}", fields[0])


def _multipart(*fields: str) -> dict:
    properties = {name: {"type": "string", "format": "binary"} for name in fields}
    properties["name"] = {"type": "string", "description": "a display name (optional)"}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": properties}}}}}


def create_api(service: JobService, security: ApiSecurity) -> FastAPI:
    """The FastAPI app mounted at ``/v1`` (its paths below are relative to that)."""
    api = FastAPI(title="AI Avatar Lab jobs API", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", servers=[{"url": "/v1"}], description="Render and export jobs: text or a recording in; speech, "
                  "curves, an animated GLB and an MP4 out. See docs/jobs.md.")
    api.add_middleware(Guard, security=security)
    limit = service.limits.max_upload_bytes

    @api.exception_handler(RequestError)
    async def _request_error(_: Request, error: RequestError) -> Response:
        return _error(error)

    @api.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, error: RequestValidationError) -> Response:
        return _error(request_error(list(error.errors())))

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, error: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(error.status_code, "error")
        message = "no such path in /v1/ (see /v1/docs)" if error.status_code == 404 else str(error.detail)
        return JSONResponse({"error": code, "message": message}, status_code=error.status_code)

    @api.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> Response:
        log.exception("an /v1/ request failed")
        return JSONResponse({"error": "internal_error", "message": f"the bridge failed on this request "
                             f"({type(error).__name__}); its log has the details"}, status_code=500)

    def job_body(record) -> dict:
        return service.public(record, lambda job_id, name: security.sign(f"/v1/jobs/{job_id}/files/{name}"))

    def check_id(value: str, what: str) -> None:
        if not is_id(value):
            raise RequestError("not_found", f"no {what} {value!r}", status=404)

    @api.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(api.openapi()))

    @api.get("/avatars", summary="The default avatar and the uploaded ones")
    async def list_avatars() -> dict:
        return {"avatars": [record.public() for record in service.avatars.all()]}

    @api.post("/avatars", status_code=201, summary="Upload a photo (made into an avatar) or a GLB/VRM avatar",
              openapi_extra=_multipart("photo", "avatar"))
    async def add_avatar(request: Request) -> JSONResponse:
        field, data, name = await upload(request, ("photo", "avatar"), limit)
        make = service.avatars.add_photo if field == "photo" else service.avatars.add_glb
        record = await asyncio.to_thread(make, data, name)
        return JSONResponse(record.public(), status_code=201, headers={"Location": record.public()["url"]})

    def avatar_record(avatar_id: str):
        record = service.avatars.get(avatar_id)
        if record is None:
            raise RequestError("not_found", f"no avatar {avatar_id!r}; GET /v1/avatars lists them", status=404)
        return record

    @api.get("/avatars/{avatar_id}", summary="One avatar")
    async def get_avatar(avatar_id: str) -> dict:
        return avatar_record(avatar_id).public()

    @api.get("/avatars/{avatar_id}/avatar.glb", summary="The avatar's GLB (or VRM) file")
    async def avatar_file(avatar_id: str) -> Response:
        record = avatar_record(avatar_id)
        path = service.avatars.glb_path(record)
        if path is None:
            from avatarlab.avatar import default_avatar_path

            path = default_avatar_path()
        return FileResponse(path, media_type="model/gltf-binary")

    @api.delete("/avatars/{avatar_id}", status_code=204, summary="Forget an uploaded avatar")
    async def delete_avatar(avatar_id: str) -> Response:
        if avatar_id == "default":
            raise RequestError("invalid_value", "the default avatar cannot be deleted", "avatar_id")
        if not service.avatars.delete(avatar_id):
            raise RequestError("not_found", f"no avatar {avatar_id!r}", status=404)
        return Response(status_code=204)

    @api.post("/uploads", status_code=201, summary="Upload a recording to animate (then POST /v1/jobs with "
              "audio_id)", openapi_extra=_multipart("audio"))
    async def add_upload(request: Request) -> JSONResponse:
        _, data, _ = await upload(request, "audio", limit)
        record = await asyncio.to_thread(service.uploads.add_audio, data)
        return JSONResponse(record.public(), status_code=201)

    @api.post("/jobs", status_code=202, summary="Start a job: speech, curves, GLB and/or MP4 for a line")
    async def create_job(job: JobRequest) -> JSONResponse:
        record = service.submit(job)
        headers = {"Location": f"/v1/jobs/{record.id}"}
        return JSONResponse(job_body(record), status_code=202, headers=headers)

    @api.get("/jobs", summary="Every job kept, newest first")
    async def list_jobs() -> dict:
        return {"jobs": [job_body(record) for record in service.all()]}

    @api.get("/jobs/{job_id}", summary="A job's state, progress and files")
    async def get_job(job_id: str) -> dict:
        check_id(job_id, "job")
        return job_body(service.get(job_id))

    @api.delete("/jobs/{job_id}", summary="Cancel a queued or running job; delete a finished one")
    async def delete_job(job_id: str) -> Response:
        check_id(job_id, "job")
        record = await asyncio.to_thread(service.cancel, job_id)
        return Response(status_code=204) if record is None else JSONResponse(job_body(record))

    @api.api_route("/jobs/{job_id}/files/{name}", methods=["GET", "HEAD"], summary="Download a job's file "
                   "(HTTP Range honoured; 307 to the store with --storage s3://)")
    async def job_file(job_id: str, name: str) -> Response:
        check_id(job_id, "job")
        stored, filename, path, url = service.file(job_id, name)
        if url is not None:
            return RedirectResponse(url, status_code=307)
        return FileResponse(path, media_type=stored.media_type, filename=filename,
                            content_disposition_type="attachment")

    return api
