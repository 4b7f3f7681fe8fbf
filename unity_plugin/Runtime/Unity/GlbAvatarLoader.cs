using System.Collections.Generic;
using AvatarLab.Protocol;
using UnityEngine;
using UnityEngine.Rendering;

namespace AvatarLab
{
    /// <summary>
    /// Builds an avatarlab GLB (the default head models/avatar/default_head.glb, or a head from
    /// `avatarlab avatar --photo`) into GameObjects at run time, with no glTF package: one GameObject per node,
    /// named as in the file (Head, LeftEye, RightEye... so BlendshapeDriver finds them), a SkinnedMeshRenderer
    /// with one blendshape per morph target (ARKit and viseme names) on meshes that have targets, a MeshRenderer
    /// on the rest, one submesh per glTF primitive. The file is read by GlbModel (Runtime/Protocol/Glb.cs),
    /// which already converts to Unity's left-handed axes: the avatar faces +Z.
    /// Materials: the render pipeline's lit shader (URP "Universal Render Pipeline/Lit", HDRP "HDRP/Lit",
    /// built-in "Standard") with the base colour, texture, metallic and smoothness (1 - roughness); vertex-coloured
    /// primitives (eyeballs, teeth) use a particle shader that multiplies vertex colours when one is found, else
    /// the lit shader tinted by their mean colour. Shader.Find only finds shaders a player build includes: add
    /// them to Graphics settings > Always Included Shaders for builds.
    /// </summary>
    public static class GlbAvatarLoader
    {
        /// <summary>Load a GLB file from disk (throws GlbFormatException with the reason for a bad file).</summary>
        public static GameObject Load(string path, Transform parent = null) { return Build(GlbModel.Load(path), parent); }

        /// <summary>Load GLB bytes, e.g. a TextAsset's bytes (name the file *.glb.bytes so Unity imports it as one).</summary>
        public static GameObject Load(byte[] glb, Transform parent = null) { return Build(GlbModel.Parse(glb), parent); }

        /// <summary>GameObjects for the default scene's nodes; several roots get one parent named "GLB".</summary>
        public static GameObject Build(GlbModel model, Transform parent = null)
        {
            var build = new Builder(model);
            if (model.SceneRoots.Length == 1) return build.Node(model.SceneRoots[0], parent).gameObject;
            var root = new GameObject("GLB");
            root.transform.SetParent(parent, false);
            foreach (int r in model.SceneRoots) build.Node(r, root.transform);
            return root;
        }

        sealed class Builder
        {
            readonly GlbModel model;
            readonly Dictionary<int, Texture2D> textures = new Dictionary<int, Texture2D>();
            readonly Dictionary<long, Material> materials = new Dictionary<long, Material>();
            readonly Shader lit, vertexColour;

            public Builder(GlbModel m)
            {
                model = m;
                lit = FindShader(GraphicsSettings.currentRenderPipeline != null
                    ? new[] { "Universal Render Pipeline/Lit", "HDRP/Lit", "Standard" } : new[] { "Standard" });
                vertexColour = FindShader(GraphicsSettings.currentRenderPipeline != null
                    ? new[] { "Universal Render Pipeline/Particles/Lit" } : new[] { "Particles/Standard Surface" });
                if (lit == null) lit = FindShader(new[] { "Legacy Shaders/Diffuse", "Unlit/Texture", "Sprites/Default" });
                if (lit == null) throw new GlbFormatException("no usable shader found (Standard, URP Lit, HDRP Lit): add one to Always Included Shaders");
            }

            static Shader FindShader(string[] names)
            {
                foreach (string n in names) { var s = Shader.Find(n); if (s != null) return s; }
                return null;
            }

            public Transform Node(int index, Transform parent)
            {
                var node = model.Nodes[index];
                var go = new GameObject(node.Name);
                var t = go.transform;
                t.SetParent(parent, false);
                t.localPosition = new Vector3(node.Translation[0], node.Translation[1], node.Translation[2]);
                t.localRotation = new Quaternion(node.Rotation[0], node.Rotation[1], node.Rotation[2], node.Rotation[3]);
                t.localScale = new Vector3(node.Scale[0], node.Scale[1], node.Scale[2]);
                if (node.Mesh >= 0) AttachMesh(go, model.Meshes[node.Mesh]);
                foreach (int c in node.Children) Node(c, t);
                return t;
            }

            void AttachMesh(GameObject go, GlbMesh source)
            {
                var mats = new Material[source.Primitives.Count];
                var backFaces = new bool[mats.Length];
                for (int p = 0; p < mats.Length; p++)
                {
                    var prim = source.Primitives[p];
                    mats[p] = MaterialFor(prim);
                    var gm = prim.Material >= 0 ? model.Materials[prim.Material] : null;
                    backFaces[p] = gm != null && gm.DoubleSided && !mats[p].HasProperty("_Cull");
                }
                var mesh = BuildMesh(source, backFaces);
                if (source.TargetNames.Length > 0 || source.Primitives.Exists(p => p.Targets.Length > 0))
                {
                    var smr = go.AddComponent<SkinnedMeshRenderer>();
                    smr.sharedMesh = mesh;
                    smr.sharedMaterials = mats;
                }
                else
                {
                    go.AddComponent<MeshFilter>().sharedMesh = mesh;
                    go.AddComponent<MeshRenderer>().sharedMaterials = mats;
                }
            }

            /// <summary>GlbUnityMesh (engine-free, tested under Mono) copied into a Mesh.</summary>
            static Mesh BuildMesh(GlbMesh source, bool[] backFaces)
            {
                var c = GlbUnityMesh.Combine(source, backFaces);
                var mesh = new Mesh();
                mesh.name = c.Name;
                mesh.indexFormat = c.VertexCount > 65535 ? IndexFormat.UInt32 : IndexFormat.UInt16;
                mesh.SetVertices(Vectors(c.Positions));
                if (c.Normals != null) mesh.SetNormals(Vectors(c.Normals));
                if (c.TexCoords != null)
                {
                    var uv = new List<Vector2>(c.VertexCount);
                    for (int i = 0; i < c.VertexCount; i++) uv.Add(new Vector2(c.TexCoords[i * 2], c.TexCoords[i * 2 + 1]));
                    mesh.SetUVs(0, uv);
                }
                if (c.Colors != null)
                {
                    var col = new List<Color>(c.VertexCount);
                    for (int i = 0; i < c.VertexCount; i++) col.Add(new Color(c.Colors[i * 4], c.Colors[i * 4 + 1], c.Colors[i * 4 + 2], c.Colors[i * 4 + 3]));
                    mesh.SetColors(col);
                }
                mesh.subMeshCount = c.Submeshes.Length;
                for (int s = 0; s < c.Submeshes.Length; s++) mesh.SetTriangles(c.Submeshes[s], s, false, c.BaseVertex[s]);
                if (c.Normals == null) mesh.RecalculateNormals();
                for (int t = 0; t < c.BlendShapeNames.Length; t++)
                {
                    var normals = c.BlendShapeNormalDeltas[t] == null ? null : Vectors(c.BlendShapeNormalDeltas[t]).ToArray();
                    mesh.AddBlendShapeFrame(c.BlendShapeNames[t], 100f, Vectors(c.BlendShapeDeltas[t]).ToArray(), normals, null);
                }
                mesh.RecalculateBounds();
                return mesh;
            }

            static List<Vector3> Vectors(float[] xyz)
            {
                var v = new List<Vector3>(xyz.Length / 3);
                for (int i = 0; i + 2 < xyz.Length; i += 3) v.Add(new Vector3(xyz[i], xyz[i + 1], xyz[i + 2]));
                return v;
            }

            Material MaterialFor(GlbPrimitive prim)
            {
                var gm = prim.Material >= 0 ? model.Materials[prim.Material] : new GlbMaterial { Name = "Default", Metallic = 0 };
                bool coloured = prim.Colors != null && gm.BaseColorTexture < 0;
                bool viaShader = coloured && vertexColour != null;
                var mean = coloured && !viaShader ? GlbUnityMesh.MeanColor(prim.Colors) : new float[] { 1, 1, 1, 1 };
                var tint = new Color(mean[0], mean[1], mean[2], mean[3]);
                long key = (prim.Material + 1L) * 4 + (coloured ? (viaShader ? 1 : 2) : 0);
                Material cached;
                if (!coloured || viaShader) { if (materials.TryGetValue(key, out cached)) return cached; }
                var mat = new Material(viaShader ? vertexColour : lit);
                mat.name = gm.Name ?? "Material";
                var c = new Color(gm.BaseColor[0] * tint.r, gm.BaseColor[1] * tint.g, gm.BaseColor[2] * tint.b, gm.BaseColor[3] * tint.a);
                Set(mat, c, "_BaseColor", "_Color");
                if (gm.BaseColorTexture >= 0) SetTexture(mat, TextureFor(gm.BaseColorTexture), "_BaseMap", "_BaseColorMap", "_MainTex");
                SetFloat(mat, gm.Metallic, "_Metallic");
                SetFloat(mat, 1f - gm.Roughness, "_Smoothness", "_Glossiness");
                if (gm.DoubleSided) SetFloat(mat, (float)CullMode.Off, "_Cull");
                if (gm.AlphaMode == "MASK") AlphaClip(mat, gm.AlphaCutoff);
                else if (gm.AlphaMode == "BLEND") AlphaBlend(mat);
                if (!coloured || viaShader) materials[key] = mat;
                return mat;
            }

            Texture2D TextureFor(int texture)
            {
                Texture2D tex;
                if (textures.TryGetValue(texture, out tex)) return tex;
                var image = model.Images[model.Textures[texture]];
                tex = new Texture2D(2, 2, TextureFormat.RGBA32, true);
                tex.name = image.Name ?? "texture" + texture;
                if (!tex.LoadImage(image.Bytes, true))
                    throw new GlbFormatException("texture " + texture + " (" + image.MimeType + ", " + image.Bytes.Length + " bytes) is not a PNG or JPEG Unity can decode");
                tex.wrapMode = TextureWrapMode.Clamp;   // avatarlab writes clamp-to-edge samplers
                textures[texture] = tex;
                return tex;
            }

            static void Set(Material m, Color c, params string[] names) { foreach (var n in names) if (m.HasProperty(n)) m.SetColor(n, c); }
            static void SetTexture(Material m, Texture t, params string[] names) { foreach (var n in names) if (m.HasProperty(n)) m.SetTexture(n, t); }
            static void SetFloat(Material m, float v, params string[] names) { foreach (var n in names) if (m.HasProperty(n)) m.SetFloat(n, v); }

            static void AlphaClip(Material m, float cutoff)
            {
                SetFloat(m, cutoff, "_Cutoff", "_AlphaCutoff");
                SetFloat(m, 1f, "_AlphaClip", "_AlphaCutoffEnable", "_Mode");   // _Mode 1: Standard's Cutout
                m.EnableKeyword("_ALPHATEST_ON");
                m.renderQueue = (int)RenderQueue.AlphaTest;
            }

            static void AlphaBlend(Material m)
            {
                SetFloat(m, 2f, "_Mode");                                         // Standard's Fade
                SetFloat(m, 1f, "_Surface");                                      // URP: transparent
                SetFloat(m, (float)BlendMode.SrcAlpha, "_SrcBlend");
                SetFloat(m, (float)BlendMode.OneMinusSrcAlpha, "_DstBlend");
                SetFloat(m, 0f, "_ZWrite");
                m.EnableKeyword("_ALPHABLEND_ON");
                m.EnableKeyword("_SURFACE_TYPE_TRANSPARENT");
                m.renderQueue = (int)RenderQueue.Transparent;
            }
        }
    }
}
