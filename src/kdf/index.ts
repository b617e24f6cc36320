/** TS 33.220 KDF and the e2m derivation profiles (DESIGN.md §3) with their psk_identity formats (§4). */
export * from './generic.js';
export * from './profiles.js';
export * from './identity.js';
export * from './best.js';
export * from './scef.js';
export * from './akma.js';
