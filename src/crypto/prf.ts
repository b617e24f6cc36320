/**
 * TLS 1.2 PRF (RFC 5246 §5) with P_SHA256, as DTLS 1.2 uses it (RFC 6347 §4.2.6).
 *   P_hash(secret, seed) = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ‖ …
 *   A(0) = seed, A(i) = HMAC(secret, A(i-1));  PRF(secret, label, seed) = P_SHA256(secret, label ‖ seed)
 */
import { hmacSha256 } from './primitives.js';

/** P_SHA256 expanded to `length` octets. */
export function pSha256(secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a = seed;
  let at = 0;
  while (at < length) {
    a = hmacSha256(secret, a);
    const block = hmacSha256(secret, a, seed);
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
  }
  return out;
}

/** PRF(secret, label, seed) of RFC 5246 §5; `label` is ASCII without a terminating NUL. */
export function tls12Prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const l = new TextEncoder().encode(label);
  const s = new Uint8Array(l.length + seed.length);
  s.set(l, 0);
  s.set(seed, l.length);
  return pSha256(secret, s, length);
}
