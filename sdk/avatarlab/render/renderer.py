"""Draw an avatar in a pose into an offscreen framebuffer and read the pixels back (RGBA, top row first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .avatar import Avatar
from .camera import Camera
from .context import GLContext, create_context
from .coverage import BAND_ROWS, band_rectangles, clip_to_pixels, rectangle_triangles
from .errors import RenderError
from .images import read_image
from .morph import Morpher
from .rig import pose_vector
from .scene import Material, Primitive
from .settings import Background, RenderSettings
from .shaders import (AVATAR_FRAGMENT, AVATAR_VERTEX, BACKGROUND_FRAGMENT, BACKGROUND_VERTEX, FXAA_FRAGMENT,
                      FXAA_VERTEX, variant)

_SRGB8_ALPHA8 = 0x8C43
_CLAMP_TO_EDGE = 33071
_NEAREST = 9728
#: Soft three-point light in the avatar's frame (it faces +Z): key from above its left, cool fill from its right,
#: rim from behind; directions point towards the lights. Colours are linear intensities.
_LIGHT_DIRECTIONS = np.array([[0.45, 0.65, 0.62], [-0.75, 0.15, 0.65], [0.0, 0.55, -0.85]])
_LIGHT_COLOURS = np.array([[1.05, 0.98, 0.92], [0.30, 0.33, 0.38], [0.35, 0.35, 0.38]])
_SKY, _GROUND = (0.42, 0.43, 0.46), (0.20, 0.18, 0.17)
#: Texture slots: (material field, uniform name, sRGB, unit, define).
_SLOTS = (("base_color_texture", "u_base_texture", True, 0, "HAS_BASE_TEXTURE"),
          ("normal_texture", "u_normal_texture", False, 1, "HAS_NORMAL_TEXTURE"),
          ("metallic_roughness_texture", "u_mr_texture", False, 2, "HAS_MR_TEXTURE"),
          ("occlusion_texture", "u_occlusion_texture", False, 3, "HAS_OCCLUSION_TEXTURE"),
          ("emissive_texture", "u_emissive_texture", True, 4, "HAS_EMISSIVE_TEXTURE"))
_JOINT_UNIT = 5


@dataclass
class _Draw:
    """One primitive of one node, with its GPU buffers and the shader variant it needs."""

    node: int
    mesh: int
    primitive: Primitive
    morpher: Morpher | None
    vao: object
    program: object
    positions: object
    normals: object
    material: Material
    textures: list[tuple[object, int]]  # (GL texture, unit)
    skinned: bool
    centroid: np.ndarray
    posed: np.ndarray | None = None  # the positions last drawn (morphed), in the node's space


def _unit_rows(directions: np.ndarray) -> np.ndarray:
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def _set(program, name: str, value) -> None:
    """Set a uniform if the compiler kept it (unused uniforms are optimised away)."""
    try:
        uniform = program[name]
    except KeyError:
        return
    if isinstance(value, np.ndarray):
        uniform.write(np.ascontiguousarray(value, dtype=np.float32).tobytes())
    else:
        uniform.value = value


class Renderer:
    """GL resources for one avatar at one frame size. Use as a context manager, or call close().

    ``render(pose)`` returns (height, width, 4) uint8 RGBA; the pose is a mapping of channel names (visemes, ARKit
    blendshapes, head and eye angles in radians) or a vector indexed like ``rig.ALL_CHANNELS``.
    """

    def __init__(self, avatar: Avatar, settings: RenderSettings | None = None, *, context: GLContext | None = None
                 ) -> None:
        self.avatar = avatar
        self.settings = (settings or RenderSettings()).checked()
        self.width, self.height = self.settings.size
        self.camera = avatar.camera(self.settings.camera, self.width / self.height)
        self.gl: GLContext | None = context or create_context(self.settings.device)
        self._owns_context = context is None
        self.ctx = self.gl.ctx
        try:
            self._setup()
        except Exception:
            self.close()
            raise

    # ---- setup --------------------------------------------------------------------------------------------------
    def _setup(self) -> None:
        ctx = self.ctx
        size = (self.width, self.height)
        self.antialias = self.settings.antialias
        if self.antialias == "auto":
            self.antialias = "fxaa" if self.gl.software else "msaa"
        try:
            self._target = ctx.framebuffer(ctx.renderbuffer(size, 4))  # read back from here
            self._post = None
            if self.antialias == "msaa":
                samples = min(4, ctx.max_samples)
                self._scene = ctx.framebuffer(ctx.renderbuffer(size, 4, samples=samples),
                                              ctx.depth_renderbuffer(size, samples=samples))
            elif self.antialias == "fxaa":  # the scene into a texture; FXAA from it into the read-back buffer
                colour = ctx.texture(size, 4)
                self._scene = ctx.framebuffer(colour, ctx.depth_renderbuffer(size))
                self._post = self._build_fxaa(colour)
            else:
                self._scene = ctx.framebuffer(self._target.color_attachments[0], ctx.depth_renderbuffer(size))
        except Exception as error:  # noqa: BLE001 - moderngl raises plain Error for out-of-memory and limits
            raise RenderError(f"cannot make a {self.width}x{self.height} framebuffer on {self.gl.label}: {error}; "
                              "try a smaller --size") from error
        self._programs: dict[frozenset[str], object] = {}
        self._palettes: dict[int, np.ndarray] = {}
        self._textures: dict[tuple[int, bool], object] = {}
        self._joint_textures: dict[int, object] = {}
        self._draws = self._build_draws()
        # every draw's vertices on screen in one array, and their triangles indexing it (FXAA's bands)
        counts = [len(draw.primitive.positions) for draw in self._draws]
        self._screen_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        self._screen_pixels = np.zeros((int(self._screen_offsets[-1]), 2), np.float32)
        self._screen_corners = np.ascontiguousarray(np.concatenate(
            [draw.primitive.indices.reshape(-1, 3).astype(np.intp) + start
             for draw, start in zip(self._draws, self._screen_offsets)] or [np.zeros((0, 3), np.intp)]).T)
        self._background = self._build_background(self.settings.background)

    def _program(self, features: frozenset[str]):
        """The avatar program compiled for these features (cached); lights are set once."""
        if features not in self._programs:
            program = self.ctx.program(vertex_shader=variant(AVATAR_VERTEX, features),
                                       fragment_shader=variant(AVATAR_FRAGMENT, features))
            _set(program, "u_light_directions", _unit_rows(_LIGHT_DIRECTIONS))
            _set(program, "u_light_colours", _LIGHT_COLOURS)
            _set(program, "u_sky", _SKY)
            _set(program, "u_ground", _GROUND)
            for _, uniform, _, unit, _ in _SLOTS:
                _set(program, uniform, unit)
            _set(program, "u_joints", _JOINT_UNIT)
            self._programs[features] = program
        return self._programs[features]

    def _build_draws(self) -> list[_Draw]:
        scene = self.avatar.scene
        morphers: dict[tuple[int, int], Morpher] = {}
        draws = []
        for node_index in scene.draw_order():
            node = scene.nodes[node_index]
            if node.mesh is None:
                continue
            skin_ok = node.skin is not None and node.skin < len(scene.skins)
            for p, primitive in enumerate(scene.meshes[node.mesh].primitives):
                morpher = morphers.setdefault((node.mesh, p), Morpher(primitive)) if primitive.num_targets else None
                skinned = skin_ok and primitive.joints is not None and primitive.weights is not None
                draws.append(self._upload(node_index, node.mesh, primitive, morpher, skinned))
        return draws

    def _upload(self, node: int, mesh: int, primitive: Primitive, morpher: Morpher | None, skinned: bool) -> _Draw:
        ctx, count = self.ctx, len(primitive.positions)
        scene = self.avatar.scene
        material = scene.materials[primitive.material] \
            if primitive.material is not None and primitive.material < len(scene.materials) else Material()
        features = {"ALPHA_MASK" if material.alpha_mode == "MASK" else
                    "ALPHA_OPAQUE" if material.alpha_mode != "BLEND" else ""}
        features |= {"UNLIT"} if material.unlit else set()
        features |= {"SKINNED"} if skinned else set()
        textures = []
        for field, _, srgb, unit, define in _SLOTS:
            ref = getattr(material, field)
            texture = self._texture(ref.texture, srgb) if ref is not None and primitive.uv is not None else None
            if texture is not None:
                textures.append((texture, unit))
                features.add(define)
        if "HAS_NORMAL_TEXTURE" in features and primitive.tangents is not None:
            features.add("HAS_TANGENTS")
        features.discard("")
        program = self._program(frozenset(features))
        dynamic = morpher is not None
        positions = ctx.buffer(primitive.positions.astype("f4").tobytes(), dynamic=dynamic)
        normals = ctx.buffer(primitive.normals.astype("f4").tobytes(), dynamic=dynamic)
        colors = primitive.colors if primitive.colors is not None else np.ones((count, 4), np.float32)
        uv = primitive.uv if primitive.uv is not None else np.zeros((count, 2), np.float32)
        content = [(positions, "3f", "in_position"), (normals, "3f", "in_normal"),
                   (ctx.buffer(colors.astype("f4").tobytes()), "4f", "in_color"),
                   (ctx.buffer(uv.astype("f4").tobytes()), "2f", "in_uv")]
        if "HAS_TANGENTS" in features:
            content.append((ctx.buffer(primitive.tangents.astype("f4").tobytes()), "4f", "in_tangent"))
        if skinned:
            content.append((ctx.buffer(primitive.joints.astype("f4").tobytes()), "4f", "in_joints"))
            content.append((ctx.buffer(primitive.weights.astype("f4").tobytes()), "4f", "in_weights"))
        indices = ctx.buffer(primitive.indices.astype("u4").tobytes())
        vao = ctx.vertex_array(program, content, index_buffer=indices, index_element_size=4, skip_errors=True)
        centroid = primitive.positions.mean(axis=0) if count else np.zeros(3)
        return _Draw(node, mesh, primitive, morpher, vao, program, positions, normals, material, textures, skinned,
                     centroid)

    def _texture(self, index: int, srgb: bool):
        """GL texture for glTF texture ``index`` (None when missing or undecodable)."""
        import moderngl

        key = (index, srgb)
        if key in self._textures:
            return self._textures[key]
        scene = self.avatar.scene
        texture = None
        if 0 <= index < len(scene.textures) and scene.textures[index].image is not None:
            image = scene.image(scene.textures[index].image)
            if image is not None:
                info = scene.textures[index]
                texture = self.ctx.texture((image.shape[1], image.shape[0]), 4, np.ascontiguousarray(image).tobytes(),
                                           internal_format=_SRGB8_ALPHA8 if srgb else None)
                texture.build_mipmaps()
                texture.filter = (moderngl.NEAREST, moderngl.NEAREST) if info.mag_filter == _NEAREST else \
                    (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
                texture.repeat_x = info.wrap_s != _CLAMP_TO_EDGE
                texture.repeat_y = info.wrap_t != _CLAMP_TO_EDGE
                texture.anisotropy = 4.0
        self._textures[key] = texture
        return texture

    def _quad(self, program):
        corners = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4")
        return self.ctx.vertex_array(program, [(self.ctx.buffer(corners.tobytes()), "2f", "in_corner")])

    def _build_fxaa(self, colour):
        """FXAA's program and a vertex buffer for up to one rectangle per band (coverage.py)."""
        import moderngl

        colour.filter = (moderngl.LINEAR, moderngl.LINEAR)
        colour.repeat_x = colour.repeat_y = False
        program = self.ctx.program(vertex_shader=FXAA_VERTEX, fragment_shader=FXAA_FRAGMENT)
        _set(program, "u_texel", np.array([1.0 / self.width, 1.0 / self.height]))
        corners = self.ctx.buffer(reserve=(-(-self.height // BAND_ROWS)) * 6 * 2 * 4, dynamic=True)
        return self.ctx.vertex_array(program, [(corners, "2f", "in_pixel")]), corners, colour

    def _build_background(self, background: Background):
        if background.image is None or self.settings.transparent:
            return None
        import moderngl

        image = read_image(background.image)
        texture = self.ctx.texture((image.shape[1], image.shape[0]), 4, np.ascontiguousarray(image).tobytes())
        texture.build_mipmaps()
        texture.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        texture.repeat_x = texture.repeat_y = False
        program = self.ctx.program(vertex_shader=BACKGROUND_VERTEX, fragment_shader=BACKGROUND_FRAGMENT)
        image_aspect, frame_aspect = image.shape[1] / image.shape[0], self.width / self.height
        if image_aspect > frame_aspect:  # cover: crop the sides
            margin = (1 - frame_aspect / image_aspect) / 2
            rect = (margin, 1.0, 1 - margin, 0.0)
        else:  # crop top and bottom
            margin = (1 - image_aspect / frame_aspect) / 2
            rect = (0.0, 1 - margin, 1.0, margin)
        _set(program, "u_uv_rect", np.array(rect))
        return self._quad(program), texture

    # ---- drawing ------------------------------------------------------------------------------------------------
    def render(self, pose: Mapping[str, float] | np.ndarray | None = None, camera: Camera | None = None,
               components: int = 4) -> np.ndarray:
        """The frame for ``pose`` as (height, width, components) uint8, top row first.

        With ``settings.transparent`` colour is straight (not premultiplied) alpha; otherwise alpha is 255.
        """
        if components not in (3, 4):
            raise ValueError(f"components must be 3 (RGB) or 4 (RGBA), got {components!r}")
        if components == 4:
            return np.ascontiguousarray(self.draw_frame(pose, camera)[::-1])
        self._draw_frame(pose, camera)
        data = self._target.read(components=3, alignment=1)
        return np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width, 3)[::-1])

    def draw_frame(self, pose: Mapping[str, float] | np.ndarray | None = None, camera: Camera | None = None,
                   out: np.ndarray | None = None) -> np.ndarray:
        """The frame for ``pose`` as (height, width, 4) uint8 RGBA **bottom row first** (OpenGL's order), read
        straight into ``out`` when given: a video reuses a few buffers instead of making and flipping a copy of
        every frame. Straight alpha with ``settings.transparent``, else alpha is 255."""
        shape = (self.height, self.width, 4)
        if out is None:
            out = np.empty(shape, np.uint8)
        elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {shape} uint8 array, got {out.shape} {out.dtype}")
        self._draw_frame(pose, camera)
        self._target.read_into(out, components=4, alignment=1)
        if self.settings.transparent:
            _unpremultiply(out)
        return out

    def _draw_frame(self, pose: Mapping[str, float] | np.ndarray | None, camera: Camera | None) -> None:
        """Draw, then resolve or filter, into the read-back buffer."""
        if self.gl is None:
            raise RenderError("this Renderer is closed")
        camera = camera or self.camera
        world = self._draw(pose_vector(pose), camera)
        if self.antialias == "msaa":
            self.ctx.copy_framebuffer(self._target, self._scene)
        elif self._post is not None:
            self._fxaa(camera, world)

    def _fxaa(self, camera: Camera, world: dict[int, np.ndarray]) -> None:
        """Copy the frame into the read-back buffer, then filter the bands of it the avatar reaches (coverage.py)."""
        import moderngl

        vao, corners, colour = self._post
        ctx = self.ctx
        ctx.copy_framebuffer(self._target, self._scene)
        rectangles = self._fxaa_rectangles(camera, world)
        if len(rectangles) == 0:
            return
        triangles = rectangle_triangles(rectangles)
        corners.write(triangles)
        self._target.use()
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
        colour.use(0)
        vao.render(moderngl.TRIANGLES, vertices=len(triangles))

    def _fxaa_rectangles(self, camera: Camera, world: dict[int, np.ndarray]) -> np.ndarray:
        """Where FXAA runs: the bands the posed avatar's triangles reach, or the whole frame when a vertex is
        behind the camera plane."""
        size = (self.width, self.height)
        view_projection = camera.projection(self.width / self.height) @ camera.view()
        for draw, start, end in zip(self._draws, self._screen_offsets, self._screen_offsets[1:]):
            positions = draw.posed if draw.posed is not None else draw.primitive.positions
            if draw.skinned:
                positions = self._skin_on_cpu(draw, positions)
                matrix = view_projection
            else:
                matrix = view_projection @ world[draw.node]
            if not clip_to_pixels(positions, matrix, size, self._screen_pixels[start:end]):
                return np.array([[0, 0, self.width, self.height]], np.float32)
        return band_rectangles(self._screen_pixels, self._screen_corners, size)

    def _skin_on_cpu(self, draw: _Draw, positions: np.ndarray) -> np.ndarray:
        """World positions of a skinned draw's vertices, blended as the vertex shader blends them."""
        primitive = draw.primitive
        palette = self._palettes[self.avatar.scene.nodes[draw.node].skin]
        total = primitive.weights.sum(axis=1, keepdims=True)
        weights = primitive.weights / np.maximum(total, 1e-9)
        weights[total[:, 0] <= 0] = (1.0, 0.0, 0.0, 0.0)  # as the shader does
        joints = np.clip(primitive.joints.astype(np.intp), 0, len(palette) - 1)
        placed = np.zeros((len(positions), 3), np.float32)
        for k in range(4):
            matrices = palette[joints[:, k]]
            placed += weights[:, k:k + 1] * (np.einsum("nij,nj->ni", matrices[:, :3, :3], positions)
                                             + matrices[:, :3, 3])
        return placed

    def _draw(self, pose: np.ndarray, camera: Camera) -> dict[int, np.ndarray]:
        """Draw the background and the avatar in ``pose`` into the scene buffer; returns the nodes' world matrices."""
        import moderngl

        ctx, scene, rig = self.ctx, self.avatar.scene, self.avatar.rig
        self._scene.use()
        if self.settings.transparent:
            ctx.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        else:
            ctx.clear(*self.settings.background.colour, 1.0, depth=1.0)
            if self._background is not None:
                vao, texture = self._background
                ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND)
                texture.use(0)
                vao.render(moderngl.TRIANGLE_STRIP)
        weights = rig.morph_weights(scene, pose)
        world = scene.world_matrices(rig.node_rotations(pose))
        view = camera.view()
        view_projection = camera.projection(self.width / self.height) @ view
        for program in self._programs.values():
            _set(program, "u_view_projection", view_projection.T)
            _set(program, "u_camera", np.array(camera.eye))
        self._upload_joints(world)
        depth = {id(d): float((view @ world[d.node] @ np.r_[d.centroid, 1.0])[2]) for d in self._draws}
        # opaque front to back (early depth tests skip hidden pixels), blended back to front
        opaque = sorted((d for d in self._draws if d.material.alpha_mode != "BLEND"), key=lambda d: -depth[id(d)])
        blended = sorted((d for d in self._draws if d.material.alpha_mode == "BLEND"), key=lambda d: depth[id(d)])
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.BLEND)
        ctx.depth_mask = True
        for draw in opaque:
            self._draw_one(draw, weights, world)
        if blended:
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ONE,
                              moderngl.ONE_MINUS_SRC_ALPHA)
            ctx.depth_mask = False
            for draw in blended:
                self._draw_one(draw, weights, world)
            ctx.depth_mask = True
        return world

    def _upload_joints(self, world: dict[int, np.ndarray]) -> None:
        import moderngl

        scene = self.avatar.scene
        for skin_index in {scene.nodes[d.node].skin for d in self._draws if d.skinned}:
            skin = scene.skins[skin_index]
            palette = np.stack([world.get(j, np.eye(4)) for j in skin.joints]) @ skin.inverse_bind
            self._palettes[skin_index] = palette
            data = np.ascontiguousarray(palette.transpose(0, 2, 1), dtype=np.float32)  # a row of texels = columns
            texture = self._joint_textures.get(skin_index)
            if texture is None:
                texture = self.ctx.texture((4, len(skin.joints)), 4, dtype="f4")
                texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
                self._joint_textures[skin_index] = texture
            texture.write(data.tobytes())

    def _draw_one(self, draw: _Draw, weights: dict[int, np.ndarray], world: dict[int, np.ndarray]) -> None:
        import moderngl

        program, material = draw.program, draw.material
        if draw.morpher is not None:
            mesh_weights = weights.get(draw.mesh, self.avatar.scene.meshes[draw.mesh].default_weights)
            positions, normals = draw.morpher.apply(mesh_weights)
            draw.positions.write(np.ascontiguousarray(positions, np.float32))
            draw.normals.write(np.ascontiguousarray(normals, np.float32))
            draw.posed = positions
        model = self._place(draw, program, world)
        _set(program, "u_base_color", np.array(material.base_color))
        _set(program, "u_metallic", material.metallic)
        _set(program, "u_roughness", material.roughness)
        _set(program, "u_emissive", np.array(material.emissive))
        _set(program, "u_alpha_cutoff", material.alpha_cutoff)
        if material.normal_texture is not None:
            _set(program, "u_normal_scale", material.normal_texture.scale)
        if material.occlusion_texture is not None:
            _set(program, "u_occlusion_strength", material.occlusion_texture.scale)
        for texture, unit in draw.textures:
            texture.use(unit)
        self._cull(draw, model)
        draw.vao.render(moderngl.TRIANGLES)

    def _cull(self, draw: _Draw, model: np.ndarray) -> None:
        """Back faces off unless the material is double-sided; a mirrored node turns its winding round."""
        import moderngl

        ctx = self.ctx
        if draw.material.double_sided:
            ctx.disable(moderngl.CULL_FACE)
        else:
            ctx.enable(moderngl.CULL_FACE)
            ctx.cull_face = "back"
        mirrored = not draw.skinned and np.linalg.det(model[:3, :3]) < 0
        ctx.front_face = "cw" if mirrored else "ccw"

    def _place(self, draw: _Draw, program, world: dict[int, np.ndarray]) -> np.ndarray:
        """Bind the draw's joint palette, or set its model and normal matrices; returns its node's world matrix."""
        model = world[draw.node]
        if draw.skinned:
            self._joint_textures[self.avatar.scene.nodes[draw.node].skin].use(_JOINT_UNIT)
        else:
            _set(program, "u_model", model.T)
            _set(program, "u_normal_matrix", np.linalg.inv(model[:3, :3]))  # GL reads it transposed
        return model

    # ---- lifetime -----------------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_context and self.gl is not None:
            self.gl.release()
        self.gl = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _unpremultiply(image: np.ndarray) -> None:
    """Blending into a transparent frame leaves colour multiplied by alpha; VP9 alpha wants it straight (in place)."""
    alpha = image[..., 3:4].astype(np.float32)
    colour = image[..., :3].astype(np.float32) * 255.0 / np.maximum(alpha, 1.0)
    image[..., :3] = np.where(alpha > 0, np.clip(colour + 0.5, 0, 255), 0).astype(np.uint8)
