/**
 * The keys one direction of a connection protects records with (RFC 5246 §6.1 "connection states"):
 * the suite, write key and implicit nonce salt (write_IV) of the sender.
 */
import { SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import type { KeyBlock } from '../keys/key-block.js';

/**
 * One direction's AEAD state; the sender's write state is the receiver's read state. The key and the
 * salt live in one SecretBytes (key ‖ IV): one allocation instead of two per direction, since every
 * established session keeps two of these (memory per idle session).
 */
export interface CipherState {
  readonly suite: CipherSuite;
  /** client_write_key ‖ client_write_IV, or the server's (RFC 5246 §6.3; the IV is the 4-octet CCM salt, RFC 6655 §3). */
  readonly material: SecretBytes;
}

/** The write key of a cipher state (a view: do not keep it). */
export function cipherKey(state: CipherState): Uint8Array {
  return state.material.expose().subarray(0, state.suite.encKeyLength);
}

/** The 4-octet implicit nonce salt of a cipher state (a view: do not keep it). */
export function cipherIv(state: CipherState): Uint8Array {
  return state.material.expose().subarray(state.suite.encKeyLength);
}

/** Which end of the connection we are. */
export type Role = 'client' | 'server';

/** Builds a CipherState, checking the key and salt lengths against the suite. */
export function createCipherState(
  suite: CipherSuite,
  key: Uint8Array | SecretBytes,
  iv: Uint8Array | SecretBytes,
): CipherState {
  const k = key instanceof SecretBytes ? key.expose() : key;
  const s = iv instanceof SecretBytes ? iv.expose() : iv;
  if (k.length !== suite.encKeyLength) throw new RangeError(`${suite.name} key must be ${suite.encKeyLength} octets`);
  if (s.length !== suite.fixedIvLength) throw new RangeError(`${suite.name} IV must be ${suite.fixedIvLength} octets`);
  const material = new Uint8Array(k.length + s.length);
  material.set(k, 0);
  material.set(s, k.length);
  const secret = new SecretBytes(material);
  material.fill(0);
  return { suite, material: secret };
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
