export { TokenError, TOKEN_ERROR_CODES, type TokenErrorCode } from './token-error.js';
export {
  TokenIssuer,
  DEFAULT_TOKEN_TTL_SECONDS,
  type TokenIssuerOptions,
  type IssueOptions,
  type IssuedToken,
} from './token-issuer.js';
export {
  Hs256TokenVerifier,
  JwksTokenVerifier,
  createTokenVerifier,
  acceptedAlgorithms,
  type TokenVerifier,
  type VerifiedToken,
  type VerifierOptions,
} from './token-verifier.js';
export { parseTtl, formatSeconds, TtlError } from './ttl.js';
export { isOperatorId, OPERATOR_ID_PATTERN, OPERATOR_ID_HINT } from './operator-id.js';
export { turnCredentials, iceServersFor, type TurnCredentials, type TurnCredentialOptions } from './turn.js';
