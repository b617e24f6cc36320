/**
 * The key schedule step both roles run once the PSK is known: premaster (RFC 4279 §2), master secret
 * (RFC 7627 §4 when extended_master_secret was negotiated, else RFC 5246 §8.1), key block (RFC 5246
 * §6.3), and the read/write cipher states of epoch 1.
 */
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
  /** SHA-256 of the transcript through ClientKeyExchange (session_hash, RFC 7627 §3); used with EMS only. */
  readonly sessionHash: Uint8Array;
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
    ? extendedMasterSecret(premaster, i.sessionHash)
    : masterSecret(premaster, i.clientRandom, i.serverRandom);
  premaster.wipe();
  const { read, write } = cipherStatesFromKeyBlock(keyBlock(master, i.serverRandom, i.clientRandom, i.suite), i.role);
  return { master, read, write };
}

