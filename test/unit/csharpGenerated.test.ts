import { describe, expect, it } from 'vitest';
import { onDisk } from '../helpers/onDisk.js';
import { errorCodes, events, ops } from '@foyer/shared';
import { CSHARP_CLIENT, CSHARP_PROTOCOL, generateCsharp, pascal } from '../../scripts/csharp.ts';
import { generateDocs, PROTOCOL_SCHEMA } from '../../scripts/docs.ts';

describe('generated C# client code', () => {
  const schema = JSON.parse(generateDocs()[PROTOCOL_SCHEMA]!);
  const files = generateCsharp(schema, { ops, events });

  it('is up to date on disk', () => {
    const stale = Object.entries(files)
      .filter(([rel, content]) => onDisk(rel) !== content)
      .map(([rel]) => rel);
    expect(stale, `out of date: ${stale.join(', ')}; run \`npm run docs\` and commit the result`).toEqual([]);
  });

  it('is deterministic', () => {
    expect(generateCsharp(JSON.parse(generateDocs()[PROTOCOL_SCHEMA]!), { ops, events })).toEqual(files);
  });

  it('has a typed method per op, a typed event per event, and every error code', () => {
    const client = files[CSHARP_CLIENT]!;
    const protocol = files[CSHARP_PROTOCOL]!;
    for (const op of Object.keys(ops)) {
      expect(client).toMatch(new RegExp(`public Task<\\w+> ${pascal(op)}Async\\(`));
      expect(client).toContain(`CallAsync<`);
      expect(protocol).toContain(`= ${JSON.stringify(op)};`);
    }
    for (const ev of Object.keys(events)) {
      expect(client).toMatch(new RegExp(`public event Action<\\w+, EventFrame> ${pascal(ev)};`));
      expect(client).toContain(`case ${JSON.stringify(ev)}:`);
    }
    for (const code of Object.keys(errorCodes)) expect(protocol).toContain(`case ${JSON.stringify(code)}: return ErrorCode.`);
  });

  it('follows a change of the schema: a new field becomes a property', () => {
    const changed = structuredClone(schema);
    changed.$defs.Game.properties.mapName = { type: 'string', description: 'The map.' };
    const protocol = generateCsharp(changed, { ops, events })[CSHARP_PROTOCOL]!;
    expect(protocol).toContain('[JsonProperty("mapName", NullValueHandling = NullValueHandling.Ignore)]\n        public string MapName { get; set; }');
    expect(protocol).not.toEqual(files[CSHARP_PROTOCOL]);
  });
});
