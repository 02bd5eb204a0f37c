/**
 * Generates docs/protocol.md, docs/protocol.schema.json and
 * docs/configuration.md from the protocol in shared/ and the settings table
 * in server/src/config.ts. Pure: same sources, same bytes (the docs test
 * compares the files on disk with this output).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  closeCodes,
  errorCodes,
  ErrorReply,
  EventFrame,
  events,
  MIN_PROTOCOL_VERSION,
  OkReply,
  ops,
  PROTOCOL_VERSION,
  QueueConfig,
  Reply,
  Request,
  ServerFrame,
} from '@foyer/shared';
import * as shared from '@foyer/shared';
import { settings, settingsTable } from '@foyer/server/config';

type Json = { [key: string]: unknown };
type Io = 'input' | 'output';

export const PROTOCOL_MD = 'docs/protocol.md';
export const PROTOCOL_SCHEMA = 'docs/protocol.schema.json';
export const CONFIGURATION_MD = 'docs/configuration.md';

/** Example connection URL; the path is whatever the server listens on. */
const EXAMPLE_URL = 'ws://localhost:8080/';

/** Every generated file, path (relative to the repo root) → content. */
export const README = 'README.md';

export function generateDocs(): Record<string, string> {
  const p = protocol();
  return {
    [README]: readmeWithSettings(),
    [CONFIGURATION_MD]: configurationMd(),
    [PROTOCOL_MD]: protocolMd(p),
    [PROTOCOL_SCHEMA]: JSON.stringify(protocolSchema(p), null, 2) + '\n',
  };
}

// ---------------------------------------------------------------------------
// JSON Schema

/** `$defs` name of an op's data/result, an event's data. */
export const defName = {
  opData: (op: string) => `op:${op}:data`,
  opResult: (op: string) => `op:${op}:result`,
  eventData: (ev: string) => `event:${ev}:data`,
};

/**
 * The named object types (zod `.meta({ id })` in shared/): each is defined
 * once, in `$defs` and in a section of its own, and everything else refers
 * to it with `$ref`.
 */
class NamedTypes {
  readonly defs = new Map<string, Json>();
  private readonly io = new Map<string, Io>();

  /** One schema as JSON Schema, minus `$schema`; the named types it uses go to `defs`, referred to as `#/$defs/<name>`. */
  schema(schema: z.ZodType, io: Io): Json {
    const { $schema: _, $defs, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
    for (const [name, def] of Object.entries(isObj($defs) ? $defs : {})) {
      const known = this.defs.get(name);
      // A type read by the server (input) and written by it (output) may differ (defaults); one definition must serve both.
      if (known && JSON.stringify({ ...known, additionalProperties: undefined }) !== JSON.stringify({ ...(def as Json), additionalProperties: undefined })) {
        throw new Error(`type ${name} differs as ${this.io.get(name)} and as ${io}; give the two their own names`);
      }
      this.defs.set(name, def as Json);
      this.io.set(name, io);
    }
    return rest;
  }
}

const envelopes: [name: string, schema: z.ZodType, io: Io][] = [
  ['Request', Request, 'input'],
  ['OkReply', OkReply, 'output'],
  ['ErrorReply', ErrorReply, 'output'],
  ['Reply', Reply, 'output'],
  ['EventFrame', EventFrame, 'output'],
  ['ServerFrame', ServerFrame, 'output'],
];

interface Protocol {
  /** Every `$defs` entry of protocol.schema.json: envelopes, op data and results, event data, named types. */
  defs: Record<string, Json>;
  /** The named types, by name, in the order of their names. */
  types: Map<string, Json>;
  /** For each named type, the ops and events whose data or result refer to it directly. */
  usedBy: Map<string, string[]>;
}

/** The whole protocol as JSON Schema, generated once per run. */
function protocol(): Protocol {
  const named = new NamedTypes();
  const frames: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const usedBy = new Map<string, string[]>();
  const use = (where: string, s: Json) => {
    for (const ref of refsOf(s)) usedBy.set(ref, [...new Set([...(usedBy.get(ref) ?? []), where])]);
  };
  for (const [name, schema, io] of envelopes) frames[name] = named.schema(schema, io);
  for (const [name, spec] of Object.entries(ops)) {
    messages[defName.opData(name)] = named.schema(spec.data, 'input');
    messages[defName.opResult(name)] = named.schema(spec.result, 'output');
    use(name, messages[defName.opData(name)]!);
    use(name, messages[defName.opResult(name)]!);
  }
  for (const [name, spec] of Object.entries(events)) {
    messages[defName.eventData(name)] = named.schema(spec.data, 'output');
    use(name, messages[defName.eventData(name)]!);
  }
  const types = new Map([...named.defs].sort(([a], [b]) => a.localeCompare(b)));
  // Types used only by other types: name those.
  for (const [name, def] of types) use(name, def);
  return { defs: { ...frames, ...messages, ...Object.fromEntries(types) }, types, usedBy };
}

/** Names of the named types a schema refers to. */
function refsOf(node: unknown): string[] {
  const out: string[] = [];
  JSON.stringify(node, (k, v) => (k === '$ref' && typeof v === 'string' && out.push(refName(v)), v));
  return [...new Set(out)];
}

/** The export of @foyer/shared that a named type comes from. */
function sharedExportOf(id: string): string | undefined {
  const named = (v: unknown) => v instanceof z.ZodType && z.globalRegistry.get(v)?.id === id;
  if (named((shared as Record<string, unknown>)[id])) return id;
  return Object.entries(shared).find(([, v]) => named(v))?.[0];
}

function refName(ref: string): string {
  return ref.replace(/^#\/\$defs\//, '');
}

function protocolSchema(p: Protocol): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $comment: 'Generated from shared/ by `npm run docs`; do not edit.',
    title: `Foyer protocol ${PROTOCOL_VERSION}`,
    description:
      `Frames of the Foyer lobby protocol (version ${PROTOCOL_VERSION}; servers accept ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}). ` +
      'Request data schemas describe what a client may send (zod input); result and event data schemas describe what a server sends (zod output). ' +
      'Object types used in several places (Game, Party, Ticket…) are defined once, under their own name, and referred to with $ref. ' +
      'See docs/protocol.md.',
    $defs: p.defs,
  };
}

// ---------------------------------------------------------------------------
// Markdown helpers

/** Inline code that survives backticks in the text. */
function code(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return fence + pad + s + pad + fence;
}

/** A table cell: no newlines, pipes escaped (also inside code spans, per GFM). */
function cell(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function table(head: string[], rows: string[][]): string {
  return [
    '| ' + head.join(' | ') + ' |',
    '| ' + head.map(() => '---').join(' | ') + ' |',
    ...rows.map((r) => '| ' + r.map(cell).join(' | ') + ' |'),
  ].join('\n');
}

/** GitHub's heading anchor for a heading text. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function firstSentence(doc: string): string {
  const m = /^.*?[.!?](?=\s|$)/s.exec(doc);
  return m ? m[0] : doc;
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------
// JSON Schema → readable field tables

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function isObj(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function variants(s: Json): Json[] | undefined {
  const v = s.anyOf ?? s.oneOf;
  return Array.isArray(v) ? v.filter(isObj) : undefined;
}

/** Marks a named type's name inside a type expression, for typeCell to link. */
const REF_START = '\u0001';
const REF_END = '\u0002';
/** A marked reference, and either marker: built from the markers, so no control character is written in a regex literal. */
const MARKED_REF = new RegExp(`${REF_START}.*?${REF_END}`, 'g');
const REF_MARK = new RegExp(`${REF_START}|${REF_END}`);

/** A short type expression: `string`, `integer`, `"a" | "b"`, `string[]`, `object | null`; named types marked. */
function typeOf(s: Json): string {
  if (typeof s.$ref === 'string') return REF_START + refName(s.$ref) + REF_END;
  if ('const' in s) return json(s.const);
  if (Array.isArray(s.enum)) return s.enum.map(json).join(' | ');
  const vs = variants(s);
  if (vs) return [...new Set(vs.map(typeOf))].join(' | ');
  if (Array.isArray(s.allOf)) return s.allOf.filter(isObj).map(typeOf).join(' & ');
  if (isObj(s.not) && Object.keys(s.not).length === 0) return 'never';
  const t = s.type;
  if (Array.isArray(t)) return t.map((x) => typeOf({ ...s, type: x })).join(' | ');
  switch (t) {
    case 'array': {
      if (Array.isArray(s.prefixItems)) return '[' + s.prefixItems.filter(isObj).map(typeOf).join(', ') + ']';
      const item = isObj(s.items) ? typeOf(s.items) : 'any';
      return /[ |&]/.test(item.replace(MARKED_REF, '')) ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      if (!isObj(s.properties) && isObj(s.additionalProperties)) {
        return `Record<string, ${typeOf(s.additionalProperties)}>`;
      }
      return 'object';
    case 'string':
      return typeof s.format === 'string' ? `string (${s.format})` : 'string';
    case undefined:
      return 'any';
    default:
      return String(t);
  }
}

/** The anchor of a named type's section (types are headed by their bare name). */
function typeAnchor(name: string): string {
  return anchor(name);
}

/** A type expression as markdown: code, with each named type a link to its section. */
function typeCell(type: string): string {
  if (!type.includes(REF_START)) return code(type);
  return type
    .split(REF_MARK)
    // Array brackets stay plain after a link: [Player](#player)[].
    .map((part, i) => (i % 2 === 1 ? `[${part}](#${typeAnchor(part)})` : /^[\s[\]]*$/.test(part) ? part.trim() : ` ${code(part.trim())} `))
    .join('')
    .trim();
}

/** Human-readable constraints of one schema: lengths, ranges, pattern, default. */
function constraintsOf(s: Json): string[] {
  const out: string[] = [];
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  const range = (lo: number | undefined, hi: number | undefined, unit: string) => {
    if (lo !== undefined && hi !== undefined) out.push(lo === hi ? `exactly ${lo}${unit}` : `${lo}–${hi}${unit}`);
    else if (lo !== undefined) out.push(`≥ ${lo}${unit}`);
    else if (hi !== undefined) out.push(`≤ ${hi}${unit}`);
  };
  range(num('minLength'), num('maxLength'), ' chars');
  if (typeof s.pattern === 'string') out.push('pattern ' + code(s.pattern));
  let lo = num('minimum');
  let hi = num('maximum');
  if (s.type === 'integer' && lo === -MAX_SAFE) lo = undefined;
  if (s.type === 'integer' && hi === MAX_SAFE) hi = undefined;
  range(lo, hi, '');
  if (num('exclusiveMinimum') !== undefined) out.push(`> ${num('exclusiveMinimum')}`);
  if (num('exclusiveMaximum') !== undefined) out.push(`< ${num('exclusiveMaximum')}`);
  if (num('multipleOf') !== undefined) out.push(`multiple of ${num('multipleOf')}`);
  range(num('minItems'), num('maxItems'), ' items');
  if (s.uniqueItems === true) out.push('unique items');
  range(num('minProperties'), num('maxProperties'), ' keys');
  const vs = variants(s);
  if (vs) for (const v of vs) out.push(...constraintsOf(v));
  if ('default' in s) out.push('default ' + code(json(s.default)));
  return out;
}

interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  constraints: string[];
  description: string;
}

function fieldRows(s: Json, prefix = ''): FieldRow[] {
  const props = isObj(s.properties) ? s.properties : {};
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const rows: FieldRow[] = [];
  for (const [name, raw] of Object.entries(props)) {
    if (!isObj(raw)) continue;
    const path = prefix + name;
    const notes = [typeof raw.description === 'string' ? raw.description : '', raw.deprecated === true ? 'Deprecated.' : ''];
    rows.push({
      path,
      type: typeOf(raw),
      required: required.has(name),
      constraints: constraintsOf(raw),
      description: notes.filter(Boolean).join(' '),
    });
    if (raw.type === 'object' && isObj(raw.properties)) rows.push(...fieldRows(raw, path + '.'));
    if (raw.type === 'array' && isObj(raw.items) && raw.items.type === 'object' && isObj(raw.items.properties)) {
      rows.push(...fieldRows(raw.items, path + '[].'));
    }
  }
  return rows;
}

function fieldTable(s: Json): string {
  const rows = fieldRows(s);
  const described = rows.some((r) => r.description);
  const head = ['Field', 'Type', 'Required', 'Constraints', ...(described ? ['Description'] : [])];
  return table(
    head,
    rows.map((r) => [
      code(r.path),
      typeCell(r.type),
      r.required ? 'yes' : 'no',
      r.constraints.join(', '),
      ...(described ? [r.description] : []),
    ]),
  );
}

function isObjectSchema(s: Json): boolean {
  return s.type === 'object' && !(isObj(s.additionalProperties) && !isObj(s.properties));
}

/** Readable rendering of a schema: a field table (or one per union variant), else its type. */
function describeSchema(s: Json, emptyText: string): string {
  const parts: string[] = [];
  if (typeof s.description === 'string') parts.push(s.description);
  const vs = variants(s);
  if (isObjectSchema(s)) {
    parts.push(isObj(s.properties) && Object.keys(s.properties).length > 0 ? fieldTable(s) : emptyText);
  } else if (vs && vs.length > 0 && vs.every(isObjectSchema)) {
    parts.push('One of:');
    vs.forEach((v, i) => parts.push(`Variant ${i + 1}:\n\n` + fieldTable(v)));
  } else {
    const c = constraintsOf(s);
    parts.push(`A value of type ${typeCell(typeOf(s))}${c.length ? ' (' + c.join(', ') + ')' : ''}.`);
  }
  return parts.join('\n\n');
}

// ---------------------------------------------------------------------------
// protocol.md

function validExample<T extends z.ZodType>(schema: T, value: z.input<T>): string {
  schema.parse(value); // an example that drifted from the schema fails the generator
  return json(value);
}

function protocolMd(p: Protocol): string {
  const opNames = Object.keys(ops) as (keyof typeof ops)[];
  const eventNames = Object.keys(events) as (keyof typeof events)[];
  const preLogin = opNames.filter((n) => !ops[n].auth);
  const closes = Object.entries(closeCodes).sort(([, a], [, b]) => a.code - b.code);
  const cc = (name: keyof typeof closeCodes) => `${closeCodes[name].code} ${name}`;
  const groups = new Map<string, (keyof typeof ops)[]>();
  for (const n of opNames) {
    const ns = n.includes('.') ? n.slice(0, n.indexOf('.')) : n;
    groups.set(ns, [...(groups.get(ns) ?? []), n]);
  }

  const out: string[] = [];
  const add = (...blocks: string[]) => out.push(...blocks.filter(Boolean));
  const def = (name: string) => p.defs[name]!;

  add(
    '# Foyer protocol',
    '> Generated from shared/ by `npm run docs`; do not edit.',
    `Protocol version **${PROTOCOL_VERSION}**. Clients and servers speak JSON text frames over one WebSocket. ` +
      'The machine-readable form of everything below is [protocol.schema.json](protocol.schema.json) (JSON Schema 2020-12).',
    [
      '- [Connecting](#connecting)',
      '- [Frames](#frames)',
      '- [Ops](#ops)',
      '- [Events](#events)',
      '- [Types](#types)',
      '- [Error codes](#error-codes)',
      '- [Close codes](#close-codes)',
    ].join('\n'),
  );

  // Connecting
  add(
    '## Connecting',
    `Open a WebSocket to the server with the protocol version in the query string:`,
    '```\n' + `${EXAMPLE_URL}?v=${PROTOCOL_VERSION}` + '\n```',
    `This server speaks versions ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION} (current: ${PROTOCOL_VERSION}). ` +
      `A missing \`v\`, or one outside that range, closes the connection with ${code(cc('PROTOCOL_VERSION'))}; the close reason names both ranges.`,
    'Optionally add a token to log in as part of the handshake, saving a round trip:',
    '```\n' + `${EXAMPLE_URL}?v=${PROTOCOL_VERSION}&token=<token>` + '\n```',
    `A malformed or untrusted token closes the connection with ${code(cc('TOKEN_INVALID'))}, an expired one with ${code(cc('AUTH_EXPIRED'))}.`,
    `Without \`token\`, the connection starts logged out: its first request must be one of ${preLogin.map((n) => code(n)).join(', ')}. ` +
      `Other ops answer \`UNAUTHENTICATED\` until then, and a connection that does not log in within \`authTimeoutMs\` is closed with ${code(cc('AUTH_TIMEOUT'))}. ` +
      'See [configuration.md](configuration.md) for the server settings named here.',
  );

  // Frames
  add(
    '## Frames',
    'Every frame is one JSON object. There are three kinds.',
    '### Request (client → server)',
    'The client picks `id` (an integer 0..2³¹−1, unique among its requests in flight) and the server echoes it as `re` in exactly one reply. `data` is the op\'s data (see [Ops](#ops)). `ack`, optional, is the `seq` of the last event the client received: the server keeps only later events for a resume, so a client that acknowledges keeps its session small on the server (the SDK acknowledges on every request, and with a `session.ping` when it has only listened for 2 s); a later `session.resume` must give a `lastSeq` of at least the last `ack`.',
    '```json\n' + validExample(Request, { id: 1, op: 'auth.guest', data: { name: 'Ada' } }) + '\n```',
    fieldTable(def('Request')),
    '### Reply (server → client)',
    'Success: `ok` is `true` and `data` is the op\'s result.',
    '```json\n' +
      validExample(OkReply, {
        re: 1,
        ok: true,
        data: { userId: 'u_8f3k2', name: 'Ada', token: '<token>', expiresAt: 1767225600000 },
      }) +
      '\n```',
    'Failure: `ok` is `false` and `error` carries one of the [error codes](#error-codes), a message for humans, and for `BAD_REQUEST` the `issues` (where the frame failed validation). ' +
      '`re` is `null` only when the frame was too broken to read an `id` from.',
    '```json\n' +
      validExample(ErrorReply, {
        re: 2,
        ok: false,
        error: {
          code: 'BAD_REQUEST',
          message: 'invalid data for auth.guest',
          issues: [{ path: ['data', 'name'], message: 'Too small: expected string to have >=1 characters' }],
        },
      }) +
      '\n```',
    fieldTable(def('ErrorReply')),
    '### Event (server → client)',
    'Pushed by the server. `seq` starts at 1 and increases by one per event within a session; `session.resume` uses it to replay what a client missed.',
    '```json\n' + validExample(EventFrame, { ev: 'server.notice', stream: 'user:u_1', offset: 1, epoch: 'n1a', data: { text: 'Maintenance at 02:00 UTC', at: 1767225600000 } }) + '\n```',
    fieldTable(def('EventFrame')),
    '### Order of replies',
    'Every request gets exactly one reply, matched by `re`, not by position. A connection runs its requests in two lanes, side by side, ' +
      'each lane one request after another: ops marked **Storage** in the [Ops](#ops) table (they read or write the database) in one, every other op in the other. ' +
      'So a slow or unreachable database delays only the storage ops: a `session.ping`, a chat line or a game op sent after a stuck `mail.list` is answered at once, and a storage op fails with `STORAGE_UNAVAILABLE` within the server\'s storage timeout. ' +
      'What holds: replies within one lane keep request order, and so do the effects of its ops (a player\'s game and queue ops are all in one lane, and so are all their stored changes; of the party ops only `party.invite`, which reads blocks and accounts, is a storage op); ' +
      'a login op and everything sent before its reply run in order, one after another (the storage lane starts after them); `session.logout` is not a storage op, so a stuck storage op never delays it (that op then gets no reply). ' +
      'What does not: an op of one lane may finish before an earlier op of the other (a `party.invite` sent before a `party.leave`, say). When that order matters, wait for the first reply before sending the second.',
  );

  // Ops
  add(
    '## Ops',
    '"Login" says whether the op needs a logged-in session. Ops that do not are allowed only before login: after it they answer `ALREADY_AUTHENTICATED`. ' +
      '"Storage" says whether the op reads or writes the database, and so which lane of the connection it runs in (see [Order of replies](#order-of-replies)).',
    table(
      ['Op', 'Login', 'Storage', 'Summary'],
      opNames.map((n) => [`[${code(n)}](#${anchor(n)})`, ops[n].auth ? 'yes' : 'no', ops[n].storage ? 'yes' : 'no', firstSentence(ops[n].doc)]),
    ),
  );
  for (const [ns, names] of groups) {
    // "ops" in the heading keeps its anchor apart from a type's (`game.*` and Game would both be #game).
    add(`### ${ns}.* ops`);
    for (const n of names) {
      const spec = ops[n];
      add(
        `#### ${n}`,
        `Login: **${spec.auth ? 'required' : 'not allowed (send before login)'}**` + (spec.storage ? ' · Storage: **yes** (runs in the storage lane)' : ''),
        spec.doc,
        '**Data**',
        describeSchema(def(defName.opData(n)), 'No fields: send `{}`.'),
        '**Result**',
        describeSchema(def(defName.opResult(n)), 'An empty object, `{}`.'),
        `JSON Schema: ${code(`$defs/${defName.opData(n)}`)}, ${code(`$defs/${defName.opResult(n)}`)}.`,
      );
    }
  }

  // Events
  add('## Events', table(['Event', 'Summary'], eventNames.map((n) => [`[${code(n)}](#${anchor(n)})`, firstSentence(events[n].doc)])));
  for (const n of eventNames) {
    add(`### ${n}`, events[n].doc, '**Data**', describeSchema(def(defName.eventData(n)), 'An empty object, `{}`.'), `JSON Schema: ${code(`$defs/${defName.eventData(n)}`)}.`);
  }

  // Types
  add(
    '## Types',
    'Object types that ops and events share, each defined once here and in protocol.schema.json (`$defs/<name>`); the tables above link to them. ' +
      'The name in parentheses is the zod schema (and TypeScript type) exported by `@foyer/shared`.',
    table(['Type', 'Summary'], [...p.types.keys()].map((n) => [`[${n}](#${typeAnchor(n)})`, firstSentence(String(p.types.get(n)!.description ?? ''))])),
  );
  for (const [name, s] of p.types) {
    const exported = sharedExportOf(name);
    const { description, ...rest } = s;
    const users = (p.usedBy.get(name) ?? []).filter((u) => u !== name);
    add(
      `### ${name}`,
      [typeof description === 'string' ? description : '', exported && exported !== name ? `(${code(exported)})` : ''].filter(Boolean).join(' '),
      describeSchema(rest, 'An empty object, `{}`.'),
      users.length ? 'Used by: ' + users.map((u) => `[${u.includes('.') ? code(u) : u}](#${u.includes('.') ? anchor(u) : typeAnchor(u)})`).join(', ') + '.' : '',
    );
  }

  // Errors
  add(
    '## Error codes',
    'The `code` of an error reply. The set is closed: a client can switch on it exhaustively.',
    table(['Code', 'Meaning'], Object.entries(errorCodes).map(([c, doc]) => [code(c), doc])),
  );

  // Close codes
  add(
    '## Close codes',
    'WebSocket close codes the server sends. 4000–4099 are Foyer\'s own. "Reconnect" says whether connecting again can help; after a reconnect, `session.resume` takes the session back within the reconnect grace period.',
    table(
      ['Code', 'Name', 'Reconnect', 'Meaning'],
      closes.map(([name, c]) => [String(c.code), code(name), c.reconnect ? 'yes' : 'no', c.doc]),
    ),
  );

  return out.join('\n\n') + '\n';
}

// ---------------------------------------------------------------------------
// configuration.md

/** Allowed values of a setting, from its schema (output side: what the node uses). */
function settingValues(schema: z.ZodType): string {
  // Transforms have no JSON Schema; `any` turns them into `{}`, shown as `string` (env and flags are strings).
  const s = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Json;
  // The default is its own column.
  const { default: _d, $schema: _s, ...rest } = s;
  if (Array.isArray(rest.enum)) return rest.enum.map((v) => code(String(v))).join(', ');
  const type = typeOf(rest);
  if (type === 'any') return 'string';
  const c = constraintsOf(rest);
  return (type.includes(REF_START) ? typeCell(type) : type) + (c.length ? ' ' + c.join(', ') : '');
}

/** The repository root: the folder whose package.json lists the workspaces (from src or from dist). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !('workspaces' in JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** README.md with its settings table, between the markers, regenerated from the config schema. */
function readmeWithSettings(): string {
  const readme = readFileSync(join(repoRoot(), README), 'utf8');
  const start = '<!-- settings:start (generated by npm run docs) -->';
  const end = '<!-- settings:end -->';
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the ${start} … ${end} markers`);
  const rows = settingsTable().map((r) => [code(r.env), r.default === '' ? '' : code(r.default.length > 40 ? r.default.slice(0, 37) + '…' : r.default), r.doc]);
  return readme.slice(0, from + start.length) + '\n\n' + table(['Variable', 'Default', 'What it does'], rows) + '\n\n' + readme.slice(to);
}

/** The section on FOYER_QUEUES' objects: what an operator writes (zod input: defaults may be omitted). */
function queueConfigMd(): string[] {
  // A named type comes out as a $ref to its own $defs entry.
  const { $defs } = z.toJSONSchema(QueueConfig, { io: 'input', target: 'draft-2020-12' }) as Json;
  const { description, ...rest } = (isObj($defs) ? $defs.QueueConfig : undefined) as Json;
  const example = [{ name: 'duel', teamSize: 1 }, { name: 'squads', teams: 2, teamSize: 4, partySizes: [1, 2, 4], maxWaitMs: 120_000 }];
  z.array(QueueConfig).parse(example); // an example that drifted from the schema fails the generator
  return [
    '## QueueConfig',
    String(description),
    'Example (`FOYER_QUEUES` inline, or the content of the file it names):',
    '```json\n' + JSON.stringify(example) + '\n```',
    fieldTable(rest),
  ];
}

function configurationMd(): string {
  const rows = settingsTable().map((r) => {
    const s = (settings as Record<string, { schema: z.ZodType; secret?: boolean }>)[r.key];
    const doc = s?.secret ? `${r.doc} Secret: logged only as set/unset.` : r.doc;
    return [code(r.env), code(r.flag), s ? settingValues(s.schema) : '', r.default === '' ? '' : code(r.default), doc];
  });
  return (
    [
      '# Foyer configuration',
      '> Generated from server/src/config.ts by `npm run docs`; do not edit.',
      'Every setting of a node can be given as a command-line flag (`--port 9000` or `--port=9000`) or an environment variable. ' +
        'A flag wins over the environment variable, which wins over the default. ' +
        'Invalid values are reported together, each naming its variable and flag.',
      table(['Environment variable', 'Flag', 'Values', 'Default', 'Description'], rows),
      ...queueConfigMd(),
    ].join('\n\n') + '\n'
  );
}
