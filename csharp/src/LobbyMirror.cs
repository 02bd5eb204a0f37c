using System;
using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace Foyer
{
    /// <summary>
    /// The player's part of the lobby as the client knows it: who they are, their
    /// game (and its session key once it starts), party and invites, matchmaking
    /// ticket, friends, and subscribed game lists. Fed by the client with every
    /// successful reply and every event, in the order they arrived, on the
    /// dispatcher's thread: read it there (Unity: the main thread).
    /// Events older than what a reply or snapshot showed (by the game's or party's
    /// version) are skipped.
    /// </summary>
    public sealed class LobbyMirror
    {
        internal LobbyMirror()
        {
            Friends = new Dictionary<string, Friend>();
            Invites = new List<ReceivedInvite>();
            Lists = new Dictionary<string, List<GameSummary>>();
        }

        /// <summary>After each reply or event the mirror took (its name: op or event).</summary>
        public event Action<string> Changed;

        public string UserId { get; private set; }
        public string Name { get; private set; }
        /// <summary>The game one plays in or watches, or null.</summary>
        public Game Game { get; private set; }
        public bool Spectating { get; private set; }
        /// <summary>One's way into the started game: key and server address (game.sessionKey), or null.</summary>
        public GameSessionKeyEvent SessionKey { get; private set; }
        public Party Party { get; private set; }
        /// <summary>Party invites one holds.</summary>
        public List<ReceivedInvite> Invites { get; private set; }
        /// <summary>One's matchmaking ticket (its last status), or null.</summary>
        public Ticket Ticket { get; private set; }
        /// <summary>Friends and requests, by user id.</summary>
        public Dictionary<string, Friend> Friends { get; private set; }
        /// <summary>Each games.subscribe list by subscriptionId (its stream): the games in it now.</summary>
        public Dictionary<string, List<GameSummary>> Lists { get; private set; }

        internal void ApplyReply(string op, JToken request, JToken result)
        {
            var r = result as JObject;
            switch (op)
            {
                case "auth.guest":
                case "auth.register":
                case "auth.login":
                case "auth.token":
                    // Another account, or a fresh session of this one: nothing known before is its.
                    Clear(true);
                    Me(r);
                    break;
                case "auth.upgrade":
                case "session.resume":
                    Me(r);
                    break;
                case "game.create":
                case "game.join":
                case "games.quickJoin":
                case "game.update":
                    SetGame(Get<Game>(r, "game"), op == "game.join" && request.Value<bool?>("spectate") == true ? true : op == "game.update" ? Spectating : false);
                    break;
                case "game.current":
                    SetGame(Get<Game>(r, "game"), r.Value<bool?>("spectating") == true);
                    break;
                case "game.leave":
                    SetGame(null, false);
                    break;
                case "party.invite":
                case "party.accept":
                case "party.setAttributes":
                    Party = Get<Party>(r, "party");
                    if (op == "party.accept") Invites.RemoveAll(i => i.PartyId == Party.Id);
                    break;
                case "party.decline":
                    Invites.RemoveAll(i => i.PartyId == request.Value<string>("partyId"));
                    break;
                case "party.current":
                    Party = Get<Party>(r, "party");
                    Invites = Get<List<ReceivedInvite>>(r, "invites") ?? new List<ReceivedInvite>();
                    break;
                case "party.leave":
                    Party = null;
                    break;
                case "mm.join":
                case "party.go":
                case "game.queue":
                    Ticket = result.ToObject<Ticket>(Json.Serializer);
                    break;
                case "mm.current":
                    Ticket = Get<Ticket>(r, "ticket");
                    break;
                case "mm.cancel":
                case "mm.decline":
                    Ticket = null;
                    break;
                case "friends.list":
                    Friends.Clear();
                    foreach (var f in Get<List<Friend>>(r, "friends") ?? new List<Friend>()) Friends[f.UserId] = f;
                    break;
                case "friends.request":
                case "friends.accept":
                    var friend = Get<Friend>(r, "friend");
                    if (friend != null) Friends[friend.UserId] = friend;
                    break;
                case "friends.decline":
                case "friends.remove":
                case "friends.block":
                    Friends.Remove(request.Value<string>("userId") ?? "");
                    break;
                case "games.subscribe":
                    Lists[r.Value<string>("subscriptionId")] = Get<List<GameSummary>>(r, "games") ?? new List<GameSummary>();
                    break;
                case "games.unsubscribe":
                    Lists.Remove(request.Value<string>("subscriptionId") ?? "");
                    break;
                default:
                    return;
            }
            Notify(op);
        }

        internal void ApplyEvent(EventFrame frame)
        {
            var d = frame.Data as JObject;
            if (d == null) return;
            switch (frame.Ev)
            {
                case "game.snapshot":
                    SetGame(Get<Game>(d, "game"), Spectating);
                    break;
                case "game.updated":
                    if (GameEvent(d)) Game = Get<Game>(d, "game");
                    break;
                case "game.playerJoined":
                case "game.playerUpdated":
                    if (GameEvent(d))
                    {
                        var p = Get<Player>(d, "player");
                        Game.Players.RemoveAll(x => x.UserId == p.UserId);
                        Game.Players.Add(p);
                        Game.Players.Sort((a, b) => a.Slot.CompareTo(b.Slot));
                    }
                    break;
                case "game.playerLeft":
                    if (GameEvent(d))
                    {
                        var who = d.Value<string>("userId");
                        Game.Players.RemoveAll(x => x.UserId == who);
                        Game.OwnerId = d.Value<string>("ownerId");
                        if (who == UserId) SetGame(null, false);
                    }
                    break;
                case "game.spectatorJoined":
                    if (GameEvent(d))
                    {
                        var s = Get<UserRef>(d, "spectator");
                        Game.Spectators.RemoveAll(x => x.UserId == s.UserId);
                        Game.Spectators.Add(s);
                    }
                    break;
                case "game.spectatorLeft":
                    if (GameEvent(d))
                    {
                        var who = d.Value<string>("userId");
                        Game.Spectators.RemoveAll(x => x.UserId == who);
                        if (who == UserId) SetGame(null, false);
                    }
                    break;
                case "game.started":
                    if (GameEvent(d))
                    {
                        Game.InProgress = true;
                        Game.ConfirmBy = d.Value<long>("confirmBy");
                    }
                    break;
                case "game.sessionKey":
                    SessionKey = d.ToObject<GameSessionKeyEvent>(Json.Serializer);
                    break;
                case "game.ended":
                    if (Game != null && Game.Id == d.Value<string>("gameId")) SetGame(null, false);
                    break;
                case "party.snapshot":
                    Party = Get<Party>(d, "party");
                    break;
                case "party.invited":
                    if (d.Value<string>("userId") == UserId)
                    {
                        var partyId = d.Value<string>("partyId");
                        Invites.RemoveAll(i => i.PartyId == partyId);
                        Invites.Add(new ReceivedInvite { PartyId = partyId, From = Get<UserRef>(d, "from"), ExpiresAt = d.Value<long>("expiresAt") });
                    }
                    else if (PartyEvent(d))
                    {
                        Party = Get<Party>(d, "party");
                    }
                    break;
                case "party.inviteEnded":
                    if (d.Value<string>("userId") == UserId) Invites.RemoveAll(i => i.PartyId == d.Value<string>("partyId"));
                    else if (PartyEvent(d)) Party.Invites.RemoveAll(i => i.UserId == d.Value<string>("userId"));
                    break;
                case "party.memberJoined":
                    if (PartyEvent(d))
                    {
                        var m = Get<PartyMember>(d, "member");
                        Party.Members.RemoveAll(x => x.UserId == m.UserId);
                        Party.Members.Add(m);
                        Party.Invites.RemoveAll(i => i.UserId == m.UserId);
                        Party.Permanent = true;
                    }
                    break;
                case "party.memberLeft":
                    if (PartyEvent(d))
                    {
                        var who = d.Value<string>("userId");
                        Party.Members.RemoveAll(x => x.UserId == who);
                        Party.LeaderId = d.Value<string>("leaderId");
                        if (who == UserId) Party = null;
                    }
                    break;
                case "party.memberUpdated":
                    if (PartyEvent(d))
                    {
                        var m = Party.Members.Find(x => x.UserId == d.Value<string>("userId"));
                        if (m != null) m.Attributes = Get<Dictionary<string, JToken>>(d, "attributes");
                    }
                    break;
                case "party.leaderChanged":
                    if (PartyEvent(d)) Party.LeaderId = d.Value<string>("leaderId");
                    break;
                case "party.queueChanged":
                    if (PartyEvent(d)) Party.Queue = d.Value<string>("queue");
                    break;
                case "party.ended":
                    var ended = d.Value<string>("partyId");
                    if (Party != null && Party.Id == ended) Party = null;
                    Invites.RemoveAll(i => i.PartyId == ended);
                    break;
                case "mm.status":
                    Ticket = d.ToObject<Ticket>(Json.Serializer);
                    break;
                case "user.snapshot":
                    Friends.Clear();
                    foreach (var f in Get<List<Friend>>(d, "friends") ?? new List<Friend>()) Friends[f.UserId] = f;
                    Invites = Get<List<ReceivedInvite>>(d, "invites") ?? new List<ReceivedInvite>();
                    Ticket = Get<Ticket>(d, "ticket");
                    break;
                case "friends.changed":
                    var changed = Get<Friend>(d, "friend");
                    if (d.Value<bool>("removed")) Friends.Remove(changed.UserId);
                    else Friends[changed.UserId] = changed;
                    break;
                case "presence.changed":
                    Friend known;
                    if (Friends.TryGetValue(d.Value<string>("userId"), out known))
                    {
                        known.Presence = Get<Presence>(d, "presence");
                        known.Name = d.Value<string>("name");
                    }
                    break;
                case "friends.profileChanged":
                    Friend renamed;
                    if (Friends.TryGetValue(d.Value<string>("userId"), out renamed)) renamed.Name = d["profile"].Value<string>("name");
                    break;
                case "games.snapshot":
                    Lists[d.Value<string>("subscriptionId")] = Get<List<GameSummary>>(d, "games") ?? new List<GameSummary>();
                    break;
                case "games.added":
                case "games.updated":
                    List<GameSummary> list;
                    if (Lists.TryGetValue(d.Value<string>("subscriptionId"), out list))
                    {
                        var g = Get<GameSummary>(d, "game");
                        var at = list.FindIndex(x => x.Id == g.Id);
                        if (at >= 0) list[at] = g;
                        else list.Add(g);
                    }
                    break;
                case "games.removed":
                    List<GameSummary> from;
                    if (Lists.TryGetValue(d.Value<string>("subscriptionId"), out from)) from.RemoveAll(x => x.Id == d.Value<string>("gameId"));
                    break;
                default:
                    return;
            }
            Notify(frame.Ev);
        }

        /// <summary>session.resume said a stream is gone: the game, party or list it carried is no longer the player's.</summary>
        internal void StreamGone(string stream)
        {
            if (Game != null && stream == "game:" + Game.Id) SetGame(null, false);
            else if (Party != null && stream == "party:" + Party.Id) Party = null;
            else if (!Lists.Remove(stream)) return;
            Notify("gone:" + stream);
        }

        /// <summary>Reconnected into a new session: the old session left its game, party and queue, and its list subscriptions ended.</summary>
        internal void Resynced()
        {
            Clear(false);
            Notify("resynced");
        }

        private void Clear(bool everything)
        {
            SetGame(null, false);
            Party = null;
            Ticket = null;
            Lists.Clear();
            if (!everything) return;
            Invites = new List<ReceivedInvite>();
            Friends.Clear();
            UserId = null;
            Name = null;
        }

        private void Me(JObject r)
        {
            if (r == null) return;
            UserId = r.Value<string>("userId") ?? UserId;
            Name = r.Value<string>("name") ?? Name;
        }

        private void SetGame(Game game, bool spectating)
        {
            if (Game == null || game == null || Game.Id != game.Id) SessionKey = SessionKey != null && game != null && SessionKey.GameId == game.Id ? SessionKey : null;
            Game = game;
            Spectating = game != null && spectating;
        }

        /// <summary>An event of the mirrored game newer than what the mirror shows; takes its version.</summary>
        private bool GameEvent(JObject d)
        {
            if (Game == null || Game.Id != d.Value<string>("gameId")) return false;
            var version = d.Value<long>("version");
            if (version <= Game.Version) return false;
            Game.Version = version;
            return true;
        }

        private bool PartyEvent(JObject d)
        {
            if (Party == null || Party.Id != d.Value<string>("partyId")) return false;
            var version = d.Value<long>("version");
            if (version <= Party.Version) return false;
            Party.Version = version;
            return true;
        }

        private static T Get<T>(JObject o, string key) where T : class
        {
            if (o == null) return null;
            var t = o[key];
            return t == null || t.Type == JTokenType.Null ? null : t.ToObject<T>(Json.Serializer);
        }

        private void Notify(string what)
        {
            var h = Changed;
            if (h != null) h(what);
        }
    }
}
