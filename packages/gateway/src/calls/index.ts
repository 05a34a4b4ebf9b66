export {
  CallRouter,
  DEFAULT_MAX_OUTGOING_PER_OPERATOR,
  MAX_CANDIDATES_PER_LEG,
  type CallRouterOptions,
  type ExtensionDirectory,
  type RoutingOptions,
} from './call-router.js';
export { CallStateError, LocalCall, transition, type LocalCallState } from './local-call.js';
export { SipCallLayer, PHONE_CODECS, type SipCallLayerOptions } from './sip-calls.js';
export { SipCall, type CallMedia, type SipCallState } from './sip-call.js';
export { routeFor, type LineDirectory, type PhoneBinding, type PhoneDirectory, type SipRoute } from './sip-routes.js';
export { EndedCalls, ENDED_CALL_MEMORY_MS, MAX_ENDED_CALLS } from './ended-calls.js';
