using System;
using System.Collections.Generic;
using System.Net.WebSockets;

namespace Foyer
{
    public sealed class FoyerClientOptions
    {
        /// <summary>
        /// ws:// or wss:// addresses of Foyer nodes (or one load balancer). ConnectAsync
        /// opens the first; each reconnect attempt moves on to the next (round robin),
        /// so a client outlives the loss of its node (it resumes there, resynced).
        /// </summary>
        public IList<string> Urls { get; set; }
        /// <summary>Log in with this token on connect (auth.token).</summary>
        public string Token { get; set; }
        /// <summary>With Token: positions saved from Positions() (an app restart): the first connect resumes the session (session.resume) instead.</summary>
        public IList<StreamPosition> Positions { get; set; }
        /// <summary>How long a call waits for its reply, including a wait for a reconnection. Default 10 s.</summary>
        public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>Reconnect after a close that is not final. Default true.</summary>
        public bool Reconnect { get; set; } = true;
        public TimeSpan MinReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);
        public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>After this long without a frame from the server, the client pings it (session.ping). Default 10 s.</summary>
        public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>After this long without a frame, the connection counts as dead and the client reconnects. Default 30 s.</summary>
        public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Refresh the token this long before it expires (halfway, for short-lived tokens). Default 60 s.</summary>
        public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>Runs the client's callbacks (events, states, mirror updates, call completions), in order. Default: on the reading thread. Unity: FoyerUnityDispatcher.Post.</summary>
        public Action<Action> Dispatcher { get; set; }
        /// <summary>Makes each socket (proxy, certificates, headers). Default: new ClientWebSocket().</summary>
        public Func<ClientWebSocket> CreateSocket { get; set; }
    }

    /// <summary>
    /// Where the client is. Connected, Resumed and Resynced all mean usable:
    /// Resumed — reconnected and the session went on (missed events followed);
    /// Resynced — reconnected into a new session (snapshots followed; what belonged to the old one is gone).
    /// </summary>
    public enum LobbyState
    {
        Closed,
        Connecting,
        Connected,
        Reconnecting,
        Resumed,
        Resynced,
    }

    /// <summary>What session.resume did with one stream (StreamChanged).</summary>
    public static class StreamStates
    {
        public const string Resumed = "resumed";
        public const string Resynced = "resynced";
        public const string Gone = "gone";
    }

    public sealed class StateInfo
    {
        /// <summary>The close that led here (Reconnecting, Closed).</summary>
        public int? CloseCode { get; set; }
        public string CloseName { get; set; }
        public string CloseReason { get; set; }
        /// <summary>Why the client gives up or retries, when not just a close: a refused login or resume.</summary>
        public FoyerException Error { get; set; }
        /// <summary>Reconnecting: the attempt that comes next (1-based) and the wait before it.</summary>
        public int Attempt { get; set; }
        public TimeSpan Delay { get; set; }
    }
}
