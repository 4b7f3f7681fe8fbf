using System.Collections.Generic;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab
{
    /// <summary>
    /// Where a stream's audio is now, in samples of the stream: the position BlendshapeDriver samples the
    /// curves at. StreamingAudioPlayer (the DSP position of a spoken line) and LiveLipSync (the pushed
    /// audio, behind its newest sample by the delay the daemon states) are clocks.
    /// </summary>
    public interface IAudioClock
    {
        /// <summary>Samples of the stream from its start (fractional), or a negative number before it starts.</summary>
        double PlaybackSample { get; }
    }

    /// <summary>
    /// Animates SkinnedMeshRenderers (blendshapes through a RetargetProfile) and head and eye bones from
    /// the curves of the stream that AvatarLabClient is playing (or LiveLipSync is listening to), sampled
    /// at that stream's audio clock, so the face stays on the sound whatever the frame rate.
    /// </summary>
    [AddComponentMenu("AvatarLab/Blendshape Driver")]
    public sealed class BlendshapeDriver : MonoBehaviour
    {
        public enum BuiltIn { ARKit, OculusVisemes, VRM, Custom }

        [Header("Rig")]
        public SkinnedMeshRenderer[] renderers = new SkinnedMeshRenderer[0];
        public BuiltIn builtInProfile = BuiltIn.ARKit;
        [Tooltip("Used when the built-in profile is Custom")] public RetargetProfile customProfile;
        [Tooltip("Unity blendshape weight for a curve value of 1")] public float weightScale = 100f;
        [Header("Bones (found by the profile's names when empty)")]
        public Transform head, leftEye, rightEye;
        [Range(0f, 2f)] public float headAmount = 1f, eyeAmount = 1f;
        [Tooltip("Per-axis signs for pitch, yaw, roll if the rig's bone axes differ from Unity's")] public Vector3 axisSigns = new Vector3(1, -1, 1);
        [Tooltip("Seconds to ease back to rest after a line")] public float releaseSeconds = 0.2f;

        IAudioClock clock;
        CurveTrack track;
        RetargetMap map;
        float[] frame, weights;
        readonly List<int[]> indices = new List<int[]>();   // per renderer: blendshape index per target
        Quaternion headRest, leftRest, rightRest;
        float envelope;

        RetargetProfile cachedProfile;
        BuiltIn cachedKind;

        RetargetProfile Profile
        {
            get
            {
                if (builtInProfile == BuiltIn.Custom) return customProfile;
                if (cachedProfile == null || cachedKind != builtInProfile) { cachedKind = builtInProfile; cachedProfile = MakeBuiltIn(builtInProfile); }
                return cachedProfile;
            }
        }

        static RetargetProfile MakeBuiltIn(BuiltIn kind)
        {
            {
                switch (kind)
                {
                    case BuiltIn.ARKit: return RetargetProfile.FromBuiltIn("arkit");
                    case BuiltIn.OculusVisemes: return RetargetProfile.FromBuiltIn("oculus");
                    case BuiltIn.VRM: return RetargetProfile.FromBuiltIn("vrm");
                    default: return null;
                }
            }
        }

        void Start()
        {
            var p = Profile;
            if (p == null) { Debug.LogWarning("BlendshapeDriver: no retarget profile"); return; }
            var data = p.ToData();
            if (head == null) head = FindBone(transform, data.HeadNodes);
            if (leftEye == null) leftEye = FindBone(transform, data.LeftEyeNodes);
            if (rightEye == null) rightEye = FindBone(transform, data.RightEyeNodes);
            if (head != null) headRest = head.localRotation;
            if (leftEye != null) leftRest = leftEye.localRotation;
            if (rightEye != null) rightRest = rightEye.localRotation;
        }

        static Transform FindBone(Transform root, string[] names)
        {
            if (root == null) return null;
            foreach (string n in names) if (root.name == n) return root;
            for (int i = 0; i < root.childCount; i++)
            {
                var found = FindBone(root.GetChild(i), names);
                if (found != null) return found;
            }
            return null;
        }

        /// <summary>Called by AvatarLabClient (or LiveLipSync) when a stream starts: bind the profile to its channels.</summary>
        public void Bind(CurveTrack curves, IAudioClock audioClock)
        {
            track = curves; clock = audioClock;
            var p = Profile;
            if (p == null) return;
            map = new RetargetMap(p.ToData(), curves.Channels);
            frame = new float[curves.NumChannels];
            weights = new float[map.Targets.Length];
            indices.Clear();
            foreach (var r in renderers)
            {
                var idx = new int[map.Targets.Length];
                for (int t = 0; t < idx.Length; t++) idx[t] = r != null && r.sharedMesh != null ? r.sharedMesh.GetBlendShapeIndex(map.Targets[t]) : -1;
                indices.Add(idx);
            }
        }

        public void Unbind() { track = null; }

        bool ClockAlive()
        {
            if (clock == null) return false;
            var o = clock as Object;          // a destroyed component compares equal to null in Unity
            return ReferenceEquals(o, null) || o != null;
        }

        void LateUpdate()
        {
            if (map == null) return;
            double at = ClockAlive() ? clock.PlaybackSample : -1;
            bool live = track != null && at >= 0 && track.Sample(at, frame);
            float rate = releaseSeconds > 0 ? Time.deltaTime / releaseSeconds : 1f;
            envelope = live ? 1f : Mathf.Clamp01(envelope - rate);
            if (!live && envelope <= 0f) return;
            map.Evaluate(frame, weights);
            for (int r = 0; r < renderers.Length && r < indices.Count; r++)
            {
                if (renderers[r] == null) continue;
                int[] idx = indices[r];
                for (int t = 0; t < idx.Length; t++)
                    if (idx[t] >= 0) renderers[r].SetBlendShapeWeight(idx[t], weights[t] * weightScale * envelope);
            }
            float k = Mathf.Rad2Deg * envelope;   // radians to degrees, eased out after the line
            if (head != null)
                head.localRotation = headRest * Quaternion.Euler(axisSigns.x * k * headAmount * RetargetMap.At(frame, map.HeadPitch),
                    axisSigns.y * k * headAmount * RetargetMap.At(frame, map.HeadYaw), axisSigns.z * k * headAmount * RetargetMap.At(frame, map.HeadRoll));
            if (leftEye != null)
                leftEye.localRotation = leftRest * Quaternion.Euler(axisSigns.x * k * eyeAmount * RetargetMap.At(frame, map.LeftEyePitch),
                    axisSigns.y * k * eyeAmount * RetargetMap.At(frame, map.LeftEyeYaw), 0f);
            if (rightEye != null)
                rightEye.localRotation = rightRest * Quaternion.Euler(axisSigns.x * k * eyeAmount * RetargetMap.At(frame, map.RightEyePitch),
                    axisSigns.y * k * eyeAmount * RetargetMap.At(frame, map.RightEyeYaw), 0f);
        }
    }
}
