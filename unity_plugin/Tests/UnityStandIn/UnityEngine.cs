// A STAND-IN for the UnityEngine API, declaring only the members the package uses, so that
// Runtime/Unity, Editor and Samples~ can be compiled with Mono outside Unity (a compile check).
// It is not Unity: nothing here behaves like Unity, and no test claims any behaviour from it.
// Unity never compiles this folder (Tests/AvatarLab.Tests.Mono.asmdef has an unmet define constraint).
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object
    {
        public string name;
        public static void Destroy(Object o) { }
        public static void DestroyImmediate(Object o) { }
        public static T Instantiate<T>(T o) where T : Object { return o; }
        public static implicit operator bool(Object o) { return !ReferenceEquals(o, null); }
    }
    public class Component : Object
    {
        public Transform transform { get { return null; } }
        public GameObject gameObject { get { return null; } }
        public T GetComponent<T>() { return default(T); }
        public T[] GetComponentsInChildren<T>(bool includeInactive) { return new T[0]; }
    }
    public class Behaviour : Component { public bool enabled; public bool isActiveAndEnabled { get { return true; } } }
    public class MonoBehaviour : Behaviour { }
    public class ScriptableObject : Object { public static T CreateInstance<T>() where T : ScriptableObject, new() { return new T(); } }
    public class GameObject : Object
    {
        public GameObject() { }
        public GameObject(string name) { this.name = name; }
        public Transform transform { get { return null; } }
        public T GetComponent<T>() { return default(T); }
        public T AddComponent<T>() where T : Component, new() { return new T(); }
    }
    public class Transform : Component
    {
        public Quaternion localRotation;
        public Vector3 localPosition, localScale, position;
        public void SetParent(Transform parent, bool worldPositionStays) { }
        public void LookAt(Vector3 worldPosition) { }
        public int childCount { get { return 0; } }
        public Transform GetChild(int i) { return null; }
        public Transform Find(string n) { return null; }
    }
    public class Renderer : Component { public Material[] sharedMaterials; }
    public class MeshRenderer : Renderer { }
    public class MeshFilter : Component { public Mesh sharedMesh; }
    public class Mesh : Object
    {
        public Mesh() { }
        public Rendering.IndexFormat indexFormat { get; set; }
        public int subMeshCount { get; set; }
        public void SetVertices(List<Vector3> inVertices) { }
        public void SetNormals(List<Vector3> inNormals) { }
        public void SetUVs(int channel, List<Vector2> uvs) { }
        public void SetColors(List<Color> inColors) { }
        public void SetTriangles(int[] triangles, int submesh, bool calculateBounds = true, int baseVertex = 0) { }
        public void AddBlendShapeFrame(string shapeName, float frameWeight, Vector3[] deltaVertices, Vector3[] deltaNormals, Vector3[] deltaTangents) { }
        public void RecalculateNormals() { }
        public void RecalculateBounds() { }
        public int blendShapeCount { get { return 0; } }
        public int GetBlendShapeIndex(string n) { return -1; }
        public string GetBlendShapeName(int i) { return null; }
    }
    public class SkinnedMeshRenderer : Renderer
    {
        public Mesh sharedMesh;
        public void SetBlendShapeWeight(int i, float w) { }
        public float GetBlendShapeWeight(int i) { return 0; }
    }
    public sealed class AudioClip : Object
    {
        public delegate void PCMReaderCallback(float[] data);
        public delegate void PCMSetPositionCallback(int position);
        public int frequency { get { return 0; } }
        public int samples { get { return 0; } }
        public int channels { get { return 1; } }
        public float length { get { return 0; } }
        public bool GetData(float[] data, int offsetSamples) { return true; }
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream, PCMReaderCallback pcmreadercallback) { return new AudioClip(); }
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream, PCMReaderCallback pcmreadercallback, PCMSetPositionCallback pcmsetpositioncallback) { return new AudioClip(); }
    }
    public class AudioSource : Behaviour
    {
        public AudioClip clip; public bool loop; public bool playOnAwake; public bool isPlaying { get { return false; } }
        public int timeSamples;
        public void PlayScheduled(double time) { }
        public void Play() { }
        public void Stop() { }
    }
    public static class Microphone
    {
        public static string[] devices { get { return new string[0]; } }
        public static AudioClip Start(string deviceName, bool loop, int lengthSec, int frequency) { return new AudioClip(); }
        public static void End(string deviceName) { }
        public static bool IsRecording(string deviceName) { return false; }
        public static int GetPosition(string deviceName) { return 0; }
        public static void GetDeviceCaps(string deviceName, out int minFreq, out int maxFreq) { minFreq = 0; maxFreq = 0; }
    }
    public static class AudioSettings
    {
        public static double dspTime { get { return 0; } }
        public static int outputSampleRate { get { return 48000; } }
    }
    public struct Vector3 { public float x, y, z; public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; } }
    public struct Vector2 { public float x, y; public Vector2(float x, float y) { this.x = x; this.y = y; } }
    public struct Color
    {
        public float r, g, b, a;
        public Color(float r, float g, float b, float a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public static Color white { get { return new Color(1, 1, 1, 1); } }
    }
    public sealed class Shader : Object { public static Shader Find(string name) { return null; } }
    public class Texture : Object { public TextureWrapMode wrapMode { get; set; } }
    public enum TextureWrapMode { Repeat = 0, Clamp = 1, Mirror = 2, MirrorOnce = 3 }
    public enum TextureFormat { RGBA32 = 4 }
    public sealed class Texture2D : Texture { public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain) { } }
    public static class ImageConversion { public static bool LoadImage(this Texture2D tex, byte[] data, bool markNonReadable) { return true; } }
    public class Material : Object
    {
        public Material(Shader shader) { }
        public int renderQueue { get; set; }
        public bool HasProperty(string name) { return false; }
        public void SetColor(string name, Color value) { }
        public void SetTexture(string name, Texture value) { }
        public void SetFloat(string name, float value) { }
        public void EnableKeyword(string keyword) { }
    }
    public class TextAsset : Object { public byte[] bytes { get { return new byte[0]; } } }
    public sealed class Camera : Behaviour { public static Camera main { get { return null; } } }
    public static class Application { public static string streamingAssetsPath { get { return ""; } } }
    public struct Quaternion
    {
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Quaternion identity { get { return new Quaternion { w = 1 }; } }
        public static Quaternion Euler(float x, float y, float z) { return identity; }
        public static Quaternion Slerp(Quaternion a, Quaternion b, float t) { return a; }
        public static Quaternion operator *(Quaternion a, Quaternion b) { return a; }
    }
    public static class Mathf
    {
        public const float Rad2Deg = 57.29578f;
        public static float Clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
        public static float Lerp(float a, float b, float t) { return a + (b - a) * t; }
        public static float Exp(float v) { return (float)Math.Exp(v); }
    }
    public static class Time
    {
        public static float deltaTime { get { return 0; } }
        public static float unscaledDeltaTime { get { return 0; } }
        public static float realtimeSinceStartup { get { return 0; } }
    }
    public static class Debug
    {
        public static void Log(object m) { }
        public static void LogWarning(object m) { }
        public static void LogError(object m) { }
    }
    public struct Keyframe { public Keyframe(float time, float value) { } }
    public class AnimationCurve
    {
        public AnimationCurve() { }
        public AnimationCurve(params Keyframe[] keys) { }
        public int AddKey(float time, float value) { return 0; }
    }
    public sealed class AnimationClip : Object
    {
        public float frameRate;
        public bool legacy;
        public void SetCurve(string relativePath, Type type, string propertyName, AnimationCurve curve) { }
    }
    public enum HideFlags { None = 0, DontSave = 52 }
    [AttributeUsage(AttributeTargets.Field)] public sealed class SerializeField : Attribute { }
    [AttributeUsage(AttributeTargets.Field)] public sealed class TooltipAttribute : Attribute { public TooltipAttribute(string t) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class HeaderAttribute : Attribute { public HeaderAttribute(string t) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class RangeAttribute : Attribute { public RangeAttribute(float a, float b) { } }
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)] public sealed class RequireComponent : Attribute { public RequireComponent(Type t) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class DisallowMultipleComponent : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string m) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class CreateAssetMenuAttribute : Attribute { public string fileName, menuName; }
}

namespace UnityEngine.Rendering
{
    public enum IndexFormat { UInt16 = 0, UInt32 = 1 }
    public enum CullMode { Off = 0, Front = 1, Back = 2 }
    public enum BlendMode { Zero = 0, One = 1, SrcAlpha = 5, OneMinusSrcAlpha = 10 }
    public enum RenderQueue { Background = 1000, Geometry = 2000, AlphaTest = 2450, GeometryLast = 2500, Transparent = 3000, Overlay = 4000 }
    public abstract class RenderPipelineAsset : ScriptableObject { }
    public static class GraphicsSettings { public static RenderPipelineAsset currentRenderPipeline { get { return null; } } }
}
