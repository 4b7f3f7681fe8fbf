// The GLB reader (Runtime/Protocol/Glb.cs): bad files give GlbFormatException with a clear message, and
// `--glb-report` writes what it read from a file as JSON for tests/test_unity_avatar.py to compare with Python's
// reading of the same file (pygltflib and avatarlab.render.document).
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using AvatarLab.Protocol;

namespace AvatarLab.Tests
{
    public static class GlbTests
    {
        static byte[] Header(uint magic, uint version, uint length, int total)
        {
            var b = new byte[total];
            BitConverter.GetBytes(magic).CopyTo(b, 0);
            BitConverter.GetBytes(version).CopyTo(b, 4);
            BitConverter.GetBytes(length).CopyTo(b, 8);
            return b;
        }

        /// <summary>A GLB with only a JSON chunk holding `json` (padded with spaces as the spec says).</summary>
        static byte[] JsonOnly(string json)
        {
            var text = Encoding.UTF8.GetBytes(json);
            int padded = (text.Length + 3) / 4 * 4;
            var b = Header(0x46546C67, 2, (uint)(12 + 8 + padded), 12 + 8 + padded);
            BitConverter.GetBytes((uint)padded).CopyTo(b, 12);
            BitConverter.GetBytes(0x4E4F534Au).CopyTo(b, 16);
            for (int i = 0; i < padded; i++) b[20 + i] = i < text.Length ? text[i] : (byte)' ';
            return b;
        }

        static void Rejects(byte[] data, string expected, string what)
        {
            var e = Assert.Throws<GlbFormatException>(() => GlbModel.Parse(data), what);
            Assert.True(e.Message.Contains(expected), what + ": message '" + e.Message + "' does not say '" + expected + "'");
        }

        [Test]
        public static void RepeatedAndMissingMorphTargetNamesBecomeDistinctBlendShapes()
        {
            // Unity's AddBlendShapeFrame throws on a repeated name; a third-party file may repeat one or leave it out.
            var prim = new GlbPrimitive { VertexCount = 1, Positions = new float[3], Triangles = new int[0] };
            prim.Targets = new[] { 1f, 2f, 3f, 4f }.Select(x => new GlbMorphTarget { PositionDeltas = new[] { x, 0f, 0f } }).ToArray();
            var mesh = new GlbMesh { Name = "m", TargetNames = new[] { "jawOpen", "jawOpen", "", "jawOpen" } };
            mesh.Primitives.Add(prim);
            var c = GlbUnityMesh.Combine(mesh);
            Assert.Equal("jawOpen|jawOpen (2)|target2|jawOpen (3)", string.Join("|", c.BlendShapeNames), "blendshape names");
            Assert.Equal(4f, c.BlendShapeDeltas[3][0], "each name keeps its own target's deltas");
            Assert.Equal("a|a (2)|a (2) (2)", string.Join("|", GlbUnityMesh.UniqueNames(new[] { "a", "a", "a (2)" }, 3)),
                         "a file that already uses the suffix");
        }

        [Test]
        public static void NotAGlbFileIsRejected()
        {
            Rejects(Encoding.ASCII.GetBytes("\x89PNG\r\n\x1a\n0000000000000000"), "not a binary glTF", "a PNG");
            Rejects(new byte[0], "not a binary glTF", "an empty file");
            Rejects(Encoding.ASCII.GetBytes("{\"asset\":{\"version\":\"2.0\"}}"), "not a binary glTF", "a .gltf JSON file");
        }

        [Test]
        public static void WrongVersionIsRejected()
        {
            Rejects(Header(0x46546C67, 1, 20, 20), "GLB version 1 is not supported", "a glTF 1.0 binary");
            Rejects(JsonOnly("{\"asset\":{\"version\":\"1.0\"}}"), "asset.version is 1.0", "a 1.0 asset in a v2 container");
        }

        [Test]
        public static void TruncatedHeaderAndChunksAreRejected()
        {
            Rejects(Header(0x46546C67, 2, 4000, 40), "truncated GLB: its header says 4000 bytes, the file has 40", "a short file");
            var b = Header(0x46546C67, 2, 40, 40);
            BitConverter.GetBytes(400u).CopyTo(b, 12);
            BitConverter.GetBytes(0x4E4F534Au).CopyTo(b, 16);
            Rejects(b, "runs past the end", "a chunk longer than the file");
            Rejects(Header(0x46546C67, 2, 12, 12), "no JSON chunk", "a header alone");
        }

        [Test]
        public static void BadJsonAndDanglingReferencesAreRejected()
        {
            Rejects(JsonOnly("{\"asset\": [}"), "JSON chunk does not parse", "broken JSON");
            Rejects(JsonOnly("{\"asset\":{\"version\":\"2.0\"},\"nodes\":[{\"mesh\":3}]}"), "names mesh 3", "a node naming a missing mesh");
            Rejects(JsonOnly("{\"asset\":{\"version\":\"2.0\"},\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0}}]}]}"),
                "accessor 0 does not exist", "a primitive naming a missing accessor");
            Rejects(JsonOnly("{\"asset\":{\"version\":\"2.0\"},\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\"}],"
                + "\"buffers\":[{\"byteLength\":36}],\"bufferViews\":[{\"buffer\":0,\"byteLength\":36}],\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0}}]}]}"),
                "not in the GLB's BIN chunk", "an accessor with no BIN chunk behind it");
        }

        [Test(Needs = "glb")]
        public static void TruncatedAvatarIsRejected()
        {
            var whole = File.ReadAllBytes(Env.Glb);
            var cut = whole.Take(whole.Length * 6 / 10).ToArray();
            Rejects(cut, "truncated GLB", "the avatar cut at 60%");
            BitConverter.GetBytes((uint)cut.Length).CopyTo(cut, 8);  // a header that agrees with the short file
            Rejects(cut, "runs past the end", "the avatar cut at 60% with a consistent header");
        }

        [Test(Needs = "glb")]
        public static void AvatarHasTheNodesAndTargetsTheDriverLooksFor()
        {
            var model = GlbModel.Load(Env.Glb);
            foreach (string name in new[] { "Head", "HeadMesh", "LeftEye", "RightEye", "Body" })
                Assert.True(model.FindNode(name) >= 0, "node " + name);
            var head = model.Meshes[model.Nodes[model.FindNode("HeadMesh")].Mesh];
            Assert.True(head.TargetNames.Contains("jawOpen") && head.TargetNames.Contains("viseme_aa"), "jawOpen and viseme_aa");
            foreach (var p in head.Primitives) Assert.Equal(head.TargetNames.Length, p.Targets.Length, "targets per primitive");
            // the character's left eye is on its own left: +x in glTF, -x in Unity
            Assert.True(model.Nodes[model.FindNode("LeftEye")].Translation[0] < 0, "LeftEye at negative x in Unity");
        }

        // ---- the report ------------------------------------------------------------------------------------------
        static string N(double v) { return v.ToString("R", CultureInfo.InvariantCulture); }
        static string Arr(float[] v) { return v == null ? "null" : "[" + string.Join(",", v.Select(x => N(x))) + "]"; }
        static string Arr(int[] v) { return "[" + string.Join(",", v.Select(x => x.ToString(CultureInfo.InvariantCulture))) + "]"; }
        static string S(string s)
        {
            if (s == null) return "null";
            var b = new StringBuilder("\"");
            foreach (char c in s) { if (c == '"' || c == '\\') b.Append('\\'); if (c < ' ') b.Append("\\u").Append(((int)c).ToString("x4")); else b.Append(c); }
            return b.Append('"').ToString();
        }

        static float[] Slice(float[] v, int at, int width) { if (v == null) return null; var r = new float[width]; Array.Copy(v, at * width, r, 0, width); return r; }

        static string Target(GlbMorphTarget t)
        {
            var d = t.PositionDeltas;
            var sum = new double[3]; int peak = 0; double best = -1;
            for (int i = 0; i < d.Length / 3; i++)
            {
                for (int c = 0; c < 3; c++) sum[c] += d[i * 3 + c];
                double m = d[i * 3] * d[i * 3] + d[i * 3 + 1] * d[i * 3 + 1] + d[i * 3 + 2] * d[i * 3 + 2];
                if (m > best) { best = m; peak = i; }
            }
            return "{\"name\":" + S(t.Name) + ",\"sum\":[" + N(sum[0]) + "," + N(sum[1]) + "," + N(sum[2]) + "],\"peakVertex\":" + peak
                + ",\"peak\":" + Arr(Slice(d, peak, 3)) + "}";
        }

        static string Primitive(GlbPrimitive p)
        {
            int n = p.VertexCount;
            var sample = new[] { 0, n / 2, n - 1 };
            return "{\"vertices\":" + n + ",\"indices\":" + p.Triangles.Length + ",\"material\":" + p.Material
                + ",\"firstTriangle\":" + Arr(p.Triangles.Take(3).ToArray()) + ",\"indexSum\":" + p.Triangles.Select(x => (long)x).Sum()
                + ",\"sampleVertices\":" + Arr(sample)
                + ",\"positions\":[" + string.Join(",", sample.Select(i => Arr(Slice(p.Positions, i, 3)))) + "]"
                + ",\"normals\":[" + string.Join(",", sample.Select(i => Arr(Slice(p.Normals, i, 3)))) + "]"
                + ",\"uvs\":[" + string.Join(",", sample.Select(i => Arr(Slice(p.TexCoords, i, 2)))) + "]"
                + ",\"colors\":[" + string.Join(",", sample.Select(i => Arr(Slice(p.Colors, i, 4)))) + "]"
                + ",\"targets\":[" + string.Join(",", p.Targets.Select(Target)) + "]}";
        }

        /// <summary>The mesh as GlbAvatarLoader gives it to Unity, double-sided materials' primitives with back faces added.</summary>
        static string Combined(GlbModel model, GlbMesh mesh)
        {
            var backFaces = mesh.Primitives.Select(p => p.Material >= 0 && model.Materials[p.Material].DoubleSided).ToArray();
            var c = GlbUnityMesh.Combine(mesh, backFaces);
            int n = c.VertexCount;
            var sample = c.BaseVertex.Concat(new[] { n / 2, n - 1 }).ToArray();
            var shapes = c.BlendShapeNames.Select((name, t) => Target(new GlbMorphTarget { Name = name, PositionDeltas = c.BlendShapeDeltas[t] }));
            return "{\"vertices\":" + n + ",\"baseVertex\":" + Arr(c.BaseVertex) + ",\"backFaces\":[" + string.Join(",", backFaces.Select(b => b ? "true" : "false"))
                + "],\"submeshes\":[" + string.Join(",", c.Submeshes.Select(Arr)) + "],\"sampleVertices\":" + Arr(sample)
                + ",\"positions\":[" + string.Join(",", sample.Select(i => Arr(Slice(c.Positions, i, 3)))) + "]"
                + ",\"normals\":[" + string.Join(",", sample.Select(i => Arr(Slice(c.Normals, i, 3)))) + "]"
                + ",\"uvs\":[" + string.Join(",", sample.Select(i => Arr(Slice(c.TexCoords, i, 2)))) + "]"
                + ",\"colors\":[" + string.Join(",", sample.Select(i => Arr(Slice(c.Colors, i, 4)))) + "]"
                + ",\"meanColors\":[" + string.Join(",", mesh.Primitives.Select(p => Arr(GlbUnityMesh.MeanColor(p.Colors)))) + "]"
                + ",\"blendShapes\":[" + string.Join(",", shapes) + "]}";
        }

        /// <summary>What the reader found in `glb`, as JSON in `outPath` (exit code 0), or the error (exit code 1).</summary>
        public static int WriteReport(string glb, string outPath)
        {
            GlbModel m;
            try { m = GlbModel.Load(glb); }
            catch (GlbFormatException e) { Console.WriteLine("GlbFormatException: " + e.Message); return 1; }
            var b = new StringBuilder("{\"roots\":").Append(Arr(m.SceneRoots)).Append(",\"nodes\":[");
            b.Append(string.Join(",", m.Nodes.Select(n => "{\"name\":" + S(n.Name) + ",\"parent\":" + n.Parent + ",\"children\":" + Arr(n.Children)
                + ",\"mesh\":" + n.Mesh + ",\"translation\":" + Arr(n.Translation) + ",\"rotation\":" + Arr(n.Rotation) + ",\"scale\":" + Arr(n.Scale) + "}")));
            b.Append("],\"meshes\":[");
            b.Append(string.Join(",", m.Meshes.Select(mesh => "{\"name\":" + S(mesh.Name) + ",\"targetNames\":[" + string.Join(",", mesh.TargetNames.Select(S))
                + "],\"primitives\":[" + string.Join(",", mesh.Primitives.Select(Primitive)) + "],\"unity\":" + Combined(m, mesh) + "}")));
            b.Append("],\"materials\":[");
            b.Append(string.Join(",", m.Materials.Select(x => "{\"name\":" + S(x.Name) + ",\"baseColor\":" + Arr(x.BaseColor) + ",\"texture\":" + x.BaseColorTexture
                + ",\"metallic\":" + N(x.Metallic) + ",\"roughness\":" + N(x.Roughness) + ",\"alphaMode\":" + S(x.AlphaMode) + ",\"doubleSided\":" + (x.DoubleSided ? "true" : "false") + "}")));
            b.Append("],\"textures\":").Append(Arr(m.Textures.ToArray())).Append(",\"images\":[");
            b.Append(string.Join(",", m.Images.Select(im => "{\"mimeType\":" + S(im.MimeType) + ",\"byteLength\":" + im.Bytes.Length
                + ",\"head\":" + S(BitConverter.ToString(im.Bytes, 0, Math.Min(8, im.Bytes.Length)).Replace("-", "").ToLowerInvariant()) + "}")));
            b.Append("]}");
            File.WriteAllText(outPath, b.ToString());
            return 0;
        }
    }
}
