"""The package as a user installs it: a wheel (not editable), installed into its own folder and run from
elsewhere, ships every module, ``py.typed``, ``python -m avatarlab``, and the bridge serves the demo page,
the package's ES modules, three.js and the default avatar from the installed files (not from the checkout).

Built offline with this venv's setuptools (``--no-build-isolation``); the dependencies come from the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from daemon_process import free_port
from web_processes import running_bridge

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "sdk", "bridge", "threejs_client", "models")
THREE = ROOT / "threejs_client/node_modules/three"


def pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel installed with --target into a folder of its own (its dependencies: this venv's)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"  # the checkout's inputs by symlink, so build/ and the egg-info land here, not in the repo
    source.mkdir()
    for name in BUILD_INPUTS:
        (source / name).symlink_to(ROOT / name)
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(base / "dist"), str(source),
        cwd=base)
    (wheel,) = (base / "dist").glob("avatarlab-*.whl")
    pip("install", "--no-deps", "--no-index", "--target", str(base / "site"), str(wheel), cwd=base)
    return base / "site"


def run_python(site: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with only the installed folder added to the path, from a folder that is not the checkout."""
    return subprocess.run([sys.executable, *args], cwd=site.parent, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(site)})


def test_wheel_ships_every_module_and_py_typed(installed):
    tracked = subprocess.run(["git", "ls-files", "sdk/avatarlab/*.py", "bridge/avatarlab_bridge/*.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked
    for path in tracked:
        relative = Path(path).relative_to(Path(path).parts[0])
        assert (installed / relative).is_file(), f"{relative} is not in the wheel"
    assert (installed / "avatarlab/py.typed").is_file()
    assert (installed / "avatarlab/data/audio2face.onnx").is_file()
    assert (installed / "avatarlab/data/default_head.glb").read_bytes() == (ROOT / "models/avatar/default_head.glb").read_bytes()
    where = run_python(installed, "-c", "import avatarlab, avatarlab_bridge.app as a; "
                       "from avatarlab.avatar import default_avatar_path as d; "
                       "print(avatarlab.__file__); print(a.__file__); print(a.WebFiles.find().demo); print(d()); "
                       "print(a.WebFiles.find().avatar)")
    assert where.returncode == 0, where.stderr
    assert all(Path(line).is_relative_to(installed) for line in where.stdout.split()), where.stdout  # not the checkout


def test_python_dash_m_avatarlab(installed):
    proc = run_python(installed, "-m", "avatarlab", "--help")
    assert proc.returncode == 0 and "usage: avatarlab" in proc.stdout and "bridge" in proc.stdout, proc.stderr
    proc = run_python(installed, "-m", "avatarlab", "speak", "--no-such-option")
    assert proc.returncode == 2 and "avatarlab" in proc.stderr and "Traceback" not in proc.stderr


def fetch(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_installed_bridge_serves_the_demo_and_the_avatar(installed):
    url = f"tcp://127.0.0.1:{free_port()}"  # no daemon: the files are served all the same
    with running_bridge(url, wait_for="down", pythonpath=[installed], cwd=installed.parent,
                        command=("-m", "avatarlab", "bridge")) as port:
        status, page = fetch(port, "/demo/")
        assert status == 200 and b"importmap" in page
        importmap = json.loads(page.split(b'<script type="importmap">')[1].split(b"</script>")[0])
        assert importmap["imports"]["avatarlab-three"] == "/pkg/index.js"
        status, glb = fetch(port, "/avatar/default_head.glb")
        assert status == 200 and glb[:4] == b"glTF" and glb == (ROOT / "models/avatar/default_head.glb").read_bytes()
        for path in ("/demo/main.js", "/pkg/index.js", "/pkg/AvatarSpeaker.js", "/pkg/generated/vocabulary.js"):
            assert fetch(port, path)[0] == 200, path
        if THREE.is_dir():  # what the page imports of three.js (the wheel ships it when npm ci has fetched it)
            for path in ("build/three.module.js", "build/three.core.js", "examples/jsm/loaders/GLTFLoader.js",
                         "examples/jsm/utils/BufferGeometryUtils.js", "examples/jsm/utils/SkeletonUtils.js"):
                status, body = fetch(port, f"/vendor/three/{path}")
                assert status == 200 and body == (THREE / path).read_bytes(), path
