/**
 * src/aka: Milenage (TS 35.206), AUTN/AUTS (TS 33.102 §6.3), SQN handling (TS 33.102 Annex C)
 * and a simulated USIM.
 */
export { AKA_LENGTHS, type KeyInput } from './check.js';
export {
  computeOpc,
  f1,
  f1star,
  f2345,
  f5star,
  milenage,
  type F2345,
  type MilenageInput,
  type MilenageOutput,
} from './milenage.js';
export {
  buildAutn,
  parseAutn,
  buildAuts,
  recoverSqnFromAuts,
  generateVector,
  type ParsedAutn,
  type AuthVector,
} from './autn.js';
export { SQN_MAX, DEFAULT_SQN_DELTA, sqnToBigInt, sqnFromBigInt, isSqnAcceptable } from './sqn.js';
export { Usim, type UsimOptions, type UsimResult } from './usim.js';
