"""Uploaded avatars (a photo made into a head, or a GLB/VRM kept as it is) and recordings, each in a folder of
its own under the jobs folder. Files are recognised by their first bytes, never by the name a client sent."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .request import RequestError, is_id
from .store import iso, new_id, write_json_atomically

IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
AUDIO_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg",
               "m4a": "audio/mp4", "webm": "audio/webm"}


def sniff(head: bytes) -> str | None:
    """The file kind from its first bytes: jpg, png, webp, glb, wav, flac, ogg, mp3, m4a, webm; None if unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"glTF"):
        return "glb"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    return None


def _read_record(kind, path: Path):
    """The record of type ``kind`` saved at ``path``, or None when it is missing or unreadable."""
    try:
        return kind(**json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None


@contextmanager
def _new_folder(folder: Path) -> Iterator[Path]:
    """Make ``folder``; remove it again if anything fails before the block ends (nothing half-kept)."""
    folder.mkdir(parents=True)
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _unsupported(what: str, accepted: str) -> RequestError:
    return RequestError("unsupported_media_type", f"{what} is not {accepted} (judged by its content)", status=415)


@dataclass
class AvatarRecord:
    id: str
    name: str
    kind: str  # "default" | "photo" | "glb"
    created: float = field(default_factory=time.time)
    file: str = "avatar.glb"
    photo: str | None = None
    notes: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "created": iso(self.created),
                "url": f"/v1/avatars/{self.id}/avatar.glb", "has_photo": self.photo is not None,
                "notes": self.notes}


DEFAULT_AVATAR = AvatarRecord("default", "default head", "default", created=0.0)


class AvatarLibrary:
    """``<jobs dir>/avatars/<id>/``: avatar.json, the GLB (or VRM), and the photo it was made from."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "avatars"

    def _folder(self, avatar_id: str) -> Path:
        return self.root / avatar_id

    def get(self, avatar_id: str) -> AvatarRecord | None:
        if avatar_id == "default":
            return DEFAULT_AVATAR
        return _read_record(AvatarRecord, self._folder(avatar_id) / "avatar.json") if is_id(avatar_id) else None

    def all(self) -> list[AvatarRecord]:
        found = [self.get(folder.name) for folder in sorted(self.root.iterdir())] if self.root.is_dir() else []
        uploaded = sorted((record for record in found if record is not None), key=lambda r: r.created)
        return [DEFAULT_AVATAR, *uploaded]

    def glb_path(self, record: AvatarRecord) -> Path | None:
        """The avatar's file (None for the default head, which the renderer finds itself)."""
        return None if record.kind == "default" else self._folder(record.id) / record.file

    def photo_path(self, record: AvatarRecord) -> Path | None:
        return None if record.photo is None else self._folder(record.id) / record.photo

    def add_photo(self, data: bytes, name: str | None) -> AvatarRecord:
        """Make a photo avatar (docs/photo-avatar.md); RequestError for a file that is not an image or has no
        usable face."""
        from ..photo_avatar import PhotoAvatarError, photo_avatar_glb

        kind = sniff(data[:16])
        if kind not in IMAGE_TYPES:
            raise _unsupported("the photo", "a JPEG, PNG or WebP image")
        record = AvatarRecord(new_id(), _display_name(name, "photo avatar"), "photo", photo=f"photo.{kind}")
        with _new_folder(self._folder(record.id)) as folder:
            (folder / record.photo).write_bytes(data)
            try:
                glb, record.notes = photo_avatar_glb(folder / record.photo)
            except PhotoAvatarError as error:
                raise RequestError("bad_upload", f"{error} (the photo was not kept)", "photo") from None
            (folder / record.file).write_bytes(glb)
            write_json_atomically(folder / "avatar.json", asdict(record))
        return record

    def add_glb(self, data: bytes, name: str | None) -> AvatarRecord:
        """Keep an avatar file as it is, once the renderer has read it (a GLB or a VRM 1.0 file)."""
        from ..render.avatar import Avatar

        if sniff(data[:16]) != "glb":
            raise _unsupported("the avatar", "a binary glTF file (.glb or .vrm)")
        record = AvatarRecord(new_id(), _display_name(name, "uploaded avatar"), "glb")
        with _new_folder(self._folder(record.id)) as folder:
            (folder / record.file).write_bytes(data)
            try:
                record.notes = list(Avatar.load(folder / record.file, "auto").warnings())
            except Exception as error:  # noqa: BLE001 - any reason the renderer cannot use it is the upload's fault
                raise RequestError("bad_upload", f"the avatar cannot be used: {error}", "avatar") from None
            write_json_atomically(folder / "avatar.json", asdict(record))
        return record

    def delete(self, avatar_id: str) -> bool:
        if avatar_id == "default" or self.get(avatar_id) is None:
            return False
        shutil.rmtree(self._folder(avatar_id), ignore_errors=True)
        return True


def _display_name(name: str | None, fallback: str) -> str:
    text = " ".join((name or "").split())[:80]
    return text or fallback


@dataclass
class UploadRecord:
    id: str
    kind: str
    size: int
    duration_s: float
    created: float = field(default_factory=time.time)

    @property
    def file(self) -> str:
        return f"audio.{self.kind}"

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "media_type": AUDIO_TYPES[self.kind], "size": self.size,
                "duration_s": round(self.duration_s, 3), "created": iso(self.created)}


class UploadStore:
    """``<jobs dir>/uploads/<id>/``: a recording to animate, checked by decoding it once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "uploads"

    def _folder(self, upload_id: str) -> Path:
        return self.root / upload_id

    def add_audio(self, data: bytes) -> UploadRecord:
        from ..lipsync.audio_input import InvalidAudioError, load_audio

        kind = sniff(data[:16])
        if kind not in AUDIO_TYPES:
            raise _unsupported("the recording", "an audio file (WAV, FLAC, MP3, Ogg, M4A or WebM)")
        record = UploadRecord(new_id(), kind, len(data), 0.0)
        with _new_folder(self._folder(record.id)) as folder:
            (folder / record.file).write_bytes(data)
            rate = 16000
            try:
                record.duration_s = len(load_audio(folder / record.file, rate)) / rate
            except InvalidAudioError as error:
                raise RequestError("bad_upload", f"the recording cannot be used: {error}", "audio") from None
            write_json_atomically(folder / "upload.json", asdict(record))
        return record

    def get(self, upload_id: str) -> UploadRecord | None:
        return _read_record(UploadRecord, self._folder(upload_id) / "upload.json") if is_id(upload_id) else None

    def path(self, record: UploadRecord) -> Path:
        return self._folder(record.id) / record.file

    def expire(self, before: float) -> int:
        """Delete uploads made before ``before`` (epoch seconds); how many went."""
        gone = 0
        if self.root.is_dir():
            for folder in self.root.iterdir():
                record = self.get(folder.name)
                if record is not None and record.created < before:
                    shutil.rmtree(folder, ignore_errors=True)
                    gone += 1
        return gone
