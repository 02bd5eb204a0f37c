import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LobbyError } from '@foyer/client-sdk';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, TOKEN_SECRET, type TestNode } from '../helpers/node.js';
import { until } from '../helpers/events.js';
import { RawClient } from '../helpers/raw.js';

const EXTERNAL_SECRET = 'a-games-own-account-system-secret';

describe('login', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ externalJwtSecret: EXTERNAL_SECRET, externalIssuer: 'https://accounts.example.test' });
  });
  afterAll(() => t.stop());

  it('auth.guest returns a user id and a token that logs in a later connection', async () => {
    const a = t.client();
    await a.connect();
    const me = await a.call('auth.guest', { name: '  Ann  ' });
    expect(me.name).toBe('Ann');
    expect(me.userId).toMatch(/^[0-9a-f-]{36}$/);
    expect(me.deviceSecret).toBeTruthy();
    expect(me.expiresAt).toBeGreaterThan(Date.now());
    await a.close();

    const b = t.client();
    await b.connect();
    const again = await b.call('auth.token', { token: me.token });
    expect(again.userId).toBe(me.userId);
    expect(again.name).toBe('Ann');
  });

  it('a token in the URL logs the connection in at connect', async () => {
    const a = await t.guest('Bea');
    const raw = new RawClient(`${t.url}/?v=2&token=${encodeURIComponent(a.token!)}`);
    await raw.opened;
    const pong = await raw.request('session.ping', { t: 1 });
    expect(pong.ok).toBe(true);
    raw.close();
  });

  it('refuses ops before login with UNAUTHENTICATED, and a second login with ALREADY_AUTHENTICATED', async () => {
    const c = t.client();
    await c.connect();
    await expect(c.call('session.ping', {})).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await c.call('auth.guest', { name: 'Cy' });
    await expect(c.call('auth.guest', { name: 'Cy2' })).rejects.toMatchObject({ code: 'ALREADY_AUTHENTICATED' });
  });

  it('rejects bad and foreign tokens with TOKEN_INVALID and expired ones with TOKEN_EXPIRED', async () => {
    const c = t.client();
    await c.connect();
    await expect(c.call('auth.token', { token: 'not-a-jwt' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    const forged = await new SignJWT({ name: 'Eve' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('foyer').setSubject('g:someone').setExpirationTime('1h').sign(new TextEncoder().encode('wrong-secret-wrong-secret-wrong-secret'));
    await expect(c.call('auth.token', { token: forged })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    const expired = await new SignJWT({ name: 'Old' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('foyer').setSubject('g:old').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(TOKEN_SECRET));
    await expect(c.call('auth.token', { token: expired })).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    // Still not logged in: nothing was changed by the failures.
    await expect(c.call('session.ping', {})).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('accepts tokens of the external issuer (HS256), linking each subject to one account', async () => {
    const sub = `user-${Math.random()}`;
    const token = await new SignJWT({ preferred_username: 'Kai' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://accounts.example.test').setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(EXTERNAL_SECRET));
    const c = t.client();
    await c.connect();
    const me = await c.call('auth.token', { token });
    expect(me.name).toBe('Kai');
    await c.close();
    const again = t.client();
    await again.connect();
    expect((await again.call('auth.token', { token })).userId).toBe(me.userId);
    expect((await again.call('profile.get', {})).profile).toMatchObject({ kind: 'external', name: 'Kai' });
    // An external token from the wrong issuer is refused.
    const wrongIss = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://elsewhere.test').setSubject('user-42').setExpirationTime('10m').sign(new TextEncoder().encode(EXTERNAL_SECRET));
    const d = t.client();
    await d.connect();
    await expect(d.call('auth.token', { token: wrongIss })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('auth.refresh issues a newer token that logs in too', async () => {
    const c = await t.guest('Fay');
    const fresh = await c.call('auth.refresh', {});
    expect(fresh.userId).toBe(c.userId);
    expect(typeof fresh.token).toBe('string');
    const d = t.client();
    await d.connect();
    expect((await d.call('auth.token', { token: fresh.token })).userId).toBe(c.userId);
  });
});

describe('external issuer with a JWKS file', () => {
  it('verifies RS256 tokens against the public keys in the file', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    const dir = mkdtempSync(path.join(tmpdir(), 'foyer-jwks-'));
    const file = path.join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    const t = await startTestNode({ externalJwksFile: file });
    try {
      const token = await new SignJWT({ name: 'Rhea' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('studio').setSubject(`p-${Math.random()}`).setExpirationTime('5m').sign(privateKey);
      const c = t.client();
      await c.connect();
      expect(await c.call('auth.token', { token })).toMatchObject({ name: 'Rhea' });
      const other = await generateKeyPair('RS256');
      const forged = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('studio').setSubject('p-7').setExpirationTime('5m').sign(other.privateKey);
      const d = t.client();
      await d.connect();
      const err = await d.call('auth.token', { token: forged }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LobbyError);
      expect(err).toMatchObject({ code: 'TOKEN_INVALID' });
    } finally {
      await t.stop();
    }
  });
});

describe('protocol version and bad URL tokens', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(() => t.stop());

  it.each([
    ['/?v=99', /version 99; server speaks 2-2/],
    ['/?v=1', /version 1; server speaks 2-2/],
    ['/?v=0', /version 0/],
    ['/', /no version/],
  ])('closes %s with 4005 and a reason naming both versions', async (query, reason) => {
    const raw = new RawClient(t.url + query);
    const closed = await raw.closed;
    expect(closed.code).toBe(4005);
    expect(closed.reason).toMatch(reason);
  });

  it('closes a connection whose URL token is invalid with 4008', async () => {
    const raw = new RawClient(`${t.url}/?v=2&token=garbage`);
    expect((await raw.closed).code).toBe(4008);
  });
});

describe('token expiry', () => {
  it('closes a connection with 4000 when its token expires, unless the client refreshed it', async () => {
    const t = await startTestNode({ tokenTtlMs: 1500 });
    try {
      const raw = new RawClient(`${t.url}/?v=2`);
      await raw.opened;
      const login = await raw.request('auth.guest', { name: 'Ivy' });
      expect(login.ok).toBe(true);
      expect((await raw.closed).code).toBe(4000);

      // The SDK refreshes before expiry, so its connection outlives the first token.
      const c = await t.guest('Jo', { refreshBeforeMs: 1000 });
      const firstExpiry = c.expiresAt!;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => c.expiresAt! > firstExpiry && (clearInterval(timer), resolve()), 20);
      });
      await new Promise((r) => setTimeout(r, Math.max(0, firstExpiry - Date.now() + 200)));
      expect(c.state).toBe('connected');
      expect((await c.call('session.ping', {})).serverTime).toBeGreaterThan(firstExpiry);
    } finally {
      await t.stop();
    }
  });
});

describe('login policy', () => {
  it('replace: a second login closes the first connection with 4001', async () => {
    const t = await startTestNode({ loginPolicy: 'replace' });
    try {
      const a = await t.guest('Gus');
      const closed = new Promise<number | undefined>((resolve) => a.onState((s, info) => s === 'closed' && resolve(info.close?.code)));
      const b = t.client();
      await b.connect();
      await b.call('auth.token', { token: a.token! });
      expect(await closed).toBe(4001);
      expect((await b.call('session.ping', {})).serverTime).toBeGreaterThan(0);
    } finally {
      await t.stop();
    }
  });

  it('refuse: a login whose socket closed while it ran leaves no session behind, and the next login goes in', async () => {
    const t = await startTestNode({ loginPolicy: 'refuse', reconnectGraceMs: 100 });
    try {
      const first = new RawClient(`${t.url}/?v=2`);
      expect((await first.request('auth.register', { name: 'Ivy', password: 'correct horse 1' })).ok).toBe(true);
      first.close();
      await until(async () => (await t.admin('GET', '/admin/stats')).body.sessions === 0);
      const quick = new RawClient(`${t.url}/?v=2`);
      await quick.opened;
      quick.send({ id: 1, op: 'auth.login', data: { name: 'Ivy', password: 'correct horse 1' } });
      quick.ws.terminate(); // gone while the password is checked (scrypt, off the main thread)
      const done = async () => /foyer_requests_total\{op="auth\.login",outcome="\w+"\} 1\n/.test(await (await fetch(`${t.httpUrl}/metrics`)).text());
      await until(done);
      const again = t.client();
      await again.connect();
      expect((await again.call('auth.login', { name: 'Ivy', password: 'correct horse 1' })).name).toBe('Ivy');
    } finally {
      await t.stop();
    }
  });

  it('refuse: a second login gets ALREADY_LOGGED_IN and the first stays', async () => {
    const t = await startTestNode({ loginPolicy: 'refuse' });
    try {
      const a = await t.guest('Hal');
      const b = t.client();
      await b.connect();
      await expect(b.call('auth.token', { token: a.token! })).rejects.toMatchObject({ code: 'ALREADY_LOGGED_IN' });
      expect((await a.call('session.ping', {})).serverTime).toBeGreaterThan(0);
    } finally {
      await t.stop();
    }
  });
});
