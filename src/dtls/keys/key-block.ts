/**
 * Key expansion (RFC 5246 §6.3):
 *
 *   key_block = PRF(master_secret, "key expansion", server_random ‖ client_random)
 *   partitioned as client_write_MAC_key ‖ server_write_MAC_key ‖ client_write_key ‖ server_write_key
 *                  ‖ client_write_IV ‖ server_write_IV
 *
 * For the AEAD CCM suites the MAC keys are empty (RFC 5246 §6.2.3.3) and the IVs are the 4-octet
 * implicit nonce salts (RFC 6655 §3), so the block is 2·16 + 2·4 = 40 octets.
 */
import { tls12Prf } from '../../crypto/prf.js';
import { exposeSecret, SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import { MASTER_SECRET_LENGTH, RANDOM_LENGTH } from './master-secret.js';

/** The keys of both directions, for one suite. */
export interface KeyBlock {
  readonly suite: CipherSuite;
  readonly clientWriteKey: SecretBytes;
  readonly serverWriteKey: SecretBytes;
  readonly clientWriteIv: SecretBytes;
  readonly serverWriteIv: SecretBytes;
}

/** Octets of key_block a suite consumes (no MAC keys for AEAD suites). */
export function keyBlockLength(suite: CipherSuite): number {
  return 2 * (suite.encKeyLength + suite.fixedIvLength);
}

/** Expands the master secret into the write keys and IVs of both directions. */
export function keyBlock(
  master: Uint8Array | SecretBytes,
  serverRandom: Uint8Array,
  clientRandom: Uint8Array,
  suite: CipherSuite,
): KeyBlock {
  const m = exposeSecret(master);
  if (m.length !== MASTER_SECRET_LENGTH) throw new RangeError(`master secret must be ${MASTER_SECRET_LENGTH} octets`);
  if (serverRandom.length !== RANDOM_LENGTH || clientRandom.length !== RANDOM_LENGTH) {
    throw new RangeError(`client and server random must be ${RANDOM_LENGTH} octets`);
  }
  const seed = new Uint8Array(2 * RANDOM_LENGTH);
  seed.set(serverRandom, 0);
  seed.set(clientRandom, RANDOM_LENGTH);
  const block = tls12Prf(m, 'key expansion', seed, keyBlockLength(suite));
  const k = suite.encKeyLength;
  const iv = suite.fixedIvLength;
  const take = (at: number, n: number): SecretBytes => new SecretBytes(block.subarray(at, at + n));
  const result: KeyBlock = {
    suite,
    clientWriteKey: take(0, k),
    serverWriteKey: take(k, k),
    clientWriteIv: take(2 * k, iv),
    serverWriteIv: take(2 * k + iv, iv),
  };
  block.fill(0);
  return result;
}
