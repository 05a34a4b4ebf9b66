export * from './store/index.js';
export * from './ws/index.js';
export * from './config/index.js';
export {
  TokenError, TOKEN_ERROR_CODES, type TokenErrorCode, TokenIssuer, DEFAULT_TOKEN_TTL_SECONDS, type TokenIssuerOptions,
  type IssueOptions, type IssuedToken, Hs256TokenVerifier, JwksTokenVerifier, createTokenVerifier, acceptedAlgorithms,
  type VerifiedToken, type VerifierOptions, parseTtl, formatSeconds, TtlError, isOperatorId, OPERATOR_ID_PATTERN,
  OPERATOR_ID_HINT, turnCredentials, iceServersFor, type TurnCredentials, type TurnCredentialOptions,
} from './auth/index.js';
export { start, createLogger, type StartOptions, type RunningGateway } from './server.js';
export * from './calls/index.js';
export * from './media/index.js';
export * from './sip/index.js';
export { HttpContactLookup, sanitizeContact, NUMBER_PLACEHOLDER, MAX_LOOKUP_RESPONSE_BYTES, type ContactLookup, type HttpContactLookupOptions } from './lookup/contact-lookup.js';
export { isMainModule } from './main-module.js';
