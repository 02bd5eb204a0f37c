import { describe, expect, it } from 'vitest';
import { onDisk } from '../helpers/onDisk.js';
import { closeCodes, errorCodes, events, ops } from '@foyer/shared';
import { CONFIGURATION_MD, defName, generateDocs, PROTOCOL_MD, PROTOCOL_SCHEMA } from '../../scripts/docs.ts';

describe('generated docs', () => {
  const docs = generateDocs();
  const protocol = docs[PROTOCOL_MD]!;

  it('are up to date on disk', () => {
    const stale = Object.entries(docs)
      .filter(([rel, content]) => onDisk(rel) !== content)
      .map(([rel]) => rel);
    expect(stale, `out of date: ${stale.join(', ')}; run \`npm run docs\` and commit the result`).toEqual([]);
  });

  it('are deterministic and end with one newline', () => {
    expect(generateDocs()).toEqual(docs);
    for (const content of Object.values(docs)) expect(content).toMatch(/[^\n]\n$/);
  });

  it('document every op, event, error code and close code', () => {
    for (const op of Object.keys(ops)) expect(protocol).toContain(`#### ${op}\n`);
    for (const ev of Object.keys(events)) expect(protocol).toContain(`### ${ev}\n`);
    for (const code of Object.keys(errorCodes)) expect(protocol).toContain(`| \`${code}\` |`);
    for (const [name, c] of Object.entries(closeCodes)) expect(protocol).toContain(`| ${c.code} | \`${name}\` |`);
  });

  it('give every op and event a JSON Schema, with every $ref resolving', () => {
    const schema = JSON.parse(docs[PROTOCOL_SCHEMA]!);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const defs = Object.keys(schema.$defs);
    for (const op of Object.keys(ops)) expect(defs).toEqual(expect.arrayContaining([defName.opData(op), defName.opResult(op)]));
    for (const ev of Object.keys(events)) expect(defs).toContain(defName.eventData(ev));
    expect(defs).toEqual(expect.arrayContaining(['Request', 'Reply', 'EventFrame']));

    const refs: string[] = [];
    JSON.stringify(schema, (k, v) => (k === '$ref' && typeof v === 'string' && refs.push(v), v));
    for (const ref of refs) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      const target = ref
        .slice(2)
        .split('/')
        .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<any>((node, key) => node?.[key], schema);
      expect(target, `unresolved $ref ${ref}`).toBeTypeOf('object');
    }
  });

  it('document the queue definitions FOYER_QUEUES takes, field by field', () => {
    const configuration = docs[CONFIGURATION_MD]!;
    expect(configuration).toContain('[QueueConfig](#queueconfig)');
    const section = configuration.slice(configuration.indexOf('\n## QueueConfig\n'));
    expect(section).toMatch(/Unknown keys are refused/);
    for (const field of ['name', 'teams', 'teamSize', 'partySizes', 'rating.initialWindow', 'maxWaitMs', 'acceptTimeoutMs', 'sides', 'requiredAttributes', 'uniqueAttribute']) {
      expect(section).toContain(`| \`${field}\` |`);
    }
  });

  it('define every named object type once, and refer to it everywhere else', () => {
    const schema = JSON.parse(docs[PROTOCOL_SCHEMA]!);
    const types = ['Game', 'GameSummary', 'Player', 'Party', 'PartyMember', 'Ticket', 'Profile', 'JoinProfile', 'Friend', 'Mail', 'UserRef'];
    for (const t of types) {
      expect(schema.$defs[t], `$defs/${t}`).toBeTypeOf('object');
      expect(protocol.split('\n').filter((l) => l === `### ${t}`), `one section for ${t}`).toHaveLength(1);
    }
    // No object elsewhere repeats a named type's fields inline: it would be a $ref.
    type ObjectSchema = { type?: string; properties?: object; required?: string[] };
    const keysOf = (s: ObjectSchema) => Object.keys(s.properties ?? {}).sort().join(',') + ' required ' + [...(s.required ?? [])].sort().join(',');
    const named = new Map<string, string>();
    for (const [name, def] of Object.entries<ObjectSchema>(schema.$defs)) {
      if (/^[A-Z]/.test(name) && def.type === 'object' && def.properties && !['Request', 'OkReply', 'ErrorReply', 'EventFrame'].includes(name)) named.set(keysOf(def), name);
    }
    expect(named.size).toBeGreaterThanOrEqual(types.length);
    const repeats: string[] = [];
    const walk = (node: unknown, where: string, root: boolean) => {
      if (Array.isArray(node)) return node.forEach((n) => walk(n, where, false));
      if (node === null || typeof node !== 'object') return;
      const n = node as ObjectSchema;
      const same = n.type === 'object' && n.properties ? named.get(keysOf(n)) : undefined;
      if (same && !(root && same === where)) repeats.push(`${where} repeats ${same}`);
      for (const v of Object.values(n)) walk(v, where, false);
    };
    for (const [name, def] of Object.entries(schema.$defs)) walk(def, name, true);
    expect(repeats).toEqual([]);
    // Far smaller than with every object inline (246 KB before named types).
    expect(Buffer.byteLength(protocol)).toBeLessThan(110_000);
  });
});
