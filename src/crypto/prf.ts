/**
 * TLS 1.2 PRF (RFC 5246 §5) with P_SHA256, as DTLS 1.2 uses it (RFC 6347 §4.2.6).
 *   P_hash(secret, seed) = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ‖ …
 *   A(0) = seed, A(i) = HMAC(secret, A(i-1));  PRF(secret, label, seed) = P_SHA256(secret, label ‖ seed)
 *
 * Every HMAC of one expansion is under the same secret: its keyed states are computed once
 * (sha256.ts), and label ‖ seed is hashed as two parts rather than concatenated.
 */
import { HmacSha256, SHA256_LENGTH } from './sha256.js';

const NO_LABEL = new Uint8Array(0);

/**
 * The key schedule and the A(i) and last-block buffers of the expansion in progress. Each expansion
 * runs to completion and wipes them.
 */
const hmac = new HmacSha256(NO_LABEL);
const a = new Uint8Array(SHA256_LENGTH);
const tail = new Uint8Array(SHA256_LENGTH);

/** P_SHA256 over the seed label ‖ seed, expanded to `length` octets. */
function expand(secret: Uint8Array, label: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`PRF output length must be a non-negative integer, got ${length}`);
  const out = new Uint8Array(length);
  if (length === 0) return out;
  hmac.rekey(secret);
  hmac.macInto(a, 0, label, seed); // A(1)
  for (let at = 0; ; ) {
    if (length - at >= SHA256_LENGTH) {
      hmac.macInto(out, at, a, label, seed);
    } else {
      hmac.macInto(tail, 0, a, label, seed);
      out.set(tail.subarray(0, length - at), at);
    }
    at += SHA256_LENGTH;
    if (at >= length) break;
    hmac.macInto(a, 0, a); // A(i+1) = HMAC(secret, A(i))
  }
  hmac.wipe();
  a.fill(0);
  tail.fill(0);
  return out;
}

/** P_SHA256 expanded to `length` octets. */
export function pSha256(secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  return expand(secret, NO_LABEL, seed, length);
}

/** The ASCII octets of the labels in use: a handful of constants (RFC 5246 §5, RFC 7627 §4). */
const labels = new Map<string, Uint8Array>();
const MAX_CACHED_LABELS = 32;

function labelBytes(label: string): Uint8Array {
  let l = labels.get(label);
  if (l === undefined) {
    l = new TextEncoder().encode(label);
    if (labels.size < MAX_CACHED_LABELS) labels.set(label, l);
  }
  return l;
}

/** PRF(secret, label, seed) of RFC 5246 §5; `label` is ASCII without a terminating NUL. */
export function tls12Prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  return expand(secret, labelBytes(label), seed, length);
}
