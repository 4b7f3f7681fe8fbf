"""The three.js package's generated vocabulary equals a fresh generation from sdk/avatarlab/data."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_committed_vocabulary_is_fresh():
    spec = importlib.util.spec_from_file_location("generate_vocabulary",
                                                  ROOT / "threejs_client/tools/generate_vocabulary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "threejs_client/src/generated/vocabulary.js").read_text()
    assert committed == module.generate(), "run: python threejs_client/tools/generate_vocabulary.py"
