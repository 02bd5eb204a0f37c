/**
 * The protocol version a client states when it connects (`?v=1` on the
 * WebSocket URL). A server accepts every version from MIN to CURRENT; a client
 * outside that range is closed with {@link CloseCode.PROTOCOL_VERSION} and a
 * reason that names both ranges, so an old game build fails loudly, not oddly.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;
