import { z } from 'zod';
import { DisplayName, Timestamp, Token, UserId } from './common.js';

/**
 * One request type: its `data` schema, its reply `data` schema, whether a
 * session must be logged in to send it, and the text docs/protocol.md shows.
 */
export interface OpSpec<D extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  data: D;
  result: R;
  /** false: allowed before login (and refused with ALREADY_AUTHENTICATED after). */
  auth: boolean;
  doc: string;
}

function op<D extends z.ZodType, R extends z.ZodType>(spec: OpSpec<D, R>): OpSpec<D, R> {
  return spec;
}

const Login = z.object({
  userId: UserId,
  name: z.string(),
  /** Present when the server issued a token (auth.guest, auth.refresh). */
  token: Token.optional(),
  /** When the token that authenticates this connection expires. */
  expiresAt: Timestamp,
});

export const ops = {
  'auth.guest': op({
    auth: false,
    doc: 'Log in as a guest with a display name. Returns a token for later connections (`?token=` or auth.token) and for session.resume.',
    data: z.object({ name: DisplayName }),
    result: Login.required({ token: true }),
  }),
  'auth.token': op({
    auth: false,
    doc: 'Log in with a token: one this server issued, or one from the configured external issuer (a game\'s own account system).',
    data: z.object({ token: Token }),
    result: Login,
  }),
  'auth.refresh': op({
    auth: true,
    doc: 'Get a fresh token before the current one expires (the connection is closed with 4000 AUTH_EXPIRED at `expiresAt`). Sessions logged in with an external token get one issued by this server.',
    data: z.object({}),
    result: Login.required({ token: true }),
  }),
  'session.resume': op({
    auth: false,
    doc: 'On a new connection, take back a session that lost its connection within the reconnect grace period. `resumed: true`: every event after `lastSeq` follows this reply, in order. `resumed: false`: the session is new (numbering restarts at 1) and the client must fetch its state again (resync). Either way the connection is logged in.',
    data: z.object({ token: Token, lastSeq: z.number().int().nonnegative() }),
    result: Login.extend({
      resumed: z.boolean(),
      /** The seq of the last event of the session, after any replay. */
      seq: z.number().int().nonnegative(),
    }),
  }),
  'session.ping': op({
    auth: true,
    doc: 'Application-level round trip: echoes `t` with the server clock, for latency and clock-offset estimates.',
    data: z.object({ t: z.number().optional() }),
    result: z.object({ t: z.number().optional(), serverTime: Timestamp }),
  }),
} as const satisfies Record<string, OpSpec>;

export type Ops = typeof ops;
export type OpName = keyof Ops;
/** What a client sends as `data` for an op (zod input: defaults may be omitted). */
export type OpData<O extends OpName> = z.input<Ops[O]['data']>;
/** What the server's handler receives (zod output: defaults applied). */
export type OpParsed<O extends OpName> = z.output<Ops[O]['data']>;
/** The `data` of a successful reply. */
export type OpResult<O extends OpName> = z.output<Ops[O]['result']>;

export function isOpName(name: string): name is OpName {
  return Object.hasOwn(ops, name);
}
