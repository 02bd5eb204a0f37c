import { CloseCode, isOpName, isRequest, jsonCodec, ops, Request, RequestId, type ErrorBody, type Issue, type OpName } from '@foyer/shared';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Metrics } from '../admin/metrics.js';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Connection } from './connection.js';
import type { LoginHandler, LoginOp } from './login.js';
import type { OpRegistry } from './registry.js';
import { tenths } from './tenths.js';

export interface DispatchDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  registry: OpRegistry;
  loginOps: Record<LoginOp, LoginHandler<LoginOp>>;
  /** The node is shutting down: requests are refused. */
  closing(): boolean;
}

/**
 * Every frame of a connection to exactly one reply: decoding, the rate
 * limit, the op's schema and auth, the handler (a login op or the registry's)
 * with its timeout, and the metrics of each request.
 */
export class Dispatch {
  constructor(private readonly deps: DispatchDeps) {}

  /** A frame from the connection's socket. */
  received(c: Connection, text: string | null): void {
    const now = Date.now();
    c.lastSeen = tenths(now);
    if (c.closed) return;
    if (text === null) return c.replyError(null, 'BAD_REQUEST', 'binary and non-UTF-8 frames are not supported; send JSON text');
    let frame: unknown;
    try {
      frame = jsonCodec.decode(text);
    } catch {
      return c.replyError(null, 'BAD_REQUEST', 'frame is not valid JSON');
    }
    if (!isRequest(frame)) {
      // Refused by isRequest, so by Request too (test/unit/envelope.test.ts): zod explains why.
      const re = RequestId.safeParse((frame as { id?: unknown } | null)?.id);
      const why = validate(Request, frame);
      return c.replyError(re.success ? re.data : null, 'BAD_REQUEST', 'frame is not a request {id?, op, data}', why.ok ? undefined : why.issues);
    }
    const req = frame;
    if (!c.take(now)) {
      this.count(req.op, 'RATE_LIMITED');
      c.replyError(req.id ?? null, 'RATE_LIMITED', 'too many requests; slow down', undefined, req.id === undefined ? req.op : undefined);
      if (!c.strike(now)) c.closeWith(CloseCode.RATE_LIMITED, 'rate limit exceeded repeatedly');
      return;
    }
    c.enqueue(() => this.handle(c, req), isOpName(req.op) && ops[req.op].storage === true);
  }

  /**
   * Runs one request to its reply (none for a request without id that
   * succeeded). A handler that answers at once is
   * answered in the same tick, with nothing allocated to wait on; only one
   * that returns a promise makes the later requests of its lane queue.
   */
  private handle(c: Connection, req: Request): Promise<void> | undefined {
    const started = performance.now();
    const step: { after?: () => void } = {};
    let pending: unknown;
    try {
      pending = this.run(c, req, step);
    } catch (err) {
      return void this.failed(c, req, started, err);
    }
    if (!(pending instanceof Promise)) return void this.answered(c, req, started, pending, step.after);
    return withTimeout(pending, this.deps.config.requestTimeoutMs).then(
      (result) => this.answered(c, req, started, result, step.after),
      (err: unknown) => this.failed(c, req, started, err),
    );
  }

  private answered(c: Connection, req: Request, started: number, result: unknown, after: (() => void) | undefined): void {
    // The reply and what follows it (a login's catching up) leave in one write.
    if (after) c.conn.cork(() => (c.reply(req.id, result), after()));
    else c.reply(req.id, result);
    this.measure(req.op, 'ok', started);
  }

  private failed(c: Connection, req: Request, started: number, err: unknown): void {
    const body = errorBody(err);
    if (body.code === 'INTERNAL') this.deps.log.error({ err, op: req.op }, 'handler failed');
    c.reply(req.id, undefined, body, req.op);
    this.measure(req.op, body.code, started);
  }

  /** The handler's result, or its promise; throws what the request is refused with. */
  private run(c: Connection, req: Request, step: { after?: () => void }): unknown {
    if (this.deps.closing()) throw new LobbyError('SHUTTING_DOWN', 'server is shutting down; reconnect to another node');
    const op = req.op;
    if (!isOpName(op)) throw new LobbyError('BAD_REQUEST', `unknown op "${op.slice(0, 64)}"`);
    const spec = ops[op];
    if (spec.auth && !c.session) throw new LobbyError('UNAUTHENTICATED', `${op} needs a logged-in session; log in first`);
    if (!spec.auth && c.session) throw new LobbyError('ALREADY_AUTHENTICATED', 'this connection is already logged in');
    const data = validate(spec.data, req.data ?? {}, ['data']);
    if (!data.ok) throw new LobbyError('BAD_REQUEST', `invalid data for ${op}`, data.issues);

    const login = (this.deps.loginOps as Partial<Record<OpName, LoginHandler<LoginOp>>>)[op];
    if (login) return login(data.data as never, c, (fn) => (step.after = fn));
    const handler = this.deps.registry.get(op);
    if (!handler) throw new Error(`no handler for ${op}`);
    return handler(data.data as never, { session: c.session!, now: Date.now() });
  }

  private measure(op: string, outcome: string, started: number): void {
    this.deps.metrics.requestTally.record(isOpName(op) ? op : 'unknown', outcome, (performance.now() - started) / 1000);
  }

  /** Counts one request that did not run (ops outside the protocol count as `unknown`). */
  private count(op: string, outcome: string): void {
    this.deps.metrics.requestTally.record(isOpName(op) ? op : 'unknown', outcome);
  }
}

function issuesOf(error: z.ZodError, prefix: (string | number)[] = []): Issue[] {
  return error.issues.slice(0, 20).map((i) => ({
    path: [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    message: i.message,
  }));
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof LobbyError) return err.toBody();
  if (err instanceof TimeoutError) return { code: 'TIMEOUT', message: 'the request did not complete in time' };
  return { code: 'INTERNAL', message: 'internal error; it was logged' };
}

class TimeoutError extends Error {}

function withTimeout<T>(value: Promise<T> | T, ms: number): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  let timer: NodeJS.Timeout;
  return Promise.race([
    value,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError()), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** zod's verdict; should zod itself throw on some input shape, that input is refused too, never answered INTERNAL. */
function validate(schema: z.ZodType, value: unknown, prefix: (string | number)[] = []): { ok: true; data: unknown } | { ok: false; issues: Issue[] } {
  try {
    const r = schema.safeParse(value);
    return r.success ? { ok: true, data: r.data } : { ok: false, issues: issuesOf(r.error, prefix) };
  } catch {
    return { ok: false, issues: [{ path: prefix, message: 'invalid input' }] };
  }
}
