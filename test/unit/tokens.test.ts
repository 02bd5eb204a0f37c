import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Tokens } from '../../server/src/gateway/tokens.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const tokens = (secret = SECRET) => new Tokens({ tokenSecret: secret, tokenTtlMs: 3_600_000 });
const code = (p: Promise<unknown>) => p.then(() => 'accepted', (e: { code?: string }) => e.code);

describe('session tokens (signed with node HMAC, verified with jose)', () => {
  it('issues an HS256 JWT that jose verifies with the secret, carrying sub, name, iss, iat and exp', async () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0, 500);
    const { token, expiresAt } = await tokens().issue('user-1', 'Zoë "the" \u{1F600}', now);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256' });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), { issuer: 'foyer', algorithms: ['HS256'], currentDate: new Date(now) });
    expect(payload).toEqual({ name: 'Zoë "the" \u{1F600}', iss: 'foyer', sub: 'user-1', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600 });
    expect(expiresAt).toBe((Math.floor(now / 1000) + 3600) * 1000);
  });

  it('verifies its own tokens and those jose signs the same way (tokens issued before this change)', async () => {
    const t = tokens();
    const { token } = await t.issue('user-2', 'Ann');
    expect(await t.verify(token)).toMatchObject({ userId: 'user-2', name: 'Ann', external: false });
    const old = await new SignJWT({ name: 'Bob' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('foyer')
      .setSubject('user-3')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    expect(await t.verify(old)).toMatchObject({ userId: 'user-3', name: 'Bob' });
  });

  it('refuses a token with another secret, a changed payload, or past its expiry', async () => {
    const { token } = await tokens().issue('user-4', 'Cy');
    expect(await code(tokens('another-secret-of-at-least-32-characters').verify(token))).toBe('TOKEN_INVALID');
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(Buffer.from(p!, 'base64url').toString().replace('user-4', 'user-5')).toString('base64url');
    expect(await code(tokens().verify(`${h}.${forged}.${s}`))).toBe('TOKEN_INVALID');
    const expired = await tokens().issue('user-4', 'Cy', Date.now() - 2 * 3_600_000);
    expect(await code(tokens().verify(expired.token))).toBe('TOKEN_EXPIRED');
  });
});
