/**
 * The keys one direction of a connection protects records with (RFC 5246 §6.1 "connection states"):
 * the suite, write key and implicit nonce salt (write_IV) of the sender.
 */
import { SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import type { KeyBlock } from '../keys/key-block.js';

/** One direction's AEAD state; the sender's write state is the receiver's read state. */
export interface CipherState {
  readonly suite: CipherSuite;
  /** client_write_key or server_write_key. */
  readonly key: SecretBytes;
  /** client_write_IV or server_write_IV: the 4-octet CCM nonce salt (RFC 6655 §3). */
  readonly iv: SecretBytes;
}

/** Which end of the connection we are. */
export type Role = 'client' | 'server';

/** Builds a CipherState, checking the key and salt lengths against the suite. */
export function createCipherState(
  suite: CipherSuite,
  key: Uint8Array | SecretBytes,
  iv: Uint8Array | SecretBytes,
): CipherState {
  const k = key instanceof SecretBytes ? key : new SecretBytes(key);
  const s = iv instanceof SecretBytes ? iv : new SecretBytes(iv);
  if (k.length !== suite.encKeyLength) throw new RangeError(`${suite.name} key must be ${suite.encKeyLength} octets`);
  if (s.length !== suite.fixedIvLength) throw new RangeError(`${suite.name} IV must be ${suite.fixedIvLength} octets`);
  return { suite, key: k, iv: s };
}

/**
 * The read and write states of `role` (RFC 5246 §6.3): a client writes with the client_write_* keys
 * and reads with the server_write_* keys; a server the other way round.
 */
export function cipherStatesFromKeyBlock(keys: KeyBlock, role: Role): { read: CipherState; write: CipherState } {
  const client = createCipherState(keys.suite, keys.clientWriteKey, keys.clientWriteIv);
  const server = createCipherState(keys.suite, keys.serverWriteKey, keys.serverWriteIv);
  return role === 'client' ? { read: server, write: client } : { read: client, write: server };
}
