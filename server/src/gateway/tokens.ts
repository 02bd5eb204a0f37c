import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';

const ISSUER = 'foyer';
/** The protected header of every token we issue: {"alg":"HS256"}, base64url. */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');

export interface Identity {
  userId: string;
  name: string;
  expiresAt: number;
  /** Logged in with the external issuer's token, not one of ours. */
  external: boolean;
}

/**
 * Issues and verifies the session tokens (HS256, jose), and verifies tokens
 * of an optional external issuer so a game's own account system can log its
 * players in. An external subject is linked to an account of its own, so it
 * can never collide with ids this server hands out.
 */
export class Tokens {
  private readonly secret: Uint8Array;
  /** The same secret for node's HMAC: signing a login's token costs microseconds (WebCrypto through jose imported the key and queued a job every time). */
  private readonly signingKey: KeyObject;
  private readonly externalKey: Uint8Array | JWTVerifyGetKey | undefined;

  constructor(private readonly config: Pick<Config, 'tokenSecret' | 'tokenTtlMs' | 'externalJwtSecret' | 'externalJwksFile' | 'externalIssuer' | 'externalAudience'>) {
    this.secret = config.tokenSecret ? new TextEncoder().encode(config.tokenSecret) : randomBytes(32);
    this.signingKey = createSecretKey(this.secret);
    if (config.externalJwksFile) this.externalKey = createLocalJWKSet(JSON.parse(readFileSync(config.externalJwksFile, 'utf8')));
    else if (config.externalJwtSecret) this.externalKey = new TextEncoder().encode(config.externalJwtSecret);
  }

  /** A compact JWS (RFC 7515) over the claims { name, iss, sub, iat, exp }, HS256; `verify` (jose) checks it like any other. */
  async issue(userId: string, name: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = now + this.config.tokenTtlMs;
    const claims = { name, iss: ISSUER, sub: userId, iat: Math.floor(now / 1000), exp: Math.floor(expiresAt / 1000) };
    const signed = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const token = `${signed}.${createHmac('sha256', this.signingKey).update(signed).digest('base64url')}`;
    return { token, expiresAt: claims.exp * 1000 };
  }

  async verify(token: string): Promise<Identity> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new LobbyError('TOKEN_INVALID', 'token is not a JWT');
    }
    const external = iss !== ISSUER;
    if (external && !this.externalKey) throw new LobbyError('TOKEN_INVALID', 'token issuer is not trusted');
    try {
      const { payload } = external
        ? await jwtVerify(token, this.externalKey as Uint8Array, {
            issuer: this.config.externalIssuer,
            audience: this.config.externalAudience,
            requiredClaims: ['sub', 'exp'],
          })
        : await jwtVerify(token, this.secret, { issuer: ISSUER, algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
      const sub = payload.sub!;
      const claimedName = [payload.name, payload.preferred_username, payload.nickname].find((n) => typeof n === 'string' && n.length > 0);
      return {
        // An external subject is mapped to an account by the gateway.
        userId: sub,
        name: typeof claimedName === 'string' ? claimedName.slice(0, 32) : sub.slice(0, 32),
        expiresAt: payload.exp! * 1000,
        external,
      };
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new LobbyError('TOKEN_EXPIRED', 'token has expired; log in again');
      throw new LobbyError('TOKEN_INVALID', 'token could not be verified');
    }
  }
}
