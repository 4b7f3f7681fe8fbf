"""`avatarlab --version`, `--help` and `<command> --help` start fast: no ML runtime, GL or web stack is imported.

Each subcommand imports its heavy modules only when it runs (docs/lipsync.md, "Speed"). The check is on what is
imported, not on time, which a shared machine makes noisy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
#: Modules that cost 0.05-1 s to import and that no help text needs.
HEAVY = ("onnx", "onnxruntime", "torch", "pocketsphinx", "moderngl", "fastapi", "scipy", "starlette", "uvicorn",
         "zmq", "ml_dtypes", "pygltflib", "ai_edge_litert", "tflite_runtime")
#: Every subcommand, and the client's (a new one must be added here so that its --help is checked too).
COMMANDS = ("speak", "voices", "serve", "keys", "client", "export", "avatar", "lipsync", "bridge", "demo", "render",
            "sync-check")
CLIENT_COMMANDS = ("speak", "listen", "ping", "status", "voices")

#: Runs the CLI's main with the given arguments, then writes the names of every loaded module to a file.
_LOADED = """\
import json, sys
from avatarlab.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "bridge")])}


def _heavy(modules: list[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def _loaded(tmp_path: Path, *args: str) -> tuple[list[str], str]:
    """Modules loaded after `avatarlab ARGS` ran in a fresh interpreter, and what it printed."""
    listing = tmp_path / "modules.json"
    result = subprocess.run([sys.executable, "-c", _LOADED, str(listing), *args], capture_output=True, text=True,
                            env=_env(), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(listing.read_text()), result.stdout


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["speak", "--help"]])
def test_python_m_avatarlab_imports_no_heavy_module(args: list[str]) -> None:
    """The real entry point, read with -X importtime: every module the interpreter imported is listed."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "avatarlab", *args], capture_output=True,
                            text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:") and "|" in line]
    assert "avatarlab.cli" in imported  # the listing is real
    assert _heavy(imported) == []
    assert result.stdout.startswith("avatarlab ") if args == ["--version"] else "usage: avatarlab" in result.stdout


def test_every_commands_help_imports_no_heavy_module(tmp_path: Path) -> None:
    modules, printed = _loaded(tmp_path, "--help")
    assert _heavy(modules) == []
    listed = [line.split()[0] for line in printed.split("positional arguments:")[1].split("options:")[0].splitlines()
              if line.startswith("    ") and not line.startswith("      ")]
    assert tuple(listed) == COMMANDS, "a new subcommand: add it to COMMANDS"
    for command in [[name] for name in COMMANDS] + [["client", name] for name in CLIENT_COMMANDS]:
        modules, printed = _loaded(tmp_path, *command, "--help")
        assert printed.startswith(f"usage: avatarlab {' '.join(command)}"), printed
        assert _heavy(modules) == [], command


def test_the_heavy_modules_do_load_when_a_command_runs(tmp_path: Path) -> None:
    """The check above can fail: running `voices` loads nothing heavy, but running lipsync loads pocketsphinx."""
    take = ROOT / "examples" / "take.ogg"
    modules, _ = _loaded(tmp_path, "lipsync", str(take), "--out", str(tmp_path / "out"), "--quiet")
    assert "pocketsphinx" in _heavy(modules) and "onnxruntime" in _heavy(modules)
    # but not onnx (0.7 s): only the TTS voice loader (avatarlab.vits) needs it, and lip sync speaks no text
    assert "onnx" not in modules and "avatarlab.vits" not in modules


@pytest.mark.parametrize("package", ["avatarlab.render", "avatarlab.lipsync", "avatarlab.export"])
def test_lazy_packages_still_give_every_public_name(package: str) -> None:
    """The packages load their submodules on first use; every name they export must still resolve."""
    import importlib

    module = importlib.import_module(package)
    assert all(getattr(module, name) is not None for name in module.__all__)
    assert set(module.__all__) <= set(dir(module))
    assert module.__name__ + ".cli" == module.cli.__name__  # a submodule, as when the package imported it eagerly
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018
