/**
 * The protocol version a client states when it connects (`?v=2` on the
 * WebSocket URL). A server accepts every version from MIN to CURRENT; a client
 * outside that range is closed with {@link CloseCode.PROTOCOL_VERSION} and a
 * reason that names both ranges, so an old game build fails loudly, not oddly.
 */
export const PROTOCOL_VERSION = 2;
/** Version 2 brought streams (see streams.ts); version 1 had no outside users and is gone. */
export const MIN_PROTOCOL_VERSION = 2;
