/**
 * Sequence numbers (TS 33.102 §6.3.7: SQN is 48 bits; Annex C: generation and verification).
 * SQN travels as 6 big-endian octets; arithmetic is done on bigint so that it is exact over 48 bits.
 */
import { ConfigError } from '../util/index.js';
import { AKA_LENGTHS as L, checkBytes } from './check.js';

/** The largest 48-bit SQN (TS 33.102 §6.3.7). */
export const SQN_MAX = (1n << 48n) - 1n;

/**
 * Default Δ, the largest accepted jump SQN − SQN_MS (TS 33.102 Annex C.2.2 suggests Δ = 2^28,
 * which keeps a USIM usable for the life of the subscription while bounding wrap-around).
 */
export const DEFAULT_SQN_DELTA = 1n << 28n;

/** The 6-octet SQN `sqn` as an integer (`name` is reported if it has the wrong length). */
export function sqnToBigInt(sqn: Uint8Array, name = 'sqn'): bigint {
  const b = checkBytes(sqn, L.sqn, name);
  let n = 0n;
  for (const octet of b) n = (n << 8n) | BigInt(octet);
  return n;
}

/** The integer `value` (0 ≤ value < 2^48) as a 6-octet big-endian SQN. */
export function sqnFromBigInt(value: bigint, name = 'sqn'): Uint8Array {
  if (typeof value !== 'bigint' || value < 0n || value > SQN_MAX) {
    throw new ConfigError(name, `expected an integer in 0..2^48-1, got ${String(value)}`);
  }
  const out = new Uint8Array(L.sqn);
  let v = value;
  for (let i = L.sqn - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * The USIM freshness rule used here (TS 33.102 §6.3.3 and Annex C.2.2, without the IND array):
 * SQN is accepted iff SQN > SQN_MS (no replay) and SQN − SQN_MS ≤ Δ (no jump far ahead).
 */
export function isSqnAcceptable(sqn: bigint, sqnMs: bigint, delta: bigint): boolean {
  return sqn > sqnMs && sqn - sqnMs <= delta;
}
