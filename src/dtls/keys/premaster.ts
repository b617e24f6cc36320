/**
 * Pre-master secrets of the PSK key exchanges.
 *
 *   RFC 4279 §2 (PSK):            uint16 N ‖ N zero octets ‖ uint16 N ‖ psk   (N = length of psk)
 *   RFC 5489 §2 (ECDHE_PSK):      uint16 len(Z) ‖ Z ‖ uint16 N ‖ psk          (Z = ECDH shared secret,
 *                                 the field element x of RFC 4492 §5.10)
 *
 * Both are the struct { opaque other_secret<0..2^16-1>; opaque psk<0..2^16-1>; } of RFC 4279 §2.
 */
import { exposeSecret, SecretBytes } from '../../util/secret.js';

/** Largest opaque<0..2^16-1> (RFC 4279 §2). */
const MAX_VEC16 = 0xffff;

function premaster(otherSecret: Uint8Array, psk: Uint8Array): SecretBytes {
  if (psk.length === 0 || psk.length > MAX_VEC16) {
    throw new RangeError(`PSK must be 1..${MAX_VEC16} octets, got ${psk.length}`);
  }
  if (otherSecret.length > MAX_VEC16) {
    throw new RangeError(`other_secret must be at most ${MAX_VEC16} octets, got ${otherSecret.length}`);
  }
  const out = new Uint8Array(4 + otherSecret.length + psk.length);
  out[0] = otherSecret.length >>> 8;
  out[1] = otherSecret.length & 0xff;
  out.set(otherSecret, 2);
  const at = 2 + otherSecret.length;
  out[at] = psk.length >>> 8;
  out[at + 1] = psk.length & 0xff;
  out.set(psk, at + 2);
  const secret = new SecretBytes(out);
  out.fill(0);
  return secret;
}

/** The plain-PSK pre-master secret (RFC 4279 §2): other_secret is N zero octets. */
export function pskPremaster(psk: Uint8Array | SecretBytes): SecretBytes {
  const p = exposeSecret(psk);
  return premaster(new Uint8Array(p.length), p);
}

/**
 * The ECDHE_PSK pre-master secret (RFC 5489 §2): other_secret is the ECDH shared secret
 * (used by TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256, RFC 8442 §3).
 */
export function ecdhePskPremaster(psk: Uint8Array | SecretBytes, ecdhSharedSecret: Uint8Array | SecretBytes): SecretBytes {
  const z = exposeSecret(ecdhSharedSecret);
  if (z.length === 0) throw new RangeError('ECDH shared secret must not be empty');
  return premaster(z, exposeSecret(psk));
}
