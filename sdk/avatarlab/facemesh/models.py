"""MediaPipe's face models: the .tflite files taken from the mediapipe 0.10.14 wheel at install time.

`python -m avatarlab.facemesh.models` (a Makefile install step) downloads that wheel from the package
registry with pip, keeps only the four .tflite files (Apache-2.0) and deletes the rest. Nothing is fetched
at run time: a missing model is a clear error that names the install command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import AvatarLabError

MEDIAPIPE_VERSION = "0.10.14"
#: Environment variable naming another folder holding the .tflite files.
MODELS_ENV = "AVATARLAB_FACEMESH_MODELS"
DEFAULT_FOLDER = Path(__file__).resolve().parent / "_models"
MODEL_FILES = {
    "face_detection_short_range.tflite": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "face_detection_full_range_sparse.tflite": "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    "face_landmark.tflite": "mediapipe/modules/face_landmark/face_landmark.tflite",
    "face_landmark_with_attention.tflite": "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
}


#: The models are the same in every mediapipe wheel; this one exists whatever Python or machine installs us
#: (mediapipe 0.10.14 has no wheels for Python 3.13).
WHEEL_TARGET = ("--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--implementation", "cp",
                "--abi", "cp311")


class FaceModelMissingError(AvatarLabError, FileNotFoundError):
    """The face models were not installed."""


def models_folder() -> Path:
    return Path(os.environ.get(MODELS_ENV) or DEFAULT_FOLDER)


def model_path(name: str) -> Path:
    """Path of one installed model; FaceModelMissingError names the install step when it is absent."""
    path = models_folder() / name
    if not path.is_file():
        raise FaceModelMissingError(
            f"face model {path} is not installed; run `make install` or `python -m avatarlab.facemesh.models` "
            f"(it takes the .tflite files from the mediapipe=={MEDIAPIPE_VERSION} wheel)")
    return path


def extract(wheel: Path, folder: Path) -> list[Path]:
    """Copy the four model files out of a mediapipe wheel into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name, member in MODEL_FILES.items():
            target = folder / name
            partial = target.with_suffix(".part")
            partial.write_bytes(archive.read(member))
            partial.replace(target)
            written.append(target)
    return written


def install(folder: Path | None = None) -> list[Path]:
    """Download the mediapipe wheel (no dependencies) with pip and extract the models; skip if present."""
    folder = folder or models_folder()
    if all((folder / name).is_file() for name in MODEL_FILES):
        return [folder / name for name in MODEL_FILES]
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        *WHEEL_TARGET, f"mediapipe=={MEDIAPIPE_VERSION}", "-d", scratch], check=True)
        wheels = sorted(Path(scratch).glob("mediapipe-*.whl"))
        if not wheels:
            raise FaceModelMissingError(f"pip did not download a mediapipe=={MEDIAPIPE_VERSION} wheel")
        return extract(wheels[0], folder)


if __name__ == "__main__":
    for written in install():
        print(written)
