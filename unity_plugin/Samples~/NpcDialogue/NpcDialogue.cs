using AvatarLab;
using AvatarLab.Protocol;
using UnityEngine;

namespace AvatarLab.Samples
{
    /// <summary>
    /// Sample: an NPC that says a line when the scene starts. Put it on the character beside
    /// AvatarLabClient, StreamingAudioPlayer (with an AudioSource) and BlendshapeDriver, start the daemon
    /// (`avatarlab serve`), press Play.
    /// </summary>
    public sealed class NpcDialogue : MonoBehaviour
    {
        public AvatarLabClient client;
        public string line = "Hello there, traveler! The bridge to the northern village washed away in the storm.";
        public string emotion = "happy";
        bool spoken;

        void OnEnable()
        {
            if (client == null) client = GetComponent<AvatarLabClient>();
            client.ConnectionChanged += OnConnection;
            client.TimingEvents += OnTiming;
            client.Failed += (id, code, message) => Debug.LogWarning("line " + id + " failed: " + code + ": " + message);
            client.LineReceived += (id, status) => Debug.Log("line " + id + " received: " + status);
        }

        void OnDisable()
        {
            client.ConnectionChanged -= OnConnection;
            client.TimingEvents -= OnTiming;
        }

        void OnConnection(string state, string instance)
        {
            Debug.Log("avatarlab daemon " + state + " (" + instance + ")");
            if (state != "disconnected" && !spoken) { spoken = true; client.Speak(line, emotion); }
        }

        void OnTiming(string id, DaemonMessage events)
        {
            foreach (object w in events.GetList("words") ?? new object[0])
            {
                var word = (System.Collections.Generic.Dictionary<string, object>)w;
                Debug.Log("word '" + word["text"] + "' at sample " + word["start"]);
            }
        }
    }
}
