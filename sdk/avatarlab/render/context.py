"""An offscreen OpenGL 3.3+ context through EGL: no display needed. A GPU when EGL offers one, else Mesa llvmpipe."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import RenderError

_SOFTWARE = ("llvmpipe", "softpipe", "swrast", "lavapipe")
_INSTALL_HINT = ("install Mesa's EGL (Debian: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgl1, "
                 "or `make render-tools`) and the Python package moderngl")


@dataclass
class GLContext:
    """A moderngl context and what it runs on."""

    ctx: Any  # moderngl.Context
    renderer: str
    device: int

    @property
    def software(self) -> bool:
        return any(name in self.renderer.lower() for name in _SOFTWARE)

    @property
    def label(self) -> str:
        return f"{self.renderer} ({'CPU' if self.software else 'GPU'})"

    def release(self) -> None:
        if self.ctx is not None:
            self.ctx.release()
            self.ctx = None


def _create(index: int) -> GLContext:
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl", device_index=index)
    if ctx.version_code < 330:
        version = ctx.info.get("GL_VERSION", "?")
        ctx.release()
        raise RenderError(f"EGL device {index} offers OpenGL {version}; the renderer needs 3.3 or later")
    return GLContext(ctx, str(ctx.info.get("GL_RENDERER", "unknown")), index)


def _device_count(error: Exception) -> int | None:
    match = re.search(r"found (\d+) devices", str(error))
    return int(match.group(1)) if match else None


def create_context(device: str = "auto") -> GLContext:
    """``auto``: the first hardware EGL device, else the first one (llvmpipe); ``cpu``: a software device;
    a number: that EGL device. Raises RenderError with what to install when there is none."""
    try:
        import moderngl  # noqa: F401
    except ImportError as error:
        raise RenderError(f"the renderer needs the moderngl package: pip install moderngl ({error})") from error
    if device.isdigit():
        try:
            return _create(int(device))
        except RenderError:
            raise
        except Exception as error:  # noqa: BLE001 - glcontext raises plain Exception
            raise RenderError(f"cannot open EGL device {device}: {error}") from error
    candidates: list[GLContext] = []
    first_error: Exception | None = None
    index, count = 0, None
    while count is None or index < count:
        try:
            context = _create(index)
        except RenderError:
            index += 1
            continue
        except Exception as error:  # noqa: BLE001
            found = _device_count(error)
            first_error = first_error or error
            if found is None or index >= found:
                break
            count = found
            index += 1
            continue
        if context.software == (device == "cpu"):
            for other in candidates:
                other.release()
            return context
        candidates.append(context)
        index += 1
        if count is None:
            count = index + 8  # keep probing: glcontext reports the device count only past the last one
    if candidates:
        chosen, rest = candidates[0], candidates[1:]
        for other in rest:
            other.release()
        if device == "cpu" and not chosen.software:
            chosen.release()
            raise RenderError("no software (llvmpipe) EGL device found; " + _INSTALL_HINT)
        return chosen
    raise RenderError(f"cannot create an offscreen OpenGL context through EGL ({first_error}); {_INSTALL_HINT}")
