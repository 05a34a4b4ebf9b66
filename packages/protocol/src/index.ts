export * from './limits.js';
export * from './errors.js';
export * from './close-codes.js';
export {
  PROTOCOL_VERSION,
  WEBSOCKET_SUBPROTOCOL,
  EmptyResultSchema,
  ReplyOkSchema,
  ReplyErrorSchema,
  replyOk,
  replyError,
  type Reply,
  type ReplyOk,
  type ReplyError,
} from './envelope.js';
export { TARGET_PATTERN } from './fields.js';
export * from './session.js';
export * from './calls.js';
export * from './messages.js';
export {
  PROBLEMS,
  checkClientMessage,
  checkServerMessage,
  checkResult,
  type Problem,
  type ParseFailure,
  type ParseResult,
  type CheckServerOptions,
} from './validate.js';
export * from './codec.js';
export { utf8Exceeds, utf8Length } from './utf8.js';
