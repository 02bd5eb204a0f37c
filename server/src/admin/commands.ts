import { randomUUID } from 'node:crypto';
import { CloseCode, UserId } from '@foyer/shared';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Gateway } from '../gateway/gateway.js';
import { msOf, tenths } from '../gateway/tenths.js';
import { Accounts, type Account } from '../store/accounts.js';
import { AdminStore, type AuditMode, type PendingCommand } from '../store/adminCommands.js';
import type { Db } from '../store/db.js';
import { Mail, type MailMessage } from '../store/mail.js';

/**
 * Admin commands: operator actions on one player, each kind with an
 * argument schema and a class.
 *
 * - `dangerous`: may change the stored profile directly while the player is
 *   offline. Only kinds whose fields the player never writes themselves
 *   (sanctions, role, rating, operator mail), so a direct write cannot race
 *   with the player's own processing.
 * - `safe`: runs only inside the player's own serialized processing on this
 *   node: immediately while they are online, else deferred to their next
 *   login. An immediate one for an offline player is refused.
 */
export type CommandClass = 'safe' | 'dangerous';

/** What a command's stored change works with: everything bound to the run's transaction. */
interface StoreEnv {
  userId: string;
  /** The command's id: a deferred command's own, or a fresh one. */
  commandId: string;
  accounts: Accounts;
  mail: Mail;
  now: number;
  project: string;
}

/** What a command's online effect works with, for a player with a session on this node. */
interface LiveEnv {
  userId: string;
  gateway: Gateway;
  chatBans: ChatBans;
  deliverMail(userId: string, mail: MailMessage): void;
}

interface CommandKind<S extends z.ZodType, R> {
  class: CommandClass;
  doc: string;
  args: S;
  /** The stored change, inside the run's transaction; its return is the run's result. */
  store?(args: z.output<S>, env: StoreEnv): Promise<R>;
  /** What the player online on this node sees, once the stored change committed. */
  live?(args: z.output<S>, env: LiveEnv, result: R): void;
}

function kind<S extends z.ZodType, R = Record<string, never>>(k: CommandKind<S, R>): CommandKind<S, R> {
  return k;
}

/** A command that ran but could not do what it says (e.g. the operator's mail did not fit the inbox). */
export class CommandFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const YEAR_MS = 365 * 86_400_000;
const Duration = z.number().int().min(1).max(100 * YEAR_MS);
const Reason = z.string().trim().min(1).max(500);

async function mustUpdate(env: StoreEnv, fields: Parameters<Accounts['update']>[1]): Promise<Account> {
  const a = await env.accounts.update(env.userId, fields);
  if (!a) throw new CommandFailed('USER_NOT_FOUND', 'the account is gone');
  return a;
}

/** The close reason: WebSocket allows 123 bytes. */
const closeReason = (text: string) => Buffer.from(text).subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '');

export const commandKinds = {
  ban: kind({
    class: 'dangerous',
    doc: 'Ban the account for `durationMs`: it cannot log in until then; a player online is disconnected with close code 4009 KICKED.',
    args: z.object({ durationMs: Duration, reason: Reason }),
    store: async (a, env) => {
      const until = env.now + a.durationMs;
      await mustUpdate(env, { bannedUntil: until, banReason: a.reason });
      return { bannedUntil: until };
    },
    live: (a, env) => void env.gateway.endSession(env.userId, CloseCode.KICKED, closeReason(`banned: ${a.reason}`)),
  }),
  unban: kind({
    class: 'dangerous',
    doc: 'Lift a ban.',
    args: z.object({}),
    store: async (_a, env) => {
      await mustUpdate(env, { bannedUntil: null, banReason: null });
      return {};
    },
  }),
  kick: kind({
    class: 'safe',
    doc: 'Disconnect the player with close code 4009 KICKED and end their session on this node (no resume). Only for a player online (or deferred to their next login).',
    args: z.object({ reason: Reason }),
    live: (a, env) => void env.gateway.endSession(env.userId, CloseCode.KICKED, closeReason(a.reason)),
  }),
  setRole: kind({
    class: 'dangerous',
    doc: 'Set the account\'s role.',
    args: z.object({ role: z.enum(['player', 'moderator', 'admin']) }),
    store: async (a, env) => {
      await mustUpdate(env, { role: a.role });
      return { role: a.role };
    },
  }),
  chatBan: kind({
    class: 'dangerous',
    doc: 'Bar the player from chat for `durationMs` (0 lifts it): chat.send answers CHAT_BANNED until then.',
    args: z.object({ durationMs: z.union([z.literal(0), Duration]) }),
    store: async (a, env) => {
      const until = a.durationMs ? env.now + a.durationMs : null;
      await mustUpdate(env, { chatBannedUntil: until });
      return { chatBannedUntil: until };
    },
    live: (_a, env, r) => env.chatBans.note(env.userId, r.chatBannedUntil),
  }),
  setRating: kind({
    class: 'dangerous',
    doc: 'Set the OpenSkill rating (mu, sigma).',
    args: z.object({ mu: z.number().finite().min(-1000).max(1000), sigma: z.number().finite().positive().max(1000) }),
    store: async (a, env) => {
      await mustUpdate(env, { ratingMu: a.mu, ratingSigma: a.sigma });
      return { mu: a.mu, sigma: a.sigma };
    },
  }),
  setProfileField: kind({
    class: 'safe',
    doc: 'Set one profile field: the level (players cannot change it; game servers can), or the school, side or whole custom object the player can also change; it runs in their own processing.',
    args: z.discriminatedUnion('field', [
      z.object({ field: z.literal('level'), value: z.number().int().min(0).max(10_000) }),
      z.object({ field: z.literal('school'), value: z.string().max(32).nullable() }),
      z.object({ field: z.literal('side'), value: z.string().max(32).nullable() }),
      z.object({ field: z.literal('custom'), value: z.record(z.string(), z.unknown()).refine((c) => JSON.stringify(c).length <= 4096, 'custom data is limited to 4 KiB') }),
    ]),
    store: async (a, env) => {
      await mustUpdate(env, { [a.field]: a.value });
      return { [a.field]: a.value };
    },
  }),
  sendMail: kind({
    class: 'dangerous',
    doc: 'Send the player a message from `system:<project>`: mail.received now if online here, else it waits in their inbox.',
    args: z.object({ body: z.string().trim().min(1).max(2000) }),
    store: async (a, env) => {
      const r = await env.mail.send({ sender: `system:${env.project}`, senderName: 'Operator', to: [env.userId], body: a.body, clientMsgId: env.commandId }, new Set(), env.now);
      const sent = r.sent[0];
      if (!sent) throw new CommandFailed(r.failed[0]?.code ?? 'INTERNAL', `the message was not stored: ${r.failed[0]?.code ?? 'unknown reason'}`);
      return { mailId: sent.id, mail: sent.fresh ? sent.mail : null };
    },
    live: (_a, env, r) => {
      if (r.mail) env.deliverMail(env.userId, r.mail);
    },
  }),
} as const;

export type CommandKindName = keyof typeof commandKinds;
type AnyKind = CommandKind<z.ZodType, unknown>;
const kindOf = (name: string): AnyKind | undefined => (Object.hasOwn(commandKinds, name) ? (commandKinds[name as CommandKindName] as unknown as AnyKind) : undefined);

export const CommandMode = z.enum(['immediate', 'deferred']);

/** POST /admin/commands. `args` is checked against the kind's own schema. */
export const CommandBody = z
  .object({
    kind: z.enum(Object.keys(commandKinds) as [CommandKindName, ...CommandKindName[]]),
    userId: UserId,
    args: z.unknown().default({}),
    mode: CommandMode.default('immediate'),
    /** Deferred only: how long it waits for the player's login. */
    expiresInMs: z.number().int().min(1).max(YEAR_MS).optional(),
  })
  .superRefine((b, ctx) => {
    const parsed = kindOf(b.kind)!.args.safeParse(b.args);
    if (!parsed.success) for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['args', ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: i.message });
    if (b.expiresInMs !== undefined && b.mode !== 'deferred') ctx.addIssue({ code: 'custom', path: ['expiresInMs'], message: 'only a deferred command expires' });
  });
export type CommandRequest = z.output<typeof CommandBody>;

/** What the admin API answers for a command. */
export type IssueOutcome =
  | { status: 'ran'; id: string; kind: string; userId: string; mode: AuditMode; online: boolean; result: unknown }
  | { status: 'pending'; command: PendingCommand }
  | { status: 'refused'; code: 'USER_NOT_FOUND' | 'PLAYER_OFFLINE'; error: string }
  | { status: 'failed'; id: string; code: string; error: string };

/** The kinds for GET /admin/commands/kinds: class, doc and the JSON Schema of the arguments. */
export function describeKinds(): { kind: string; class: CommandClass; doc: string; args: unknown }[] {
  return Object.entries(commandKinds).map(([name, k]) => ({ kind: name, class: k.class, doc: k.doc, args: z.toJSONSchema(k.args, { io: 'input', unrepresentable: 'any' }) }));
}

export interface AdminCommandsDeps {
  db: Db;
  config: Pick<Config, 'project' | 'mailInboxMax' | 'mailTtlMs'>;
  gateway: Gateway;
  log: Logger;
  /** Delivers operator mail to a recipient online here (the mail service, which sends each message once per login). */
  deliverMail?: (userId: string, mail: MailMessage) => void;
  /** A command ran for a player online here: their stored profile may have changed (level, rating). */
  ranFor?: (userId: string) => Promise<void>;
  /** How long a deferred command waits by default (30 days). */
  defaultExpiryMs?: number;
  /** Runs the request on the node holding the player's session, when that is another node (cluster); undefined otherwise. */
  forward?: (req: CommandRequest, actor: string) => Promise<IssueOutcome | undefined>;
}

/**
 * Runs admin commands: immediate ones now, deferred ones now if the player
 * is online here or right after their next login on any node. Every run,
 * refusal, queueing and expiry is audited.
 */
export class AdminCommands {
  readonly store: AdminStore;
  readonly chatBans: ChatBans;
  private readonly accounts: Accounts;
  private readonly running = new Set<Promise<unknown>>();
  private readonly deliverMail: (userId: string, mail: MailMessage) => void;

  constructor(private readonly deps: AdminCommandsDeps) {
    this.store = new AdminStore(deps.db);
    this.accounts = new Accounts(deps.db);
    this.chatBans = new ChatBans(this.accounts);
    this.deliverMail = deps.deliverMail ?? ((userId, mail) => deps.gateway.toUsers([userId], 'mail.received', { mail }));
    deps.gateway.onSession({
      started: (userId, known) => {
        if (known) this.chatBans.note(userId, known.account.chatBannedUntil);
        // Nobody could defer a command to an account made by this very login.
        if (!known?.created) this.track(this.runPending(userId));
      },
      ended: (userId) => this.chatBans.forget(userId),
    });
  }

  /** Waits for runs started by logins (before the database closes). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  async issue(req: CommandRequest, actor = 'admin'): Promise<IssueOutcome> {
    // A player online on another node is served there: live effects (kick, chat ban) need their session.
    const forwarded = this.deps.gateway.sessions.has(req.userId) ? undefined : await this.deps.forward?.(req, actor);
    if (forwarded) return forwarded;
    const spec = kindOf(req.kind)!;
    const args = spec.args.parse(req.args);
    const audit = { actor, userId: req.userId, kind: req.kind, args, mode: req.mode };
    if (!(await this.accounts.get(req.userId))) return { status: 'refused', code: 'USER_NOT_FOUND', error: `no user ${req.userId}` };

    if (req.mode === 'deferred') {
      const expiresAt = Date.now() + (req.expiresInMs ?? this.deps.defaultExpiryMs ?? 30 * 86_400_000);
      const id = randomUUID();
      const command = await this.deps.db.transaction(async (tx) => {
        const s = new AdminStore(tx);
        const c = await s.defer({ id, userId: req.userId, kind: req.kind, args, issuedBy: actor, expiresAt });
        await s.audit({ ...audit, event: 'queued', commandId: id, ok: true, error: null, result: { expiresAt } });
        return c;
      });
      // Stored first, then run if online: a login racing with this either sees the command or finds it claimed.
      if (this.deps.gateway.sessions.has(req.userId)) {
        const ran = await this.runDeferred(req.userId, id);
        if (ran) return ran;
      }
      return { status: 'pending', command };
    }

    const id = randomUUID();
    const cmd = { id, actor, kind: req.kind, args };
    const run = () => this.perform(req.userId, 'immediate', async () => cmd);
    const online = this.deps.gateway.runAsUser(req.userId, run);
    if (online) return (await online)!;
    if (spec.class === 'safe') {
      const error = `${req.kind} is a safe command: it runs only in the player's own processing, and ${req.userId} is not online on this node; send it with mode "deferred" to run it at their next login`;
      await this.store.audit({ ...audit, event: 'refused', commandId: id, ok: false, error, result: null });
      return { status: 'refused', code: 'PLAYER_OFFLINE', error };
    }
    return (await run())!;
  }

  /** Cancels a pending deferred command. */
  async cancel(id: string, actor = 'admin'): Promise<PendingCommand | undefined> {
    const c = await this.store.cancel(id);
    if (c) await this.store.audit({ actor, userId: c.userId, kind: c.kind, args: c.args, mode: 'deferred', event: 'cancelled', commandId: c.id, ok: true, error: null, result: null });
    return c;
  }

  /** At login: drops the player's expired commands (audited), then runs the others in the order they were issued. */
  private async runPending(userId: string): Promise<void> {
    try {
      const { expired, pending } = await this.store.atLogin(userId);
      for (const c of expired) {
        await this.store.audit({ actor: c.issuedBy, userId, kind: c.kind, args: c.args, mode: 'deferred', event: 'expired', commandId: c.id, ok: false, error: 'expired before the player logged in', result: { expiresAt: c.expiresAt } });
      }
      for (const id of pending) {
        const ran = await this.runDeferred(userId, id);
        if (ran === undefined && !this.deps.gateway.sessions.has(userId)) return; // logged out meanwhile: the rest waits
      }
    } catch (err) {
      this.deps.log.warn({ err, userId }, 'running deferred admin commands failed; they stay pending');
    }
  }

  /** Runs one deferred command in the player's processing, if they are online here and nobody ran it yet. */
  private async runDeferred(userId: string, id: string): Promise<IssueOutcome | undefined> {
    return this.deps.gateway.runAsUser(userId, () =>
      this.perform(userId, 'deferred', async (s) => {
        const c = await s.claim(id);
        return c && { id: c.id, actor: c.issuedBy, kind: c.kind, args: c.args };
      }),
    );
  }

  /**
   * One run: in one transaction `load` takes the command (a deferred one is
   * claimed by deleting it), the stored change is made and the run audited;
   * after the commit, a player online here sees the effect. A failed run
   * rolls back (a deferred command stays pending) and is audited as failed.
   */
  private async perform(
    userId: string,
    mode: AuditMode,
    load: (s: AdminStore) => Promise<{ id: string; actor: string; kind: string; args: unknown } | undefined>,
  ): Promise<IssueOutcome | undefined> {
    // Set inside the transaction; a holder, since assignments in callbacks are invisible to narrowing.
    const taken: { cmd?: { id: string; actor: string; kind: string; args: unknown } } = {};
    const now = Date.now();
    try {
      const done = await this.deps.db.transaction(async (tx) => {
        const s = new AdminStore(tx);
        const cmd = (taken.cmd = await load(s));
        if (!cmd) return undefined;
        const spec = kindOf(cmd.kind);
        if (!spec) throw new CommandFailed('UNKNOWN_KIND', `no command kind ${cmd.kind}`);
        const args = spec.args.parse(cmd.args);
        const { config } = this.deps;
        const env: StoreEnv = { userId, commandId: cmd.id, accounts: new Accounts(tx), mail: new Mail(tx, { inboxMax: config.mailInboxMax, ttlMs: config.mailTtlMs }), now, project: config.project };
        const result = spec.store ? await spec.store(args, env) : {};
        const online = this.deps.gateway.sessions.has(userId);
        await s.audit({ actor: cmd.actor, userId, kind: cmd.kind, args, mode, event: 'ran', commandId: cmd.id, ok: true, error: null, result: { ...publicResult(result), online } });
        return { cmd, spec, args, result, online };
      });
      if (!done) return undefined;
      const { cmd } = done;
      if (this.deps.gateway.sessions.has(userId)) {
        done.spec.live?.(done.args, { userId, gateway: this.deps.gateway, chatBans: this.chatBans, deliverMail: this.deliverMail }, done.result);
        await this.deps.ranFor?.(userId);
      }
      this.deps.log.info({ kind: cmd.kind, userId, mode, actor: cmd.actor, commandId: cmd.id }, 'admin command ran');
      return { status: 'ran', id: cmd.id, kind: cmd.kind, userId, mode, online: done.online, result: publicResult(done.result) };
    } catch (err) {
      const cmd = taken.cmd;
      if (!cmd) throw err;
      const failed = err instanceof CommandFailed;
      if (!failed) this.deps.log.error({ err, kind: cmd.kind, userId, commandId: cmd.id }, 'admin command failed');
      await this.store
        .audit({ actor: cmd.actor, userId, kind: cmd.kind, args: cmd.args, mode, event: 'ran', commandId: cmd.id, ok: false, error: failed ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err), result: null })
        .catch((e: unknown) => this.deps.log.error({ err: e }, 'auditing a failed admin command failed'));
      if (failed) return { status: 'failed', id: cmd.id, code: err.code, error: err.message };
      throw err;
    }
  }

  private track(p: Promise<unknown>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}

/** A run's result as the API and audit show it (the mail itself stays out). */
function publicResult(result: unknown): Record<string, unknown> {
  if (!result || typeof result !== 'object') return {};
  const { mail: _mail, ...rest } = result as Record<string, unknown>;
  return rest;
}

/**
 * Who may not chat, until when: for chat.send, without a query per line.
 * Read from the account at the first chat line of a session, kept while the
 * session lasts, updated at once by a chatBan run here, and re-read in the
 * background after `ttlMs` (a ban issued through another node).
 */
export class ChatBans {
  /**
   * Per user with a session here: when the account was read (in tenths,
   * tenths.ts) and found without a ban — a bare small integer, what nearly
   * every session keeps, no object — or the ban and when it was read, or
   * the read in flight.
   */
  private readonly cache = new Map<string, number | { until: number; at: number } | Promise<number | null>>();

  constructor(
    private readonly accounts: Pick<Accounts, 'get'>,
    private readonly ttlMs = 60_000,
  ) {}

  until(userId: string, now = Date.now()): number | null | Promise<number | null> {
    const c = this.cache.get(userId);
    if (c instanceof Promise) return c;
    if (c === undefined) return this.load(userId, null);
    // A bare number is an entry without a ban: when it was read.
    const [until, at] = typeof c === 'number' ? [null, c] : [c.until, c.at];
    if (now - msOf(at) >= this.ttlMs) void this.load(userId, until);
    return until;
  }

  /** A chatBan ran here, or a login just read the account: it wins over a read in flight. */
  note(userId: string, until: number | null, at = Date.now()): void {
    this.cache.set(userId, until === null ? tenths(at) : { until, at: tenths(at) });
  }

  forget(userId: string): void {
    this.cache.delete(userId);
  }

  private load(userId: string, fallback: number | null): Promise<number | null> {
    // Storage down: chat goes on with what was known.
    const p = this.accounts.get(userId).then(
      (a) => a?.chatBannedUntil ?? null,
      () => fallback,
    );
    this.cache.set(userId, p);
    void p.then((until) => {
      // Staggered by up to one TTL, so sessions that started together do not all re-read at once.
      if (this.cache.get(userId) === p) this.note(userId, until, Date.now() + Math.random() * this.ttlMs);
    });
    return p;
  }
}
