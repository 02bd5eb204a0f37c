/**
 * Hostile frames and the client that sends them: shared by `npm run
 * bench:fuzz` (a million frames per transport) and the fuzz test (20,000).
 *
 * Frames: valid envelopes of every op with mutated data (plausible fields
 * with one or two made hostile: NUL, lone surrogates, wrong types, values
 * whose `length` or `toString` is an object, prototype keys, huge or
 * non-finite numbers), random JSON, random text, random binary, deep nesting,
 * huge numbers, prototype keys in the envelope, and broken JSON. Every frame
 * stays under the frame limit and is valid UTF-8, so none may close the
 * connection: each must get exactly one reply, never INTERNAL.
 *
 * The client runs connections logged in as guests and connections that are
 * not (one that logs in through a fuzzed login is replaced by a fresh one),
 * sends frames in windows closed by a session.ping sentinel (a connection's
 * requests are answered in order, so once the sentinel is answered every
 * frame before it is) and counts missing, duplicate and INTERNAL replies and
 * connections the server closed.
 */
import WebSocket from 'ws';
import { isRequest, ops } from '@foyer/shared';

// ---- randomness: seeded, so a failure can be replayed ----

export class Rng {
  constructor(private state: number) {}

  /** mulberry32: small, fast, good enough to pick test inputs. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---- frames ----

/** Frames stay under this many bytes: the node's default limit is 64 KiB, and a larger frame closes the connection (1009). */
const MAX_FRAME_BYTES = 60_000;

/** JSON text inserted as it is (numbers JSON.stringify cannot write, deep nesting). */
class Raw {
  constructor(readonly text: string) {}
}

/** Sets a key as an own property, `__proto__` included (plain assignment would set the prototype). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** Ids the fuzzed ops may name: real users, games and parties make the mutated requests reach deep. */
export interface Known {
  users: string[];
  games: string[];
  parties: string[];
}

/**
 * Every op but session.logout: a logout that succeeds ends the connection by
 * design (4010), which this fuzzer would count as a connection the server cut.
 * Logout has its own tests (test/integration/logout.test.ts).
 */
const OPS = Object.keys(ops).filter((op) => op !== 'session.logout');
/**
 * Ops that hash a password (scrypt, tens of milliseconds of CPU by design)
 * are picked 20 times less often than the others, or they would take most of
 * the run's time and leave the rest little tested.
 */
const HASHING = new Set(['auth.register', 'auth.login', 'auth.upgrade']);
const pickOp = (r: Rng) => {
  const op = r.pick(OPS);
  return HASHING.has(op) && !r.chance(0.05) ? r.pick(OPS) : op;
};
const LOGIN_OPS = new Set(['auth.guest', 'auth.register', 'auth.login', 'auth.token', 'session.resume']);
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'length'];
const NASTY_STRINGS = ['', '\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udbff\udfff', '\uffff', '\u202e', '😀'.repeat(40), '%s%n', '${x}', '../../etc/passwd', "'; drop table accounts; --", '<script>', ' ', '\t\n', ...PROTO_KEYS];
const HUGE_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '9007199254740993', '-0', '1e-400', '2147483648', '4.9e-324'];

function nastyString(r: Rng): string {
  switch (r.int(4)) {
    case 0:
      return r.pick(NASTY_STRINGS);
    case 1:
      return Array.from({ length: r.int(40) }, () => String.fromCharCode(r.int(0x10000))).join('');
    case 2:
      return 'x'.repeat(r.pick([31, 32, 33, 64, 65, 128, 129, 500, 501, 2000, 2001, 8193]));
    default:
      return `${r.pick(['Fuzz', 'a', 'ÿ', '名前'])}${r.int(1000)}${r.chance(0.5) ? r.pick(NASTY_STRINGS) : ''}`;
  }
}

/** Any JSON value, hostile more often than not. */
function hostile(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 6 : 9)) {
    case 0:
      return nastyString(r);
    case 1:
      return r.pick([0, -1, 1, 0.5, -0.5, 63, 64, 65, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, r.int(100_000)]);
    case 2:
      return new Raw(r.pick(HUGE_NUMBERS));
    case 3:
      return r.pick([true, false, null]);
    case 4:
      return { length: r.pick<unknown>([{ toString: 1 }, { valueOf: 1 }, {}, -1, 'x']) };
    case 5:
      return r.pick<unknown>([{ toString: 1 }, { valueOf: 1, toString: 1 }, new Raw('{"__proto__":null}'), new Raw('{"__proto__":{"polluted":true}}'), { constructor: { prototype: { polluted: true } } }, []]);
    case 6: {
      // Long arrays (over the bounds of every list) of small items, short ones of anything: frames stay small.
      const n = r.pick([0, 1, 2, 5, 51, 201]);
      return Array.from({ length: n }, () => (n > 5 ? r.pick<unknown>([r.int(1000), 'x', null, '\u0000', { a: 1 }]) : hostile(r, depth + 1)));
    }
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) put(o, r.chance(0.3) ? r.pick(PROTO_KEYS) : nastyString(r), hostile(r, depth + 1));
      return o;
    }
    default:
      return new Raw(nested(r, depth ? 20 : r.pick([20, 100, 1000])));
  }
}

/** JSON nested `depth` deep (less if it would not fit in a frame): arrays, objects, or both. */
function nested(r: Rng, depth: number): string {
  const kind = r.int(3);
  if (kind < 2) {
    const [open, close] = kind === 0 ? ['[', ']'] : ['{"a":', '}'];
    const d = Math.min(depth, Math.floor((MAX_FRAME_BYTES - 200) / (open.length + 1)));
    return open.repeat(d) + '1' + close.repeat(d);
  }
  const d = Math.min(depth, Math.floor((MAX_FRAME_BYTES - 200) / 6));
  const opens: string[] = [];
  const closes: string[] = [];
  for (let i = 0; i < d; i++) {
    const array = r.chance(0.5);
    opens.push(array ? '[' : '{"a":');
    closes.push(array ? ']' : '}');
  }
  return opens.join('') + '1' + closes.reverse().join('');
}

/** A plausible value for a field of that name: what a real client would send, so the request gets past the first checks. */
function plausible(r: Rng, key: string, known: Known): unknown {
  const user = () => (known.users.length ? r.pick(known.users) : 'nobody');
  switch (key) {
    case 'name':
      return `Fuzz ${r.int(100_000)}`;
    case 'password':
      return `password-${r.int(1000)}`;
    case 'userId':
      return user();
    case 'to':
      return [user()];
    case 'gameId':
      return known.games.length ? r.pick(known.games) : 'no-game';
    case 'partyId':
      return known.parties.length ? r.pick(known.parties) : 'no-party';
    case 'queue':
      return r.pick(['duel', 'ranked', 'nope']);
    case 'gameType':
      return 'fuzz';
    case 'channel':
      return r.pick(['game', 'party']);
    case 'text':
    case 'body':
    case 'activity':
      return `hello ${r.int(1000)}`;
    case 'clientMsgId':
      return `m${r.int(1_000_000)}`;
    case 'school':
    case 'side':
      return r.pick(['mage', 'A', null]);
    case 'level':
    case 'limit':
    case 'teamIndex':
    case 't':
      return r.int(20);
    case 'ready':
    case 'spectate':
    case 'withParty':
      return r.chance(0.5);
    case 'custom':
    case 'attributes':
    case 'profile':
    case 'filter':
    case 'sort':
      return {};
    case 'ids':
      return [`m${r.int(1000)}`];
    case 'streams':
      return r.chance(0.5) ? [] : [{ stream: `user:${user()}`, offset: r.int(20), epoch: nastyString(r) }];
    case 'messages':
      return [{ to: [user()], body: 'hi', clientMsgId: `b${r.int(1_000_000)}` }];
    default:
      return nastyString(r);
  }
}

/** The field names an op's data takes (its zod object shape), for plausible data. */
function keysOf(op: string): string[] {
  const schema = (ops as Record<string, { data: unknown }>)[op]?.data as { shape?: Record<string, unknown>; def?: { in?: { shape?: Record<string, unknown> } } } | undefined;
  return Object.keys(schema?.shape ?? {});
}
const OP_KEYS = new Map(OPS.map((op) => [op, keysOf(op)]));

/**
 * What reply a frame must get: to its id, or with `re: null`; `any` when a
 * mutation may have changed the id; `idless` for a request without id, which
 * gets a reply (`re: null`, naming its op) only when refused.
 */
export type Expect = number | null | 'any' | 'idless';

export interface Frame {
  text: string;
  binary?: boolean;
  expect: Expect;
  /** The op, when the frame is a request the server can read. */
  op?: string;
}

/** One hostile frame; `id` is the unique request id it carries when it carries a readable one. */
export function frame(r: Rng, id: number, known: Known): Frame {
  for (;;) {
    const f = anyFrame(r, id, known);
    if (Buffer.byteLength(f.text) > MAX_FRAME_BYTES) continue;
    // Whatever branch made it: a frame the server reads as a request without id answers only if refused.
    if (!f.binary && isIdless(f.text)) f.expect = 'idless';
    return f;
  }
}

/** The request id the server reads in a frame, if it reads one. */
function idOf(text: string): number | undefined {
  try {
    const id = (JSON.parse(Buffer.from(text).toString()) as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 2 ** 31 - 1 ? id : undefined;
  } catch {
    return undefined;
  }
}

function opOf(text: string): string {
  try {
    return String((JSON.parse(Buffer.from(text).toString()) as { op?: unknown }).op);
  } catch {
    return '';
  }
}

function isIdless(text: string): boolean {
  try {
    // As the server reads it: sending encodes to UTF-8, a lone surrogate becomes U+FFFD.
    const parsed: unknown = JSON.parse(Buffer.from(text).toString());
    return isRequest(parsed) && parsed.id === undefined;
  } catch {
    return false;
  }
}

function anyFrame(r: Rng, id: number, known: Known): Frame {
  const roll = r.int(100);
  if (roll < 60) {
    // A valid envelope of a real op, its data mutated.
    const op = pickOp(r);
    const data: Record<string, unknown> = {};
    for (const k of OP_KEYS.get(op) ?? []) if (r.chance(0.8)) data[k] = plausible(r, k, known);
    for (let i = 1 + r.int(2); i > 0; i--) {
      const keys = Object.keys(data);
      const k = keys.length && r.chance(0.7) ? r.pick(keys) : r.chance(0.3) ? r.pick(PROTO_KEYS) : nastyString(r);
      put(data, k, r.chance(0.4) ? nastyString(r) : hostile(r));
    }
    // Now and then fire-and-forget (no id), and now and then with a field the protocol does not know (v1's ack).
    const env: Record<string, unknown> = r.chance(0.1) ? { op, data } : { id, op, data: r.chance(0.05) ? hostile(r) : data };
    if (r.chance(0.1)) env.ack = r.chance(0.5) ? r.int(100) : hostile(r);
    if (r.chance(0.05)) put(env, r.pick(PROTO_KEYS), hostile(r));
    return { text: toJson(env), expect: 'id' in env ? id : 'idless', op };
  }
  if (roll < 68) {
    // A broken envelope: wrong id, op or shape.
    const env: Record<string, unknown> = { op: r.chance(0.5) ? r.pick(OPS) : hostile(r), data: hostile(r) };
    const badId = r.pick<unknown>([-1, 2 ** 31, 1.5, '7', null, true, [], {}, new Raw('1e400'), new Raw('-0.0')]);
    if (r.chance(0.8)) env.id = badId;
    return { text: toJson(env), expect: null };
  }
  if (roll < 72) {
    // A valid id, the rest not a request.
    return { text: toJson({ id, op: r.chance(0.5) ? nastyString(r) : hostile(r), data: hostile(r) }), expect: id };
  }
  if (roll < 80) return { text: toJson(hostile(r)), expect: null }; // any JSON value
  if (roll < 85) return { text: nastyString(r), expect: 'any' }; // text, JSON or not ("7" is JSON but no request)
  if (roll < 90) {
    const bytes = Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
    return { text: bytes.toString('latin1'), binary: true, expect: null };
  }
  if (roll < 94) {
    // Deep nesting, as the data of a real op or alone.
    const deep = nested(r, r.pick([100, 1000, 10_000, 20_000]));
    // (A parser may refuse that depth as not JSON, then the reply cannot name the id.)
    return r.chance(0.5) ? { text: `{"id":${id},"op":${JSON.stringify(r.pick(OPS))},"data":{"custom":${deep}}}`, expect: 'any' } : { text: deep, expect: null };
  }
  if (roll < 97) {
    // Prototype keys in the envelope.
    const k = r.pick(PROTO_KEYS);
    return { text: `{${JSON.stringify(k)}:{"id":7,"op":"session.ping"},"id":${id},"op":${JSON.stringify(r.pick(OPS))},"data":{${JSON.stringify(r.pick(PROTO_KEYS))}:{"polluted":true}}}`, expect: id };
  }
  // Broken JSON: a valid envelope cut short or with a byte changed (the id may survive or not).
  const good = toJson({ id, op: r.pick(OPS), data: { name: 'x', userId: 'y' } });
  const cut = r.chance(0.5) ? good.slice(0, r.int(good.length)) : good.slice(0, 3 + r.int(good.length - 3)) + String.fromCharCode(r.int(128)) + good.slice(4 + r.int(good.length - 4));
  return { text: cut, expect: 'any' };
}

// ---- the client ----

export interface FuzzOptions {
  url: string;
  frames: number;
  /** Connections at once; half logged in as guests. */
  connections?: number;
  /** Frames per window (then a sentinel ping). */
  window?: number;
  seed?: number;
  /** Called with progress now and then. */
  progress?: (sent: number) => void;
}

export interface FuzzResult {
  frames: number;
  seconds: number;
  internal: number;
  missing: number;
  duplicate: number;
  /** Connections the server closed (none of these frames may close one). */
  closed: number;
  /** A few INTERNAL replies and closes, to look into. */
  samples: string[];
}

interface Conn {
  ws: WebSocket;
  anon: boolean;
  replies: { re: unknown; ok: boolean; error?: { code: string; op?: string } }[];
  onReply?: () => void;
  closedBy?: number;
}

const isReply = (f: unknown): f is Conn['replies'][number] => typeof f === 'object' && f !== null && 're' in f;

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const connections = opts.connections ?? 8;
  const windowSize = opts.window ?? 40;
  const r = new Rng(opts.seed ?? 1);
  const known: Known = { users: [], games: [], parties: [] };
  const result: FuzzResult = { frames: 0, seconds: 0, internal: 0, missing: 0, duplicate: 0, closed: 0, samples: [] };
  let nextId = 1_000_000;
  const started = performance.now();

  const learn = (data: unknown) => {
    const d = data as { userId?: unknown; game?: { id?: unknown }; party?: { id?: unknown } } | null;
    const add = (list: string[], v: unknown) => typeof v === 'string' && list.length < 200 && !list.includes(v) && list.push(v);
    add(known.users, d?.userId);
    add(known.games, d?.game?.id);
    add(known.parties, d?.party?.id);
  };

  async function open(anon: boolean): Promise<Conn> {
    const ws = new WebSocket(`${opts.url.replace(/\/?$/, '/')}?v=2`);
    const c: Conn = { ws, anon, replies: [] };
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const f = JSON.parse(String(data)) as unknown;
      if (!isReply(f)) return;
      c.replies.push(f);
      c.onReply?.();
    });
    ws.on('close', (code) => {
      c.closedBy ??= code;
      c.onReply?.();
    });
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    // Storage may be slow to answer on a busy machine (STORAGE_UNAVAILABLE, TIMEOUT): that is no finding, try again.
    for (let attempt = 1; !anon; attempt++) {
      const id = nextId++;
      ws.send(JSON.stringify({ id, op: 'auth.guest', data: { name: `Fuzzer ${id}` } }));
      const reply = await replyTo(c, id);
      c.replies.length = 0;
      if (reply?.ok) {
        learn((reply as { data?: unknown }).data);
        break;
      }
      if (attempt === 5 || !['STORAGE_UNAVAILABLE', 'TIMEOUT'].includes(reply?.error?.code ?? '')) throw new Error(`the fuzzer could not log in: ${JSON.stringify(reply)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return c;
  }

  /** The reply to `id`, or undefined if the connection closed first. */
  function replyTo(c: Conn, id: number): Promise<Conn['replies'][number] | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        const found = c.replies.find((f) => f.re === id);
        if (found || c.closedBy !== undefined) {
          c.onReply = undefined;
          resolve(found);
        }
      };
      c.onReply = check;
      check();
    });
  }

  /** Sends one window of frames and a sentinel on `c`; returns false when the server closed it. */
  async function window(c: Conn, count: number): Promise<boolean> {
    const sent: Frame[] = [];
    const ops = new Map<number, string>();
    for (let i = 0; i < count; i++) {
      const id = nextId++;
      const f = frame(r, id, known);
      sent.push(f);
      if (f.op) ops.set(id, f.op);
      c.ws.send(f.binary ? Buffer.from(f.text, 'latin1') : f.text);
    }
    // A connection runs requests in two lanes (storage ops and the rest, docs/protocol.md "Order of replies"),
    // each in order: one sentinel per lane closes the window. profile.get is a storage op; before a login it is
    // refused at once, in the only lane there is then.
    const sentinel = nextId++;
    const storageSentinel = nextId++;
    c.ws.send(JSON.stringify({ id: sentinel, op: 'session.ping', data: {} }));
    c.ws.send(JSON.stringify({ id: storageSentinel, op: 'profile.get', data: {} }));
    const done = (await replyTo(c, sentinel)) && (await replyTo(c, storageSentinel));
    result.frames += count;
    if (!done) {
      result.closed++;
      if (result.samples.length < 20) result.samples.push(`connection closed by the server with ${c.closedBy} after: ${sent.map((f) => f.text.slice(0, 200)).join(' | ').slice(0, 2000)}`);
      return false;
    }
    // Account for the window: each id-carrying frame exactly one reply to its id; a request without id at most one
    // (a refusal naming its op); the others one reply each with another re.
    const replies = c.replies.filter((f) => f.re !== sentinel && f.re !== storageSentinel);
    c.replies.length = 0;
    const expected = new Set(sent.map((s) => s.expect));
    const byId = new Map<number, number>();
    let others = 0;
    let refusedIdless = 0;
    let loggedIn = false;
    for (const f of replies) {
      if (f.error?.code === 'INTERNAL') {
        result.internal++;
        const op = typeof f.re === 'number' ? ops.get(f.re) : undefined;
        const text = typeof f.re === 'number' ? sent.find((s) => s.expect === f.re)?.text : undefined;
        if (result.samples.length < 20) result.samples.push(`INTERNAL for ${op ?? '?'}: ${(text ?? '').slice(0, 300)}`);
      }
      if (typeof f.re === 'number' && expected.has(f.re)) {
        byId.set(f.re, (byId.get(f.re) ?? 0) + 1);
        if (f.ok && LOGIN_OPS.has(ops.get(f.re) ?? '')) loggedIn = true;
        learn((f as { data?: unknown }).data);
      } else if (f.re === null && typeof f.error?.op === 'string') refusedIdless++;
      else others++;
    }
    // A mutated frame whose id became another one of this window's: that id gets its reply too.
    const twins = new Map<Expect, number>();
    for (const f of sent) {
      const twin = f.expect === 'any' ? idOf(f.text) : undefined;
      if (twin !== undefined && expected.has(twin)) twins.set(twin, (twins.get(twin) ?? 0) + 1);
    }
    let expectOthers = 0;
    let idless = 0;
    for (const s of sent) {
      if (typeof s.expect === 'number') {
        const n = byId.get(s.expect) ?? 0;
        const want = 1 + (twins.get(s.expect) ?? 0);
        if (n < want) result.missing += want - n;
        else if (n > want) result.duplicate += n - want;
      } else if (s.expect === 'idless') idless++;
      else if (!(s.expect === 'any' && expected.has(idOf(s.text) ?? -1))) expectOthers++;
    }
    if (refusedIdless > idless) result.duplicate += refusedIdless - idless;
    // A login without id may have succeeded silently: the connection is no longer anonymous.
    if (sent.some((f) => f.expect === 'idless' && LOGIN_OPS.has(opOf(f.text)))) loggedIn = true;
    if (others > expectOthers) result.duplicate += others - expectOthers;
    else result.missing += expectOthers - others;
    // A fuzzed login made an anonymous connection a logged-in one: start a fresh anonymous one.
    return !(c.anon && loggedIn);
  }

  let claimed = 0;
  const workers = Array.from({ length: connections }, async (_, i) => {
    const anon = i % 2 === 1;
    let c = await open(anon);
    for (;;) {
      const left = opts.frames - claimed;
      if (left <= 0) break;
      const count = Math.min(windowSize, left);
      claimed += count;
      if (!(await window(c, count))) {
        c.ws.terminate();
        c = await open(anon);
      }
      if (Math.floor(result.frames / 50_000) !== Math.floor((result.frames - count) / 50_000)) opts.progress?.(result.frames);
    }
    c.ws.close();
  });
  await Promise.all(workers);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
