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

/** Records whose keystream one AES-ECB call computes ahead, once nonces come in sequence. */
const BATCH_RECORDS = 16;
/** Blocks per record in a batch: S_0 and three more, for messages up to 48 octets (a CoAP GET and its answer). */
const BATCH_BLOCKS = 4;
/** The trailing nonce octets read as a counter (the DTLS nonce's 48-bit sequence number, RFC 6655 §3). */
const COUNTER_OCTETS = 6;
const MAX_COUNTER = 0xffff_ffff_ffff;

/**
 * Input blocks of the AES calls of every Ccm128: AES copies them out at once and nothing keeps them,
 * so one buffer, grown when a message needs more, serves every context without an allocation per call.
 */
let scratch = Buffer.alloc(BATCH_RECORDS * BATCH_BLOCKS * 16);

function scratchOf(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.alloc(Math.max(size, 2 * scratch.length));
  return scratch;
}

/** The last COUNTER_OCTETS octets of a nonce as a number. */
function counterOf(nonce: Uint8Array): number {
  let v = 0;
  for (let i = nonce.length - COUNTER_OCTETS; i < nonce.length; i++) v = v * 256 + (nonce[i] as number);
  return v;
}

/** Whether two nonces of the same length agree on every octet before the counter. */
function samePrefix(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = a.length - COUNTER_OCTETS - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
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
 * Record nonces come in sequence (the last six octets count up, RFC 6655 §3). Once a nonce follows the
 * one before it, the keystream of the next BATCH_RECORDS nonces is computed in the same ECB call, for
 * messages of up to 48 octets, and later messages take theirs from it: half the AES calls of a busy
 * session. A keystream depends on the key and nonce alone, so a cached one is the one that would be
 * computed; it is as secret as the key and is zeroed when replaced or disposed of. Nonces out of
 * sequence (a forged record's, say) are served one at a time and leave the batch alone.
 * Same nonce, tag and length rules as ccmEncrypt/ccmDecrypt; the tag is checked in constant time
 * before any plaintext is returned. Not safe for concurrent use (JavaScript is not concurrent).
 */
export class Ccm128 {
  private readonly ecb: nodeCrypto.Cipher;
  private readonly cbc: nodeCrypto.Cipher;
  /** The last CBC output block: the chaining value the next MAC must cancel. */
  private chain: Buffer = Buffer.alloc(16);
  /** Keystream of BATCH_RECORDS nonces from `batchNonce` on, BATCH_BLOCKS blocks each. */
  private batch: Buffer | undefined = undefined;
  private batchNonce: Uint8Array = new Uint8Array(0);
  private batchCounter = -1;
  /** The last nonce asked for, and its counter (how a sequence is recognised). */
  private lastNonce: Uint8Array = new Uint8Array(0);
  private lastCounter = -1;
  /** Where S_0 of the last keystream() answer starts in the buffer it returned. */
  private at = 0;

  constructor(key: Uint8Array) {
    checkKey(key);
    this.ecb = nodeCrypto.createCipheriv('aes-128-ecb', buf(key), null);
    this.ecb.setAutoPadding(false);
    this.cbc = nodeCrypto.createCipheriv('aes-128-cbc', buf(key), Buffer.alloc(16));
    this.cbc.setAutoPadding(false);
  }

  /**
   * Frees both native AES contexts now rather than at the next garbage collection, which may be long
   * after thousands of them were dropped (the heap does not see their size), and zeroes the keystream
   * computed ahead. Any use afterwards throws.
   */
  dispose(): void {
    this.batch?.fill(0);
    this.batch = undefined;
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
    const out = new Uint8Array(plaintext.length + tagLength);
    this.encryptInto(out, 0, nonce, plaintext, aad, tagLength);
    return out;
  }

  /** Encrypts `plaintext` and writes ciphertext ‖ tag into `out` from `offset` on. */
  encryptInto(out: Uint8Array, offset: number, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, tagLength: number): void {
    checkMessage(nonce, plaintext.length, aad.length, tagLength);
    if (offset < 0 || out.length - offset < plaintext.length + tagLength) throw new RangeError('CCM output does not fit');
    const t = this.mac(nonce, plaintext, aad, tagLength);
    const s = this.keystream(nonce, plaintext.length);
    const at = this.at;
    const n = plaintext.length;
    for (let i = 0; i < n; i++) out[offset + i] = (plaintext[i] as number) ^ (s[at + 16 + i] as number);
    for (let i = 0; i < tagLength; i++) out[offset + n + i] = (t[i] as number) ^ (s[at + i] as number);
  }

  /** Verifies and decrypts ciphertext ‖ tag; undefined when the tag does not verify. */
  decrypt(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, tagLength: number): Uint8Array | undefined {
    if (sealed.length < tagLength) return undefined;
    const n = sealed.length - tagLength;
    checkMessage(nonce, n, aad.length, tagLength);
    const s = this.keystream(nonce, n);
    const at = this.at;
    // On an ArrayBuffer of its own from the start: a small Uint8Array lives in the JavaScript heap
    // until something takes its `.buffer` (node-coap's parser views it as a Buffer), and is then copied
    // out. Not from Node's buffer pool: a caller may keep the message, which would pin a whole pool.
    const plaintext = new Uint8Array(new ArrayBuffer(n));
    for (let i = 0; i < n; i++) plaintext[i] = (sealed[i] as number) ^ (s[at + 16 + i] as number);
    const t = this.mac(nonce, plaintext, aad, tagLength);
    const expected = Buffer.allocUnsafe(tagLength);
    for (let i = 0; i < tagLength; i++) expected[i] = (t[i] as number) ^ (s[at + i] as number);
    if (!nodeCrypto.timingSafeEqual(expected, buf(sealed.subarray(n)))) {
      plaintext.fill(0);
      return undefined;
    }
    return plaintext;
  }

  /**
   * S_0 ‖ S_1 ‖ … ‖ S_m = E(A_0) ‖ E(A_1) ‖ … (RFC 3610 §2.3) for a message of `length` octets: from
   * the batch when it holds this nonce, else computed (with the batch after it when the nonce follows
   * the last one). Returns the buffer holding it; S_0 starts at `this.at`.
   */
  private keystream(nonce: Uint8Array, length: number): Buffer {
    const blocks = 1 + Math.ceil(length / 16);
    const counter = nonce.length > COUNTER_OCTETS ? counterOf(nonce) : -1;
    const follows = counter === this.lastCounter + 1 && samePrefix(nonce, this.lastNonce);
    if (this.lastNonce.length !== nonce.length) this.lastNonce = new Uint8Array(nonce.length);
    this.lastNonce.set(nonce);
    this.lastCounter = counter;
    if (blocks <= BATCH_BLOCKS && counter >= 0) {
      const i = counter - this.batchCounter;
      if (this.batch !== undefined && i >= 0 && i < BATCH_RECORDS && samePrefix(nonce, this.batchNonce)) {
        this.at = i * BATCH_BLOCKS * 16;
        return this.batch;
      }
      if (follows && counter + BATCH_RECORDS - 1 <= MAX_COUNTER) {
        this.batch?.fill(0);
        this.batch = this.counterBlocks(nonce, counter, BATCH_RECORDS, BATCH_BLOCKS);
        if (this.batchNonce.length !== nonce.length) this.batchNonce = new Uint8Array(nonce.length);
        this.batchNonce.set(nonce);
        this.batchCounter = counter;
        this.at = 0;
        return this.batch;
      }
    }
    this.at = 0;
    return this.counterBlocks(nonce, counter, 1, blocks);
  }

  /** E(A_0..A_{blocks-1}) for `records` nonces: `nonce`, then its counter + 1, + 2, … */
  private counterBlocks(nonce: Uint8Array, counter: number, records: number, blocks: number): Buffer {
    const q = 15 - nonce.length;
    const a = scratchOf(records * blocks * 16);
    let o = 0;
    for (let r = 0; r < records; r++) {
      for (let b = 0; b < blocks; b++, o += 16) {
        a[o] = q - 1;
        a.set(nonce, o + 1);
        if (r > 0) {
          for (let i = o + nonce.length, v = counter + r; i > o + nonce.length - COUNTER_OCTETS; i--, v = Math.floor(v / 256)) a[i] = v % 256;
        }
        for (let i = o + 1 + nonce.length; i < o + 16; i++) a[i] = 0;
        for (let i = o + 15, v = b; v > 0; i--, v >>>= 8) a[i] = v & 0xff;
      }
    }
    return this.ecb.update(a.subarray(0, o));
  }

  /** The unencrypted tag T (its first `tagLength` octets matter), RFC 3610 §2.2. */
  private mac(nonce: Uint8Array, message: Uint8Array, aad: Uint8Array, tagLength: number): Buffer {
    const q = 15 - nonce.length;
    const aadHeader = aad.length === 0 ? 0 : aad.length < 0xff00 ? 2 : 6;
    const aadBlocks = Math.ceil((aadHeader + aad.length) / 16);
    const size = (1 + aadBlocks + Math.ceil(message.length / 16)) * 16;
    const b = scratchOf(size).subarray(0, size);
    b.fill(0);
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
