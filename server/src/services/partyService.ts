import { randomUUID } from 'node:crypto';
import type { EventData, EventName, PartyView, TicketUpdate } from '@foyer/shared';
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import { Entities } from '../cluster/entities.js';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { partyStream } from '../gateway/streams.js';
import type { ChatRoom } from './chatService.js';
import type { Member } from '../domain/kit.js';
import { applyParty, decideParty, partyInvitees, partyMembers, partyTimersOf, partyViewOf, type PartyCommand, type PartyCtx, type PartyEvent, type PartyRules, type PartyState } from '../domain/party.js';
import { UnderWay } from './underWay.js';

/** What parties need from matchmaking. */
export interface PartyQueueing {
  /** Whether any of these users (of this node or another) has a ticket. */
  anyQueued(userIds: readonly string[]): Promise<boolean>;
  /** Queues the party as one ticket; throws LobbyError when the queue refuses. */
  enqueueParty(queue: string, partyId: string, members: (Member & { attributes: Record<string, string | number> })[], profile: unknown): Promise<TicketUpdate>;
  /** Cancels the party's ticket in that queue, if it has one. */
  cancelParty(queue: string, partyId: string, reason: string): Promise<void>;
  queueConfig(name: string): import('@foyer/shared').QueueConfig | undefined;
}

export interface PartyServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  cluster: Cluster;
  /** Whether an account exists: tells an unknown user from an offline one. */
  knownUser(userId: string): Promise<boolean>;
  /** Whether `userId` blocked `otherId` (friends): an invite either way between them is refused. */
  blocks?(userId: string, otherId: string): boolean | Promise<boolean>;
}

const ctx = (): PartyCtx => ({ now: Date.now(), newId: () => randomUUID() });

/**
 * The I/O shell around the pure party entity. A node holds a party while it
 * owns it or a member or invitee has a session here (`Entities` by
 * interest: the owner decides, those nodes apply); this service keeps
 * who is in which party and who holds which invites, gathers the facts a
 * decision needs from elsewhere (online, other parties, matchmaking), and
 * delivers a party's events to this node's sessions.
 */
export class PartyService {
  private readonly parties: Entities<PartyState, PartyCommand, PartyEvent, PartyView | null>;
  private readonly memberOf = new Map<string, string>(); // userId → partyId
  private readonly invitedTo = new Map<string, Set<string>>(); // userId → partyIds
  /** Sessions just opened here whose party and invites are being looked up by their records. */
  private readonly finding = new UnderWay();
  private readonly rules: PartyRules;
  /** Set once matchmaking exists. */
  queueing!: PartyQueueing;

  constructor(private readonly deps: PartyServiceDeps) {
    this.rules = { maxSize: deps.config.partyMaxSize, inviteTtlMs: deps.config.inviteTtlMs };
    this.parties = new Entities(
      {
        kind: 'party',
        version: (p) => p.version,
        decide: (_id, before, command) => {
          const d = decideParty(before, command, ctx(), this.rules);
          if (!d.ok) throw new LobbyError(d.code, d.message);
          return d;
        },
        apply: (_id, before, e) => applyParty(before, e),
        effects: (id, e, before, after) => {
          this.track(id, e, before, after);
          this.publish(id, e, before, after);
        },
        replace: (id, before, after) => {
          this.index(id, before, after);
          const stream = partyStream(id);
          for (const u of before ? partyMembers(before) : []) if (!after || !partyMembers(after).includes(u)) deps.gateway.unsubscribe(u, stream);
          for (const u of after ? partyMembers(after) : []) deps.gateway.subscribe(u, stream);
        },
        resume: (p, now) => partyTimersOf(p, now),
        interest: {
          users: (p) => [...partyMembers(p), ...partyInvitees(p)],
          members: (p) => partyMembers(p),
          invitees: (p) => partyInvitees(p),
          here: (u) => deps.gateway.sessions.has(u),
          locate: async (users) => new Map([...(await deps.gateway.locate(users))].map(([u, r]) => [u, r.node])),
          deliver: (users, ev, data) => deps.gateway.toUsersHere(users, ev as EventName, data as never),
          // The sessions here missed events: the party as it is now stands for them (none: it is gone for them).
          resynced: (id, after) => {
            if (after) deps.gateway.publish(partyStream(id), 'party.snapshot', { party: partyViewOf(after) });
          },
          // A party command's result is the party's view after it.
          answers: { view: (p) => (p ? partyViewOf(p) : null) },
        },
      },
      deps.cluster,
      deps.log,
    );
    deps.gateway.onSession({
      opened: (userId) => {
        const party = this.partyOfUser(userId);
        if (party) deps.gateway.subscribe(userId, partyStream(party.id));
        // A session that started here while its party, or a party inviting it, is held elsewhere: the records say
        // which; holding them subscribes it and shows its invites (the user's snapshot waits for this: `arrival`).
        this.finding.track(
          userId,
          Promise.all([party ?? this.find(userId), this.findInvites(userId)]).catch((err: unknown) => deps.log.warn({ err, userId }, 'finding the party or invites of a new session failed')),
        );
      },
      ended: (userId) => this.onSessionEnded(userId),
    });
    deps.gateway.snapshotter('party', (_s, name) => {
      const party = this.parties.get(name.slice('party:'.length));
      return party && { ev: 'party.snapshot', data: { party: partyViewOf(party) } };
    });
  }

  /** Parties this node owns (admin views). */
  owned(): string[] {
    return this.parties.owned();
  }

  partyOfUser(userId: string): PartyState | undefined {
    const id = this.memberOf.get(userId);
    return id === undefined ? undefined : this.parties.get(id);
  }

  /** The user's party, held here first when only its record knows it (their session started on another node than it was held). */
  private async find(userId: string): Promise<PartyState | undefined> {
    const known = this.partyOfUser(userId);
    if (known) return known;
    await this.parties.loadRecorded(userId);
    return this.partyOfUser(userId);
  }

  /** The parties whose invites the user's record lists, held here (an invitee's node holds the party). */
  private async findInvites(userId: string): Promise<void> {
    const ids = await this.deps.cluster.places.invitesOf(userId, 'party');
    await Promise.all(ids.filter((id) => !this.invitedTo.get(userId)?.has(id)).map((id) => this.parties.load(id)));
  }

  /** Once a session just opened here knows its party and invites (held elsewhere until their records are read). */
  async arrival(userId: string): Promise<void> {
    await this.finding.done(userId);
  }

  /** The user's party, held here or not (read from its stored snapshot: an admin view, an invitee of another node). */
  async partyAnywhere(userId: string): Promise<PartyState | undefined> {
    const known = this.partyOfUser(userId);
    if (known) return known;
    const partyId = await this.deps.cluster.places.placeOf(userId, 'party');
    return partyId === undefined ? undefined : this.parties.peek(partyId);
  }

  chatRoom(userId: string): ChatRoom {
    const p = this.partyOfUser(userId);
    return p && { id: p.id, members: () => partyMembers(p) };
  }

  /** The party's ticket ended (matched, cancelled, timed out): it is no longer queued. */
  async unqueued(partyId: string): Promise<void> {
    // The queue's owner may hold no replica of the party: loaded first.
    if ((await this.parties.load(partyId))?.queue) await this.run(partyId, { type: 'unqueue' });
  }

  stop(): void {
    this.parties.stop();
  }

  /** Draining: every party goes to another node. */
  handOver(): Promise<number> {
    return this.parties.handOver();
  }

  /** As isPermanentMember, for a user whose party may be held on another node only. */
  private async isPermanentAnywhere(userId: string, except: string): Promise<boolean> {
    const p = await this.partyAnywhere(userId);
    return !!p && p.id !== except && p.members.length > 1;
  }

  private isPermanentMember(userId: string, except?: string): boolean {
    const p = this.partyOfUser(userId);
    return !!p && p.id !== except && p.members.length > 1;
  }

  /** Runs one command on the party's owner (this node or another); the party as it is afterwards. */
  private async run(partyId: string, command: PartyCommand): Promise<PartyView | null> {
    return this.parties.exec(partyId, command);
  }


  /** Keeps who-is-where in step with the party's events. */
  private track(partyId: string, e: PartyEvent, before: PartyState | undefined, after: PartyState | undefined): void {
    this.index(partyId, before, after);
    // The ticket of a party that changed under it is cancelled for everybody, once, by the party's owner.
    // (A no-op when the ticket is what ended, and so unqueued the party.)
    const queue = before?.queue;
    if (e.ev === 'party.queueChanged' && e.data.queue === null && queue && this.parties.ownerOf(partyId) === this.deps.cluster.nodeId) {
      this.queueing.cancelParty(queue, partyId, 'partyChanged').catch((err: unknown) => this.deps.log.warn({ err, partyId }, 'cancelling the ticket of a changed party failed'));
    }
  }

  /** Who is in which party and who holds which invites, from the party before and after (events and snapshots alike). */
  private index(partyId: string, before: PartyState | undefined, after: PartyState | undefined): void {
    const invitees = (s: PartyState | undefined) => new Set(s?.invites.map((i) => i.userId) ?? []);
    const membersOf = (s: PartyState | undefined) => new Set(s?.members.map((m) => m.userId) ?? []);
    for (const u of membersOf(after)) this.memberOf.set(u, partyId);
    for (const u of membersOf(before)) if (!membersOf(after).has(u) && this.memberOf.get(u) === partyId) this.memberOf.delete(u);
    for (const u of invitees(after)) {
      const set = this.invitedTo.get(u) ?? new Set<string>();
      set.add(partyId);
      this.invitedTo.set(u, set);
    }
    for (const u of invitees(before)) {
      if (invitees(after).has(u)) continue;
      const set = this.invitedTo.get(u);
      set?.delete(partyId);
      if (set && !set.size) this.invitedTo.delete(u);
    }
  }

  /**
   * Every node publishes a party's events for the sessions it holds: on the
   * party's stream for its members (newcomers first subscribed, leavers
   * unsubscribed after), and on the user stream of each other recipient
   * (an invitee; a newcomer's party.snapshot).
   */
  private publish(partyId: string, e: PartyEvent, before: PartyState | undefined, after: PartyState | undefined): void {
    const { gateway } = this.deps;
    const stream = partyStream(partyId);
    const was = before ? partyMembers(before) : [];
    const is = after ? partyMembers(after) : [];
    for (const u of is) if (!was.includes(u)) gateway.subscribe(u, stream);
    if (e.ev !== 'party.created' && e.to.length) {
      if (e.ev === 'party.snapshot') this.toUsers(partyId, before, e.to, e.ev, e.data);
      else {
        const members = new Set([...was, ...is]);
        if (e.to.some((u) => members.has(u))) gateway.publish(stream, e.ev as EventName, e.data as never);
        const others = e.to.filter((u) => !members.has(u));
        if (others.length) this.toUsers(partyId, before, others, e.ev as EventName, e.data as never);
      }
    }
    for (const u of was) if (!is.includes(u)) gateway.unsubscribe(u, stream);
  }

  /**
   * An event on recipients' own streams. Users the party already had (members,
   * invitees) get it from the nodes holding their sessions, which hold the
   * party, in order with its stream; a user it just took in (an invitee) gets
   * it through the owner alone: on another node, once that node holds the
   * party (so what they do next, accept, finds it there).
   */
  private toUsers<E extends EventName>(partyId: string, before: PartyState | undefined, users: readonly string[], ev: E, data: EventData<E>): void {
    const known = new Set(before ? [...partyMembers(before), ...partyInvitees(before)] : []);
    const old = users.filter((u) => known.has(u));
    const fresh = users.filter((u) => !known.has(u));
    if (old.length) this.deps.gateway.toUsersHere(old, ev, data);
    if (!fresh.length || this.parties.ownerOf(partyId) !== this.deps.cluster.nodeId) return;
    const here = fresh.filter((u) => this.deps.gateway.sessions.has(u));
    if (here.length) this.deps.gateway.toUsersHere(here, ev, data);
    if (here.length < fresh.length) this.parties.post(partyId, fresh.filter((u) => !here.includes(u)), ev, data);
  }

  private async onSessionEnded(userId: string): Promise<void> {
    try {
      const party = this.partyOfUser(userId);
      if (party) await this.run(party.id, { type: 'leave', userId, reason: 'disconnected' });
      for (const partyId of [...(this.invitedTo.get(userId) ?? [])]) await this.run(partyId, { type: 'dropInvite', userId });
    } catch (err) {
      this.deps.log.warn({ err, userId }, 'leaving the party of an ended session failed');
    }
  }

  async invite(by: Member, target: string): Promise<PartyView> {
    if (target === by.userId) throw new LobbyError('INVITE_SELF', 'you cannot invite yourself');
    await this.deps.gateway.locate([target]);
    const session = this.deps.gateway.online(target);
    if (!session) throw new LobbyError((await this.deps.knownUser(target)) ? 'USER_OFFLINE' : 'USER_NOT_FOUND', 'that user is not online');
    if ((await this.deps.blocks?.(target, by.userId)) || (await this.deps.blocks?.(by.userId, target))) throw new LobbyError('BLOCKED', 'one of you blocked the other');
    const own = this.memberOf.get(by.userId);
    const partyId = own ?? randomUUID();
    const after = await (own === undefined ? this.parties.create.bind(this.parties) : this.parties.exec.bind(this.parties))(partyId, {
      type: 'invite',
      partyId,
      by,
      target: { userId: target, name: session.name },
      facts: await this.inviteFacts(target, by.userId, partyId),
    });
    return after!;
  }

  /** What an invite's decision needs to know of the two players, read together (the node's reader makes the record reads one round trip). */
  private async inviteFacts(target: string, inviter: string, partyId: string): Promise<{ targetInOtherPermanentParty: boolean; targetQueued: boolean; inviterQueued: boolean }> {
    const [targetInOtherPermanentParty, targetQueued, inviterQueued] = await Promise.all([this.isPermanentAnywhere(target, partyId), this.queueing.anyQueued([target]), this.queueing.anyQueued([inviter])]);
    return { targetInOtherPermanentParty, targetQueued, inviterQueued };
  }

  async accept(by: Member, partyId: string): Promise<PartyView> {
    const party = await this.parties.load(partyId);
    if (!party) throw new LobbyError('INVITE_NOT_FOUND', 'no such invite');
    const command: PartyCommand = {
      type: 'accept',
      by,
      facts: { inOtherPermanentParty: this.isPermanentMember(by.userId, partyId), queued: await this.queueing.anyQueued([by.userId]) },
    };
    const trial = decideParty(party, command, ctx(), this.rules);
    if (!trial.ok) throw new LobbyError(trial.code, trial.message);
    // Leading a temporary party of one's own is allowed: that party ends first.
    const own = this.partyOfUser(by.userId);
    if (own && own.id !== partyId) await this.run(own.id, { type: 'leave', userId: by.userId, reason: 'left' });
    return (await this.run(partyId, command))!;
  }

  /** The user's party (NOT_IN_PARTY when none). */
  private mine(userId: string): PartyState {
    const p = this.partyOfUser(userId);
    if (!p) throw new LobbyError('NOT_IN_PARTY', 'you are not in a party');
    return p;
  }

  /** Runs a command on the user's own party; the party afterwards. */
  async inMine(userId: string, command: PartyCommand): Promise<PartyView | null> {
    return this.run(this.mine(userId).id, command);
  }

  async decline(by: Member, partyId: string): Promise<void> {
    if (!(await this.parties.load(partyId))) throw new LobbyError('INVITE_NOT_FOUND', 'no such invite');
    await this.run(partyId, { type: 'decline', by });
  }

  /** The leader takes the party into a queue: the party freezes, then its ticket is made. */
  async go(by: Member, queueName: string, profile: unknown): Promise<TicketUpdate> {
    if (this.deps.cluster.isDraining) throw new LobbyError('NODE_DRAINING', 'this node is draining and takes no new tickets; reconnect and try again');
    const party = this.mine(by.userId);
    const queue = this.queueing.queueConfig(queueName);
    if (!queue) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${queueName}`);
    const after = (await this.run(party.id, { type: 'go', by, queue, facts: { memberQueued: await this.queueing.anyQueued(party.members.map((m) => m.userId)) } }))!;
    try {
      return await this.queueing.enqueueParty(queue.name, party.id, after.members.map((m) => ({ userId: m.userId, name: m.name, attributes: m.attributes })), profile);
    } catch (err) {
      // The queue refused after the party froze itself: unfreeze it.
      await this.run(party.id, { type: 'unqueue' }).catch(() => {});
      throw err;
    }
  }

  /** The user's party and the invites they hold. */
  async current(userId: string): Promise<{ party: PartyView | null; invites: { partyId: string; from: Member; expiresAt: number }[] }> {
    const [party] = await Promise.all([this.find(userId), this.arrival(userId)]);
    return { party: party ? partyViewOf(party) : null, invites: this.invitesOf(userId) };
  }

  /** The invites the user holds (of the parties held here: an invitee's node holds the party). */
  invitesOf(userId: string): { partyId: string; from: Member; expiresAt: number }[] {
    return  [...(this.invitedTo.get(userId) ?? [])].flatMap((partyId) => {
      const p = this.parties.get(partyId);
      const invite = p?.invites.find((i) => i.userId === userId);
      const leader = p?.members.find((m) => m.userId === p.leaderId);
      return p && invite && leader ? [{ partyId, from: { userId: leader.userId, name: leader.name }, expiresAt: invite.expiresAt }] : [];
    });
  }
}
