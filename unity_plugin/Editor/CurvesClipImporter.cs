using System.IO;
using AvatarLab.Protocol;
using UnityEditor;
using UnityEngine;

namespace AvatarLab.Editor
{
    /// <summary>
    /// Turns a curves JSON written by `avatarlab speak` / `avatarlab export` (docs/curves-json.md) into an
    /// AnimationClip for cutscenes: one blendShape curve per target of the chosen retarget profile, on the
    /// SkinnedMeshRenderer at `rendererPath`, and Euler rotation curves for head and eye bones.
    /// </summary>
    public static class CurvesClipImporter
    {
        [MenuItem("Assets/AvatarLab/Import Curves JSON as AnimationClip...")]
        static void ImportMenu()
        {
            string json = EditorUtility.OpenFilePanel("AvatarLab curves JSON", "", "json");
            if (string.IsNullOrEmpty(json)) return;
            string save = EditorUtility.SaveFilePanelInProject("Save AnimationClip", Path.GetFileNameWithoutExtension(json), "anim", "Where to save the clip");
            if (string.IsNullOrEmpty(save)) return;
            var clip = Build(File.ReadAllText(json), RetargetProfile.FromBuiltIn("arkit"), "Face", "Head", "LeftEye", "RightEye", 100f);
            AssetDatabase.CreateAsset(clip, save);
            AssetDatabase.SaveAssets();
        }

        [MenuItem("Assets/Create/AvatarLab/Built-in Retarget Profiles")]
        static void CreateBuiltInProfiles()
        {
            if (!AssetDatabase.IsValidFolder("Assets/AvatarLab")) AssetDatabase.CreateFolder("Assets", "AvatarLab");
            foreach (string name in RetargetProfiles.Names)
                AssetDatabase.CreateAsset(RetargetProfile.FromBuiltIn(name), "Assets/AvatarLab/" + name + ".asset");
            AssetDatabase.SaveAssets();
        }

        /// <summary>Build the clip; paths are relative to the animated root ("" for the root itself, null to skip).</summary>
        public static AnimationClip Build(string json, RetargetProfile profile, string rendererPath, string headPath,
            string leftEyePath, string rightEyePath, float weightScale)
        {
            CurvesDocument doc = CurvesDocument.Parse(json);
            var map = new RetargetMap(profile.ToData(), doc.Channels);
            var clip = new AnimationClip { frameRate = doc.Fps, name = Path.GetFileNameWithoutExtension(doc.Audio ?? "avatarlab") };
            var weights = new float[map.Targets.Length];
            var curves = new AnimationCurve[map.Targets.Length];
            for (int t = 0; t < curves.Length; t++) curves[t] = new AnimationCurve();
            var rot = new AnimationCurve[7];
            for (int k = 0; k < rot.Length; k++) rot[k] = new AnimationCurve();
            int[] cols = { map.HeadPitch, map.HeadYaw, map.HeadRoll, map.LeftEyePitch, map.LeftEyeYaw, map.RightEyePitch, map.RightEyeYaw };
            float[] signs = { 1f, -1f, 1f, 1f, -1f, 1f, -1f };   // Unity is left-handed: yaw to the avatar's left is -Y
            for (int f = 0; f < doc.NumFrames; f++)
            {
                float time = (float)doc.TimeOfFrame(f);
                map.Evaluate(doc.Frames[f], weights);
                for (int t = 0; t < weights.Length; t++) curves[t].AddKey(time, weights[t] * weightScale);
                for (int k = 0; k < cols.Length; k++)
                    if (cols[k] >= 0) rot[k].AddKey(time, signs[k] * doc.Frames[f][cols[k]] * Mathf.Rad2Deg);
            }
            if (rendererPath != null)
                for (int t = 0; t < curves.Length; t++)
                    clip.SetCurve(rendererPath, typeof(SkinnedMeshRenderer), "blendShape." + map.Targets[t], curves[t]);
            string[] paths = { headPath, headPath, headPath, leftEyePath, leftEyePath, rightEyePath, rightEyePath };
            string[] props = { "localEulerAnglesRaw.x", "localEulerAnglesRaw.y", "localEulerAnglesRaw.z",
                               "localEulerAnglesRaw.x", "localEulerAnglesRaw.y", "localEulerAnglesRaw.x", "localEulerAnglesRaw.y" };
            for (int k = 0; k < cols.Length; k++)
                if (cols[k] >= 0 && paths[k] != null) clip.SetCurve(paths[k], typeof(Transform), props[k], rot[k]);
            return clip;
        }
    }
}
