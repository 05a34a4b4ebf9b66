export { createHttpServer, WEBSOCKET_PATH, type GatewayHttpServer, type HttpServerOptions } from './http-server.js';
export { TokenRefusal, type TokenVerifier, type OperatorDirectory, type SessionOperator, type SessionInfoProvider } from './ports.js';
export { ProtocolError, isProtocolError, refusalReason, TOKEN_REFUSALS } from './errors.js';
export { SessionRegistry, type SessionHandle } from './registry.js';
export type { RequestHandler, CallRequest, CallResult, AfterReply } from './session.js';
export { DEFAULT_SESSION_LIMITS, resolveLimits, type SessionLimits } from './limits.js';
export { createGatewayLogger, REDACT_PATHS } from './logging.js';
export type { SessionState } from './session-state.js';
