export { Registrar, type RegistrarOptions } from './registrar.js';
export {
  LocationService, bindingTarget, type Binding, type BindingTarget, type ContactChange, type LocationEvents,
  type LocationServiceOptions, type RegisterUpdate, type RemovalReason, type UpdateResult,
} from './location-service.js';
export {
  LineRegistration, LineRegistrationError, type LineRegistrationErrorCode, type LineRegistrationEvents, type LineRegistrationOptions,
  type LineStateChange, type RegistrationState,
} from './line-registration.js';
export { LineRegistrations, type LineRegistrationsEvents, type LineRegistrationsOptions } from './line-registrations.js';
export { DEFAULT_BACKOFF, type BackoffOptions } from './line-registration-timing.js';
