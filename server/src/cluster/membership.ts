import type { Logger } from 'pino';
import type { Bus } from './bus.js';
import type { Names } from './names.js';

/** Another live node as this one knows it. */
export interface Peer {
  draining: boolean;
  /** When it was last known alive: listed at a successful poll, or heard from (admin views). */
  lastSeen: number;
  /** In the member set at the last read (false: admitted by its news before showing there, or gone from it). */
  listed: boolean;
}

/** What a poll or a piece of news changed: nodes admitted, and nodes judged gone. */
export interface MemberChanges {
  joined: string[];
  gone: string[];
}

/**
 * Who is alive, decided from the member set alone (pure: the caller passes
 * the time). A node's entry in the set expires, by Redis's clock, a timeout
 * after its last poll, so a node absent from a set read now has not polled
 * for a timeout (or left). But what this node could not see is no evidence:
 * a peer is judged gone only once this node's polls have succeeded without
 * a break for a whole timeout. After Redis lost the set (a restart without
 * persistence, a Redis Cluster coming back) every live node adds itself
 * again at its next poll, well within that window, while one that died
 * meanwhile never does and goes once the window is full.
 */
export class Liveness {
  readonly peers = new Map<string, Peer>();
  /** The version of the set at the last read (undefined: read it at the next poll). */
  private version: number | undefined;
  /** Since when polls have succeeded without a break (undefined: the last one failed). */
  private okSince: number | undefined;

  constructor(
    private readonly self: string,
    private readonly timeoutMs: number,
  ) {}

  /** A poll failed (Redis down, CLUSTERDOWN, LOADING…): the window starts again, and the set is read anew (it may have been lost). */
  failed(): void {
    this.okSince = undefined;
    this.version = undefined;
  }

  /** Whether a poll's answer calls for reading the set: it changed since the last read, or this node was not in it. */
  stale(reply: { version: number; added: boolean }): boolean {
    return reply.added || reply.version !== this.version;
  }

  /** A poll at `now` found the set as last read: every peer listed then is still there. */
  steady(now: number): MemberChanges {
    this.okSince ??= now;
    for (const p of this.peers.values()) if (p.listed) p.lastSeen = now;
    return { joined: [], gone: this.judge(now) };
  }

  /** The set as read at `now` (member → its value): who joined, who changed (draining), who is gone. */
  read(now: number, version: number, members: ReadonlyMap<string, string>): MemberChanges {
    this.okSince ??= now;
    this.version = version;
    const joined: string[] = [];
    for (const p of this.peers.values()) p.listed = false;
    for (const [node, value] of members) {
      if (node === this.self) continue;
      const draining = readValue(value).draining;
      const p = this.peers.get(node);
      if (p) Object.assign(p, { draining, lastSeen: now, listed: true });
      else (this.peers.set(node, { draining, lastSeen: now, listed: true }), joined.push(node));
    }
    return { joined, gone: this.judge(now) };
  }

  /**
   * News from `node` at `now` (a message on the bus): it is alive. Only
   * membership news (`draining` given: a hello or a drain) admits a node
   * not known; a late message from one judged gone does not bring it back.
   * True when it was admitted.
   */
  heard(now: number, node: string, draining?: boolean): boolean {
    const p = this.peers.get(node);
    if (p) {
      p.lastSeen = now;
      if (draining !== undefined) p.draining = draining;
      return false;
    }
    if (draining === undefined) return false;
    this.peers.set(node, { draining, lastSeen: now, listed: false });
    return true;
  }

  /** Peers absent from the set, once polls have succeeded for a whole timeout. */
  private judge(now: number): string[] {
    if (this.okSince === undefined || now - this.okSince < this.timeoutMs) return [];
    const gone = [...this.peers].filter(([, p]) => !p.listed).map(([node]) => node);
    for (const node of gone) this.peers.delete(node);
    return gone;
  }
}

/** A member's value in the set: what the others need to know of it. */
export function memberValue(draining: boolean): string {
  return JSON.stringify({ draining });
}

function readValue(value: string): { draining: boolean } {
  try {
    return { draining: !!(JSON.parse(value) as { draining?: boolean }).draining };
  } catch {
    return { draining: false };
  }
}

/**
 * A node's membership through Redis: every heartbeat one poll (a script:
 * refresh its entry, prune, answer the set's version, a few bytes), and a
 * read of the whole set only when that version changed. A steady cluster
 * sends no liveness messages at all; Liveness decides who is alive.
 */
export class Membership {
  readonly live: Liveness;
  private draining = false;
  private polling: Promise<boolean> | undefined;
  /** Raised by every failure: a poll that began before one counts for nothing. */
  private epoch = 0;

  constructor(
    private readonly bus: Bus,
    private readonly names: Names,
    private readonly nodeId: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    /** What changed, and what told it: a read of the member set, or news on the bus. */
    private readonly changed: (changes: MemberChanges, source: 'member set' | 'news') => void,
  ) {
    this.live = new Liveness(nodeId, timeoutMs);
  }

  get peers(): ReadonlyMap<string, Peer> {
    return this.live.peers;
  }

  /** This node's entry says it drains: polled at once, so the version tells the others. */
  drain(): Promise<boolean> {
    this.draining = true;
    return this.polling ? this.polling.then(() => this.poll()) : this.poll();
  }

  /** One poll (joins one already under way); resolves with whether it succeeded. */
  poll(): Promise<boolean> {
    return (this.polling ??= this.pollOnce().finally(() => (this.polling = undefined)));
  }

  /** Redis became unreachable: nobody is judged on what cannot be seen. */
  failed(): void {
    this.epoch++;
    this.live.failed();
  }

  /** A message from `node` (see Liveness.heard). */
  heard(node: string, draining?: boolean): void {
    if (this.live.heard(Date.now(), node, draining)) this.changed({ joined: [node], gone: [] }, 'news');
  }

  /** `node` said bye: gone at once. */
  left(node: string): boolean {
    return this.live.peers.delete(node);
  }

  /** Out of the set at once (stopping): a node starting now does not wait for this one. */
  leave(): Promise<void> {
    return this.bus.leave(this.names.members, this.nodeId, this.names.membersVersion);
  }

  private async pollOnce(): Promise<boolean> {
    const epoch = this.epoch;
    const { members, membersVersion } = this.names;
    try {
      const reply = await this.bus.poll(members, membersVersion, this.nodeId, memberValue(this.draining), this.timeoutMs);
      if (epoch !== this.epoch) return false;
      if (!this.live.stale(reply)) return this.apply(this.live.steady(Date.now()));
      const set = await this.bus.roster(members, membersVersion);
      if (epoch !== this.epoch) return false;
      return this.apply(this.live.read(Date.now(), set.version, set.members));
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'membership poll failed');
      this.failed();
      return false;
    }
  }

  private apply(changes: MemberChanges): true {
    if (changes.joined.length || changes.gone.length) this.changed(changes, 'member set');
    return true;
  }
}
