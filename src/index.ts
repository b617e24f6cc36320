/**
 * e2m's library exports (DESIGN.md §2): the four roles, the DTLS engine, the KDF and Milenage, the
 * dev PKI. Role-internal helpers stay in their folders (import them from `e2m/dist/<role>/…`).
 */
export * from './aka/index.js';
export * from './kdf/index.js';
export type { KeyInput } from './kdf/index.js';
export * from './dtls/index.js';
export * from './emse/index.js';
export { createEmksServer, openEmksStore, openSqliteStore, type EmksStore } from './emks/index.js';
export { createHssSim, type HssSim, type HssSimOptions, createHttpsEmksClient, loadSubscribers } from './hss/index.js';
export { UeClient, attach, loadSim, type UeClientOptions, type UeKeys, type UeRequest, type CoapResponse, CoapObservation } from './ue/index.js';
export { CoapClientSocket, CoapSessionSocket } from './coap/index.js';
export { createDevPki, pkiPaths, loadTlsMaterial } from './crypto/pki.js';
export { SecretBytes } from './util/secret.js';
export { ConfigError, DecodeError, AuthError, AlertError, StackError } from './util/errors.js';
