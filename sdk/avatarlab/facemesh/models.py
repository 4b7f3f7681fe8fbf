"""MediaPipe's face models: the .tflite files taken from the mediapipe 0.10.14 wheel at install time.

`python -m avatarlab.facemesh.models` (a Makefile install step) downloads that wheel from the package
registry with pip, keeps only the five .tflite files (Apache-2.0) and deletes the rest. Re-running it is
cheap: it returns at once when every file is there, and otherwise downloads the wheel and writes only the
missing files (a folder installed before a model was added gets just that one). Nothing is fetched at run
time: a missing model is a clear error that names the install command.
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
    "iris_landmark.tflite": "mediapipe/modules/iris_landmark/iris_landmark.tflite",
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


def missing(folder: Path) -> list[str]:
    """Names of the model files not yet in ``folder``."""
    return [name for name in MODEL_FILES if not (folder / name).is_file()]


def extract(wheel: Path, folder: Path, names: list[str] | None = None) -> list[Path]:
    """Copy model files (all of them, or only ``names``) out of a mediapipe wheel into ``folder``; each file
    appears whole or not at all (written beside it, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in MODEL_FILES if names is None else names:
            target = folder / name
            partial = target.with_suffix(".part")
            partial.write_bytes(archive.read(MODEL_FILES[name]))
            partial.replace(target)
            written.append(target)
    return written


def download_wheel(scratch: Path) -> Path:
    """The mediapipe wheel (no dependencies), downloaded with pip from the package registry into ``scratch``."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    *WHEEL_TARGET, f"mediapipe=={MEDIAPIPE_VERSION}", "-d", str(scratch)], check=True)
    wheels = sorted(scratch.glob("mediapipe-*.whl"))
    if not wheels:
        raise FaceModelMissingError(f"pip did not download a mediapipe=={MEDIAPIPE_VERSION} wheel")
    return wheels[0]


def install(folder: Path | None = None) -> list[Path]:
    """Fill ``folder`` with the models: nothing to do when all are there, else download the wheel and extract
    only the missing ones. Returns the files written."""
    folder = folder or models_folder()
    needed = missing(folder)
    if not needed:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        return extract(download_wheel(Path(scratch)), folder, needed)


if __name__ == "__main__":
    written = install()
    for path in written:
        print(path)
    if not written:
        print(f"face models: all {len(MODEL_FILES)} already in {models_folder()}")
