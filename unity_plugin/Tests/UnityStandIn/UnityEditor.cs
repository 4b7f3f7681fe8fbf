// A STAND-IN for the UnityEditor API members the Editor importer uses (compile check only; not Unity).
using System;

namespace UnityEditor
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MenuItem : Attribute { public MenuItem(string path) { } public MenuItem(string path, bool validate) { } }
    public static class EditorUtility
    {
        public static string OpenFilePanel(string title, string directory, string extension) { return ""; }
        public static string SaveFilePanelInProject(string title, string defaultName, string extension, string message) { return ""; }
        public static void DisplayDialog(string title, string message, string ok) { }
    }
    public static class AssetDatabase
    {
        public static void CreateAsset(UnityEngine.Object asset, string path) { }
        public static void SaveAssets() { }
        public static void Refresh() { }
        public static bool IsValidFolder(string path) { return true; }
        public static string CreateFolder(string parent, string name) { return ""; }
    }
}
