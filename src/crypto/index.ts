export * from './ccm.js';
export * from './prf.js';
export * from './primitives.js';
export * from './aead.js';
export * from './pki.js';
