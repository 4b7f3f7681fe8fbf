// Reads avatarlab's GLB files (glTF 2.0 binary: the default head models/avatar/default_head.glb and the heads of
// `avatarlab avatar --photo`) into plain arrays, already in Unity's conventions. Engine-free (no Unity types):
// the Unity layer (Runtime/Unity/GlbAvatarLoader.cs) only turns these arrays into Meshes and GameObjects.
//
// What it reads: the GLB header and its JSON and BIN chunks; accessors of any component type (normalized or not,
// strided buffer views, sparse); nodes (TRS or matrix) and the default scene; meshes and their triangle
// primitives (POSITION, NORMAL, TEXCOORD_0, COLOR_0, indices, POSITION/NORMAL morph targets named by
// mesh.extras.targetNames); materials (baseColorFactor, baseColorTexture, metallic/roughness, alphaMode,
// alphaCutoff, doubleSided); images stored in the BIN chunk (bytes and mimeType). Not read: skins, animations,
// cameras, extensions, external or data: URIs (avatarlab writes none of them).
using System;
using System.Collections.Generic;
using System.Text;

namespace AvatarLab.Protocol
{
    /// <summary>A file that is not a GLB 2.0 file this reader can use; the message says what is wrong.</summary>
    public sealed class GlbFormatException : Exception
    {
        public GlbFormatException(string message) : base(message) { }
        public GlbFormatException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>
    /// The one place where glTF's conventions become Unity's. glTF is right-handed (+Y up, the avatar faces +Z),
    /// Unity left-handed (+Y up, +Z forward): mirroring the X axis turns one into the other, so the avatar still
    /// faces +Z and its LeftEye stays on its own left (-X in Unity). Mirroring means: x of positions, normals and
    /// morph deltas negated; triangles wound the other way (a mirror turns them inside out); rotations mirrored
    /// (x, y, z, w) to (x, -y, -z, w); matrices M to S M S with S = diag(-1, 1, 1). glTF's texture coordinates
    /// start at the image's top-left, Unity's at its bottom-left: v becomes 1 - v.
    /// </summary>
    public static class GlbToUnity
    {
        public static void MirrorVectors(float[] xyz) { for (int i = 0; i < xyz.Length; i += 3) xyz[i] = -xyz[i]; }

        public static void FlipWinding(int[] triangles)
        {
            for (int i = 0; i + 2 < triangles.Length; i += 3) { int t = triangles[i + 1]; triangles[i + 1] = triangles[i + 2]; triangles[i + 2] = t; }
        }

        public static void FlipV(float[] uv) { for (int i = 1; i < uv.Length; i += 2) uv[i] = 1f - uv[i]; }

        public static float[] MirrorRotation(float[] xyzw) { return new float[] { xyzw[0], -xyzw[1], -xyzw[2], xyzw[3] }; }

        public static float[] MirrorTranslation(float[] xyz) { return new float[] { -xyz[0], xyz[1], xyz[2] }; }

        /// <summary>A column-major glTF matrix mirrored (S M S), as column-major.</summary>
        public static double[] MirrorMatrix(double[] m)
        {
            var r = new double[16];
            for (int col = 0; col < 4; col++)
                for (int row = 0; row < 4; row++)
                    r[col * 4 + row] = m[col * 4 + row] * (row == 0 ? -1 : 1) * (col == 0 ? -1 : 1);
            return r;
        }
    }

    public sealed class GlbNode
    {
        public string Name;
        public int Parent = -1, Mesh = -1;
        public int[] Children = new int[0];
        /// <summary>Local transform in Unity's conventions: translation xyz, rotation xyzw, scale xyz.</summary>
        public float[] Translation = { 0, 0, 0 }, Rotation = { 0, 0, 0, 1 }, Scale = { 1, 1, 1 };
    }

    public sealed class GlbMorphTarget
    {
        public string Name;
        /// <summary>Per-vertex deltas, xyz interleaved, mirrored; NormalDeltas is null when the file has none.</summary>
        public float[] PositionDeltas, NormalDeltas;
    }

    public sealed class GlbPrimitive
    {
        public int VertexCount, Material = -1;
        /// <summary>xyz interleaved (mirrored); Normals null when absent.</summary>
        public float[] Positions, Normals;
        /// <summary>uv interleaved with v flipped; null when absent.</summary>
        public float[] TexCoords;
        /// <summary>rgba interleaved, 0..1 (an RGB file gets alpha 1); null when absent.</summary>
        public float[] Colors;
        /// <summary>Triangle list, wound for Unity.</summary>
        public int[] Triangles;
        public GlbMorphTarget[] Targets = new GlbMorphTarget[0];
    }

    public sealed class GlbMesh
    {
        public string Name;
        public string[] TargetNames = new string[0];
        public List<GlbPrimitive> Primitives = new List<GlbPrimitive>();
    }

    public sealed class GlbMaterial
    {
        public string Name;
        public float[] BaseColor = { 1, 1, 1, 1 };
        public int BaseColorTexture = -1;        // index into GlbModel.Textures
        public float Metallic = 1, Roughness = 1, AlphaCutoff = 0.5f;
        public string AlphaMode = "OPAQUE";
        public bool DoubleSided;
    }

    public sealed class GlbImage
    {
        public string Name, MimeType;
        public byte[] Bytes;
    }

    /// <summary>
    /// A glTF mesh laid out as a Unity Mesh wants it, still engine-free (so it is tested under Mono): one vertex
    /// list for all primitives (each primitive's vertices from BaseVertex[i] on), one triangle list per primitive
    /// (a submesh; indices local to the primitive, as Mesh.SetTriangles takes them with baseVertex), one
    /// blendshape per morph target over all vertices (zero on primitives without that target).
    /// </summary>
    public sealed class GlbUnityMesh
    {
        public string Name;
        public int VertexCount;
        /// <summary>xyz interleaved; Normals is null when a primitive has none (recalculate them).</summary>
        public float[] Positions, Normals;
        /// <summary>uv interleaved, (0, 0) where a primitive has none; null when no primitive has any.</summary>
        public float[] TexCoords;
        /// <summary>rgba interleaved, white where a primitive has none; null when no primitive has any.</summary>
        public float[] Colors;
        public int[][] Submeshes;
        public int[] BaseVertex;
        public string[] BlendShapeNames;
        /// <summary>Per blendshape: xyz deltas of every vertex; normal deltas null when no primitive has them.</summary>
        public float[][] BlendShapeDeltas, BlendShapeNormalDeltas;

        /// <summary>Combine `mesh`'s primitives; `backFaces[i]` adds primitive i's triangles again, reversed.</summary>
        public static GlbUnityMesh Combine(GlbMesh mesh, bool[] backFaces = null)
        {
            var prims = mesh.Primitives;
            var m = new GlbUnityMesh { Name = mesh.Name, BaseVertex = new int[prims.Count], Submeshes = new int[prims.Count][] };
            bool normals = prims.Count > 0, uvs = false, colours = false;
            int targets = mesh.TargetNames.Length;
            for (int i = 0; i < prims.Count; i++)
            {
                m.BaseVertex[i] = m.VertexCount;
                m.VertexCount += prims[i].VertexCount;
                normals &= prims[i].Normals != null; uvs |= prims[i].TexCoords != null; colours |= prims[i].Colors != null;
                targets = Math.Max(targets, prims[i].Targets.Length);
                m.Submeshes[i] = backFaces != null && i < backFaces.Length && backFaces[i] ? WithBackFaces(prims[i].Triangles) : prims[i].Triangles;
            }
            m.Positions = Concat(prims, 3, p => p.Positions, 0f);
            if (normals) m.Normals = Concat(prims, 3, p => p.Normals, 0f);
            if (uvs) m.TexCoords = Concat(prims, 2, p => p.TexCoords, 0f);
            if (colours) m.Colors = Concat(prims, 4, p => p.Colors, 1f);
            m.BlendShapeNames = UniqueNames(mesh.TargetNames, targets);
            m.BlendShapeDeltas = new float[targets][];
            m.BlendShapeNormalDeltas = new float[targets][];
            for (int t = 0; t < targets; t++)
            {
                int k = t;
                m.BlendShapeDeltas[t] = Concat(prims, 3, p => k < p.Targets.Length ? p.Targets[k].PositionDeltas : null, 0f);
                if (prims.Exists(p => k < p.Targets.Length && p.Targets[k].NormalDeltas != null))
                    m.BlendShapeNormalDeltas[t] = Concat(prims, 3, p => k < p.Targets.Length ? p.Targets[k].NormalDeltas : null, 0f);
            }
            return m;
        }

        /// <summary>One blendshape name per target, each different: Unity's Mesh.AddBlendShapeFrame throws on a name the
        /// mesh already has. A target without a name is "target{t}"; a repeated name keeps its first use and later
        /// ones become "name (2)", "name (3)"..., so a driver that looks shapes up by name drives the first.</summary>
        public static string[] UniqueNames(string[] names, int count)
        {
            var result = new string[count];
            var used = new HashSet<string>();
            for (int t = 0; t < count; t++)
            {
                string name = t < names.Length && !string.IsNullOrEmpty(names[t]) ? names[t] : "target" + t;
                string unique = name;
                for (int k = 2; !used.Add(unique); k++) unique = name + " (" + k + ")";
                result[t] = unique;
            }
            return result;
        }

        static float[] Concat(List<GlbPrimitive> prims, int width, Func<GlbPrimitive, float[]> part, float fill)
        {
            int total = 0;
            foreach (var p in prims) total += p.VertexCount;
            var all = new float[total * width];
            int at = 0;
            foreach (var p in prims)
            {
                var values = part(p);
                if (values != null) Array.Copy(values, 0, all, at, p.VertexCount * width);
                else if (fill != 0f) for (int i = at; i < at + p.VertexCount * width; i++) all[i] = fill;
                at += p.VertexCount * width;
            }
            return all;
        }

        /// <summary>Each triangle, then each again wound the other way: a double-sided material under a shader that culls.</summary>
        public static int[] WithBackFaces(int[] tris)
        {
            var both = new int[tris.Length * 2];
            tris.CopyTo(both, 0);
            for (int i = 0; i + 2 < tris.Length; i += 3)
            {
                both[tris.Length + i] = tris[i]; both[tris.Length + i + 1] = tris[i + 2]; both[tris.Length + i + 2] = tris[i + 1];
            }
            return both;
        }

        /// <summary>The mean of rgba colours (white for none): a vertex-coloured part under a shader without vertex colours.</summary>
        public static float[] MeanColor(float[] rgba)
        {
            var mean = new float[] { 1, 1, 1, 1 };
            int n = rgba == null ? 0 : rgba.Length / 4;
            if (n == 0) return mean;
            for (int c = 0; c < 4; c++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += rgba[i * 4 + c];
                mean[c] = (float)(sum / n);
            }
            return mean;
        }
    }

    /// <summary>An avatarlab GLB: nodes, meshes, materials, textures (each an index into Images), images.</summary>
    public sealed class GlbModel
    {
        public List<GlbNode> Nodes = new List<GlbNode>();
        public List<GlbMesh> Meshes = new List<GlbMesh>();
        public List<GlbMaterial> Materials = new List<GlbMaterial>();
        public List<int> Textures = new List<int>();
        public List<GlbImage> Images = new List<GlbImage>();
        /// <summary>Root nodes of the default scene (all parentless nodes when the file names no scene).</summary>
        public int[] SceneRoots = new int[0];

        public int FindNode(string name) { return Nodes.FindIndex(n => n.Name == name); }

        public static GlbModel Load(string path) { return Parse(System.IO.File.ReadAllBytes(path)); }

        public static GlbModel Parse(byte[] data) { return new GlbReader(data).Read(); }
    }

    sealed class GlbReader
    {
        const uint Magic = 0x46546C67, JsonChunk = 0x4E4F534A, BinChunk = 0x004E4942;
        readonly byte[] data;
        Dictionary<string, object> json;
        int binStart = -1, binLength;

        public GlbReader(byte[] bytes)
        {
            if (bytes == null) throw new GlbFormatException("no data");
            data = bytes;
        }

        public GlbModel Read()
        {
            ReadChunks();
            var model = new GlbModel();
            foreach (var im in Entries("images")) model.Images.Add(ReadImage(im));
            foreach (var t in Entries("textures")) model.Textures.Add(OptInt(t, "source", -1));
            foreach (var m in Entries("materials")) model.Materials.Add(ReadMaterial(m));
            foreach (var m in Entries("meshes")) model.Meshes.Add(ReadMesh(m));
            var nodes = Entries("nodes");
            for (int i = 0; i < nodes.Count; i++) model.Nodes.Add(ReadNode(nodes[i], i));
            for (int i = 0; i < model.Nodes.Count; i++)
                foreach (int c in model.Nodes[i].Children)
                {
                    if (c < 0 || c >= model.Nodes.Count || c == i) throw new GlbFormatException("node " + i + " has a bad child " + c);
                    if (model.Nodes[c].Parent >= 0) throw new GlbFormatException("node " + c + " has two parents");
                    model.Nodes[c].Parent = i;
                }
            model.SceneRoots = SceneRoots(model);
            Validate(model);
            return model;
        }

        /// <summary>Every index between parts points at something, so the Unity layer can follow them blindly.</summary>
        static void Validate(GlbModel model)
        {
            foreach (var node in model.Nodes)
                if (node.Mesh >= model.Meshes.Count) throw new GlbFormatException("node " + node.Name + " names mesh " + node.Mesh + ", which does not exist");
            foreach (var mesh in model.Meshes)
                foreach (var p in mesh.Primitives)
                    if (p.Material >= model.Materials.Count) throw new GlbFormatException("mesh " + mesh.Name + " names material " + p.Material + ", which does not exist");
            foreach (var mat in model.Materials)
                if (mat.BaseColorTexture >= model.Textures.Count) throw new GlbFormatException("material " + mat.Name + " names texture " + mat.BaseColorTexture + ", which does not exist");
            foreach (int source in model.Textures)
                if (source < 0 || source >= model.Images.Count) throw new GlbFormatException("a texture names image " + source + ", which does not exist");
        }

        void ReadChunks()
        {
            if (data.Length < 12 || U32(0) != Magic) throw new GlbFormatException("not a binary glTF (.glb) file: it does not start with 'glTF'");
            uint version = U32(4);
            if (version != 2) throw new GlbFormatException("GLB version " + version + " is not supported (only glTF 2.0)");
            long length = U32(8);
            if (length > data.Length) throw new GlbFormatException("truncated GLB: its header says " + length + " bytes, the file has " + data.Length);
            long at = 12;
            while (at + 8 <= length)
            {
                long chunkLength = U32((int)at); uint type = U32((int)at + 4);
                if (at + 8 + chunkLength > length) throw new GlbFormatException("truncated GLB: a chunk of " + chunkLength + " bytes at byte " + at + " runs past the end");
                if (type == JsonChunk && json == null) json = ParseJson((int)at + 8, (int)chunkLength);
                else if (type == BinChunk && binStart < 0) { binStart = (int)at + 8; binLength = (int)chunkLength; }
                at += 8 + chunkLength;
            }
            if (json == null) throw new GlbFormatException("the GLB has no JSON chunk");
        }

        Dictionary<string, object> ParseJson(int start, int length)
        {
            object parsed;
            try { parsed = MiniJson.Parse(new UTF8Encoding(false, true).GetString(data, start, length).TrimEnd(' ', '\0')); }
            catch (JsonException e) { throw new GlbFormatException("the GLB's JSON chunk does not parse: " + e.Message, e); }
            catch (ArgumentException e) { throw new GlbFormatException("the GLB's JSON chunk is not UTF-8", e); }
            var doc = parsed as Dictionary<string, object>;
            if (doc == null) throw new GlbFormatException("the GLB's JSON is not an object");
            var asset = doc.ContainsKey("asset") ? doc["asset"] as Dictionary<string, object> : null;
            string v = asset != null && asset.ContainsKey("version") ? asset["version"] as string : null;
            if (v == null || !v.StartsWith("2.")) throw new GlbFormatException("asset.version is " + (v ?? "missing") + ", not 2.x");
            return doc;
        }

        uint U32(int at) { return (uint)(data[at] | data[at + 1] << 8 | data[at + 2] << 16 | data[at + 3] << 24); }

        // ---- JSON helpers -------------------------------------------------------------------------------------
        List<Dictionary<string, object>> Entries(string key) { return Entries(json, key); }

        static List<Dictionary<string, object>> Entries(Dictionary<string, object> o, string key)
        {
            var result = new List<Dictionary<string, object>>();
            if (!o.ContainsKey(key)) return result;
            var list = o[key] as List<object>;
            if (list == null) throw new GlbFormatException("'" + key + "' is not an array");
            foreach (var e in list)
            {
                var d = e as Dictionary<string, object>;
                if (d == null) throw new GlbFormatException("an entry of '" + key + "' is not an object");
                result.Add(d);
            }
            return result;
        }

        static Dictionary<string, object> Obj(Dictionary<string, object> o, string key)
        {
            return o.ContainsKey(key) ? o[key] as Dictionary<string, object> : null;
        }

        static int OptInt(Dictionary<string, object> o, string key, int fallback)
        {
            if (o == null || !o.ContainsKey(key)) return fallback;
            if (!(o[key] is double)) throw new GlbFormatException("'" + key + "' is not a number");
            double d = (double)o[key];
            if (d != Math.Floor(d) || d < int.MinValue || d > int.MaxValue) throw new GlbFormatException("'" + key + "' is not an integer");
            return (int)d;
        }

        static int Int(Dictionary<string, object> o, string key, string what)
        {
            if (o == null || !o.ContainsKey(key)) throw new GlbFormatException(what + " has no '" + key + "'");
            return OptInt(o, key, 0);
        }

        static double Num(Dictionary<string, object> o, string key, double fallback)
        {
            if (o == null || !o.ContainsKey(key)) return fallback;
            if (!(o[key] is double)) throw new GlbFormatException("'" + key + "' is not a number");
            return (double)o[key];
        }

        static double[] Nums(Dictionary<string, object> o, string key, int count)
        {
            if (o == null || !o.ContainsKey(key)) return null;
            var l = o[key] as List<object>;
            if (l == null || l.Count != count) throw new GlbFormatException("'" + key + "' is not an array of " + count + " numbers");
            var r = new double[count];
            for (int i = 0; i < count; i++)
            {
                if (!(l[i] is double)) throw new GlbFormatException("'" + key + "' is not an array of " + count + " numbers");
                r[i] = (double)l[i];
            }
            return r;
        }

        static float[] Floats(double[] d) { if (d == null) return null; var f = new float[d.Length]; for (int i = 0; i < d.Length; i++) f[i] = (float)d[i]; return f; }

        static string Str(Dictionary<string, object> o, string key) { return o != null && o.ContainsKey(key) ? o[key] as string : null; }

        // ---- buffers and accessors ---------------------------------------------------------------------------
        /// <summary>Start and length of buffer view `index` inside `data` (only the BIN chunk's buffer 0 exists).</summary>
        void View(int index, out int start, out int length, out int stride)
        {
            var views = Entries("bufferViews");
            if (index < 0 || index >= views.Count) throw new GlbFormatException("bufferView " + index + " does not exist");
            var v = views[index];
            int buffer = Int(v, "buffer", "bufferView " + index);
            var buffers = Entries("buffers");
            if (buffer != 0 || buffers.Count == 0 || buffers[0].ContainsKey("uri") || binStart < 0)
                throw new GlbFormatException("bufferView " + index + " is not in the GLB's BIN chunk (external buffers are not read)");
            int declared = OptInt(buffers[0], "byteLength", binLength);
            int offset = OptInt(v, "byteOffset", 0);
            length = Int(v, "byteLength", "bufferView " + index);
            stride = OptInt(v, "byteStride", 0);
            if (offset < 0 || length < 0 || (long)offset + length > Math.Min(declared, binLength))
                throw new GlbFormatException("bufferView " + index + " runs past the end of the BIN chunk (truncated file?)");
            start = binStart + offset;
        }

        static int ComponentSize(int type)
        {
            switch (type)
            {
                case 5120: case 5121: return 1;
                case 5122: case 5123: return 2;
                case 5125: case 5126: return 4;
                default: throw new GlbFormatException("unknown componentType " + type);
            }
        }

        static int Width(string type)
        {
            switch (type)
            {
                case "SCALAR": return 1;
                case "VEC2": return 2;
                case "VEC3": return 3;
                case "VEC4": return 4;
                case "MAT2": return 4;
                case "MAT3": return 9;
                case "MAT4": return 16;
                default: throw new GlbFormatException("unknown accessor type " + (type ?? "(none)"));
            }
        }

        double Component(int at, int type, bool normalized)
        {
            switch (type)
            {
                case 5126: return BitConverter.ToSingle(data, at);
                case 5125: { double v = U32(at); return normalized ? v / 4294967295.0 : v; }
                case 5123: { double v = (ushort)(data[at] | data[at + 1] << 8); return normalized ? v / 65535.0 : v; }
                case 5122: { double v = (short)(data[at] | data[at + 1] << 8); return normalized ? Math.Max(v / 32767.0, -1) : v; }
                case 5121: { double v = data[at]; return normalized ? v / 255.0 : v; }
                default: { double v = (sbyte)data[at]; return normalized ? Math.Max(v / 127.0, -1) : v; }
            }
        }

        /// <summary>Read `count` elements of `width` components from a buffer view, checking every byte is inside it.</summary>
        void ReadInto(double[] into, int viewIndex, int byteOffset, int count, int width, int type, bool normalized, string what, int[] rows)
        {
            int start, length, stride;
            View(viewIndex, out start, out length, out stride);
            int size = ComponentSize(type), element = size * width;
            if (stride == 0) stride = element;
            if (stride < element) throw new GlbFormatException(what + ": byteStride " + stride + " is smaller than an element (" + element + " bytes)");
            if (count > 0 && (byteOffset < 0 || (long)byteOffset + (long)stride * (count - 1) + element > length))
                throw new GlbFormatException(what + " reads past the end of bufferView " + viewIndex);
            for (int i = 0; i < count; i++)
            {
                int row = rows == null ? i : rows[i];
                int at = start + byteOffset + i * stride;
                for (int c = 0; c < width; c++) into[row * width + c] = Component(at + c * size, type, normalized);
            }
        }

        /// <summary>Accessor `index` as count*width doubles (normalized integers scaled to 0..1 or -1..1), sparse applied.</summary>
        double[] Accessor(int index, out int count, out int width)
        {
            var accessors = Entries("accessors");
            if (index < 0 || index >= accessors.Count) throw new GlbFormatException("accessor " + index + " does not exist");
            var a = accessors[index];
            string what = "accessor " + index;
            int type = Int(a, "componentType", what);
            width = Width(Str(a, "type"));
            count = Int(a, "count", what);
            if (count < 0 || (long)count * width > 1 << 28) throw new GlbFormatException(what + " has an impossible count " + count);
            bool normalized = a.ContainsKey("normalized") && a["normalized"] is bool && (bool)a["normalized"];
            var values = new double[(long)count * width];
            if (a.ContainsKey("bufferView")) ReadInto(values, Int(a, "bufferView", what), OptInt(a, "byteOffset", 0), count, width, type, normalized, what, null);
            var sparse = Obj(a, "sparse");
            if (sparse != null)
            {
                int n = Int(sparse, "count", what + ".sparse");
                var ind = Obj(sparse, "indices"); var val = Obj(sparse, "values");
                if (ind == null || val == null) throw new GlbFormatException(what + ".sparse needs indices and values");
                var rowsD = new double[n];
                ReadInto(rowsD, Int(ind, "bufferView", what), OptInt(ind, "byteOffset", 0), n, 1, Int(ind, "componentType", what), false, what + ".sparse.indices", null);
                var rows = new int[n];
                for (int i = 0; i < n; i++)
                {
                    if (rowsD[i] >= count) throw new GlbFormatException(what + ".sparse has index " + rowsD[i] + " past its count " + count);
                    rows[i] = (int)rowsD[i];
                }
                ReadInto(values, Int(val, "bufferView", what), OptInt(val, "byteOffset", 0), n, width, type, normalized, what + ".sparse.values", rows);
            }
            return values;
        }

        float[] FloatAccessor(int index, int expectCount, int expectWidth, string what)
        {
            int count, width;
            var d = Accessor(index, out count, out width);
            if (width != expectWidth) throw new GlbFormatException(what + " has " + width + " components, " + expectWidth + " expected");
            if (expectCount >= 0 && count != expectCount) throw new GlbFormatException(what + " has " + count + " elements, " + expectCount + " expected (as POSITION)");
            var f = new float[d.Length];
            for (int i = 0; i < d.Length; i++) f[i] = (float)d[i];
            return f;
        }

        // ---- document parts ------------------------------------------------------------------------------------
        GlbImage ReadImage(Dictionary<string, object> im)
        {
            var image = new GlbImage { Name = Str(im, "name"), MimeType = Str(im, "mimeType") ?? "" };
            if (!im.ContainsKey("bufferView")) throw new GlbFormatException("an image is not stored in the GLB (uri images are not read)");
            int start, length, stride;
            View(Int(im, "bufferView", "image"), out start, out length, out stride);
            image.Bytes = new byte[length];
            Buffer.BlockCopy(data, start, image.Bytes, 0, length);
            return image;
        }

        static GlbMaterial ReadMaterial(Dictionary<string, object> m)
        {
            var mat = new GlbMaterial { Name = Str(m, "name") };
            var pbr = Obj(m, "pbrMetallicRoughness");
            mat.BaseColor = Floats(Nums(pbr, "baseColorFactor", 4)) ?? mat.BaseColor;
            mat.BaseColorTexture = OptInt(Obj(pbr, "baseColorTexture"), "index", -1);
            mat.Metallic = (float)Num(pbr, "metallicFactor", 1);
            mat.Roughness = (float)Num(pbr, "roughnessFactor", 1);
            mat.AlphaMode = Str(m, "alphaMode") ?? "OPAQUE";
            mat.AlphaCutoff = (float)Num(m, "alphaCutoff", 0.5);
            mat.DoubleSided = m.ContainsKey("doubleSided") && m["doubleSided"] is bool && (bool)m["doubleSided"];
            return mat;
        }

        GlbMesh ReadMesh(Dictionary<string, object> m)
        {
            var mesh = new GlbMesh { Name = Str(m, "name") };
            var extras = Obj(m, "extras");
            if (extras != null && extras.ContainsKey("targetNames"))
            {
                var names = extras["targetNames"] as List<object>;
                if (names == null) throw new GlbFormatException("mesh " + mesh.Name + ": extras.targetNames is not an array");
                mesh.TargetNames = names.ConvertAll(o => o as string ?? "").ToArray();
            }
            foreach (var p in Entries(m, "primitives")) mesh.Primitives.Add(ReadPrimitive(p, mesh));
            return mesh;
        }

        GlbPrimitive ReadPrimitive(Dictionary<string, object> p, GlbMesh mesh)
        {
            string what = "mesh " + mesh.Name;
            int mode = OptInt(p, "mode", 4);
            if (mode != 4) throw new GlbFormatException(what + ": primitive mode " + mode + " is not read (triangles only)");
            var attrs = Obj(p, "attributes");
            if (attrs == null || !attrs.ContainsKey("POSITION")) throw new GlbFormatException(what + ": a primitive has no POSITION");
            var prim = new GlbPrimitive { Material = OptInt(p, "material", -1) };
            prim.Positions = FloatAccessor(Int(attrs, "POSITION", what), -1, 3, what + " POSITION");
            int n = prim.VertexCount = prim.Positions.Length / 3;
            GlbToUnity.MirrorVectors(prim.Positions);
            if (attrs.ContainsKey("NORMAL")) { prim.Normals = FloatAccessor(Int(attrs, "NORMAL", what), n, 3, what + " NORMAL"); GlbToUnity.MirrorVectors(prim.Normals); }
            if (attrs.ContainsKey("TEXCOORD_0")) { prim.TexCoords = FloatAccessor(Int(attrs, "TEXCOORD_0", what), n, 2, what + " TEXCOORD_0"); GlbToUnity.FlipV(prim.TexCoords); }
            if (attrs.ContainsKey("COLOR_0")) prim.Colors = Rgba(Int(attrs, "COLOR_0", what), n, what + " COLOR_0");
            prim.Triangles = Indices(p, n, what);
            GlbToUnity.FlipWinding(prim.Triangles);
            var targets = Entries(p, "targets");
            if (targets.Count > 0 && mesh.TargetNames.Length > 0 && targets.Count != mesh.TargetNames.Length)
                throw new GlbFormatException(what + " has " + targets.Count + " morph targets but " + mesh.TargetNames.Length + " target names");
            prim.Targets = new GlbMorphTarget[targets.Count];
            for (int t = 0; t < targets.Count; t++)
            {
                var target = new GlbMorphTarget { Name = t < mesh.TargetNames.Length ? mesh.TargetNames[t] : "target" + t };
                if (targets[t].ContainsKey("POSITION")) target.PositionDeltas = FloatAccessor(Int(targets[t], "POSITION", what), n, 3, what + " target " + target.Name);
                else target.PositionDeltas = new float[n * 3];
                GlbToUnity.MirrorVectors(target.PositionDeltas);
                if (targets[t].ContainsKey("NORMAL"))
                {
                    target.NormalDeltas = FloatAccessor(Int(targets[t], "NORMAL", what), n, 3, what + " target normals " + target.Name);
                    GlbToUnity.MirrorVectors(target.NormalDeltas);
                }
                prim.Targets[t] = target;
            }
            return prim;
        }

        float[] Rgba(int index, int n, string what)
        {
            int count, width;
            var d = Accessor(index, out count, out width);
            if (count != n || (width != 3 && width != 4)) throw new GlbFormatException(what + " is not " + n + " RGB or RGBA colours");
            var rgba = new float[n * 4];
            for (int i = 0; i < n; i++)
                for (int c = 0; c < 4; c++) rgba[i * 4 + c] = c < width ? (float)d[i * width + c] : 1f;
            return rgba;
        }

        int[] Indices(Dictionary<string, object> p, int n, string what)
        {
            int[] tris;
            if (p.ContainsKey("indices"))
            {
                int count, width;
                var d = Accessor(Int(p, "indices", what), out count, out width);
                if (width != 1) throw new GlbFormatException(what + ": indices are not SCALAR");
                tris = new int[count];
                for (int i = 0; i < count; i++)
                {
                    if (d[i] < 0 || d[i] >= n) throw new GlbFormatException(what + ": index " + d[i] + " is not below the vertex count " + n);
                    tris[i] = (int)d[i];
                }
            }
            else { tris = new int[n]; for (int i = 0; i < n; i++) tris[i] = i; }
            if (tris.Length % 3 != 0) throw new GlbFormatException(what + ": " + tris.Length + " indices do not make whole triangles");
            return tris;
        }

        GlbNode ReadNode(Dictionary<string, object> o, int index)
        {
            var node = new GlbNode { Name = Str(o, "name") ?? "node" + index, Mesh = OptInt(o, "mesh", -1) };
            var children = o.ContainsKey("children") ? o["children"] as List<object> : null;
            if (children != null) node.Children = children.ConvertAll(c => c is double ? (int)(double)c : -1).ToArray();
            var matrix = Nums(o, "matrix", 16);
            if (matrix != null) { Decompose(GlbToUnity.MirrorMatrix(matrix), node); return node; }
            var t = Floats(Nums(o, "translation", 3)); if (t != null) node.Translation = GlbToUnity.MirrorTranslation(t);
            var r = Floats(Nums(o, "rotation", 4)); if (r != null) node.Rotation = GlbToUnity.MirrorRotation(r);
            var s = Floats(Nums(o, "scale", 3)); if (s != null) node.Scale = s;
            return node;
        }

        /// <summary>A column-major affine matrix (already mirrored) as translation, rotation and scale.</summary>
        static void Decompose(double[] m, GlbNode node)
        {
            node.Translation = new[] { (float)m[12], (float)m[13], (float)m[14] };
            double sx = Len(m, 0), sy = Len(m, 4), sz = Len(m, 8);
            double det = m[0] * (m[5] * m[10] - m[9] * m[6]) - m[4] * (m[1] * m[10] - m[9] * m[2]) + m[8] * (m[1] * m[6] - m[5] * m[2]);
            if (det < 0) sx = -sx;
            if (sx == 0 || sy == 0 || sz == 0) throw new GlbFormatException("node " + node.Name + " has a matrix with zero scale");
            node.Scale = new[] { (float)sx, (float)sy, (float)sz };
            // rotation matrix r[row, col] = m[col*4 + row] / scale[col]
            double r00 = m[0] / sx, r10 = m[1] / sx, r20 = m[2] / sx, r01 = m[4] / sy, r11 = m[5] / sy, r21 = m[6] / sy, r02 = m[8] / sz, r12 = m[9] / sz, r22 = m[10] / sz;
            double x, y, z, w, trace = r00 + r11 + r22;
            if (trace > 0) { double s = Math.Sqrt(trace + 1) * 2; w = s / 4; x = (r21 - r12) / s; y = (r02 - r20) / s; z = (r10 - r01) / s; }
            else if (r00 > r11 && r00 > r22) { double s = Math.Sqrt(1 + r00 - r11 - r22) * 2; w = (r21 - r12) / s; x = s / 4; y = (r01 + r10) / s; z = (r02 + r20) / s; }
            else if (r11 > r22) { double s = Math.Sqrt(1 + r11 - r00 - r22) * 2; w = (r02 - r20) / s; x = (r01 + r10) / s; y = s / 4; z = (r12 + r21) / s; }
            else { double s = Math.Sqrt(1 + r22 - r00 - r11) * 2; w = (r10 - r01) / s; x = (r02 + r20) / s; y = (r12 + r21) / s; z = s / 4; }
            node.Rotation = new[] { (float)x, (float)y, (float)z, (float)w };
        }

        static double Len(double[] m, int col) { return Math.Sqrt(m[col] * m[col] + m[col + 1] * m[col + 1] + m[col + 2] * m[col + 2]); }

        int[] SceneRoots(GlbModel model)
        {
            var scenes = Entries("scenes");
            int scene = OptInt(json, "scene", scenes.Count > 0 ? 0 : -1);
            if (scene >= scenes.Count) throw new GlbFormatException("scene " + scene + " does not exist");
            if (scene >= 0 && scenes[scene].ContainsKey("nodes"))
            {
                var list = scenes[scene]["nodes"] as List<object>;
                if (list == null) throw new GlbFormatException("scene " + scene + ": 'nodes' is not an array");
                var roots = list.ConvertAll(c => c is double ? (int)(double)c : -1).ToArray();
                foreach (int r in roots)
                    if (r < 0 || r >= model.Nodes.Count || model.Nodes[r].Parent >= 0) throw new GlbFormatException("scene " + scene + " names node " + r + ", which is not a root node");
                return roots;
            }
            var all = new List<int>();
            for (int i = 0; i < model.Nodes.Count; i++) if (model.Nodes[i].Parent < 0) all.Add(i);
            return all.ToArray();
        }
    }
}
