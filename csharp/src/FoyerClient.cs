using System;
using System.Collections.Generic;
using System.Net.WebSockets;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Foyer
{
    /// <summary>
    /// A typed connection to a Foyer lobby server (protocol version 2): calls as
    /// Task&lt;T&gt; (refusals as FoyerException), events as C# events, a heartbeat,
    /// token refresh, reconnection with backoff across node addresses, resume per
    /// stream, and a mirror of the player's lobby state (Mirror).
    ///
    /// Threads: the socket is read on a background thread. Every event, state
    /// change, mirror update and reply completion goes through
    /// FoyerClientOptions.Dispatcher, in the order the frames arrived; by default
    /// they run on the reading thread (so a handler must not block on a call).
    /// In Unity, FoyerUnityDispatcher runs them on the main thread.
    /// </summary>
    public partial class FoyerClient : IDisposable
    {
        private static readonly HashSet<string> LoginOps = new HashSet<string> { "auth.guest", "auth.register", "auth.login", "auth.upgrade", "auth.token", "auth.refresh", "session.resume" };
        /// <summary>Logins that start a session afresh: positions from before belong to another session.</summary>
        private static readonly HashSet<string> FreshLogins = new HashSet<string> { "auth.guest", "auth.register", "auth.login", "auth.token" };
        /// <summary>Login or resume refusals that retrying cannot fix.</summary>
        private static readonly HashSet<ErrorCode> FinalLoginErrors = new HashSet<ErrorCode>
        {
            ErrorCode.TokenInvalid, ErrorCode.TokenExpired, ErrorCode.Banned, ErrorCode.BadRequest, ErrorCode.Forbidden,
            ErrorCode.Unauthenticated, ErrorCode.AlreadyAuthenticated, ErrorCode.AlreadyLoggedIn,
        };
        private const int MaxRequestId = int.MaxValue;
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

        private readonly object gate = new object();
        private readonly FoyerClientOptions options;
        private readonly List<string> urls;
        private readonly StreamPositions positions = new StreamPositions();
        private readonly Dictionary<int, PendingCall> pending = new Dictionary<int, PendingCall>();
        private readonly List<PendingCall> queue = new List<PendingCall>();
        private readonly Dispatch dispatch;
        private readonly Random random = new Random();
        private Timer ticker;

        private LobbyState state = LobbyState.Closed;
        private Connection current;
        private int generation;
        private int urlIndex;
        private int attempt;
        private int nextId = 1;
        private bool loggedIn;
        private bool resumeOnConnect;
        private string token;
        private string userId;
        private long? expiresAt;
        private DateTime? refreshAt;
        private TaskCompletionSource<bool> connecting;

        public FoyerClient(FoyerClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (options.Urls == null || options.Urls.Count == 0) throw new ArgumentException("FoyerClient: Urls must name at least one address");
            this.options = options;
            urls = new List<string>(options.Urls);
            token = options.Token;
            resumeOnConnect = options.Token != null && options.Positions != null;
            if (resumeOnConnect) foreach (var p in options.Positions) positions.Set(p.Stream, p.Offset, p.Epoch);
            dispatch = new Dispatch(options.Dispatcher, e => ReportListenerError(e));
            Mirror = new LobbyMirror();
        }

        public FoyerClient(string url) : this(new FoyerClientOptions { Urls = new[] { url } })
        {
        }

        /// <summary>The player's lobby as the client knows it, kept up to date from replies and events.</summary>
        public LobbyMirror Mirror { get; private set; }

        /// <summary>Every state change, and each reconnect attempt.</summary>
        public event Action<LobbyState, StateInfo> StateChanged;
        /// <summary>What a session.resume did with one stream: "resumed", "resynced" or "gone".</summary>
        public event Action<string, string> StreamChanged;
        /// <summary>A request sent with Send (no reply wanted) was refused.</summary>
        public event Action<string, FoyerException> Refused;
        /// <summary>Every event, once, in order, before its typed event.</summary>
        public event Action<EventFrame> EventReceived;
        /// <summary>An event handler threw; the others still ran.</summary>
        public event Action<Exception> ListenerFailed;

        public LobbyState State { get { lock (gate) return state; } }
        public string UserId { get { lock (gate) return userId; } }
        /// <summary>The newest token (from options, then each login or refresh). Keep it, with Positions(), to resume after a restart.</summary>
        public string Token { get { lock (gate) return token; } }
        public long? ExpiresAt { get { lock (gate) return expiresAt; } }
        /// <summary>The address of the current connection, or of the next attempt.</summary>
        public string Url { get { lock (gate) return urls[urlIndex]; } }

        /// <summary>Where the client stands in every stream it receives.</summary>
        public List<StreamPosition> Positions()
        {
            lock (gate) return positions.ToList();
        }

        /// <summary>
        /// Opens the connection and, with a token, logs in with it (auth.token), or
        /// resumes (session.resume) when Positions were given too. Completes once the
        /// connection is usable; throws FoyerException if that fails.
        /// </summary>
        public Task ConnectAsync()
        {
            int gen;
            lock (gate)
            {
                if (state != LobbyState.Closed) return connecting != null ? connecting.Task : Task.FromResult(true);
                connecting = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                attempt = 0;
                if (ticker == null) ticker = new Timer(_ => OnTick(), null, Tick, Tick);
                SetState(LobbyState.Connecting, new StateInfo());
                gen = ++generation;
            }
            dispatch.Flush();
            var task = connecting.Task;
            Task.Run(() => Open(gen));
            return task;
        }

        /// <summary>Sends a request and completes with its reply's data; a refusal throws FoyerException with the server's code.</summary>
        public Task<T> CallAsync<T>(string op, object data, CancellationToken cancellationToken = default(CancellationToken))
        {
            var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            JToken json;
            try
            {
                json = Json.From(data);
            }
            catch (Exception e)
            {
                tcs.SetException(new FoyerException("BAD_REQUEST", "data cannot be sent as JSON: " + e.Message, op, null, e));
                return tcs.Task;
            }
            var call = new PendingCall(op, json, DateTime.UtcNow + options.CallTimeout);
            call.OnOk = result =>
            {
                try
                {
                    tcs.TrySetResult(result == null || result.Type == JTokenType.Null ? default(T) : result.ToObject<T>(Json.Serializer));
                }
                catch (Exception e)
                {
                    tcs.TrySetException(e);
                }
            };
            call.OnError = e => tcs.TrySetException(e);
            lock (gate)
            {
                if (state == LobbyState.Closed)
                {
                    tcs.SetException(new FoyerException(ErrorCode.Closed, "the client is closed; ConnectAsync() first", op));
                    return tcs.Task;
                }
                if (current != null && current.Ready) SendCall(current, call);
                else queue.Add(call);
            }
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.Register(() =>
                {
                    lock (gate) Forget(call);
                    tcs.TrySetCanceled();
                });
            }
            return tcs.Task;
        }

        /// <summary>
        /// Sends a request without an id: no reply when it succeeds; a refusal comes
        /// to Refused. Chat lines go this way. Waits for the connection like a call.
        /// </summary>
        public void Send(string op, object data)
        {
            var call = new PendingCall(op, Json.From(data), DateTime.MaxValue) { NoReply = true };
            lock (gate)
            {
                if (state == LobbyState.Closed) throw new FoyerException(ErrorCode.Closed, "the client is closed; ConnectAsync() first", op);
                if (current != null && current.Ready) SendCall(current, call);
                else queue.Add(call);
            }
        }

        /// <summary>chat.send without waiting for a reply (refusals such as CHAT_TOO_FAST come to Refused).</summary>
        public void SendChat(string channel, string text)
        {
            Send(Ops.ChatSend, new ChatSendRequest { Channel = channel, Text = text });
        }

        /// <summary>Closes the connection (1000) and stops reconnecting. Token and positions are kept: ConnectAsync() logs in again.</summary>
        public Task CloseAsync()
        {
            Connection c;
            lock (gate)
            {
                if (state == LobbyState.Closed) return Task.FromResult(true);
                generation++;
                c = current;
                Detach(ErrorCode.Closed, "the client was closed before the reply; the server may or may not have done it");
                GiveUp(new FoyerException(ErrorCode.Closed, "the client was closed", null), new StateInfo { CloseCode = 1000, CloseReason = "client closed" });
            }
            dispatch.Flush();
            return c == null ? Task.FromResult(true) : c.CloseAsync();
        }

        /// <summary>session.logout, then forgets token and positions and closes.</summary>
        public async Task LogoutAsync()
        {
            try
            {
                await SessionLogoutAsync().ConfigureAwait(false);
            }
            finally
            {
                lock (gate)
                {
                    token = null;
                    userId = null;
                    expiresAt = null;
                    loggedIn = false;
                    resumeOnConnect = false;
                    positions.Clear();
                }
                await CloseAsync().ConfigureAwait(false);
            }
        }

        /// <summary>Drops the socket as a network failure would (no close frame): the client reconnects and resumes.</summary>
        public void AbortConnection()
        {
            Connection c;
            lock (gate) c = current;
            if (c != null) c.Abort();
        }

        public void Dispose()
        {
            CloseAsync();
            var t = ticker;
            if (t != null) t.Dispose();
        }

        // ---- connection lifecycle ----

        private async Task Open(int gen)
        {
            Connection c;
            Uri uri;
            lock (gate)
            {
                if (gen != generation) return;
                var url = urls[urlIndex];
                uri = new Uri(url + (url.Contains("?") ? "&" : "?") + "v=" + ProtocolInfo.Version);
                c = new Connection(options.CreateSocket != null ? options.CreateSocket() : new ClientWebSocket());
                current = c;
            }
            try
            {
                using (var timeout = new CancellationTokenSource(options.CallTimeout))
                {
                    await c.Socket.ConnectAsync(uri, timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                c.Abort();
                Lost(c, null, new FoyerException(ErrorCode.Disconnected, "cannot open " + uri + ": " + e.Message, null, e), false);
                return;
            }
            lock (gate)
            {
                if (c != current) return;
                c.LastHeard = DateTime.UtcNow;
                OnOpen(c);
            }
            dispatch.Flush();
            await ReceiveLoop(c).ConfigureAwait(false);
        }

        private void OnOpen(Connection c)
        {
            var reconnecting = state == LobbyState.Reconnecting;
            var resumeSaved = resumeOnConnect && token != null;
            resumeOnConnect = false;
            if ((reconnecting && loggedIn && token != null) || resumeSaved)
            {
                Login(c, Ops.SessionResume, new JObject { { "token", token }, { "streams", JToken.FromObject(positions.ToList(), Json.Serializer) } });
            }
            else if (!reconnecting && token != null)
            {
                Login(c, Ops.AuthToken, new JObject { { "token", token } });
            }
            else
            {
                BecomeReady(c, LobbyState.Connected);
            }
        }

        /// <summary>The first request on a new socket, ahead of any queued call. Its reply is handled on the reading thread, before the frames after it.</summary>
        private void Login(Connection c, string op, JObject data)
        {
            var call = new PendingCall(op, data, DateTime.UtcNow + options.CallTimeout) { Internal = true };
            call.OnOk = result =>
            {
                if (c != current) return;
                var resumed = op == Ops.SessionResume ? (bool?)(result.Value<bool?>("resumed") == true) : null;
                BecomeReady(c, resumed == null ? LobbyState.Connected : resumed.Value ? LobbyState.Resumed : LobbyState.Resynced);
            };
            call.OnError = e =>
            {
                if (c != current) return;
                if (e.Code == ErrorCode.TokenExpired || e.Code == ErrorCode.TokenInvalid) token = null;
                c.Abort();
                LostInfo(c, null, e, FinalLoginErrors.Contains(e.Code));
            };
            SendCall(c, call);
        }

        private void BecomeReady(Connection c, LobbyState next)
        {
            c.Ready = true;
            attempt = 0;
            var waiting = new List<PendingCall>(queue);
            queue.Clear();
            foreach (var call in waiting) SendCall(c, call);
            SetState(next, new StateInfo());
            var tcs = connecting;
            connecting = null;
            if (tcs != null) dispatch.Post(() => tcs.TrySetResult(true));
        }

        private async Task ReceiveLoop(Connection c)
        {
            var buffer = new byte[16 * 1024];
            var message = new System.IO.MemoryStream();
            int? closeCode = null;
            string closeReason = null;
            try
            {
                while (true)
                {
                    var r = await c.Socket.ReceiveAsync(new ArraySegment<byte>(buffer), c.Cancel.Token).ConfigureAwait(false);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        closeCode = r.CloseStatus.HasValue ? (int)r.CloseStatus.Value : 1005;
                        closeReason = r.CloseStatusDescription ?? "";
                        break;
                    }
                    message.Write(buffer, 0, r.Count);
                    if (!r.EndOfMessage) continue;
                    var text = System.Text.Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                    message.SetLength(0);
                    OnMessage(c, text);
                }
            }
            catch (Exception)
            {
                // A dropped connection, or an abort: both end in Lost below.
            }
            c.Abort();
            Lost(c, new StateInfo { CloseCode = closeCode ?? 1006, CloseName = CloseCodes.NameOf(closeCode ?? 1006), CloseReason = closeReason ?? "" }, null, false);
        }

        private void Lost(Connection c, StateInfo close, FoyerException error, bool final)
        {
            lock (gate) LostInfo(c, close, error, final);
            dispatch.Flush();
        }

        private void LostInfo(Connection c, StateInfo close, FoyerException error, bool final)
        {
            if (c != current) return;
            Detach(ErrorCode.Disconnected, "the connection dropped before the reply; the server may or may not have done it");
            var info = close ?? new StateInfo();
            info.Error = error;
            var finalClose = close != null && close.CloseCode.HasValue && !CloseCodes.AllowsReconnect(close.CloseCode.Value);
            if (final || finalClose || !options.Reconnect || state == LobbyState.Connecting)
            {
                GiveUp(error ?? new FoyerException(ErrorCode.Disconnected, "connection closed (" + info.CloseCode + " " + info.CloseReason + ")", null), info);
                return;
            }
            var delay = BackoffDelay(attempt);
            attempt++;
            // With several addresses each attempt tries the next node: the one just lost may be gone for good.
            urlIndex = (urlIndex + 1) % urls.Count;
            info.Attempt = attempt;
            info.Delay = delay;
            SetState(LobbyState.Reconnecting, info);
            var gen = generation;
            Task.Delay(delay).ContinueWith(_ => Open(gen));
        }

        /// <summary>Full jitter between MinReconnectDelay and an exponentially growing ceiling, so clients dropped together spread out.</summary>
        private TimeSpan BackoffDelay(int failed)
        {
            var min = options.MinReconnectDelay.TotalMilliseconds;
            var max = Math.Max(min, options.MaxReconnectDelay.TotalMilliseconds);
            var ceiling = Math.Min(max, Math.Max(min, 1) * Math.Pow(2, Math.Min(failed + 1, 30)));
            return TimeSpan.FromMilliseconds(min + random.NextDouble() * Math.Max(0, ceiling - min));
        }

        /// <summary>Forgets the current socket: its calls in flight fail, queued ones wait for the next.</summary>
        private void Detach(ErrorCode code, string message)
        {
            current = null;
            var inFlight = new List<PendingCall>(pending.Values);
            pending.Clear();
            foreach (var call in inFlight)
            {
                var e = new FoyerException(code, message, call.Op);
                if (call.Internal) call.OnError(e);
                else dispatch.Post(() => call.OnError(e));
            }
        }

        private void GiveUp(FoyerException error, StateInfo info)
        {
            generation++;
            loggedIn = false;
            refreshAt = null;
            var waiting = new List<PendingCall>(queue);
            queue.Clear();
            var notSent = error.Code == ErrorCode.Closed ? error : new FoyerException(ErrorCode.Closed, "the client closed: " + error.Message, null, error);
            foreach (var call in waiting) if (call.OnError != null) dispatch.Post(() => call.OnError(notSent));
            SetState(LobbyState.Closed, info);
            var tcs = connecting;
            connecting = null;
            if (tcs != null) dispatch.Post(() => tcs.TrySetException(error));
        }

        // ---- requests and replies ----

        private void SendCall(Connection c, PendingCall call)
        {
            var frame = new JObject();
            if (!call.NoReply)
            {
                call.Id = nextId;
                nextId = nextId >= MaxRequestId ? 1 : nextId + 1;
                frame["id"] = call.Id;
                pending[call.Id] = call;
            }
            frame["op"] = call.Op;
            frame["data"] = call.Data;
            c.Enqueue(Json.Write(frame));
        }

        private void Forget(PendingCall call)
        {
            queue.Remove(call);
            if (call.Id != 0) pending.Remove(call.Id);
        }

        private void OnMessage(Connection c, string text)
        {
            JObject f;
            try
            {
                f = Json.Parse(text) as JObject;
            }
            catch (Exception)
            {
                return;
            }
            if (f == null) return;
            lock (gate)
            {
                if (c != current) return;
                c.LastHeard = DateTime.UtcNow;
                if (f["ev"] != null && f["ev"].Type == JTokenType.String) OnEvent(f);
                else if (f["ok"] != null && f["ok"].Type == JTokenType.Boolean) OnReply(f);
            }
            dispatch.Flush();
        }

        private void OnReply(JObject f)
        {
            var ok = f.Value<bool>("ok");
            var re = f["re"];
            if (re == null || re.Type != JTokenType.Integer)
            {
                // re: null: a refused request that had no id (Send), or a frame the server could not read.
                if (ok) return;
                var body = ReadError(f);
                var e = FoyerException.FromBody(body, body != null ? body.Op : null);
                dispatch.Post(() => { var h = Refused; if (h != null) h(e.Op, e); });
                return;
            }
            PendingCall call;
            var id = re.Value<int>();
            if (!pending.TryGetValue(id, out call)) return; // Timed out already.
            pending.Remove(id);
            if (ok)
            {
                var data = f["data"];
                if (LoginOps.Contains(call.Op) && data is JObject) OnLogin(call.Op, (JObject)data);
                if (call.Internal)
                {
                    call.OnOk(data);
                    return;
                }
                dispatch.Post(() =>
                {
                    Mirror.ApplyReply(call.Op, call.Data, data);
                    call.OnOk(data);
                });
                return;
            }
            var error = FoyerException.FromBody(ReadError(f), call.Op);
            if (call.Internal) call.OnError(error);
            else dispatch.Post(() => call.OnError(error));
        }

        private static Error ReadError(JObject f)
        {
            try
            {
                var e = f["error"];
                return e == null ? null : e.ToObject<Error>(Json.Serializer);
            }
            catch (Exception)
            {
                return null;
            }
        }

        /// <summary>A login's bookkeeping, on the reading thread before the frames that follow it: who, the token, the stream positions.</summary>
        private void OnLogin(string op, JObject r)
        {
            var id = r.Value<string>("userId");
            if (id != null) userId = id;
            var t = r.Value<string>("token");
            if (t != null) token = t;
            loggedIn = true;
            var streams = r["streams"] as JArray;
            if (op == Ops.SessionResume)
            {
                var resumed = r.Value<bool?>("resumed") == true;
                // A new session numbers nothing we know of: only what the reply lists counts.
                if (!resumed) positions.Clear();
                if (streams != null)
                {
                    foreach (var s in streams.ToObject<List<StreamResume>>(Json.Serializer))
                    {
                        var stream = s.Stream;
                        var streamState = s.State;
                        if (streamState == StreamStates.Gone) positions.Forget(stream);
                        // Resumed: the replay follows from our own position, which stays. Resynced: the snapshot follows and sets it.
                        else if (streamState == StreamStates.Resynced || !positions.TryGet(stream, out var _)) positions.Set(stream, s.Offset, s.Epoch);
                        dispatch.Post(() =>
                        {
                            if (streamState == StreamStates.Gone) Mirror.StreamGone(stream);
                            var h = StreamChanged;
                            if (h != null) h(stream, streamState);
                        });
                    }
                }
            }
            else if (streams != null)
            {
                if (FreshLogins.Contains(op)) positions.Clear();
                foreach (var s in streams.ToObject<List<StreamPosition>>(Json.Serializer)) positions.Set(s.Stream, s.Offset, s.Epoch);
            }
            else if (FreshLogins.Contains(op))
            {
                positions.Clear();
            }
            var exp = r.Value<long?>("expiresAt");
            if (exp.HasValue)
            {
                expiresAt = exp;
                var left = exp.Value - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var wait = Math.Max(left - options.RefreshBefore.TotalMilliseconds, left / 2.0);
                refreshAt = DateTime.UtcNow + TimeSpan.FromMilliseconds(Math.Max(0, wait));
            }
        }

        private void OnEvent(JObject f)
        {
            EventFrame frame;
            try
            {
                frame = new EventFrame { Ev = f.Value<string>("ev"), Stream = f.Value<string>("stream"), Offset = f.Value<long>("offset"), Epoch = f.Value<string>("epoch"), Data = f["data"] };
            }
            catch (Exception)
            {
                return;
            }
            if (frame.Stream == null || frame.Epoch == null) return;
            // Already delivered: a replay overlapping what came before the connection dropped.
            if (!positions.Accept(frame)) return;
            dispatch.Post(() =>
            {
                Mirror.ApplyEvent(frame);
                var all = EventReceived;
                if (all != null) all(frame);
                RaiseTyped(frame);
            });
        }

        /// <summary>Heartbeat, token refresh and call timeouts, checked every Tick.</summary>
        private void OnTick()
        {
            lock (gate)
            {
                var now = DateTime.UtcNow;
                var expired = new List<PendingCall>();
                foreach (var call in pending.Values) if (call.DueAt <= now) expired.Add(call);
                foreach (var call in queue) if (call.DueAt <= now) expired.Add(call);
                foreach (var call in expired)
                {
                    Forget(call);
                    var e = new FoyerException(ErrorCode.Timeout, "no reply within " + options.CallTimeout.TotalMilliseconds + " ms", call.Op);
                    if (call.Internal) call.OnError(e);
                    else dispatch.Post(() => call.OnError(e));
                }
                var c = current;
                if (c != null && c.Ready)
                {
                    var quiet = now - c.LastHeard;
                    if (quiet > options.HeartbeatTimeout)
                    {
                        // Nothing heard, not even a pong: the connection is dead without having closed.
                        c.Abort();
                    }
                    else if (quiet > options.HeartbeatInterval && now - c.LastPing > options.HeartbeatInterval)
                    {
                        c.LastPing = now;
                        SendCall(c, new PendingCall(Ops.SessionPing, new JObject(), now + options.HeartbeatTimeout) { Internal = true, OnOk = _ => { }, OnError = _ => { } });
                    }
                    if (loggedIn && refreshAt.HasValue && now >= refreshAt.Value)
                    {
                        refreshAt = null;
                        SendCall(c, new PendingCall(Ops.AuthRefresh, new JObject(), now + options.CallTimeout)
                        {
                            Internal = true,
                            OnOk = _ => { },
                            // Retry a transient failure while the token lasts; an expired one ends in a 4000 close.
                            OnError = e => { if (e.Code != ErrorCode.TokenExpired && e.Code != ErrorCode.TokenInvalid) refreshAt = DateTime.UtcNow + TimeSpan.FromSeconds(5); },
                        });
                    }
                }
            }
            dispatch.Flush();
        }

        private void SetState(LobbyState next, StateInfo info)
        {
            state = next;
            dispatch.Post(() =>
            {
                // A new session: what belonged to the old one (game, party, lists) is gone before the app hears of it.
                if (next == LobbyState.Resynced) Mirror.Resynced();
                var h = StateChanged;
                if (h != null) h(next, info);
            });
        }

        private void Raise<T>(Action<T, EventFrame> handlers, T data, EventFrame frame)
        {
            if (handlers == null) return;
            foreach (Action<T, EventFrame> h in handlers.GetInvocationList())
            {
                try
                {
                    h(data, frame);
                }
                catch (Exception e)
                {
                    ReportListenerError(e);
                }
            }
        }

        private void ReportListenerError(Exception e)
        {
            var h = ListenerFailed;
            if (h != null) h(e);
            else System.Diagnostics.Trace.TraceError("FoyerClient: a listener threw: " + e);
        }

        private sealed class PendingCall
        {
            public readonly string Op;
            public readonly JToken Data;
            public readonly DateTime DueAt;
            public int Id;
            public bool NoReply;
            /// <summary>The client's own (login, ping, refresh): completed on the reading thread, not dispatched.</summary>
            public bool Internal;
            public Action<JToken> OnOk;
            public Action<FoyerException> OnError;

            public PendingCall(string op, JToken data, DateTime dueAt)
            {
                Op = op;
                Data = data;
                DueAt = dueAt;
            }
        }
    }
}
