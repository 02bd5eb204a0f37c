import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { GameEvent, GameState, Secret } from './state.js';

/** Passwords and session keys: hashed and compared in constant time. */

/** The game a session key belongs to: a key starts with its game's id (so any node can route its use to the game's owner). */
export function gameOfKey(sessionKey: string): string {
  return sessionKey.slice(0, Math.max(0, sessionKey.lastIndexOf('.')));
}

export const noPassword: Secret = { passwordHash: null, passwordSalt: '' };

/**
 * What other nodes than the game's owner hold of its password: the empty
 * string says there is one (their views show hasPassword) and matches no
 * password (only the owner checks one).
 */
const HIDDEN = '';

/** A password hidden from other nodes: whether there is one, nothing more. */
function hidden(secret: Secret): Secret {
  return { passwordHash: secret.passwordHash === null ? null : HIDDEN, passwordSalt: '' };
}

/** What only the owner keeps of a game: its password hash and salt, the players' session keys. */
export interface OwnerSecret extends Secret {
  sessionKeys: Record<string, string>;
}

/** An event as other nodes than the owner receive it: no password hash or salt, no session keys. */
export function redactEvent(e: GameEvent): GameEvent {
  if (e.ev === 'game.created' || (e.ev === 'game.updated' && e.secret)) return { ...e, secret: hidden(e.secret!) } as GameEvent;
  if (e.ev === 'game.started') return { ...e, keys: {} };
  return e;
}

/** The game as other nodes hold it (and as its stored snapshot is): without the owner's secrets. */
export function openState(s: GameState): GameState {
  return { ...s, ...hidden(s), sessionKeys: {} };
}

export function ownerSecret(s: GameState): OwnerSecret {
  return { passwordHash: s.passwordHash, passwordSalt: s.passwordSalt, sessionKeys: s.sessionKeys };
}

/** The owner's secrets back into the game as held by a node that has just become its owner (keys of current players only). */
export function withSecret(s: GameState, secret: OwnerSecret): GameState {
  const sessionKeys = Object.fromEntries(Object.entries(secret.sessionKeys).filter(([u]) => s.players.some((p) => p.userId === u)));
  return { ...s, passwordHash: secret.passwordHash, passwordSalt: secret.passwordSalt, sessionKeys };
}

// Pure JavaScript SHA-256 (@noble/hashes): the domain uses no node APIs.
const digest = (text: string): Uint8Array => sha256(utf8ToBytes(text));

export function hashed(password: string, salt: string): Secret {
  return { passwordHash: bytesToHex(digest(salt + password)), passwordSalt: salt };
}

export function passwordMatches(s: GameState, given: string | undefined): boolean {
  if (s.passwordHash === null) return true;
  if (given === undefined || s.passwordHash === HIDDEN) return false;
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
