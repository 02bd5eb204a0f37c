export { LobbyClient } from './client.js';
export { LobbyError } from './types.js';
export { GameServerApi, GameServerApiError, type GameServerApiOptions } from './gameServerApi.js';
export type {
  CallArgs,
  CallOptions,
  CloseInfo,
  EventHandler,
  LobbyClientOptions,
  LobbyErrorCode,
  LobbyState,
  ReconnectOptions,
  RefusalListener,
  StateInfo,
  StateListener,
  StreamListener,
  StreamState,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
export * from './mirror/index.js';
// Values a client switches on, and the protocol's types, so apps need only this package.
export { PROTOCOL_VERSION, CloseCode, closeCodes, closeName, errorCodes, eventNames, eventsOf } from '@foyer/shared';
export type {
  CloseName,
  ErrorBody,
  ErrorCode,
  EventData,
  EventGroup,
  EventOf,
  EventFrame,
  EventName,
  Issue,
  MatchReport,
  MatchReportResult,
  OpData,
  OpName,
  OpResult,
  SessionKeyHolder,
  StreamPosition,
  StreamResume,
} from '@foyer/shared';
