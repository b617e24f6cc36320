/** src/hss: the HSS/AuC + MME simulator (hss-sim) and its EMKS client. */
export { createHssSim, type HssSim, type HssSimOptions } from './server.js';
export { AttachService, makeGuti, type Attached, type Challenge } from './attach.js';
export {
  createHttpsEmksClient,
  parseEmksUrl,
  EmksError,
  type AuthResult,
  type EmksClient,
  type HttpsEmksClient,
  type HttpsEmksClientOptions,
  type IntKeyPush,
} from './emks-client.js';
export { syncIdentities, type IdentitySync, type IdentitySyncOptions, type IdentitySyncResult } from './identity-sync.js';
export { SqnStore } from './sqn-store.js';
export {
  APP_IDENTITY_MAX_OCTETS,
  DEFAULT_AMF,
  IMSI_RE,
  appIdentityProblem,
  loadSubscribers,
  parseSubscribers,
  type Subscriber,
} from './subscribers.js';
export { MAX_BODY_OCTETS, ProblemError } from './http.js';
