/**
 * AES-CCM (RFC 3610, NIST SP 800-38C) with AES-128: M = 8 (TLS_PSK_WITH_AES_128_CCM_8) or 16
 * (TLS_PSK_WITH_AES_128_CCM), and any nonce length 7..13 (L = 15 - nonce length). The tag is checked
 * before any plaintext is returned (STYLE.md: tags verified before plaintext is used).
 */
import * as nodeCrypto from 'node:crypto';

function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 16) throw new RangeError(`AES-128-CCM key must be 16 octets, got ${key.length}`);
}

/** Encrypts `plaintext` and returns ciphertext ‖ tag. */
export function ccmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  tagLength: number,
): Uint8Array {
  checkKey(key);
  checkMessage(nonce, plaintext.length, aad.length, tagLength);
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
  checkKey(key);
  checkMessage(nonce, Math.max(0, sealed.length - tagLength), aad.length, tagLength);
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

/**
 * AES-128-CCM under one key, for many messages (the DTLS record layer). Node has no CCM object that
 * can be re-nonced, and creating one per record costs more than the record; this keeps two AES
 * contexts for the key instead and runs CCM's two passes (RFC 3610 §2.2 CBC-MAC, §2.3 CTR) with one
 * call each:
 *   - CTR: the counter blocks A_0..A_n are encrypted in one AES-ECB call (ECB keeps no state);
 *   - CBC-MAC: one long-lived AES-CBC context with a zero IV. CBC chains across calls, so the last
 *     ciphertext block of the previous message is XORed into B_0 of the next, which cancels the chaining
 *     (E(C ⊕ (B_0 ⊕ C)) = E(B_0)): every MAC starts from a zero IV as RFC 3610 requires.
 * Same nonce, tag and length rules as ccmEncrypt/ccmDecrypt; the tag is checked in constant time
 * before any plaintext is returned. Not safe for concurrent use (JavaScript is not concurrent).
 */
export class Ccm128 {
  private readonly ecb: nodeCrypto.Cipher;
  private readonly cbc: nodeCrypto.Cipher;
  /** The last CBC output block: the chaining value the next MAC must cancel. */
  private chain: Buffer = Buffer.alloc(16);

  constructor(key: Uint8Array) {
    checkKey(key);
    this.ecb = nodeCrypto.createCipheriv('aes-128-ecb', buf(key), null);
    this.ecb.setAutoPadding(false);
    this.cbc = nodeCrypto.createCipheriv('aes-128-cbc', buf(key), Buffer.alloc(16));
    this.cbc.setAutoPadding(false);
  }

  /**
   * Frees both native AES contexts now rather than at the next garbage collection, which may be long
   * after thousands of them were dropped (the heap does not see their size). Any use afterwards throws.
   */
  dispose(): void {
    for (const c of [this.ecb, this.cbc]) {
      try {
        c.final();
      } catch {
        // already finalised
      }
    }
  }

  /** Encrypts `plaintext` and returns ciphertext ‖ tag. */
  encrypt(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, tagLength: number): Uint8Array {
    checkMessage(nonce, plaintext.length, aad.length, tagLength);
    const s = this.keystream(nonce, plaintext.length);
    const t = this.mac(nonce, plaintext, aad, tagLength);
    const out = new Uint8Array(plaintext.length + tagLength);
    for (let i = 0; i < plaintext.length; i++) out[i] = (plaintext[i] as number) ^ (s[16 + i] as number);
    for (let i = 0; i < tagLength; i++) out[plaintext.length + i] = (t[i] as number) ^ (s[i] as number);
    return out;
  }

  /** Verifies and decrypts ciphertext ‖ tag; undefined when the tag does not verify. */
  decrypt(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, tagLength: number): Uint8Array | undefined {
    if (sealed.length < tagLength) return undefined;
    const n = sealed.length - tagLength;
    checkMessage(nonce, n, aad.length, tagLength);
    const s = this.keystream(nonce, n);
    const plaintext = new Uint8Array(n);
    for (let i = 0; i < n; i++) plaintext[i] = (sealed[i] as number) ^ (s[16 + i] as number);
    const t = this.mac(nonce, plaintext, aad, tagLength);
    const expected = Buffer.allocUnsafe(tagLength);
    for (let i = 0; i < tagLength; i++) expected[i] = (t[i] as number) ^ (s[i] as number);
    if (!nodeCrypto.timingSafeEqual(expected, buf(sealed.subarray(n)))) {
      plaintext.fill(0);
      return undefined;
    }
    return plaintext;
  }

  /** S_0 ‖ S_1 ‖ … ‖ S_m = E(A_0) ‖ E(A_1) ‖ … (RFC 3610 §2.3), for a message of `length` octets. */
  private keystream(nonce: Uint8Array, length: number): Buffer {
    const q = 15 - nonce.length;
    const blocks = 1 + Math.ceil(length / 16);
    const a = Buffer.alloc(blocks * 16);
    for (let b = 0; b < blocks; b++) {
      const o = b * 16;
      a[o] = q - 1;
      a.set(nonce, o + 1);
      for (let i = 15, v = b; v > 0; i--, v >>>= 8) a[o + i] = v & 0xff;
    }
    return this.ecb.update(a);
  }

  /** The unencrypted tag T (its first `tagLength` octets matter), RFC 3610 §2.2. */
  private mac(nonce: Uint8Array, message: Uint8Array, aad: Uint8Array, tagLength: number): Buffer {
    const q = 15 - nonce.length;
    const aadHeader = aad.length === 0 ? 0 : aad.length < 0xff00 ? 2 : 6;
    const aadBlocks = Math.ceil((aadHeader + aad.length) / 16);
    const b = Buffer.alloc((1 + aadBlocks + Math.ceil(message.length / 16)) * 16);
    b[0] = (aad.length > 0 ? 0x40 : 0) | (((tagLength - 2) / 2) << 3) | (q - 1);
    b.set(nonce, 1);
    for (let i = 15, v = message.length; v > 0; i--, v = Math.floor(v / 256)) b[i] = v % 256;
    if (aadHeader === 2) {
      b.writeUInt16BE(aad.length, 16);
    } else if (aadHeader === 6) {
      b.writeUInt16BE(0xfffe, 16);
      b.writeUInt32BE(aad.length, 18);
    }
    b.set(aad, 16 + aadHeader);
    b.set(message, 16 * (1 + aadBlocks));
    const chain = this.chain;
    for (let i = 0; i < 16; i++) b[i] = (b[i] as number) ^ (chain[i] as number);
    const x = this.cbc.update(b);
    this.chain = x.subarray(x.length - 16);
    return this.chain;
  }
}

function checkMessage(nonce: Uint8Array, length: number, aadLength: number, tagLength: number): void {
  if (nonce.length < 7 || nonce.length > 13) throw new RangeError(`CCM nonce must be 7..13 octets, got ${nonce.length}`);
  if (![4, 6, 8, 10, 12, 14, 16].includes(tagLength)) throw new RangeError(`CCM tag length ${tagLength} not allowed`);
  const q = 15 - nonce.length;
  if (q < 6 && length >= 2 ** (8 * q)) throw new RangeError(`CCM message of ${length} octets too long for a ${nonce.length}-octet nonce`);
  if (aadLength > 0xffff_ffff) throw new RangeError('CCM additional data too long');
}
