/**
 * WebSocket close codes the server sends. 4000–4099 are Foyer's own; the
 * standard ones it also uses are listed so client authors see them in one
 * place. `reconnect` tells a client whether trying again can help.
 */
export const closeCodes = {
  GOING_AWAY: { code: 1001, reconnect: true, doc: 'The node is shutting down; reconnect (to another node behind the load balancer) and resume.' },
  INVALID_PAYLOAD: { code: 1007, reconnect: true, doc: 'A text frame was not valid UTF-8. On the `uws` transport uWebSockets.js drops such a connection itself, before the server sees the frame and without a close frame: the client sees 1006.' },
  MESSAGE_TOO_BIG: { code: 1009, reconnect: true, doc: 'A frame exceeded the maximum frame size (`maxFrameBytes`). On the `uws` transport a frame over 4 × `maxFrameBytes` is dropped by uWebSockets.js itself, without a close frame (the client sees 1006): that bound keeps what one connection can make the node buffer small.' },
  TRY_AGAIN_LATER: { code: 1013, reconnect: true, doc: 'The server could not check the `?token=` login now (storage unavailable); reconnect shortly.' },
  AUTH_EXPIRED: { code: 4000, reconnect: true, doc: 'The token that authenticated the connection expired (refresh it with auth.refresh before `expiresAt`), or `?token=` carried an expired token.' },
  REPLACED: { code: 4001, reconnect: false, doc: 'The same account logged in elsewhere and the login policy is "replace".' },
  RATE_LIMITED: { code: 4002, reconnect: true, doc: 'The client kept sending after RATE_LIMITED replies.' },
  TOO_SLOW: { code: 4003, reconnect: true, doc: 'The client read too slowly: more than `maxBufferedBytes` waited to be sent to it. The close frame follows what was queued, so a client that catches up sees it; one that reads nothing for 2 s more is cut off (1006; on uws, uWebSockets.js waits 4 to 16 s, by the heartbeat timeout).' },
  DRAINING: { code: 4004, reconnect: true, doc: 'The node is draining; reconnect to another node and resume.' },
  PROTOCOL_VERSION: { code: 4005, reconnect: false, doc: 'The client\'s protocol version (`?v=` on the URL) is missing or outside what the server speaks; the reason names both.' },
  HEARTBEAT_TIMEOUT: { code: 4006, reconnect: true, doc: 'Nothing was heard from the client (no frame, no pong) within `heartbeatTimeoutMs` (ws transport; on uws, uWebSockets.js cuts such a connection itself, without a close frame: 1006).' },
  AUTH_TIMEOUT: { code: 4007, reconnect: true, doc: 'The connection did not authenticate within `authTimeoutMs`.' },
  TOKEN_INVALID: { code: 4008, reconnect: false, doc: '`?token=` on the URL carried a token that is malformed or not trusted.' },
  KICKED: { code: 4009, reconnect: false, doc: 'An operator removed the player (admin kick or ban); the reason says why. Reconnecting by itself would only be refused or kicked again.' },
  LOGGED_OUT: { code: 4010, reconnect: false, doc: 'The session ended with session.logout; log in again to play.' },
} as const;

export type CloseName = keyof typeof closeCodes;
export const CloseCode = Object.fromEntries(
  Object.entries(closeCodes).map(([k, v]) => [k, v.code]),
) as { readonly [K in CloseName]: (typeof closeCodes)[K]['code'] };

export function closeName(code: number): CloseName | undefined {
  return (Object.keys(closeCodes) as CloseName[]).find((k) => closeCodes[k].code === code);
}
