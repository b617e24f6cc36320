export * from './ccm.js';
export * from './prf.js';
export * from './primitives.js';
