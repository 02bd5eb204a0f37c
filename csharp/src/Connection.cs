using System;
using System.Collections.Generic;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Foyer
{
    /// <summary>One WebSocket and what the client tracks of it. Frames go out one at a time, in the order they were queued.</summary>
    internal sealed class Connection
    {
        public readonly ClientWebSocket Socket;
        public readonly CancellationTokenSource Cancel = new CancellationTokenSource();
        /// <summary>Past the login step: calls go out instead of waiting.</summary>
        public bool Ready;
        public DateTime LastHeard = DateTime.UtcNow;
        public DateTime LastPing = DateTime.MinValue;

        private readonly object outGate = new object();
        private readonly Queue<string> outbox = new Queue<string>();
        private bool sending;

        public Connection(ClientWebSocket socket)
        {
            Socket = socket;
        }

        public void Enqueue(string frame)
        {
            lock (outGate)
            {
                outbox.Enqueue(frame);
                if (sending) return;
                sending = true;
            }
            Task.Run(Pump);
        }

        private async Task Pump()
        {
            while (true)
            {
                string frame;
                lock (outGate)
                {
                    if (outbox.Count == 0)
                    {
                        sending = false;
                        return;
                    }
                    frame = outbox.Dequeue();
                }
                try
                {
                    var bytes = Encoding.UTF8.GetBytes(frame);
                    await Socket.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, Cancel.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The reading side sees the socket go and reconnects; what was queued here is lost with it (its calls fail as DISCONNECTED).
                    Abort();
                    lock (outGate)
                    {
                        outbox.Clear();
                        sending = false;
                    }
                    return;
                }
            }
        }

        /// <summary>Drops the socket at once, without a close handshake.</summary>
        public void Abort()
        {
            try
            {
                Cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
            try
            {
                Socket.Abort();
            }
            catch (Exception)
            {
            }
        }

        public async Task CloseAsync()
        {
            try
            {
                using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
                {
                    await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client closed", timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
            }
            Abort();
        }
    }

    /// <summary>
    /// Runs the client's callbacks in the order they were posted, through the
    /// app's dispatcher (Unity: the main thread), one flush at a time.
    /// </summary>
    internal sealed class Dispatch
    {
        private readonly Action<Action> dispatcher;
        private readonly Action<Exception> onError;
        private readonly object flushGate = new object();
        private readonly Queue<Action> posted = new Queue<Action>();

        public Dispatch(Action<Action> dispatcher, Action<Exception> onError)
        {
            this.dispatcher = dispatcher;
            this.onError = onError;
        }

        public void Post(Action action)
        {
            lock (posted) posted.Enqueue(action);
        }

        /// <summary>Hands what was posted to the dispatcher. Called outside the client's lock, so callbacks may call the client.</summary>
        public void Flush()
        {
            lock (flushGate)
            {
                while (true)
                {
                    Action next;
                    lock (posted)
                    {
                        if (posted.Count == 0) return;
                        next = posted.Dequeue();
                    }
                    var safe = Guard(next);
                    if (dispatcher == null) safe();
                    else dispatcher(safe);
                }
            }
        }

        private Action Guard(Action action)
        {
            return () =>
            {
                try
                {
                    action();
                }
                catch (Exception e)
                {
                    onError(e);
                }
            };
        }
    }
}
