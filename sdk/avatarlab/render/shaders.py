"""GLSL 3.30 programs: the avatar (skinning, glTF metallic-roughness materials, soft three-point light) and
the background image quad. Lighting is done in linear light and written sRGB-encoded."""

from __future__ import annotations

#: Each draw compiles the variant its material and mesh need (defines below): branching on uniforms instead
#: costs llvmpipe about twice the fragment time, since it runs both sides of every branch.
FEATURES = ("SKINNED", "HAS_TANGENTS", "HAS_BASE_TEXTURE", "HAS_NORMAL_TEXTURE", "HAS_MR_TEXTURE",
            "HAS_OCCLUSION_TEXTURE", "HAS_EMISSIVE_TEXTURE", "ALPHA_MASK", "ALPHA_OPAQUE", "UNLIT")


def variant(source: str, features: frozenset[str]) -> str:
    """``source`` with ``#define`` lines for ``features`` after its #version line."""
    defines = "".join(f"#define {name}\n" for name in sorted(features))
    return source.replace("#version 330\n", "#version 330\n" + defines, 1)


AVATAR_VERTEX = """
#version 330
uniform mat4 u_model;
uniform mat3 u_normal_matrix;  // inverse transpose of u_model's 3x3 (unskinned draws)
uniform mat4 u_view_projection;
#ifdef SKINNED
uniform sampler2D u_joints;  // 4 texels per joint: the columns of joint world x inverse bind matrix
in vec4 in_joints;
in vec4 in_weights;
#endif

in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in vec4 in_color;
#ifdef HAS_TANGENTS
in vec4 in_tangent;
out vec4 v_tangent;
#endif

out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
out vec4 v_color;

#ifdef SKINNED
mat4 joint_matrix(float index) {
    int row = int(index + 0.5);
    return mat4(texelFetch(u_joints, ivec2(0, row), 0), texelFetch(u_joints, ivec2(1, row), 0),
                texelFetch(u_joints, ivec2(2, row), 0), texelFetch(u_joints, ivec2(3, row), 0));
}
#endif

void main() {
#ifdef SKINNED
    float total = dot(in_weights, vec4(1.0));
    vec4 w = total > 0.0 ? in_weights / total : vec4(1.0, 0.0, 0.0, 0.0);
    mat4 model = w.x * joint_matrix(in_joints.x) + w.y * joint_matrix(in_joints.y)
               + w.z * joint_matrix(in_joints.z) + w.w * joint_matrix(in_joints.w);
    mat3 normal_matrix = mat3(model);  // joints rotate and scale uniformly; the normal is renormalised
#else
    mat4 model = u_model;
    mat3 normal_matrix = u_normal_matrix;
#endif
    vec4 world = model * vec4(in_position, 1.0);
    v_world = world.xyz;
    v_normal = normal_matrix * in_normal;
#ifdef HAS_TANGENTS
    v_tangent = vec4(mat3(model) * in_tangent.xyz, in_tangent.w);
#endif
    v_uv = in_uv;
    v_color = in_color;
    gl_Position = u_view_projection * world;
}
"""

AVATAR_FRAGMENT = """
#version 330
uniform vec4 u_base_color;
uniform float u_metallic;
uniform float u_roughness;
uniform vec3 u_emissive;
uniform float u_alpha_cutoff;
uniform vec3 u_camera;
uniform vec3 u_light_directions[3];      // towards the lights: key, fill, rim
uniform vec3 u_light_colours[3];
uniform vec3 u_sky;
uniform vec3 u_ground;
#ifdef HAS_BASE_TEXTURE
uniform sampler2D u_base_texture;        // sRGB texture: sampled values are linear
#endif
#ifdef HAS_NORMAL_TEXTURE
uniform sampler2D u_normal_texture;
uniform float u_normal_scale;
#endif
#ifdef HAS_MR_TEXTURE
uniform sampler2D u_mr_texture;
#endif
#ifdef HAS_OCCLUSION_TEXTURE
uniform sampler2D u_occlusion_texture;
uniform float u_occlusion_strength;
#endif
#ifdef HAS_EMISSIVE_TEXTURE
uniform sampler2D u_emissive_texture;
#endif

in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec4 v_color;
#ifdef HAS_TANGENTS
in vec4 v_tangent;
#endif

out vec4 frag_colour;

const float PI = 3.14159265;

vec3 srgb_encode(vec3 linear) {
    // sRGB's curve from three square roots (within 0.5/255 of the exact pow() over 0..1, much cheaper on llvmpipe)
    vec3 c = clamp(linear, 0.0, 1.0);
    vec3 s1 = sqrt(c);
    vec3 s2 = sqrt(s1);
    vec3 s3 = sqrt(s2);
    vec3 curve = 0.585122381 * s1 + 0.783140355 * s2 - 0.368262736 * s3;
    return mix(c * 12.92, curve, step(vec3(0.0031308), c));
}

vec3 shading_normal(vec3 n) {
#ifdef HAS_NORMAL_TEXTURE
#ifdef HAS_TANGENTS
    vec3 t = normalize(v_tangent.xyz - n * dot(n, v_tangent.xyz));
    vec3 b = cross(n, t) * (v_tangent.w < 0.0 ? -1.0 : 1.0);
#else
    // cotangent frame from screen-space derivatives
    vec3 dp1 = dFdx(v_world);
    vec3 dp2 = dFdy(v_world);
    vec2 duv1 = dFdx(v_uv);
    vec2 duv2 = dFdy(v_uv);
    vec3 dp2perp = cross(dp2, n);
    vec3 dp1perp = cross(n, dp1);
    vec3 t = dp2perp * duv1.x + dp1perp * duv2.x;
    vec3 b = dp2perp * duv1.y + dp1perp * duv2.y;
    float scale = inversesqrt(max(max(dot(t, t), dot(b, b)), 1e-20));
    t *= scale;
    b *= scale;
#endif
    vec3 m = texture(u_normal_texture, v_uv).xyz * 2.0 - 1.0;
    m.xy *= u_normal_scale;
    return normalize(mat3(t, b, n) * m);
#else
    return n;
#endif
}

void main() {
    vec4 base = u_base_color * v_color;
#ifdef HAS_BASE_TEXTURE
    base *= texture(u_base_texture, v_uv);
#endif
    float alpha = base.a;
#ifdef ALPHA_MASK
    if (alpha < u_alpha_cutoff) discard;   // only this variant discards: others keep early depth tests
    alpha = 1.0;
#endif
#ifdef ALPHA_OPAQUE
    alpha = 1.0;
#endif
#ifdef UNLIT
    frag_colour = vec4(srgb_encode(base.rgb), alpha);
#else
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    n = shading_normal(n);
    vec3 v = normalize(u_camera - v_world);
    float metallic = u_metallic;
    float roughness = u_roughness;
#ifdef HAS_MR_TEXTURE
    vec4 mr = texture(u_mr_texture, v_uv);
    roughness *= mr.g;
    metallic *= mr.b;
#endif
    roughness = clamp(roughness, 0.08, 1.0);
    float occlusion = 1.0;
#ifdef HAS_OCCLUSION_TEXTURE
    occlusion = mix(1.0, texture(u_occlusion_texture, v_uv).r, u_occlusion_strength);
#endif
    vec3 diffuse_colour = base.rgb * (1.0 - metallic);
    vec3 f0 = mix(vec3(0.04), base.rgb, metallic);
    float a2 = roughness * roughness * roughness * roughness;
    float nv = max(dot(n, v), 1e-4);
    vec3 colour = diffuse_colour * mix(u_ground, u_sky, 0.5 + 0.5 * n.y) * occlusion;
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    float gv = nv / (nv * (1.0 - k) + k);
    for (int i = 0; i < 3; ++i) {
        vec3 l = u_light_directions[i];
        float nl_raw = dot(n, l);
        float wrapped = max((nl_raw + 0.25) * 0.8, 0.0);  // a little wrap: a soft terminator
        float nl = max(nl_raw, 0.0);
        vec3 h = normalize(l + v);
        float nh = max(dot(n, h), 0.0);
        float q = nh * nh * (a2 - 1.0) + 1.0;
        float d = a2 / (PI * q * q);
        float g = gv * nl / (nl * (1.0 - k) + k);
        float fh = 1.0 - max(dot(h, v), 0.0);
        float fh2 = fh * fh;
        vec3 f = f0 + (1.0 - f0) * (fh2 * fh2 * fh);
        vec3 specular = d * g * f / max(4.0 * nv, 1e-4);
        colour += u_light_colours[i] * (diffuse_colour * wrapped + specular);
    }
    vec3 emissive = u_emissive;
#ifdef HAS_EMISSIVE_TEXTURE
    emissive *= texture(u_emissive_texture, v_uv).rgb;
#endif
    colour += emissive;
    colour = colour / (1.0 + 0.15 * max(colour - 0.8, 0.0));  // soft shoulder instead of a hard clip
    frag_colour = vec4(srgb_encode(colour), alpha);
#endif
}
"""

BACKGROUND_VERTEX = """
#version 330
uniform vec4 u_uv_rect;  // u0, v0, u1, v1: the part of the image that covers the frame
in vec2 in_corner;       // 0..1
out vec2 v_uv;
void main() {
    v_uv = mix(u_uv_rect.xy, u_uv_rect.zw, in_corner);
    gl_Position = vec4(in_corner * 2.0 - 1.0, 0.0, 1.0);
}
"""

BACKGROUND_FRAGMENT = """
#version 330
uniform sampler2D u_image;  // stored sRGB-encoded as is: copied to the frame unchanged
in vec2 v_uv;
out vec4 frag_colour;
void main() {
    frag_colour = vec4(texture(u_image, v_uv).rgb, 1.0);
}
"""

# FXAA runs over rectangles in pixels that cover the avatar and the pixels next to it (coverage.py).
FXAA_VERTEX = """
#version 330
uniform vec2 u_texel;  // 1 / frame size
in vec2 in_pixel;
void main() {
    gl_Position = vec4(in_pixel * u_texel * 2.0 - 1.0, 0.0, 1.0);
}
"""

# FXAA (Lottes' reduced variant): blur along the local edge direction where contrast is high. Alpha is filtered
# with the colour so transparent edges stay smooth too.
FXAA_FRAGMENT = """
#version 330
uniform sampler2D u_image;
uniform vec2 u_texel;
out vec4 frag_colour;

float luma(vec4 c) { return dot(c.rgb, vec3(0.299, 0.587, 0.114)) + c.a * 0.25; }

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec2 uv = gl_FragCoord.xy * u_texel;
    ivec2 last = textureSize(u_image, 0) - 1;
    vec4 m = texelFetch(u_image, p, 0);
    vec4 nw = texelFetch(u_image, clamp(p + ivec2(-1, -1), ivec2(0), last), 0);
    vec4 ne = texelFetch(u_image, clamp(p + ivec2(1, -1), ivec2(0), last), 0);
    vec4 sw = texelFetch(u_image, clamp(p + ivec2(-1, 1), ivec2(0), last), 0);
    vec4 se = texelFetch(u_image, clamp(p + ivec2(1, 1), ivec2(0), last), 0);
    float lm = luma(m), lnw = luma(nw), lne = luma(ne), lsw = luma(sw), lse = luma(se);
    float low = min(lm, min(min(lnw, lne), min(lsw, lse)));
    float high = max(lm, max(max(lnw, lne), max(lsw, lse)));
    if (high - low < max(0.0312, high * 0.125)) {
        frag_colour = m;
        return;
    }
    vec2 dir = vec2(-((lnw + lne) - (lsw + lse)), (lnw + lsw) - (lne + lse));
    float reduce = max((lnw + lne + lsw + lse) * 0.25 * 0.125, 1.0 / 128.0);
    float scale = 1.0 / (min(abs(dir.x), abs(dir.y)) + reduce);
    dir = clamp(dir * scale, vec2(-8.0), vec2(8.0)) * u_texel;
    vec4 a = 0.5 * (texture(u_image, uv + dir * (1.0 / 3.0 - 0.5)) + texture(u_image, uv + dir * (2.0 / 3.0 - 0.5)));
    vec4 b = a * 0.5 + 0.25 * (texture(u_image, uv - dir * 0.5) + texture(u_image, uv + dir * 0.5));
    float lb = luma(b);
    frag_colour = (lb < low || lb > high) ? a : b;
}
"""
