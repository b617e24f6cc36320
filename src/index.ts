/** e2m's library exports (DESIGN.md §2): the roles, the DTLS engine, the KDF and Milenage. */
export * from './aka/index.js';
export * from './kdf/index.js';
export type { KeyInput } from './kdf/index.js';
export * from './dtls/index.js';
export * from './emse/index.js';
export { SecretBytes } from './util/secret.js';
export { ConfigError, DecodeError, AuthError, AlertError, StackError } from './util/errors.js';
