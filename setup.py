"""The wheel's build step: copy the web demo's files into avatarlab_bridge/web/ so an installed bridge serves them,
and the default avatar into avatarlab/data/ (the package reads it, the bridge serves it).

Everything else is declared in pyproject.toml. The files are copied into the build folder only (never
into the source tree); an editable install reads them from the checkout instead (avatarlab_bridge.app.WebFiles,
avatarlab.avatar.default_avatar_path).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TARGET = Path("avatarlab_bridge/web")
# (folder in the checkout, folder in the build, files): what the avatarlab package itself carries
PACKAGE_FILES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("models/avatar", "avatarlab/data", ("default_head.glb",)),
)
THREE = "threejs_client/node_modules/three"
# (folder in the checkout, folder under avatarlab_bridge/web/, files: glob patterns relative to the folder)
WEB_FILES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("threejs_client/demo", "demo", ("*.html", "*.js", "*.css")),
    ("threejs_client/src", "pkg", ("*.js", "generated/*.js")),
    ("threejs_client", "pkg", ("LICENSE",)),
    # what the demo imports of three.js (npm ci --prefix threejs_client fetches it)
    (THREE, "three", ("LICENSE", "build/three.module.js", "build/three.core.js", "examples/jsm/loaders/GLTFLoader.js",
                      "examples/jsm/utils/BufferGeometryUtils.js", "examples/jsm/utils/SkeletonUtils.js")),
)


def web_files() -> list[tuple[Path, Path]]:
    """(source, destination relative to the build folder) for every web file and package file the wheel ships."""
    pairs = []
    groups = [(TARGET / target, folder, patterns) for folder, target, patterns in WEB_FILES]
    groups += [(Path(target), folder, patterns) for folder, target, patterns in PACKAGE_FILES]
    for destination, folder, patterns in groups:
        found = sorted({path for pattern in patterns for path in (ROOT / folder).glob(pattern)})
        if not found and folder != THREE:
            raise FileNotFoundError(f"no {' or '.join(patterns)} in {folder}: build the wheel from a full checkout")
        pairs += [(path, destination / path.relative_to(ROOT / folder)) for path in found]
    if not (ROOT / THREE).is_dir():
        logging.getLogger("setup").warning("%s is missing (npm ci --prefix threejs_client): the wheel's web demo "
                                           "will not find three.js", THREE)
    return pairs


class BuildPyWithWeb(build_py):
    """build_py, then the web files (not in editable mode: the checkout serves them there)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for source, target in web_files():
            destination = Path(self.build_lib) / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(Path(self.build_lib) / target) for _, target in web_files()]


setup(cmdclass={"build_py": BuildPyWithWeb})
