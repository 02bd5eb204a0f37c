import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.js';

// The SDK as a game or bot project gets it: packed (with @foyer/shared, its
// one workspace dependency), installed into an empty project outside the
// repository, type-checked by that project's tsc and run by node.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);
const version = (pkg: string) => (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

interface Packed {
  filename: string;
  files: { path: string }[];
}

const BOT = `import { LobbyClient, LobbyError, type OpResult } from '@foyer/client-sdk';

const client = new LobbyClient({ url: process.argv[2]!, reconnect: false });
await client.connect();
const me = await client.call('auth.guest', { name: 'Packed' });
const list: OpResult<'games.list'> = await client.call('games.list', { filter: { status: 'open' } });
console.log(JSON.stringify({ name: me.name, userId: client.userId, games: list.games.length, errorClass: LobbyError.name }));
await client.close();
`;

// Each line a mistake tsc must catch through the package's types.
const WRONG = `import { LobbyClient } from '@foyer/client-sdk';

const client = new LobbyClient({ url: 'ws://localhost:8080' });
await client.call('games.list', { filter: { status: 'bogus' } });
await client.call('no.such.op', {});
`;

describe('the SDK as an installable package', () => {
  let t: TestNode;
  let dir: string;
  const packed: Packed[] = [];
  beforeAll(async () => {
    t = await startTestNode();
    dir = mkdtempSync(path.join(tmpdir(), 'foyer-sdk-'));
    // `npm test` has built the workspaces (pretest: tsc -b); --ignore-scripts keeps the
    // packages' own prepack build from running twice at once (once per transport project).
    const { stdout } = await exec('npm', ['pack', '-w', 'shared', '-w', 'client-sdk', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
    packed.push(...(JSON.parse(stdout) as Packed[]));
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs built ESM and declarations only', () => {
    expect(packed.map((p) => p.filename).sort()).toEqual(['foyer-client-sdk-0.1.0.tgz', 'foyer-shared-0.1.0.tgz']);
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/index.d.ts');
      expect(files.filter((f) => f !== 'package.json' && !/^dist\/.*\.(js|d\.ts)$/.test(f))).toEqual([]);
    }
  });

  it('installs into an empty project, type-checks with its tsc, and talks to a node from Node without a global WebSocket', async () => {
    const project = path.join(dir, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'a-bot', private: true, type: 'module' }));
    const tarballs = packed.map((p) => path.join(dir, p.filename));
    // The repository's versions: npm's cache has them from its install, so this needs no download.
    await exec(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, `ws@${version('ws')}`, `typescript@${version('typescript')}`, `@types/node@${version('@types/node')}`],
      { cwd: project },
    );
    const sdkManifest = JSON.parse(readFileSync(path.join(project, 'node_modules/@foyer/client-sdk/package.json'), 'utf8'));
    // `ws` is for Node only: an optional peer, never pulled into a browser build.
    expect(sdkManifest.dependencies).not.toHaveProperty('ws');
    expect(sdkManifest.peerDependenciesMeta).toEqual({ ws: { optional: true } });

    writeFileSync(path.join(project, 'bot.ts'), BOT);
    writeFileSync(path.join(project, 'wrong.ts'), WRONG);
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, lib: ['es2022'], types: ['node'], outDir: 'out' },
        include: ['bot.ts', 'wrong.ts'],
      }),
    );
    // One tsc run: it must reject exactly wrong.ts's two mistakes, and still emits bot.js.
    const tsc = await exec(path.join(project, 'node_modules/.bin/tsc'), ['-p', project], { cwd: project }).then(
      () => ({ code: 0, out: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(tsc.code).not.toBe(0);
    const errors = tsc.out.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.map((l) => l.replace(/: error TS\d+:.*/, ''))).toEqual(['wrong.ts(4,45)', 'wrong.ts(5,19)']);

    const run = await exec(process.execPath, [path.join(project, 'out/bot.js'), t.url], { cwd: project });
    const result = JSON.parse(run.stdout.trim());
    expect(result).toMatchObject({ name: 'Packed', games: 0, errorClass: 'LobbyError' });
    expect(result.userId).toMatch(/^[0-9a-f-]{36}$/);

    // Without `ws` (it is optional), Node 20 gets a refusal that says what to install.
    rmSync(path.join(project, 'node_modules/ws'), { recursive: true });
    const failed = await exec(process.execPath, [path.join(project, 'out/bot.js'), t.url], { cwd: project }).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(failed).toContain('DISCONNECTED');
    expect(failed).toContain('the `ws` package is not installed: `npm install ws`');
  }, 90_000);
});
