"""The Unity package's generated copies (vocabulary, retarget profiles, .meta files) match their sources."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "unity_plugin" / "Tools"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_vocabulary_is_current():
    rendered = _load("generate_vocabulary").render()
    assert rendered, "the generator produced nothing"
    for path, text in rendered.items():
        assert path.exists(), f"{path} is missing: run unity_plugin/Tools/generate_vocabulary.py"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run unity_plugin/Tools/generate_vocabulary.py"


def test_generated_copies_name_every_channel_and_profile():
    channels = json.loads((ROOT / "sdk" / "avatarlab" / "data" / "channels.json").read_text())
    profiles = json.loads((ROOT / "sdk" / "avatarlab" / "data" / "retarget_profiles.json").read_text())
    generated = ROOT / "unity_plugin" / "Runtime" / "Protocol" / "Generated"
    text = (generated / "Channels.cs").read_text() + (generated / "RetargetProfiles.cs").read_text()
    for group in ("oculus_visemes", "arkit_blendshapes", "head", "eyes"):
        for name in channels[group]:
            assert f'"{name}"' in text
    for name in profiles:
        if not name.startswith("_"):
            assert f'case "{name}"' in text


def test_every_unity_asset_has_its_meta_file():
    rendered = _load("generate_meta").render()
    assert any(p.name == "AvatarLabClient.cs.meta" for p in rendered)
    for meta, text in rendered.items():
        assert meta.exists(), f"{meta} is missing: run unity_plugin/Tools/generate_meta.py"
        assert meta.read_text() == text, f"{meta} is stale: run unity_plugin/Tools/generate_meta.py"
    guids = [text.split("guid: ")[1].split()[0] for text in rendered.values()]
    assert len(guids) == len(set(guids))


def test_package_manifest_is_mit_and_gpl_free():
    plugin = ROOT / "unity_plugin"
    manifest = json.loads((plugin / "package.json").read_text())
    assert manifest["license"] == "MIT"
    assert "MIT License" in (plugin / "LICENSE").read_text()
    assert "dependencies" not in manifest or not manifest["dependencies"]
    for path in plugin.rglob("*.cs"):
        text = path.read_text(encoding="utf-8").lower()
        assert "espeak" not in text and "piper" not in text, f"{path} refers to GPL code"
