"""Small helpers over pygltflib: pack numpy arrays into one GLB buffer, with exact min/max and sparse morph targets.

The Khronos validator checks accessor bounds and alignment byte for byte, so every accessor goes through here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import pygltflib as gl

_COMPONENT = {np.dtype(np.float32): gl.FLOAT, np.dtype(np.uint16): gl.UNSIGNED_SHORT,
              np.dtype(np.uint32): gl.UNSIGNED_INT}
_TYPE = {1: gl.SCALAR, 2: gl.VEC2, 3: gl.VEC3, 4: gl.VEC4}


def _align4(data: bytearray) -> None:
    data.extend(b"\0" * (-len(data) % 4))


@dataclass
class BufferPacker:
    """Appends typed arrays to a GLB's single binary buffer and declares their accessors.

    Works on a fresh document or on a loaded one (new data goes after the existing blob).
    """

    gltf: gl.GLTF2
    blob: bytearray = field(default_factory=bytearray)

    @classmethod
    def for_document(cls, gltf: gl.GLTF2) -> BufferPacker:
        if not gltf.buffers:
            gltf.buffers.append(gl.Buffer(byteLength=0))
        if len(gltf.buffers) != 1 or gltf.buffers[0].uri is not None:
            raise ValueError("only self-contained GLB files with one binary buffer are supported")
        for accessor in gltf.accessors:  # pygltflib fills in byteOffset 0, which glTF forbids without a bufferView
            if accessor.bufferView is None:
                accessor.byteOffset = None
        return cls(gltf, bytearray(gltf.binary_blob() or b""))

    def view(self, data: bytes, target: int | None = None, stride: int | None = None) -> int:
        """A buffer view over ``data``, 4-byte aligned; returns its index."""
        _align4(self.blob)
        self.gltf.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data),
                                                   target=target, byteStride=stride))
        self.blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, target: int | None = None, bounds: bool = True) -> int:
        """An accessor over a (n,) or (n, k) array of float32 / uint16 / uint32; min/max where glTF wants them."""
        array = np.ascontiguousarray(array)
        width = 1 if array.ndim == 1 else array.shape[1]
        view = self.view(array.tobytes(), target)
        accessor = gl.Accessor(bufferView=view, componentType=_COMPONENT[array.dtype], count=len(array),
                               type=_TYPE[width])
        if bounds:
            accessor.min, accessor.max = _bounds(array)
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def sparse_vec3(self, deltas: np.ndarray, tolerance: float = 1e-7) -> int:
        """A morph target accessor that stores only the vertices that move (at least one, as glTF requires)."""
        deltas = np.ascontiguousarray(deltas, dtype=np.float32)
        moving = np.flatnonzero(np.abs(deltas).max(axis=1) > tolerance).astype(np.uint32)
        if len(moving) == 0:
            moving = np.zeros(1, dtype=np.uint32)
        exact = np.zeros_like(deltas)
        exact[moving] = deltas[moving]
        index_type = np.uint16 if len(deltas) < 65536 else np.uint32
        indices_view = self.view(moving.astype(index_type).tobytes())
        values_view = self.view(exact[moving].tobytes())
        sparse = gl.Sparse(count=len(moving),
                           indices=gl.AccessorSparseIndices(bufferView=indices_view, componentType=_COMPONENT[np.dtype(index_type)]),
                           values=gl.AccessorSparseValues(bufferView=values_view))
        low, high = _bounds(exact)
        self.gltf.accessors.append(gl.Accessor(componentType=gl.FLOAT, count=len(deltas), type=gl.VEC3, byteOffset=None,
                                               sparse=sparse, min=low, max=high))
        return len(self.gltf.accessors) - 1

    def finish(self) -> bytes:
        """The GLB bytes of the document with the packed buffer."""
        _align4(self.blob)
        self.gltf.buffers[0].byteLength = len(self.blob)
        self.gltf.set_binary_blob(bytes(self.blob))
        return b"".join(self.gltf.save_to_bytes())


def _bounds(array: np.ndarray) -> tuple[list, list]:
    """min/max as the validator recomputes them: per component, from the stored (float32) values."""
    data = array.reshape(len(array), -1)
    cast = float if array.dtype == np.float32 else int
    return [cast(v) for v in data.min(axis=0)], [cast(v) for v in data.max(axis=0)]


def read_glb(data: bytes) -> gl.GLTF2:
    """Parse GLB bytes (raises ValueError for anything that is not a GLB 2.0 file)."""
    if len(data) < 20 or data[:4] != b"glTF":
        raise ValueError("not a binary glTF (.glb) file")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2 or length > len(data):
        raise ValueError(f"unsupported or truncated GLB (version {version}, {length} bytes declared)")
    return gl.GLTF2.load_from_bytes(data)


def glb_json_chunk(path) -> dict | None:
    """Only the JSON chunk of a GLB file, read without loading its binary data (cheap resume checks)."""
    import json

    try:
        with open(path, "rb") as stream:
            header = stream.read(20)
            if len(header) < 20 or header[:4] != b"glTF":
                return None
            chunk_length, chunk_type = struct.unpack_from("<II", header, 12)
            if chunk_type != 0x4E4F534A:
                return None
            return json.loads(stream.read(chunk_length))
    except (OSError, ValueError):
        return None
