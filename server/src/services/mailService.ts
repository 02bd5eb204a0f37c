import type { ErrorCode } from '@foyer/shared';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Mail, MailMessage } from '../store/mail.js';

/** A login: its number alone, then with the mail ids sent to it once there is one. */
type Login = number | { login: number; ids: Set<string> };

export interface MailServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  cluster: Cluster;
  mail: Mail;
}

/** Messages pushed at login; more wait for mail.list. */
const LOGIN_PUSH_MAX = 200;

/**
 * Mail between users: sent to users online or offline, kept in
 * storage until the recipient acknowledges it or it expires.
 *
 * Delivery is at least once until acknowledged, never after: a message goes
 * out live (mail.received) to a recipient with a session on this node, and
 * again at each login or resume of its recipient while it is unacknowledged
 * (so one not acked before a relogin or a resume arrives again: clients keep
 * the ids they have seen). Within one login it goes out once, whether the
 * live send or the login push gets there first. mail.ack deletes it from the shared storage: from then on no
 * node lists or delivers it. Expired mail is never listed or delivered; a
 * periodic purge deletes it.
 */
export class MailService {
  /**
   * Whether `recipientId` refuses mail from `senderId` (one of them blocked
   * the other): such a recipient fails with BLOCKED. The friends service sets
   * this when it is wired in; until then nobody is blocked.
   */
  blocked: (senderId: string, recipientId: string) => boolean | Promise<boolean> = () => false;
  private readonly purgeTimer: NodeJS.Timeout;
  /**
   * Per user with a session here, one per login: the mail ids sent to (or
   * acked by) it since, so live sends, the login push and acks never repeat
   * each other. Until the first id it is the login's number alone (a small
   * integer, stored in the entry without an object): most sessions get no
   * mail, and even an empty object costs 32 bytes a session.
   */
  private readonly sent = new Map<string, Login>();
  /** The last login's number; each login takes the next, so a later one is told from an earlier one (`pushPending`). */
  private logins = 0;
  private purging: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: MailServiceDeps) {
    deps.cluster.onCast<{ userId: string; mail: MailMessage }>('mail.deliver', ({ userId, mail }) => this.sent.has(userId) && this.deliver(userId, mail));
    // A resumed user stream replays what was pushed; a new session, or one whose user stream resynced (resynced()), is pushed to afresh.
    // An account made by this very login has no mail yet: nothing to read.
    deps.gateway.onSession({ started: (userId, known) => (known?.created ? void this.login(userId) : this.resynced(userId)), ended: (userId) => this.sent.delete(userId), moved: (userId) => this.sent.delete(userId) });
    // Every node purges: deleting what is expired twice is harmless.
    const every = Math.max(1000, Math.min(60_000, deps.config.mailTtlMs));
    this.purgeTimer = setInterval(() => void this.purge(), every);
    this.purgeTimer.unref();
  }

  /** `<project>:<userId>`: how a user is named as a sender. */
  senderOf(userId: string): string {
    return `${this.deps.config.project}:${userId}`;
  }

  /** Stops the purge and waits for one in flight (before the database closes). */
  async stop(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.purging;
  }

  /** Deletes expired mail now; returns how many messages went. */
  purge(): Promise<number> {
    const run = this.deps.mail.purge().then(
      (n) => {
        if (n) this.deps.log.debug({ purged: n }, 'expired mail purged');
        return n;
      },
      (err: unknown) => {
        this.deps.log.warn({ err }, 'purging expired mail failed');
        return 0;
      },
    );
    this.purging = run;
    return run;
  }

  /** Sends one message from a user; delivers it live to those of its recipients online here. */
  async send(from: { userId: string; name: string }, msg: { to: readonly string[]; body: string; clientMsgId: string }) {
    const refused = new Set<string>();
    for (const to of new Set(msg.to)) if (await this.blocked(from.userId, to)) refused.add(to);
    const r = await this.deps.mail.send({ sender: this.senderOf(from.userId), senderName: from.name, to: msg.to, body: msg.body, clientMsgId: msg.clientMsgId }, refused);
    for (const s of r.sent) if (s.fresh) this.deliver(s.to, s.mail);
    return { sent: r.sent.map((s) => ({ to: s.to, id: s.id })), failed: r.failed };
  }

  /**
   * Sends `mail.received` to the recipient, once per login (also for operator
   * mail: admin sendMail): here, or on the node holding their session.
   */
  deliver(userId: string, mail: MailMessage): void {
    if (!this.deps.gateway.sessions.has(userId)) {
      void this.deps.gateway.nodeOf(userId).then((node) => node !== undefined && this.deps.cluster.tell(node, 'mail.deliver', { userId, mail }));
      return;
    }
    const ids = this.idsOf(userId);
    if (!ids || ids.has(mail.id)) return;
    ids.add(mail.id);
    this.deps.gateway.toUsers([userId], 'mail.received', { mail });
  }

  /** The user's stream starts afresh (a new session, or its snapshot): what waits is pushed again. */
  resynced(userId: string): void {
    void this.pushPending(userId, this.login(userId));
  }

  /**
   * A new login of the user: nothing sent to it yet. The number wraps at
   * 2^30 so it stays a small integer (never a heap number); a login push
   * would have to wait through 2^30 logins to mistake a later one for its own.
   */
  private login(userId: string): number {
    this.logins = (this.logins + 1) % 2 ** 30;
    this.sent.set(userId, this.logins);
    return this.logins;
  }

  /** The ids sent to the user's login here (made at the first one), or undefined without a login. */
  private idsOf(userId: string): Set<string> | undefined {
    const l = this.sent.get(userId);
    if (typeof l !== 'number') return l?.ids;
    const ids = new Set<string>();
    this.sent.set(userId, { login: l, ids });
    return ids;
  }

  /** At login and resume: what waits for the user, oldest first (the events follow the login reply). */
  private async pushPending(userId: string, login: number): Promise<void> {
    try {
      const pending = await this.deps.mail.list(userId, LOGIN_PUSH_MAX);
      // A later login (or logout) in the meantime: that one pushes for itself.
      const now = this.sent.get(userId);
      if (now === undefined || (typeof now === 'number' ? now : now.login) !== login) return;
      for (const m of pending) this.deliver(userId, m);
    } catch (err) {
      this.deps.log.warn({ err, userId }, 'pushing pending mail at login failed; the client gets it with mail.list');
    }
  }

  /** Several messages, one after another; what failed, per message. */
  async sendBatch(from: { userId: string; name: string }, messages: readonly { to: readonly string[]; body: string; clientMsgId: string }[]): Promise<{ clientMsgId: string; to: string; code: ErrorCode }[]> {
    const failed: { clientMsgId: string; to: string; code: ErrorCode }[] = [];
    for (const m of messages) {
      const r = await this.send(from, m);
      for (const f of r.failed) failed.push({ clientMsgId: m.clientMsgId, ...f });
    }
    return failed;
  }

  list(userId: string, limit: number): Promise<MailMessage[]> {
    return this.deps.mail.list(userId, limit);
  }

  /** Deletes the user's read mail; how many were deleted. */
  async ack(userId: string, ids: string[]): Promise<number> {
    const deleted = await this.deps.mail.ack(userId, ids);
    // Marked as sent: a login push read before the delete must not bring them back.
    const sent = ids.length ? this.idsOf(userId) : undefined;
    if (sent) for (const id of ids) sent.add(id);
    return deleted;
  }
}
