using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Foyer;
using Newtonsoft.Json.Linq;

/// <summary>
/// The C# client's test program (run by test/csharp/csharp.test.ts):
///   mono FoyerTests.exe unit            checks against canned protocol frames, no server;
///   mono FoyerTests.exe scenario URL    two clients against a live node;
///   mono FoyerTests.exe resume URL      one client against a scripted peer that plays canned frames (the test's).
/// Prints one JSON object per line ({"step":…}); the last line is {"step":"done"} or {"step":"fail",…}.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            if (args.Length >= 1 && args[0] == "unit") Unit.Run();
            else if (args.Length >= 2 && args[0] == "scenario") Scenario.Run(args[1]).GetAwaiter().GetResult();
            else if (args.Length >= 2 && args[0] == "resume") Scenario.Resume(args[1]).GetAwaiter().GetResult();
            else throw new ArgumentException("usage: unit | scenario <ws-url> | resume <ws-url>");
            Out.Step("done");
            return 0;
        }
        catch (Exception e)
        {
            Out.Step("fail", new JObject { { "error", e.ToString() } });
            return 1;
        }
    }
}

internal static class Out
{
    private static readonly object Gate = new object();

    public static void Step(string step, JObject fields = null)
    {
        var o = new JObject { { "step", step } };
        if (fields != null) foreach (var p in fields.Properties()) o[p.Name] = p.Value;
        lock (Gate) Console.WriteLine(Json.Write(o));
    }

    public static void Check(bool ok, string what)
    {
        if (!ok) throw new Exception("check failed: " + what);
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual)) throw new Exception("check failed: " + what + ": expected " + expected + ", got " + actual);
    }
}

/// <summary>Every event one client received, and awaiting the next that matches (no sleeps).</summary>
internal sealed class Inbox
{
    private readonly object gate = new object();
    private readonly List<EventFrame> frames = new List<EventFrame>();
    private readonly List<KeyValuePair<Func<EventFrame, bool>, TaskCompletionSource<EventFrame>>> waiters = new List<KeyValuePair<Func<EventFrame, bool>, TaskCompletionSource<EventFrame>>>();

    public Inbox(FoyerClient client)
    {
        client.EventReceived += f =>
        {
            lock (gate)
            {
                frames.Add(f);
                foreach (var w in waiters.ToList())
                {
                    if (!w.Key(f)) continue;
                    waiters.Remove(w);
                    w.Value.TrySetResult(f);
                }
            }
        };
    }

    public List<EventFrame> Of(string ev, Func<JObject, bool> match = null)
    {
        lock (gate) return frames.Where(f => f.Ev == ev && (match == null || match((JObject)f.Data))).ToList();
    }

    public async Task<EventFrame> Next(string ev, Func<JObject, bool> match = null, int timeoutMs = 10000)
    {
        Func<EventFrame, bool> pred = f => f.Ev == ev && (match == null || match((JObject)f.Data));
        var tcs = new TaskCompletionSource<EventFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            var seen = frames.FirstOrDefault(pred);
            if (seen != null) return seen;
            waiters.Add(new KeyValuePair<Func<EventFrame, bool>, TaskCompletionSource<EventFrame>>(pred, tcs));
        }
        var done = await Task.WhenAny(tcs.Task, Task.Delay(timeoutMs)).ConfigureAwait(false);
        if (done != tcs.Task) throw new TimeoutException("no " + ev + " within " + timeoutMs + " ms");
        return tcs.Task.Result;
    }
}

internal static class Scenario
{
    private static FoyerClient NewClient(string url)
    {
        return new FoyerClient(new FoyerClientOptions
        {
            Urls = new[] { url },
            CallTimeout = TimeSpan.FromSeconds(10),
            MinReconnectDelay = TimeSpan.FromMilliseconds(150),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(400),
        });
    }

    /// <summary>Awaits a call that must be refused, and returns the code it was refused with.</summary>
    private static async Task<string> Refusal<T>(Task<T> call)
    {
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (FoyerException e)
        {
            return e.CodeName;
        }
        throw new Exception("the call succeeded; a refusal was expected");
    }

    /// <summary>
    /// Against the test's scripted peer: a login whose reply sets the user stream's
    /// position, two events, a refused fire-and-forget request, a cut, and a resume
    /// whose replay overlaps what arrived (the overlap must be dropped).
    /// </summary>
    public static async Task Resume(string url)
    {
        var c = NewClient(url);
        var inbox = new Inbox(c);
        var states = new List<string>();
        var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        c.StateChanged += (s, _) => { lock (states) states.Add(s.ToString()); if (s == LobbyState.Resumed) resumed.TrySetResult(true); };
        c.StreamChanged += (stream, state) => { lock (states) states.Add(stream + "=" + state); };
        var refused = new TaskCompletionSource<FoyerException>(TaskCreationOptions.RunContinuationsAsynchronously);
        c.Refused += (op, e) => refused.TrySetResult(e);
        var notices = new List<string>();
        var last = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The typed event, after EventReceived: wait on it so the list is complete.
        c.ServerNotice += (e, f) => { lock (notices) notices.Add(e.Text); if (e.Text == "n6") last.TrySetResult(true); };
        await c.ConnectAsync();
        var login = await c.AuthGuestAsync(new AuthGuestRequest { Name = "Al" });
        await inbox.Next(EventNames.ServerNotice, d => d.Value<string>("text") == "n4");
        c.SendChat("game", "hello");
        var e1 = await refused.Task;
        await resumed.Task;
        await last.Task;
        var positions = c.Positions();
        lock (notices) lock (states) Out.Step("resume", new JObject
        {
            { "userId", login.UserId },
            { "refused", e1.CodeName },
            { "refusedOp", e1.Op },
            { "notices", new JArray(notices) },
            { "states", new JArray(states) },
            { "positions", JToken.FromObject(positions) },
            { "gameGone", c.Mirror.Lists.Count },
        });
        await c.CloseAsync();
    }

    public static async Task Run(string url)
    {
        var a = NewClient(url);
        var b = NewClient(url);
        var ia = new Inbox(a);
        var ib = new Inbox(b);
        var aStates = new List<LobbyState>();
        var aStreams = new List<string>();
        a.StateChanged += (s, _) => { lock (aStates) aStates.Add(s); };
        a.StreamChanged += (stream, state) => { lock (aStreams) aStreams.Add(stream + "=" + state); };
        var refusals = new List<FoyerException>();
        var refused = new TaskCompletionSource<FoyerException>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Refused += (op, e) => { lock (refusals) refusals.Add(e); refused.TrySetResult(e); };

        await Task.WhenAll(a.ConnectAsync(), b.ConnectAsync());
        var la = await a.AuthGuestAsync(new AuthGuestRequest { Name = "CsAlice" });
        var lb = await b.AuthGuestAsync(new AuthGuestRequest { Name = "CsBob" });
        Out.Check(la.Token != null && la.Streams != null && la.Streams.Any(s => s.Stream == "user:" + la.UserId), "login reply lists the user stream");
        Out.Equal("CsAlice", a.Mirror.Name, "mirror knows who A is");
        Out.Step("login", new JObject { { "a", la.UserId }, { "b", lb.UserId }, { "streams", la.Streams.Count } });

        // B watches the list; A creates a game; B finds it there and joins.
        var sub = await b.GamesSubscribeAsync(new GamesSubscribeRequest { Filter = new GameFilter { GameType = "cs-test" } });
        Out.Check(sub.SubscriptionId.StartsWith("games:"), "subscriptionId is the list's stream");
        var created = await a.GameCreateAsync(new GameCreateRequest { Name = "C# table", GameType = "cs-test", MaxPlayers = 2 });
        var gameId = created.Game.Id;
        Out.Equal(gameId, a.Mirror.Game.Id, "A's mirror has the game");
        var added = await ib.Next(EventNames.GamesAdded, d => d["game"].Value<string>("id") == gameId);
        Out.Equal(sub.SubscriptionId, added.Stream, "games.added comes on the list's stream");
        Out.Check(b.Mirror.Lists[sub.SubscriptionId].Any(g => g.Id == gameId), "B's mirrored list holds the game");
        var joined = await b.GameJoinAsync(new GameJoinRequest { GameId = gameId });
        Out.Equal(2, joined.Game.Players.Count, "two players seated");
        await ia.Next(EventNames.GamePlayerJoined, d => d["player"].Value<string>("userId") == lb.UserId);
        Out.Equal(2, a.Mirror.Game.Players.Count, "A's mirror sees B seated");
        Out.Step("joined", new JObject { { "gameId", gameId }, { "subscriptionId", sub.SubscriptionId } });

        // Refusals arrive as the documented codes: replies to calls, and fire-and-forget ones as re: null.
        var codes = new JObject
        {
            { "gameNotFound", await Refusal(b.GameJoinAsync(new GameJoinRequest { GameId = "no-such-game" })) },
            { "notOwner", await Refusal(b.GameKickAsync(new GameKickRequest { UserId = la.UserId })) },
            { "queueNotFound", await Refusal(b.MmJoinAsync(new MmJoinRequest { Queue = "no-such-queue" })) },
            { "badRequest", await Refusal(b.GameCreateAsync(new GameCreateRequest { Name = "", GameType = "cs-test" })) },
        };
        b.SendChat("party", "nobody hears this");
        var chatRefusal = await refused.Task;
        codes["chatNotInParty"] = chatRefusal.CodeName;
        codes["chatNotInPartyOp"] = chatRefusal.Op;
        Out.Equal(ErrorCode.NotInParty, chatRefusal.Code, "typed error code");
        Out.Step("refusals", codes);

        // Chat in the game: a line sent without reply wanted, and one with.
        a.SendChat("game", "hello from A");
        await b.ChatSendAsync(new ChatSendRequest { Channel = "game", Text = "hello from B" });
        var heard = await ib.Next(EventNames.ChatMessage, d => d.Value<string>("text") == "hello from A");
        await ia.Next(EventNames.ChatMessage, d => d.Value<string>("text") == "hello from B");
        Out.Equal("game:" + gameId, heard.Stream, "game chat comes on the game's stream");
        Out.Step("chat", new JObject { { "stream", heard.Stream } });

        // A party: A invites B, B accepts.
        var typedInvite = new TaskCompletionSource<PartyInvitedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.PartyInvited += (e, f) => typedInvite.TrySetResult(e);
        await a.PartyInviteAsync(new PartyInviteRequest { UserId = lb.UserId });
        var invite = await typedInvite.Task;
        Out.Check(b.Mirror.Invites.Any(i => i.PartyId == invite.PartyId), "B's mirror holds the invite");
        await b.PartyAcceptAsync(new PartyAcceptRequest { PartyId = invite.PartyId });
        await ia.Next(EventNames.PartyMemberJoined, d => d["member"].Value<string>("userId") == lb.UserId);
        Out.Equal(2, a.Mirror.Party.Members.Count, "A's mirror: two members");
        Out.Equal(2, b.Mirror.Party.Members.Count, "B's mirror: two members");
        b.SendChat("party", "party line");
        await ia.Next(EventNames.ChatMessage, d => d.Value<string>("text") == "party line");
        Out.Step("party", new JObject { { "partyId", invite.PartyId } });

        // A's connection is cut; B goes on talking; A resumes and misses nothing, twice nothing.
        var before = a.Positions();
        a.AbortConnection();
        var lines = new[] { "while away 1", "while away 2", "while away 3" };
        foreach (var line in lines) await b.ChatSendAsync(new ChatSendRequest { Channel = "game", Text = line });
        await b.ChatSendAsync(new ChatSendRequest { Channel = "party", Text = "while away in party" });
        await b.GameSetReadyAsync(new GameSetReadyRequest { Ready = true });
        await ia.Next(EventNames.ChatMessage, d => d.Value<string>("text") == "while away in party");
        await ia.Next(EventNames.GamePlayerUpdated, d => d["player"].Value<string>("userId") == lb.UserId && d["player"].Value<bool>("ready"));
        foreach (var line in lines) Out.Equal(1, ia.Of(EventNames.ChatMessage, d => d.Value<string>("text") == line).Count, "A got \"" + line + "\" once");
        lock (aStates) Out.Check(aStates.Contains(LobbyState.Reconnecting) && aStates.Contains(LobbyState.Resumed), "A reconnected and resumed: " + string.Join(",", aStates));
        lock (aStreams) Out.Check(aStreams.Contains("game:" + gameId + "=resumed") && aStreams.Contains("party:" + invite.PartyId + "=resumed"), "game and party streams resumed: " + string.Join(",", aStreams));
        Out.Check(a.Mirror.Game.Players.Single(p => p.UserId == lb.UserId).Ready, "A's mirror: B is ready");
        var after = a.Positions();
        Out.Step("resumed", new JObject
        {
            { "states", new JArray(aStates.Select(s => s.ToString())) },
            { "streams", new JArray(aStreams) },
            { "before", JToken.FromObject(before) },
            { "after", JToken.FromObject(after) },
        });

        // The party queues (one team of two), both accept, both get their own session key.
        await b.GameLeaveAsync();
        await a.GameLeaveAsync();
        var ticket = await a.PartyGoAsync(new PartyGoRequest { Queue = "duo" });
        Out.Equal("queued", ticket.Status, "ticket queued");
        await Task.WhenAll(ia.Next(EventNames.MmStatus, d => d.Value<string>("status") == "found"), ib.Next(EventNames.MmStatus, d => d.Value<string>("status") == "found"));
        await Task.WhenAll(a.MmAcceptAsync(), b.MmAcceptAsync());
        var keyA = await ia.Next(EventNames.GameSessionKey);
        var keyB = await ib.Next(EventNames.GameSessionKey);
        var ka = keyA.Data.ToObject<GameSessionKeyEvent>(Json.Serializer);
        var kb = keyB.Data.ToObject<GameSessionKeyEvent>(Json.Serializer);
        Out.Equal("user:" + la.UserId, keyA.Stream, "A's key on A's user stream");
        Out.Equal("user:" + lb.UserId, keyB.Stream, "B's key on B's user stream");
        Out.Check(ka.SessionKey.Length > 0 && kb.SessionKey.Length > 0 && ka.SessionKey != kb.SessionKey, "each has a key of their own");
        Out.Equal(ka.GameId, kb.GameId, "same game");
        Out.Check(ib.Of(EventNames.GameSessionKey).All(f => f.Stream == "user:" + lb.UserId), "B never gets A's key");
        await a.GameConfirmAsync(new GameConfirmRequest { SessionKey = ka.SessionKey });
        var wrong = await Refusal(b.GameConfirmAsync(new GameConfirmRequest { SessionKey = ka.SessionKey }));
        Out.Equal("WRONG_SESSION_KEY", wrong, "another's key is refused");
        Out.Step("matched", new JObject { { "gameId", ka.GameId }, { "serverAddress", ka.ServerAddress }, { "keys", 2 }, { "wrongKey", wrong } });

        await Task.WhenAll(a.LogoutAsync(), b.LogoutAsync());
        Out.Equal(LobbyState.Closed, a.State, "A closed after logout");
        Out.Step("closed");
    }
}
