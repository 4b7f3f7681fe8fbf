using System.IO;
using AvatarLab;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab.Samples
{
    /// <summary>
    /// Sample: the default avatar (the head made from the public-domain astronaut portrait,
    /// models/avatar/default_head.glb) or any `avatarlab avatar --photo` GLB, loaded at run time and speaking a
    /// line through the daemon. Add this component to an empty GameObject (it adds AvatarLabClient,
    /// StreamingAudioPlayer with its AudioSource, and BlendshapeDriver), give it the GLB, start the daemon
    /// (`avatarlab serve`), press Play. The GLB: drag `default_head.glb.bytes` (staged into this sample by
    /// `python unity_plugin/Tools/stage_sample_avatar.py`) into `avatarGlb`, or leave it empty and put the file at
    /// `glbPath` (relative paths are under Assets/StreamingAssets).
    /// </summary>
    [RequireComponent(typeof(AvatarLabClient))]
    [RequireComponent(typeof(StreamingAudioPlayer))]
    [RequireComponent(typeof(BlendshapeDriver))]
    public sealed class PhotoAvatar : MonoBehaviour
    {
        [Tooltip("The GLB as a TextAsset: name the file *.glb.bytes so Unity imports its bytes")] public TextAsset avatarGlb;
        [Tooltip("Used when avatarGlb is empty; relative to Assets/StreamingAssets")] public string glbPath = "default_head.glb";
        [Tooltip("Move the main camera in front of the face")] public bool frameMainCamera = true;
        public string line = "Hello! I was made from a single photograph, and I can talk.";
        public string emotion = "happy";

        AvatarLabClient client;
        bool spoken;

        // Awake, not Start: BlendshapeDriver looks for the Head and eye nodes in its own Start.
        void Awake()
        {
            client = GetComponent<AvatarLabClient>();
            var driver = GetComponent<BlendshapeDriver>();
            client.player = GetComponent<StreamingAudioPlayer>();
            client.driver = driver;
            driver.builtInProfile = BlendshapeDriver.BuiltIn.ARKit;
            GameObject avatar;
            try { avatar = LoadAvatar(); }
            catch (IOException e) { Debug.LogError("PhotoAvatar: cannot read the GLB: " + e.Message); return; }
            catch (GlbFormatException e) { Debug.LogError("PhotoAvatar: not a usable GLB: " + e.Message); return; }
            driver.renderers = avatar.transform.GetComponentsInChildren<SkinnedMeshRenderer>(true);
            if (frameMainCamera) Frame(avatar.transform);
        }

        GameObject LoadAvatar()
        {
            if (avatarGlb != null) return GlbAvatarLoader.Load(avatarGlb.bytes, transform);
            string path = Path.IsPathRooted(glbPath) ? glbPath : Path.Combine(Application.streamingAssetsPath, glbPath);
            return GlbAvatarLoader.Load(path, transform);
        }

        /// <summary>The avatar faces +Z: put the main camera 0.7 m in front of its head, looking at the eyes.</summary>
        static void Frame(Transform avatar)
        {
            var head = Find(avatar, "Head");
            var cam = Camera.main;
            if (head == null || cam == null) return;
            Vector3 p = head.position;
            var eyes = new Vector3(p.x, p.y + 0.08f, p.z);
            cam.transform.position = new Vector3(eyes.x, eyes.y, eyes.z + 0.7f);
            cam.transform.LookAt(eyes);
        }

        static Transform Find(Transform t, string name)
        {
            if (t.name == name) return t;
            for (int i = 0; i < t.childCount; i++)
            {
                var found = Find(t.GetChild(i), name);
                if (found != null) return found;
            }
            return null;
        }

        void OnEnable() { client.ConnectionChanged += OnConnection; client.Failed += OnFailed; }

        void OnDisable() { client.ConnectionChanged -= OnConnection; client.Failed -= OnFailed; }

        void OnConnection(string state, string instance)
        {
            if (state != "disconnected" && !spoken) { spoken = true; client.Speak(line, emotion); }
        }

        static void OnFailed(string id, string code, string message) { Debug.LogWarning("line " + id + " failed: " + code + ": " + message); }
    }
}
