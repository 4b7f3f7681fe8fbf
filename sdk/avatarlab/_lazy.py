"""Lazy package exports (PEP 562): a package's public names import their submodule on first use.

So that importing one light submodule (``avatarlab.render.settings``, whose constants a CLI's --help shows) does
not run a package ``__init__`` that loads the renderer, the TTS engine or pocketsphinx (onnx alone is ~1 s).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, tuple[str, ...]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``; ``exports`` maps a submodule ('.video') to the names it
    gives the package. The first access imports the submodule and keeps the value on the package."""
    where = {name: submodule for submodule, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        submodule = where.get(name)
        if submodule is None:  # `package.video` worked while the package imported its submodules eagerly
            if name.startswith("_") or importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")
        value = getattr(importlib.import_module(submodule, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
