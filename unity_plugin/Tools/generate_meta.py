#!/usr/bin/env python3
"""Write the Unity .meta file of every file and folder of the package (deterministic GUIDs).

A package added by git URL is immutable in Unity: assets without a committed .meta are ignored,
so every asset needs one. GUIDs come from the path, so rerunning changes nothing.

    python unity_plugin/Tools/generate_meta.py          # write missing or stale .meta files
    python unity_plugin/Tools/generate_meta.py --check  # exit 1 if any is missing or differs
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
_TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"


def guid(rel: str) -> str:
    return hashlib.md5(f"com.avatarlab.client/{rel}".encode()).hexdigest()


def meta_text(path: Path) -> str:
    rel = path.relative_to(PLUGIN).as_posix()
    head = f"fileFormatVersion: 2\nguid: {guid(rel)}\n"
    if path.is_dir():
        return head + "folderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n" + _TAIL
    if path.suffix == ".cs":
        return (head + "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
                "  executionOrder: 0\n  icon: {instanceID: 0}\n" + _TAIL)
    if path.suffix == ".asmdef":
        return head + "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + _TAIL
    if path.name == "package.json":
        return head + "PackageManifestImporter:\n  externalObjects: {}\n" + _TAIL
    if path.suffix in (".md", ".json", ".txt") or path.name == "LICENSE":
        return head + "TextScriptImporter:\n  externalObjects: {}\n" + _TAIL
    return head + "DefaultImporter:\n  externalObjects: {}\n" + _TAIL


def assets() -> list[Path]:
    """What Unity imports: everything except hidden and `~` folders (and .meta files themselves)."""
    found = []
    for path in sorted(PLUGIN.rglob("*")):
        parts = path.relative_to(PLUGIN).parts
        if any(p.endswith("~") or p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        if path.suffix in (".meta", ".pyc"):
            continue
        found.append(path)
    return found


def render() -> dict[Path, str]:
    return {path.with_name(path.name + ".meta"): meta_text(path) for path in assets()}


def main() -> int:
    check = "--check" in sys.argv[1:]
    bad = []
    for meta, text in render().items():
        if meta.exists() and meta.read_text() == text:
            continue
        if check:
            bad.append(meta)
        else:
            meta.write_text(text)
    for meta in bad:
        print(f"missing or stale: {meta.relative_to(PLUGIN.parent)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
