import { randomUUID } from 'node:crypto';
import type { EventName, TicketUpdate } from '@foyer/shared';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { OpRegistry } from '../gateway/registry.js';
import type { ChatRoom } from './chat.js';
import type { Member } from './game.js';
import { applyParty, decideParty, partyMembers, partyViewOf, type PartyCommand, type PartyCtx, type PartyEvent, type PartyRules, type PartyState } from './party.js';

/** What parties need from matchmaking. */
export interface PartyQueueing {
  isQueued(userId: string): boolean;
  /** Queues the party as one ticket; throws LobbyError when the queue refuses. */
  enqueueParty(queue: string, partyId: string, members: (Member & { attributes: Record<string, string | number> })[], profile: unknown): TicketUpdate;
  /** Cancels the party's ticket, if it has one. */
  cancelParty(partyId: string, reason: string): void;
  queueConfig(name: string): import('@foyer/shared').QueueConfig | undefined;
}

export interface PartyServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  registry: OpRegistry;
  /** Whether an account exists: tells an unknown user from an offline one. */
  knownUser(userId: string): Promise<boolean>;
  /** Whether `userId` blocked `otherId` (friends): an invite either way between them is refused. */
  blocks?(userId: string, otherId: string): boolean;
}

const ctx = (): PartyCtx => ({ now: Date.now(), newId: () => randomUUID() });

/**
 * The I/O shell around the pure party entity: this node's parties, who is in
 * which, who holds which invites, the facts a decision needs from elsewhere
 * (online, other parties, matchmaking), delivery, and timers.
 */
export class PartyService {
  private readonly parties = new Map<string, PartyState>();
  private readonly memberOf = new Map<string, string>(); // userId → partyId
  private readonly invitedTo = new Map<string, Set<string>>(); // userId → partyIds
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  private readonly rules: PartyRules;
  /** Set once matchmaking exists. */
  queueing!: PartyQueueing;

  constructor(private readonly deps: PartyServiceDeps) {
    this.rules = { maxSize: deps.config.partyMaxSize, inviteTtlMs: deps.config.inviteTtlMs };
    this.registerOps(deps.registry);
    deps.gateway.onSession({
      back: (userId) => {
        const party = this.partyOfUser(userId);
        if (party) deps.gateway.deliver({ users: [userId] }, 'party.snapshot', { party: partyViewOf(party) });
      },
      ended: (userId) => this.onSessionEnded(userId),
    });
  }

  partyOfUser(userId: string): PartyState | undefined {
    const id = this.memberOf.get(userId);
    return id === undefined ? undefined : this.parties.get(id);
  }

  chatRoom(userId: string): ChatRoom {
    const p = this.partyOfUser(userId);
    return p && { id: p.id, members: partyMembers(p) };
  }

  /** The party's ticket ended (matched, cancelled, timed out): it is no longer queued. */
  unqueued(partyId: string): void {
    if (this.parties.get(partyId)?.queue) this.run(partyId, { type: 'unqueue' });
  }

  private isPermanentMember(userId: string, except?: string): boolean {
    const p = this.partyOfUser(userId);
    return !!p && p.id !== except && p.members.length > 1;
  }

  private run(partyId: string, command: PartyCommand): PartyState | undefined {
    const before = this.parties.get(partyId);
    const d = decideParty(before, command, ctx(), this.rules);
    if (!d.ok) throw new LobbyError(d.code, d.message);
    let state = before;
    for (const e of d.events) {
      const prior = state;
      state = applyParty(state, e);
      this.track(partyId, e, prior, state);
      this.deliver(e);
    }
    if (state) this.parties.set(partyId, state);
    else this.forget(partyId);
    for (const t of d.timers) {
      const timer = setTimeout(() => {
        if (!this.parties.has(partyId)) return;
        try {
          this.run(partyId, t.command);
        } catch (err) {
          if (!(err instanceof LobbyError)) this.deps.log.error({ err, partyId }, 'party timer failed');
        }
      }, t.afterMs);
      timer.unref();
      const list = this.timers.get(partyId);
      if (list) list.push(timer);
      else this.timers.set(partyId, [timer]);
    }
    return state;
  }

  /** Keeps who-is-where in step with the party's events. */
  private track(partyId: string, e: PartyEvent, before: PartyState | undefined, after: PartyState | undefined): void {
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
    // The ticket of a party that changed under it is cancelled for everybody.
    // (A no-op when the ticket is what ended, and so unqueued the party.)
    if (e.ev === 'party.queueChanged' && e.data.queue === null) this.queueing.cancelParty(partyId, 'partyChanged');
  }

  private deliver(e: PartyEvent): void {
    if (e.ev === 'party.created' || !e.to.length) return;
    this.deps.gateway.deliver({ users: e.to }, e.ev as EventName, e.data as never);
  }

  private forget(partyId: string): void {
    this.parties.delete(partyId);
    for (const t of this.timers.get(partyId) ?? []) clearTimeout(t);
    this.timers.delete(partyId);
  }

  private onSessionEnded(userId: string): void {
    try {
      const party = this.partyOfUser(userId);
      if (party) this.run(party.id, { type: 'leave', userId, reason: 'disconnected' });
      for (const partyId of [...(this.invitedTo.get(userId) ?? [])]) this.run(partyId, { type: 'dropInvite', userId });
    } catch (err) {
      this.deps.log.error({ err, userId }, 'leaving the party of an ended session failed');
    }
  }

  private async invite(by: Member, target: string): Promise<PartyState> {
    if (target === by.userId) throw new LobbyError('INVITE_SELF', 'you cannot invite yourself');
    const session = this.deps.gateway.sessions.get(target);
    if (!session) throw new LobbyError((await this.deps.knownUser(target)) ? 'USER_OFFLINE' : 'USER_NOT_FOUND', 'that user is not online');
    if (this.deps.blocks?.(target, by.userId) || this.deps.blocks?.(by.userId, target)) throw new LobbyError('BLOCKED', 'one of you blocked the other');
    const partyId = this.memberOf.get(by.userId) ?? randomUUID();
    return this.run(partyId, {
      type: 'invite',
      partyId,
      by,
      target: { userId: target, name: session.name },
      facts: {
        targetInOtherPermanentParty: this.isPermanentMember(target, partyId),
        targetQueued: this.queueing.isQueued(target),
        inviterQueued: this.queueing.isQueued(by.userId),
      },
    })!;
  }

  private accept(by: Member, partyId: string): PartyState {
    const party = this.parties.get(partyId);
    if (!party) throw new LobbyError('INVITE_NOT_FOUND', 'no such invite');
    const command: PartyCommand = {
      type: 'accept',
      by,
      facts: { inOtherPermanentParty: this.isPermanentMember(by.userId, partyId), queued: this.queueing.isQueued(by.userId) },
    };
    const trial = decideParty(party, command, ctx(), this.rules);
    if (!trial.ok) throw new LobbyError(trial.code, trial.message);
    // Leading a temporary party of one's own is allowed: that party ends first.
    const own = this.partyOfUser(by.userId);
    if (own && own.id !== partyId) this.run(own.id, { type: 'leave', userId: by.userId, reason: 'left' });
    return this.run(partyId, command)!;
  }

  private registerOps(registry: OpRegistry): void {
    const member = (s: { userId: string; name: string }): Member => ({ userId: s.userId, name: s.name });
    const mine = (userId: string) => {
      const p = this.partyOfUser(userId);
      if (!p) throw new LobbyError('NOT_IN_PARTY', 'you are not in a party');
      return p;
    };

    registry.register('party.invite', async (data, { session }) => ({ party: partyViewOf(await this.invite(member(session), data.userId)) }));
    registry.register('party.accept', (data, { session }) => ({ party: partyViewOf(this.accept(member(session), data.partyId)) }));
    registry.register('party.decline', (data, { session }) => {
      if (!this.parties.has(data.partyId)) throw new LobbyError('INVITE_NOT_FOUND', 'no such invite');
      this.run(data.partyId, { type: 'decline', by: member(session) });
      return {};
    });
    registry.register('party.leave', (_data, { session }) => {
      this.run(mine(session.userId).id, { type: 'leave', userId: session.userId, reason: 'left' });
      return {};
    });
    registry.register('party.kick', (data, { session }) => {
      this.run(mine(session.userId).id, { type: 'kick', by: member(session), userId: data.userId });
      return {};
    });
    registry.register('party.promote', (data, { session }) => {
      this.run(mine(session.userId).id, { type: 'promote', by: member(session), userId: data.userId });
      return {};
    });
    registry.register('party.setAttributes', (data, { session }) => {
      const after = this.run(mine(session.userId).id, { type: 'setAttributes', by: member(session), attributes: data.attributes });
      return { party: partyViewOf(after!) };
    });
    registry.register('party.go', (data, { session }) => {
      const party = mine(session.userId);
      const queue = this.queueing.queueConfig(data.queue);
      if (!queue) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${data.queue}`);
      const after = this.run(party.id, { type: 'go', by: member(session), queue, facts: { memberQueued: party.members.some((m) => this.queueing.isQueued(m.userId)) } })!;
      try {
        return this.queueing.enqueueParty(queue.name, party.id, after.members.map((m) => ({ userId: m.userId, name: m.name, attributes: m.attributes })), data.profile);
      } catch (err) {
        // The queue refused after the party froze itself: unfreeze it.
        this.run(party.id, { type: 'unqueue' });
        throw err;
      }
    });
    registry.register('party.current', (_data, { session }) => {
      const party = this.partyOfUser(session.userId);
      const invites = [...(this.invitedTo.get(session.userId) ?? [])].flatMap((partyId) => {
        const p = this.parties.get(partyId);
        const invite = p?.invites.find((i) => i.userId === session.userId);
        const leader = p?.members.find((m) => m.userId === p.leaderId);
        return p && invite && leader ? [{ partyId, from: { userId: leader.userId, name: leader.name }, expiresAt: invite.expiresAt }] : [];
      });
      return { party: party ? partyViewOf(party) : null, invites };
    });
  }
}
