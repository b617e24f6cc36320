/**
 * Keys at rest (DESIGN.md §8): e2m_int_key sealed with AES-256-GCM under the key-encryption key,
 * with "imsi|kid" as additional data, so a sealed key copied to another subscriber's or another
 * kid's row does not open.
 */
import { gcmOpen, gcmSeal } from '../crypto/aead.js';
import { utf8 } from '../util/bytes.js';
import { ConfigError } from '../util/errors.js';
import { exposeSecret, type SecretBytes } from '../util/secret.js';

/** AES-256: the key-encryption key is 32 octets. */
export const KEK_LENGTH = 32;

/** Checks and returns the raw KEK; `option` names the source in the error. */
export function checkKek(kek: Uint8Array | SecretBytes, option = 'kek'): Uint8Array {
  const raw = exposeSecret(kek);
  if (raw.length !== KEK_LENGTH) throw new ConfigError(option, `the key-encryption key must be ${KEK_LENGTH} octets, got ${raw.length}`);
  return raw;
}

const aad = (imsi: string, kid: string): Uint8Array => utf8(`${imsi}|${kid}`);

/** Seals an intermediate key for the row (imsi, kid). */
export function sealIntKey(kek: Uint8Array | SecretBytes, imsi: string, kid: string, key: Uint8Array): Uint8Array {
  return gcmSeal(checkKek(kek), key, aad(imsi, kid));
}

/** Opens the sealed key of row (imsi, kid); undefined if it was altered, moved, or sealed under another KEK. */
export function openIntKey(kek: Uint8Array | SecretBytes, imsi: string, kid: string, sealed: Uint8Array): Uint8Array | undefined {
  return gcmOpen(checkKek(kek), sealed, aad(imsi, kid));
}
