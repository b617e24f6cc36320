/**
 * The master secret, classic and extended.
 *
 *   RFC 5246 §8.1:  master_secret = PRF(pre_master_secret, "master secret",
 *                                       ClientHello.random ‖ ServerHello.random)[0..47]
 *   RFC 7627 §4:    master_secret = PRF(pre_master_secret, "extended master secret",
 *                                       session_hash)[0..47]
 *                   session_hash = Hash(handshake messages up to and including ClientKeyExchange),
 *                   Hash = SHA-256 for every suite e2m speaks (RFC 5246 §7.4.9, RFC 6655 §6).
 *
 * In DTLS the hashed messages carry their 12-octet DTLS handshake header as if each had been sent as
 * one fragment, and the first ClientHello and the HelloVerifyRequest are left out (RFC 6347 §4.2.6).
 */
import { tls12Prf } from '../../crypto/prf.js';
import { exposeSecret, SecretBytes } from '../../util/secret.js';

/** Length of the master secret (RFC 5246 §8.1). */
export const MASTER_SECRET_LENGTH = 48;
/** Length of ClientHello.random and ServerHello.random (RFC 5246 §7.4.1.2). */
export const RANDOM_LENGTH = 32;
/** Length of a SHA-256 handshake hash. */
export const SESSION_HASH_LENGTH = 32;

function checkLength(b: Uint8Array, n: number, name: string): void {
  if (b.length !== n) throw new RangeError(`${name} must be ${n} octets, got ${b.length}`);
}

/** The RFC 5246 §8.1 master secret (session without the extended_master_secret extension). */
export function masterSecret(
  premaster: Uint8Array | SecretBytes,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): SecretBytes {
  checkLength(clientRandom, RANDOM_LENGTH, 'client_random');
  checkLength(serverRandom, RANDOM_LENGTH, 'server_random');
  const seed = new Uint8Array(2 * RANDOM_LENGTH);
  seed.set(clientRandom, 0);
  seed.set(serverRandom, RANDOM_LENGTH);
  return prfSecret(premaster, 'master secret', seed);
}

/** The RFC 7627 §4 extended master secret; `sessionHash` is SHA-256 of the transcript through ClientKeyExchange. */
export function extendedMasterSecret(premaster: Uint8Array | SecretBytes, sessionHash: Uint8Array): SecretBytes {
  checkLength(sessionHash, SESSION_HASH_LENGTH, 'session_hash');
  return prfSecret(premaster, 'extended master secret', sessionHash);
}

function prfSecret(premaster: Uint8Array | SecretBytes, label: string, seed: Uint8Array): SecretBytes {
  const out = tls12Prf(exposeSecret(premaster), label, seed, MASTER_SECRET_LENGTH);
  const secret = new SecretBytes(out);
  out.fill(0);
  return secret;
}
