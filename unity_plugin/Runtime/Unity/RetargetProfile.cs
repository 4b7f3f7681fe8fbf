using System;
using System.Collections.Generic;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab
{
    /// <summary>
    /// A rig convention as an asset: each morph target is a weighted sum of avatarlab channels, plus the
    /// bone names that carry head and eye rotation. Make the built-in ones (ARKit, Oculus visemes, VRM)
    /// with the menu Assets > Create > AvatarLab > Built-in Retarget Profiles, or at run time with FromBuiltIn.
    /// </summary>
    [CreateAssetMenu(fileName = "RetargetProfile", menuName = "AvatarLab/Retarget Profile")]
    public sealed class RetargetProfile : ScriptableObject
    {
        [Serializable] public sealed class Term { public string channel; public float weight = 1f; }
        [Serializable] public sealed class Target { public string name; public List<Term> terms = new List<Term>(); }

        [Tooltip("arkit, oculus, vrm, or your own")] public string profileName = "custom";
        [TextAreaLike] public string description;
        public List<Target> targets = new List<Target>();
        public List<string> headBones = new List<string>();
        public List<string> leftEyeBones = new List<string>();
        public List<string> rightEyeBones = new List<string>();

        /// <summary>A new in-memory profile from the generated copy of sdk/avatarlab/data/retarget_profiles.json.</summary>
        public static RetargetProfile FromBuiltIn(string name)
        {
            RetargetProfileData data = RetargetProfiles.ByName(name);
            if (data == null) throw new ArgumentException("no built-in profile " + name + "; one of " + string.Join(", ", RetargetProfiles.Names));
            var p = ScriptableObject.CreateInstance<RetargetProfile>();
            p.name = data.Name;
            p.profileName = data.Name;
            p.description = data.Description;
            for (int t = 0; t < data.TargetNames.Length; t++)
            {
                var target = new Target { name = data.TargetNames[t] };
                foreach (var term in data.Terms[t]) target.terms.Add(new Term { channel = term.Channel, weight = term.Weight });
                p.targets.Add(target);
            }
            p.headBones.AddRange(data.HeadNodes); p.leftEyeBones.AddRange(data.LeftEyeNodes); p.rightEyeBones.AddRange(data.RightEyeNodes);
            return p;
        }

        /// <summary>The engine-free form the curve math uses.</summary>
        public RetargetProfileData ToData()
        {
            var d = new RetargetProfileData
            {
                Name = profileName, Description = description,
                TargetNames = new string[targets.Count], Terms = new RetargetProfileData.Term[targets.Count][],
                HeadNodes = headBones.ToArray(), LeftEyeNodes = leftEyeBones.ToArray(), RightEyeNodes = rightEyeBones.ToArray(),
            };
            for (int t = 0; t < targets.Count; t++)
            {
                d.TargetNames[t] = targets[t].name;
                d.Terms[t] = new RetargetProfileData.Term[targets[t].terms.Count];
                for (int k = 0; k < targets[t].terms.Count; k++)
                    d.Terms[t][k] = new RetargetProfileData.Term(targets[t].terms[k].channel, targets[t].terms[k].weight);
            }
            return d;
        }
    }

    /// <summary>Marks a multi-line text field (kept as a plain attribute so the type compiles everywhere).</summary>
    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TextAreaLikeAttribute : Attribute { }
}
