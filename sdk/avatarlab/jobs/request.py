"""What a job asks for (docs/jobs.md, "JobRequest"), checked once for the HTTP API, its OpenAPI description and
the worker that runs it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..animation.emotion import EMOTIONS
from ..options import MAX_TEXT_CHARS, SynthesisOptions, checked_text
from ..render.settings import CAMERA_PRESETS, DEFAULT_BACKGROUND, DEFAULT_CAMERA, DEFAULT_FPS, parse_size

Output = Literal["wav", "json", "csv", "glb", "mp4"]
#: Each output's one file name: no name from a request ever reaches the file system.
OUTPUT_FILES: dict[str, str] = {"wav": "speech.wav", "json": "curves.json", "csv": "curves.csv",
                                "glb": "avatar.glb", "mp4": "video.mp4"}
MEDIA_TYPES: dict[str, str] = {"speech.wav": "audio/wav", "curves.json": "application/json",
                               "curves.csv": "text/csv", "avatar.glb": "model/gltf-binary", "video.mp4": "video/mp4"}
WAV2LIP_OUTPUTS = ("wav", "json", "mp4")
_ID = re.compile(r"[0-9a-f]{32}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class RequestError(ValueError):
    """A request the API refuses: a stable ``code``, a message that says what to do, the ``field`` at fault."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.field, self.status = code, field, status
        self.headers = dict(headers or {})  # e.g. Retry-After with 429

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": str(self)}
        if self.field:
            body["field"] = self.field
        return body


def is_id(value: str) -> bool:
    """A job, upload or avatar id as the API makes them: 32 lower-case hex digits (random 128 bits)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


class JobRequest(BaseModel):
    """A render or export job. Unknown fields are refused, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(None, description=f"the line to speak, 1-{MAX_TEXT_CHARS} characters", examples=[
        "Welcome back, captain."])
    audio_id: str | None = Field(None, description="an id from POST /v1/uploads: animate this recording instead")
    transcript: str | None = Field(None, description="with audio_id: the recording's words (else recognized)")
    avatar: str = Field("default", description="an avatar id from GET /v1/avatars")
    voice: str | None = Field(None, description="a voice name from GET /voices (text only; default: the default voice)")
    emotion: Literal[tuple(EMOTIONS)] = Field("neutral", description="the face's emotion")  # type: ignore[valid-type]
    intensity: float = Field(1.0, ge=0.0, le=1.0, description="how strongly the emotion shows")
    seed: int = Field(0, ge=0, lt=2**63, description="the animation's seed: same seed, same output")
    outputs: list[Output] = Field(default_factory=lambda: ["mp4"], min_length=1, max_length=5,
                                  description="the files to make")
    size: str = Field("512x512", description="the video's WIDTHxHEIGHT, even, 16-3840 a side")
    fps: Literal[24, 25, 30, 50, 60] = Field(DEFAULT_FPS, description="the video's and the curves' frame rate")
    camera: Literal[tuple(CAMERA_PRESETS)] = Field(DEFAULT_CAMERA, description="the video's framing")  # type: ignore[valid-type]
    background: str = Field(DEFAULT_BACKGROUND, description="the video's background colour, #rrggbb")
    renderer: Literal["avatar", "wav2lip"] = Field("avatar", description="wav2lip: the avatar's photo, lip-synced "
                                                   "by Wav2Lip (the bridge needs --wav2lip)")

    @field_validator("seed", "intensity", "fps", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # JSON true is not the number 1
            raise ValueError(f"a number, got {str(value).lower()}")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else checked_text(value)

    @field_validator("audio_id", "avatar")
    @classmethod
    def _id(cls, value: str | None, info) -> str | None:
        if value is None or (info.field_name == "avatar" and value == "default") or is_id(value):
            return value
        raise ValueError("not an id the API made (32 hex digits)" + (" or 'default'" if info.field_name == "avatar"
                                                                     else ""))

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        width, height = parse_size(value)
        return f"{width}x{height}"

    @field_validator("background")
    @classmethod
    def _background(cls, value: str) -> str:
        if not _COLOUR.fullmatch(value):
            raise ValueError(f"a colour as #rrggbb, got {value!r}")
        return value.lower()

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: list[str]) -> list[str]:
        return [name for name in OUTPUT_FILES if name in value]  # one each, in a fixed order

    @model_validator(mode="after")
    def _source(self) -> JobRequest:
        if (self.text is None) == (self.audio_id is None):
            raise RequestError("missing_field" if self.text is None else "invalid_value",
                               "give the line as text, or a recording as audio_id (from POST /v1/uploads), not both"
                               if self.text is not None else "give text (the line to speak) or audio_id",
                               "text")
        if self.transcript is not None and self.audio_id is None:
            raise RequestError("invalid_value", "transcript goes with audio_id (the words of the recording); "
                               "with text, drop it", "transcript")
        if self.voice is not None and self.audio_id is not None:
            raise RequestError("invalid_value", "voice applies to text; a recording keeps its own voice", "voice")
        if self.renderer == "wav2lip":
            extra = [name for name in self.outputs if name not in WAV2LIP_OUTPUTS]
            if extra:
                raise RequestError("invalid_value", f"renderer wav2lip makes {', '.join(WAV2LIP_OUTPUTS)}; it cannot "
                                   f"make {', '.join(extra)}", "outputs")
        return self

    def options(self) -> SynthesisOptions:
        return SynthesisOptions(fps=self.fps, seed=self.seed, emotion=self.emotion,
                                emotion_intensity=self.intensity).checked()

    def file_names(self) -> list[str]:
        return [OUTPUT_FILES[name] for name in self.outputs]


def parse_job_request(body: Any) -> JobRequest:
    """The checked request, or RequestError with the first problem (code, message, field)."""
    if not isinstance(body, dict):
        raise RequestError("bad_json", "the body must be a JSON object such as {\"text\": \"Hello\"}")
    try:
        return JobRequest.model_validate(body)
    except RequestError:
        raise
    except ValidationError as error:
        raise request_error(error.errors(include_url=False)) from None


def request_error(errors: list[dict[str, Any]]) -> RequestError:
    """The first of pydantic's errors as a RequestError with a stable code (FastAPI's validation errors too)."""
    first = errors[0] if errors else {"type": "value_error", "loc": (), "msg": "invalid request"}
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    field = loc[0] if loc else None
    kind = first.get("type", "")
    context = first.get("ctx") or {}
    if isinstance(context.get("error"), RequestError):
        return context["error"]
    if kind == "extra_forbidden":
        known = ", ".join(JobRequest.model_fields)
        return RequestError("unknown_field", f"unknown field {field!r}; the fields are: {known}", field)
    if kind == "missing":
        return RequestError("missing_field", f"{field} is required", field)
    if kind in ("json_invalid", "model_attributes_type", "dict_type", "model_type"):
        return RequestError("bad_json", "the body must be a JSON object such as {\"text\": \"Hello\"}")
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if "input" in first and kind not in ("value_error", "string_too_long"):
        message += f" (got {_short(first['input'])})"
    where = ".".join(loc) or "the request"
    return RequestError("invalid_value", f"{where}: {message}", field)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Inputs:
    """What the worker needs besides the request: files the service resolved from the request's ids."""

    avatar_glb: str | None  # the avatar's GLB/VRM path (None: the default head)
    avatar_photo: str | None  # the photo it was made from (wav2lip)
    audio: str | None  # the uploaded recording
    wav2lip_checkpoint: str | None
    name: str  # the line's slug, for Content-Disposition
