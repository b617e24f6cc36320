/**
 * AES-CCM (RFC 3610, NIST SP 800-38C) with AES-128: M = 8 (TLS_PSK_WITH_AES_128_CCM_8) or 16
 * (TLS_PSK_WITH_AES_128_CCM), and any nonce length 7..13 (L = 15 - nonce length). The tag is checked
 * before any plaintext is returned (STYLE.md: tags verified before plaintext is used).
 */
import * as nodeCrypto from 'node:crypto';

function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function check(key: Uint8Array, nonce: Uint8Array, tagLength: number): void {
  if (key.length !== 16) throw new RangeError(`AES-128-CCM key must be 16 octets, got ${key.length}`);
  if (nonce.length < 7 || nonce.length > 13) throw new RangeError(`CCM nonce must be 7..13 octets, got ${nonce.length}`);
  if (![4, 6, 8, 10, 12, 14, 16].includes(tagLength)) throw new RangeError(`CCM tag length ${tagLength} not allowed`);
}

/** Encrypts `plaintext` and returns ciphertext ‖ tag. */
export function ccmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  tagLength: number,
): Uint8Array {
  check(key, nonce, tagLength);
  const c = nodeCrypto.createCipheriv('aes-128-ccm', buf(key), buf(nonce), { authTagLength: tagLength });
  c.setAAD(buf(aad), { plaintextLength: plaintext.length });
  // Node/OpenSSL 3 loses the tag when update() gets a zero-length view of a zero-length buffer.
  const ct = c.update(plaintext.length > 0 ? buf(plaintext) : Buffer.alloc(0));
  c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(ct.length + tag.length);
  out.set(ct, 0);
  out.set(tag, ct.length);
  return out;
}

/** Verifies and decrypts ciphertext ‖ tag; returns undefined when the tag does not verify. */
export function ccmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
  tagLength: number,
): Uint8Array | undefined {
  check(key, nonce, tagLength);
  if (sealed.length < tagLength) return undefined;
  const ctLen = sealed.length - tagLength;
  const d = nodeCrypto.createDecipheriv('aes-128-ccm', buf(key), buf(nonce), { authTagLength: tagLength });
  d.setAuthTag(buf(sealed.subarray(ctLen)));
  d.setAAD(buf(aad), { plaintextLength: ctLen });
  // Node's CCM verifies the tag inside update() and returns nothing usable on failure; final() throws.
  // update() must always run (with a view into `sealed`): without it final() accepts any tag.
  const pt = d.update(buf(sealed.subarray(0, ctLen)));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return new Uint8Array(pt);
}
