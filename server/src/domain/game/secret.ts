import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { GameState, Secret } from './state.js';

/** Passwords and session keys: hashed and compared in constant time. */

/** The game a session key belongs to: a key starts with its game's id (so any node can route its use to the game's owner). */
export function gameOfKey(sessionKey: string): string {
  return sessionKey.slice(0, Math.max(0, sessionKey.lastIndexOf('.')));
}

export const noPassword: Secret = { passwordHash: null, passwordSalt: '' };

// Pure JavaScript SHA-256 (@noble/hashes): the domain uses no node APIs.
const digest = (text: string): Uint8Array => sha256(utf8ToBytes(text));

export function hashed(password: string, salt: string): Secret {
  return { passwordHash: bytesToHex(digest(salt + password)), passwordSalt: salt };
}

export function passwordMatches(s: GameState, given: string | undefined): boolean {
  if (s.passwordHash === null) return true;
  if (given === undefined) return false;
  return sameBytes(digest(s.passwordSalt + given), hexToBytes(s.passwordHash));
}

/** Constant time in the contents: both sides are hashed to equal length first. */
export function sameSecret(expected: string, given: string): boolean {
  return sameBytes(digest(expected), digest(given));
}

/** Equal digests, in a time that does not depend on where they differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
