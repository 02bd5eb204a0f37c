using System.Collections.Generic;
using System.Linq;
using Foyer;
using Newtonsoft.Json.Linq;

/// <summary>The client's pieces against canned protocol version 2 frames, no server.</summary>
internal static class Unit
{
    private static EventFrame Frame(string json)
    {
        var f = (JObject)Json.Parse(json);
        return new EventFrame { Ev = f.Value<string>("ev"), Stream = f.Value<string>("stream"), Offset = f.Value<long>("offset"), Epoch = f.Value<string>("epoch"), Data = f["data"] };
    }

    public static void Run()
    {
        Positions();
        Requests();
        Replies();
        Mirror();
    }

    private static void Positions()
    {
        var p = new StreamPositions();
        Out.Check(p.Accept(Frame("{\"ev\":\"chat.message\",\"stream\":\"game:g1\",\"offset\":1,\"epoch\":\"n1a\",\"data\":{}}")), "first frame");
        Out.Check(p.Accept(Frame("{\"ev\":\"chat.message\",\"stream\":\"game:g1\",\"offset\":2,\"epoch\":\"n1a\",\"data\":{}}")), "next frame");
        Out.Check(!p.Accept(Frame("{\"ev\":\"chat.message\",\"stream\":\"game:g1\",\"offset\":2,\"epoch\":\"n1a\",\"data\":{}}")), "a duplicate is dropped");
        Out.Check(!p.Accept(Frame("{\"ev\":\"chat.message\",\"stream\":\"game:g1\",\"offset\":1,\"epoch\":\"n1a\",\"data\":{}}")), "an older offset is dropped");
        Out.Check(p.Accept(Frame("{\"ev\":\"chat.message\",\"stream\":\"game:g1\",\"offset\":1,\"epoch\":\"n2b\",\"data\":{}}")), "another epoch starts afresh");
        Out.Check(p.Accept(Frame("{\"ev\":\"game.snapshot\",\"stream\":\"game:g1\",\"offset\":1,\"epoch\":\"n2b\",\"data\":{}}")), "a snapshot always passes");
        Out.Check(p.Accept(Frame("{\"ev\":\"mail.received\",\"stream\":\"user:u1\",\"offset\":7,\"epoch\":\"n1c\",\"data\":{}}")), "streams are numbered apart");
        var list = p.ToList();
        Out.Equal("game:g1,user:u1", string.Join(",", list.Select(x => x.Stream)), "positions by stream");
        Out.Equal(1L, list[0].Offset, "game position");
        Out.Equal("n2b", list[0].Epoch, "game epoch");
        Out.Check(p.Forget("user:u1") && p.Count == 1, "a gone stream is forgotten");
        Out.Step("unit.positions");
    }

    private static void Requests()
    {
        // Optional fields left null are not sent, so the server applies its defaults.
        Out.Equal("{\"gameId\":\"g1\"}", Json.Write(Json.From(new GameJoinRequest { GameId = "g1" })), "optional fields omitted");
        // Optional and nullable: null (clear) and absent (keep) differ.
        Out.Equal("{}", Json.Write(Json.From(new ProfileUpdateRequest())), "nothing set");
        Out.Equal("{\"school\":null}", Json.Write(Json.From(new ProfileUpdateRequest { School = null })), "school cleared");
        Out.Equal("{\"activity\":null}", Json.Write(Json.From(new PresenceSetRequest { Activity = null })), "a required nullable field is sent as null");
        Out.Equal("{}", Json.Write(Json.From(null)), "no data: an empty object");
        var resume = new SessionResumeRequest { Token = "t", Streams = new List<StreamPosition> { new StreamPosition { Stream = "game:g1", Offset = 4, Epoch = "n1a" } } };
        Out.Equal("{\"token\":\"t\",\"streams\":[{\"stream\":\"game:g1\",\"offset\":4,\"epoch\":\"n1a\"}]}", Json.Write(Json.From(resume)), "session.resume data");
        Out.Step("unit.requests");
    }

    private static void Replies()
    {
        var reply = (JObject)Json.Parse("{\"re\":3,\"ok\":true,\"data\":{\"userId\":\"u1\",\"name\":\"Al\",\"token\":\"tok\",\"expiresAt\":1767225600000,\"resumed\":true,\"streams\":[{\"stream\":\"game:g1\",\"offset\":9,\"epoch\":\"n1a\",\"state\":\"resumed\"},{\"stream\":\"party:p1\",\"offset\":2,\"epoch\":\"n1b\",\"state\":\"resynced\"},{\"stream\":\"games:abc\",\"offset\":0,\"epoch\":\"n1c\",\"state\":\"gone\"}]}}");
        var r = reply["data"].ToObject<SessionResumeReply>(Json.Serializer);
        Out.Check(r.Resumed && r.Streams.Count == 3 && r.Streams[1].State == StreamStates.Resynced && r.ExpiresAt == 1767225600000L, "session.resume reply");
        var refusal = (JObject)Json.Parse("{\"re\":null,\"ok\":false,\"error\":{\"code\":\"CHAT_TOO_FAST\",\"message\":\"wait\",\"op\":\"chat.send\"}}");
        var e = FoyerException.FromBody(refusal["error"].ToObject<Error>(Json.Serializer), null);
        Out.Equal(ErrorCode.ChatTooFast, e.Code, "typed code");
        Out.Equal("chat.send", e.Op, "the refused op");
        var unknown = new FoyerException("SOMETHING_NEW", "from a newer server", "x.y");
        Out.Equal(ErrorCode.Unknown, unknown.Code, "an unknown code");
        Out.Equal("SOMETHING_NEW", unknown.CodeName, "keeps its name");
        Out.Equal("BAD_REQUEST", ErrorCodes.ToWire(ErrorCodes.Parse("BAD_REQUEST")), "codes round trip");
        Out.Check(!CloseCodes.AllowsReconnect(CloseCodes.Replaced) && CloseCodes.AllowsReconnect(CloseCodes.GoingAway) && CloseCodes.AllowsReconnect(1006), "close codes");
        var started = Frame("{\"ev\":\"game.sessionKey\",\"stream\":\"user:u1\",\"offset\":5,\"epoch\":\"n1a\",\"data\":{\"gameId\":\"g1\",\"sessionKey\":\"k\",\"serverAddress\":\"10.0.0.1:7777\",\"confirmBy\":1767225600000}}");
        var key = started.Data.ToObject<GameSessionKeyEvent>(Json.Serializer);
        Out.Check(key.SessionKey == "k" && key.ServerAddress == "10.0.0.1:7777", "game.sessionKey data");
        // Text that looks like a date stays text.
        var chat = Frame("{\"ev\":\"chat.message\",\"stream\":\"game:g1\",\"offset\":3,\"epoch\":\"n1a\",\"data\":{\"channel\":\"game\",\"gameId\":\"g1\",\"from\":{\"userId\":\"u2\",\"name\":\"Bo\"},\"text\":\"2026-01-01T00:00:00Z\",\"at\":1}}");
        Out.Equal("2026-01-01T00:00:00Z", chat.Data.ToObject<ChatMessageEvent>(Json.Serializer).Text, "chat text kept verbatim");
        Out.Step("unit.replies");
    }

    private static string Player(string id, int slot, long version)
    {
        return "{\"userId\":\"" + id + "\",\"name\":\"" + id + "\",\"slot\":" + slot + ",\"teamIndex\":0,\"level\":1,\"school\":null,\"rating\":0,\"ready\":false,\"connected\":true,\"confirmed\":false,\"joinedAt\":" + version + "}";
    }

    private static void Mirror()
    {
        var m = new LobbyMirror();
        m.ApplyReply("auth.guest", new JObject(), Json.Parse("{\"userId\":\"u1\",\"name\":\"Al\",\"token\":\"t\",\"expiresAt\":1,\"streams\":[]}"));
        var game = "{\"id\":\"g1\",\"name\":\"G\",\"gameType\":\"t\",\"ownerId\":\"u1\",\"maxPlayers\":4,\"teamSize\":4,\"hasPassword\":false,\"locked\":false,\"closed\":false,\"hidden\":false,\"inProgress\":false,\"friendsJoinOnly\":false,\"matchmade\":false,\"startMode\":\"manual\",\"minLevel\":null,\"maxLevel\":null,\"school\":null,\"attributes\":{},\"players\":[" + Player("u1", 0, 1) + "],\"spectators\":[],\"createdAt\":1,\"startedAt\":null,\"confirmBy\":null,\"version\":3}";
        m.ApplyReply("game.create", Json.Parse("{\"name\":\"G\",\"gameType\":\"t\"}"), Json.Parse("{\"game\":" + game + "}"));
        Out.Equal("g1", m.Game.Id, "game from the reply");
        m.ApplyEvent(Frame("{\"ev\":\"game.playerJoined\",\"stream\":\"game:g1\",\"offset\":3,\"epoch\":\"e\",\"data\":{\"gameId\":\"g1\",\"version\":3,\"player\":" + Player("u9", 1, 2) + "}}"));
        Out.Equal(1, m.Game.Players.Count, "an event the reply already showed is skipped");
        m.ApplyEvent(Frame("{\"ev\":\"game.playerJoined\",\"stream\":\"game:g1\",\"offset\":4,\"epoch\":\"e\",\"data\":{\"gameId\":\"g1\",\"version\":4,\"player\":" + Player("u2", 1, 2) + "}}"));
        Out.Equal(2, m.Game.Players.Count, "a newer event applies");
        m.ApplyEvent(Frame("{\"ev\":\"game.started\",\"stream\":\"game:g1\",\"offset\":5,\"epoch\":\"e\",\"data\":{\"gameId\":\"g1\",\"version\":5,\"confirmBy\":99}}"));
        m.ApplyEvent(Frame("{\"ev\":\"game.sessionKey\",\"stream\":\"user:u1\",\"offset\":2,\"epoch\":\"e\",\"data\":{\"gameId\":\"g1\",\"sessionKey\":\"k\",\"serverAddress\":\"a:1\",\"confirmBy\":99}}"));
        Out.Check(m.Game.InProgress && m.SessionKey.SessionKey == "k", "started, with the key");
        m.ApplyEvent(Frame("{\"ev\":\"game.snapshot\",\"stream\":\"game:g1\",\"offset\":9,\"epoch\":\"f\",\"data\":{\"game\":" + game.Replace("\"version\":3", "\"version\":8") + "}}"));
        Out.Equal(8L, m.Game.Version, "a snapshot replaces the game");
        Out.Equal("k", m.SessionKey.SessionKey, "the key stays for the same game");

        var party = "{\"id\":\"p1\",\"leaderId\":\"u2\",\"members\":[{\"userId\":\"u2\",\"name\":\"Bo\",\"attributes\":{},\"joinedAt\":1}],\"invites\":[{\"userId\":\"u1\",\"name\":\"Al\",\"invitedAt\":1,\"expiresAt\":2}],\"permanent\":false,\"queue\":null,\"version\":1}";
        m.ApplyEvent(Frame("{\"ev\":\"party.invited\",\"stream\":\"user:u1\",\"offset\":3,\"epoch\":\"e\",\"data\":{\"partyId\":\"p1\",\"version\":1,\"userId\":\"u1\",\"from\":{\"userId\":\"u2\",\"name\":\"Bo\"},\"expiresAt\":2,\"party\":" + party + "}}"));
        Out.Equal("p1", m.Invites.Single().PartyId, "an invite to me");
        m.ApplyEvent(Frame("{\"ev\":\"party.snapshot\",\"stream\":\"party:p1\",\"offset\":1,\"epoch\":\"e\",\"data\":{\"party\":" + party + "}}"));
        m.ApplyEvent(Frame("{\"ev\":\"party.memberJoined\",\"stream\":\"party:p1\",\"offset\":2,\"epoch\":\"e\",\"data\":{\"partyId\":\"p1\",\"version\":2,\"member\":{\"userId\":\"u1\",\"name\":\"Al\",\"attributes\":{},\"joinedAt\":3}}}"));
        Out.Check(m.Party.Members.Count == 2 && m.Party.Invites.Count == 0 && m.Party.Permanent, "member joined");

        m.ApplyEvent(Frame("{\"ev\":\"user.snapshot\",\"stream\":\"user:u1\",\"offset\":4,\"epoch\":\"e\",\"data\":{\"friends\":[{\"userId\":\"u3\",\"name\":\"Cy\",\"state\":\"friend\",\"presence\":{\"status\":\"online\",\"activity\":null},\"since\":1}],\"invites\":[],\"ticket\":null}}"));
        Out.Check(m.Friends.ContainsKey("u3") && m.Invites.Count == 0 && m.Ticket == null, "user snapshot");
        m.ApplyEvent(Frame("{\"ev\":\"presence.changed\",\"stream\":\"user:u1\",\"offset\":5,\"epoch\":\"e\",\"data\":{\"userId\":\"u3\",\"name\":\"Cy\",\"presence\":{\"status\":\"inGame\",\"activity\":\"x\"}}}"));
        Out.Equal("inGame", m.Friends["u3"].Presence.Status, "presence");

        var summary = "{\"id\":\"g7\",\"name\":\"N\",\"gameType\":\"t\",\"ownerId\":\"u3\",\"ownerName\":\"Cy\",\"players\":1,\"maxPlayers\":2,\"freeSeats\":1,\"spectators\":0,\"hasPassword\":false,\"locked\":false,\"closed\":false,\"inProgress\":false,\"friendsJoinOnly\":false,\"startMode\":\"manual\",\"minLevel\":null,\"maxLevel\":null,\"school\":null,\"attributes\":{},\"meanLevel\":1,\"meanRating\":0,\"createdAt\":1,\"version\":1}";
        m.ApplyReply("games.subscribe", new JObject(), Json.Parse("{\"games\":[],\"subscriptionId\":\"games:abc\"}"));
        m.ApplyEvent(Frame("{\"ev\":\"games.added\",\"stream\":\"games:abc\",\"offset\":1,\"epoch\":\"e\",\"data\":{\"subscriptionId\":\"games:abc\",\"game\":" + summary + "}}"));
        Out.Equal(1, m.Lists["games:abc"].Count, "list: added");
        m.ApplyEvent(Frame("{\"ev\":\"games.removed\",\"stream\":\"games:abc\",\"offset\":2,\"epoch\":\"e\",\"data\":{\"subscriptionId\":\"games:abc\",\"gameId\":\"g7\"}}"));
        Out.Equal(0, m.Lists["games:abc"].Count, "list: removed");
        m.ApplyEvent(Frame("{\"ev\":\"games.snapshot\",\"stream\":\"games:abc\",\"offset\":7,\"epoch\":\"f\",\"data\":{\"subscriptionId\":\"games:abc\",\"games\":[" + summary + "]}}"));
        Out.Equal(1, m.Lists["games:abc"].Count, "list: snapshot");

        m.StreamGone("games:abc");
        m.StreamGone("party:p1");
        Out.Check(!m.Lists.ContainsKey("games:abc") && m.Party == null && m.Game != null, "gone streams drop what they carried");
        m.Resynced();
        Out.Check(m.Game == null && m.SessionKey == null && m.Friends.Count == 1 && m.UserId == "u1", "a new session keeps who and friends, drops game, party and lists");
        Out.Step("unit.mirror");
    }
}
