export { LobbyClient, LobbyError } from './client.js';
export type {
  CallArgs,
  CallOptions,
  CloseInfo,
  EventHandler,
  LobbyClientOptions,
  LobbyErrorCode,
  LobbyState,
  ReconnectOptions,
  StateInfo,
  StateListener,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
// Values a client switches on, and the protocol's types, so apps need only this package.
export { PROTOCOL_VERSION, CloseCode, closeCodes, closeName, errorCodes } from '@foyer/shared';
export type {
  CloseName,
  ErrorBody,
  ErrorCode,
  EventData,
  EventFrame,
  EventName,
  Issue,
  OpData,
  OpName,
  OpResult,
} from '@foyer/shared';
