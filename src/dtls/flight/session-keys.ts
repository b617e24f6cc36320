/**
 * The key schedule step both roles run once the PSK is known: premaster (RFC 4279 §2), master secret
 * (RFC 7627 §4 when extended_master_secret was negotiated, else RFC 5246 §8.1), key block (RFC 5246
 * §6.3), and the read/write cipher states of epoch 1.
 */
import { sha256 } from '../../crypto/primitives.js';
import { concat } from '../../util/bytes.js';
import type { SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import { keyBlock } from '../keys/key-block.js';
import { extendedMasterSecret, masterSecret } from '../keys/master-secret.js';
import { pskPremaster } from '../keys/premaster.js';
import { type CipherState, cipherStatesFromKeyBlock, type Role } from '../record/cipher-state.js';

export interface SessionKeyInput {
  readonly psk: Uint8Array | SecretBytes;
  readonly suite: CipherSuite;
  readonly clientRandom: Uint8Array;
  readonly serverRandom: Uint8Array;
  readonly extendedMasterSecret: boolean;
  /** The transcript through ClientKeyExchange (the session_hash input of RFC 7627). */
  readonly transcript: readonly Uint8Array[];
  readonly role: Role;
}

export interface SessionKeys {
  readonly master: SecretBytes;
  readonly read: CipherState;
  readonly write: CipherState;
}

/** Derives the master secret and the epoch-1 cipher states. */
export function deriveSessionKeys(i: SessionKeyInput): SessionKeys {
  const premaster = pskPremaster(i.psk);
  const master = i.extendedMasterSecret
    ? extendedMasterSecret(premaster, sha256(concat(...i.transcript)))
    : masterSecret(premaster, i.clientRandom, i.serverRandom);
  premaster.wipe();
  const { read, write } = cipherStatesFromKeyBlock(keyBlock(master, i.serverRandom, i.clientRandom, i.suite), i.role);
  return { master, read, write };
}

/** Hash of the transcript so far, the input of verify_data (RFC 5246 §7.4.9). */
export function transcriptHash(transcript: readonly Uint8Array[]): Uint8Array {
  return sha256(concat(...transcript));
}
