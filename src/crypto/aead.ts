/**
 * AES-256-GCM sealing of keys at rest (DESIGN.md §8): sealed = nonce(12) ‖ ciphertext ‖ tag(16), with
 * a random nonce per seal and the record's identity as additional data, so a sealed key moved to
 * another row does not open.
 */
import * as nodeCrypto from 'node:crypto';

const NONCE = 12;
const TAG = 16;

function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Seals `plaintext` under a 32-octet key-encryption key. */
export function gcmSeal(kek: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (kek.length !== 32) throw new RangeError(`AES-256-GCM key must be 32 octets, got ${kek.length}`);
  const nonce = nodeCrypto.randomBytes(NONCE);
  const c = nodeCrypto.createCipheriv('aes-256-gcm', buf(kek), nonce, { authTagLength: TAG });
  c.setAAD(buf(aad));
  const ct = Buffer.concat([c.update(buf(plaintext)), c.final()]);
  return new Uint8Array(Buffer.concat([nonce, ct, c.getAuthTag()]));
}

/** Opens a sealed value; undefined if it was altered, moved, or sealed under another key. */
export function gcmOpen(kek: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (kek.length !== 32) throw new RangeError(`AES-256-GCM key must be 32 octets, got ${kek.length}`);
  if (sealed.length < NONCE + TAG) return undefined;
  const d = nodeCrypto.createDecipheriv('aes-256-gcm', buf(kek), buf(sealed.subarray(0, NONCE)), { authTagLength: TAG });
  d.setAAD(buf(aad));
  d.setAuthTag(buf(sealed.subarray(sealed.length - TAG)));
  try {
    return new Uint8Array(Buffer.concat([d.update(buf(sealed.subarray(NONCE, sealed.length - TAG))), d.final()]));
  } catch {
    return undefined;
  }
}
