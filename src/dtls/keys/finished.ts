/**
 * Finished verify_data (RFC 5246 §7.4.9):
 *
 *   verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..11]
 *   finished_label = "client finished" | "server finished"
 *
 * Hash is SHA-256 (the PRF hash of every e2m suite); in DTLS the messages are hashed with their
 * 12-octet handshake headers, without the first ClientHello and the HelloVerifyRequest (RFC 6347 §4.2.6).
 */
import { tls12Prf } from '../../crypto/prf.js';
import { constantTimeEqual } from '../../crypto/primitives.js';
import { exposeSecret, type SecretBytes } from '../../util/secret.js';
import { MASTER_SECRET_LENGTH, SESSION_HASH_LENGTH } from './master-secret.js';

/** verify_data_length for TLS 1.2 suites that do not override it (RFC 5246 §7.4.9). */
export const VERIFY_DATA_LENGTH = 12;

/** Which side sends the Finished message. */
export type FinishedSender = 'client' | 'server';

/** The verify_data `sender` puts in its Finished; `handshakeHash` is SHA-256 of the transcript so far. */
export function verifyData(
  master: Uint8Array | SecretBytes,
  sender: FinishedSender,
  handshakeHash: Uint8Array,
): Uint8Array {
  const m = exposeSecret(master);
  if (m.length !== MASTER_SECRET_LENGTH) throw new RangeError(`master secret must be ${MASTER_SECRET_LENGTH} octets`);
  if (handshakeHash.length !== SESSION_HASH_LENGTH) {
    throw new RangeError(`handshake hash must be ${SESSION_HASH_LENGTH} octets, got ${handshakeHash.length}`);
  }
  const label = sender === 'client' ? 'client finished' : 'server finished';
  return tls12Prf(m, label, handshakeHash, VERIFY_DATA_LENGTH);
}

/** Constant-time check of a received verify_data (a mismatch is decrypt_error 51, RFC 5246 §7.4.9). */
export function checkVerifyData(
  master: Uint8Array | SecretBytes,
  sender: FinishedSender,
  handshakeHash: Uint8Array,
  received: Uint8Array,
): boolean {
  return constantTimeEqual(verifyData(master, sender, handshakeHash), received);
}
