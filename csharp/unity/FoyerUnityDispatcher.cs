// Optional Unity adapter: not part of the core (which uses no Unity API) and not built by the tests.
using System;
using System.Collections.Generic;
using UnityEngine;

namespace Foyer.Unity
{
    /// <summary>
    /// Runs the client's callbacks (events, state changes, mirror updates, call
    /// completions) on Unity's main thread, in order, in Update. Put it on a
    /// GameObject that lives as long as the client, and pass Post as
    /// FoyerClientOptions.Dispatcher.
    /// </summary>
    public sealed class FoyerUnityDispatcher : MonoBehaviour
    {
        private readonly Queue<Action> queue = new Queue<Action>();

        /// <summary>Any thread: queues an action for the main thread.</summary>
        public void Post(Action action)
        {
            lock (queue) queue.Enqueue(action);
        }

        private void Update()
        {
            while (true)
            {
                Action next;
                lock (queue)
                {
                    if (queue.Count == 0) return;
                    next = queue.Dequeue();
                }
                try
                {
                    next();
                }
                catch (Exception e)
                {
                    Debug.LogException(e);
                }
            }
        }

        /// <summary>A dispatcher on a new GameObject that survives scene loads.</summary>
        public static FoyerUnityDispatcher Create()
        {
            var go = new GameObject("FoyerUnityDispatcher");
            DontDestroyOnLoad(go);
            return go.AddComponent<FoyerUnityDispatcher>();
        }
    }
}
