import { describe, expect, it } from 'vitest';
import { ccmEncrypt } from '../../../src/crypto/ccm.js';
import { TLS_PSK_WITH_AES_128_CCM, TLS_PSK_WITH_AES_128_CCM_8 } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { cipherIv, cipherKey, cipherStatesFromKeyBlock, createCipherState } from '../../../src/dtls/record/cipher-state.js';
import {
  MAX_PLAINTEXT_LENGTH,
  protectRecord,
  recordOverhead,
  unprotectRecord,
} from '../../../src/dtls/record/protection.js';
import { keyBlock } from '../../../src/dtls/keys/key-block.js';
import { fromHex, toHex, utf8 } from '../../../src/util/bytes.js';

const KEY = fromHex('000102030405060708090a0b0c0d0e0f', 'key');
const IV = fromHex('a0a1a2a3', 'iv');
const ccm8 = createCipherState(TLS_PSK_WITH_AES_128_CCM_8, KEY, IV);
const ccm16 = createCipherState(TLS_PSK_WITH_AES_128_CCM, KEY, IV);
const APP = 23; // application_data (RFC 5246 §6.2.1)
const PT = utf8('GET /sensors/temp CoAP payload');
const EPOCH = 1;
const SEQ = 0x0102_0304_0506;

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  out[at] = (out[at] as number) ^ 0x80;
  return out;
}

describe('protectRecord', () => {
  it.each([
    [PT, '001e'],
    [new Uint8Array(300).fill(0x42), '012c'],
  ])('lays out explicit_nonce(epoch ‖ seq) ‖ ciphertext ‖ tag with the RFC nonce and AAD (%#)', (pt, lengthHex) => {
    const f = protectRecord(ccm8, APP, EPOCH, SEQ, pt);
    expect(toHex(f.subarray(0, 8))).toBe('0001010203040506');
    // Built by hand from RFC 6655 §3 and RFC 5246 §6.2.3.3: nonce a0a1a2a3 ‖ 0001 ‖ 010203040506,
    // AAD 0001 ‖ 010203040506 ‖ 17 ‖ fefd ‖ length.
    const nonce = fromHex('a0a1a2a3' + '0001' + '010203040506', 'n');
    const aad = fromHex('0001' + '010203040506' + '17' + 'fefd' + lengthHex, 'aad');
    expect(toHex(f.subarray(8))).toBe(toHex(ccmEncrypt(KEY, nonce, pt, aad, 8)));
  });

  it('is deterministic in (key, epoch, seq) and never repeats a nonce across seq or epoch', () => {
    const a = protectRecord(ccm8, APP, EPOCH, 7, PT);
    expect(toHex(protectRecord(ccm8, APP, EPOCH, 7, PT))).toBe(toHex(a));
    expect(toHex(protectRecord(ccm8, APP, EPOCH, 8, PT).subarray(8))).not.toBe(toHex(a.subarray(8)));
    expect(toHex(protectRecord(ccm8, APP, 2, 7, PT).subarray(8))).not.toBe(toHex(a.subarray(8)));
  });

  it('adds 16 octets with CCM_8 and 24 with CCM', () => {
    expect(recordOverhead(TLS_PSK_WITH_AES_128_CCM_8)).toBe(16);
    expect(recordOverhead(TLS_PSK_WITH_AES_128_CCM)).toBe(24);
    expect(protectRecord(ccm8, APP, 1, 0, PT).length).toBe(PT.length + 16);
    expect(protectRecord(ccm16, APP, 1, 0, PT).length).toBe(PT.length + 24);
  });

  it('encodes the largest epoch and sequence number', () => {
    const f = protectRecord(ccm8, APP, 0xffff, 2 ** 48 - 1, PT);
    expect(toHex(f.subarray(0, 8))).toBe('ffffffffffffffff');
    expect(unprotectRecord(ccm8, APP, 0xffff, 2 ** 48 - 1, f)).toEqual(PT);
  });

  it('protects empty and maximum-size plaintexts', () => {
    const empty = protectRecord(ccm8, APP, 1, 0, new Uint8Array(0));
    expect(unprotectRecord(ccm8, APP, 1, 0, empty)).toEqual(new Uint8Array(0));
    const big = new Uint8Array(MAX_PLAINTEXT_LENGTH).fill(0x33);
    expect(unprotectRecord(ccm8, APP, 1, 9, protectRecord(ccm8, APP, 1, 9, big))).toEqual(big);
  });

  it('authenticates empty records: any bit flip in nonce or tag is rejected', () => {
    // Node's CCM accepts any tag when decrypt() is given no ciphertext buffer; the fragment must
    // still be checked when the plaintext is empty.
    for (const state of [ccm8, ccm16]) {
      const f = protectRecord(state, APP, 1, 3, new Uint8Array(0));
      expect(f.length).toBe(8 + state.suite.tagLength);
      for (let i = 0; i < f.length; i++) {
        expect(unprotectRecord(state, APP, 1, 3, flip(f, i)), `octet ${i}`).toBeUndefined();
      }
      expect(unprotectRecord(state, APP, 1, 4, f)).toBeUndefined();
      const copy = new Uint8Array(f); // a fresh buffer of exactly the fragment
      expect(unprotectRecord(state, APP, 1, 3, copy)).toEqual(new Uint8Array(0));
    }
  });

  it('refuses oversize plaintexts and out-of-range header fields', () => {
    expect(() => protectRecord(ccm8, APP, 1, 0, new Uint8Array(MAX_PLAINTEXT_LENGTH + 1))).toThrow(RangeError);
    expect(() => protectRecord(ccm8, 256, 1, 0, PT)).toThrow(RangeError);
    expect(() => protectRecord(ccm8, APP, 0x10000, 0, PT)).toThrow(RangeError);
    expect(() => protectRecord(ccm8, APP, 1, 2 ** 48, PT)).toThrow(RangeError);
    expect(() => protectRecord(ccm8, APP, 1, -1, PT)).toThrow(RangeError);
    expect(() => protectRecord(ccm8, APP, 1, 1.5, PT)).toThrow(RangeError);
  });
});

describe.each([
  ['CCM_8', ccm8, 8],
  ['CCM', ccm16, 16],
] as const)('unprotectRecord with %s', (_name, state, tag) => {
  const f = protectRecord(state, APP, EPOCH, SEQ, PT);

  it('opens what protectRecord sealed', () => {
    expect(unprotectRecord(state, APP, EPOCH, SEQ, f)).toEqual(PT);
  });

  it('rejects a different content type, epoch or sequence number (all in the AAD)', () => {
    expect(unprotectRecord(state, 22, EPOCH, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(state, APP ^ 0x01, EPOCH, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH ^ 0x01, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH ^ 0x8000, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH, SEQ + 1, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH, SEQ + 2 ** 47, f)).toBeUndefined();
  });

  it('rejects a different record length (the AAD length field): one octet more or less', () => {
    expect(unprotectRecord(state, APP, EPOCH, SEQ, new Uint8Array([...f, 0]))).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH, SEQ, f.subarray(0, f.length - 1))).toBeUndefined();
  });

  it.each(Array.from({ length: 8 }, (_, i) => i))('rejects a bit flip in explicit nonce octet %i', (i) => {
    expect(unprotectRecord(state, APP, EPOCH, SEQ, flip(f, i))).toBeUndefined();
  });

  it('rejects a bit flip in every ciphertext and tag octet', () => {
    for (let i = 8; i < f.length; i++) {
      expect(unprotectRecord(state, APP, EPOCH, SEQ, flip(f, i)), `octet ${i}`).toBeUndefined();
    }
    expect(f.length - 8 - PT.length).toBe(tag);
  });

  it('returns undefined for every truncation', () => {
    for (let n = 0; n < f.length; n++) {
      expect(unprotectRecord(state, APP, EPOCH, SEQ, f.subarray(0, n)), `length ${n}`).toBeUndefined();
    }
  });

  it('returns undefined, never throws, for oversize fragments and out-of-range header values', () => {
    expect(unprotectRecord(state, APP, EPOCH, SEQ, new Uint8Array(MAX_PLAINTEXT_LENGTH + 8 + tag + 1))).toBeUndefined();
    expect(unprotectRecord(state, 256, EPOCH, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, -1, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH, 2 ** 48, f)).toBeUndefined();
    expect(unprotectRecord(state, APP, EPOCH, Number.NaN, f)).toBeUndefined();
  });

  it('rejects a record under another key or salt', () => {
    const otherKey = createCipherState(state.suite, flip(KEY, 0), IV);
    const otherSalt = createCipherState(state.suite, KEY, flip(IV, 3));
    expect(unprotectRecord(otherKey, APP, EPOCH, SEQ, f)).toBeUndefined();
    expect(unprotectRecord(otherSalt, APP, EPOCH, SEQ, f)).toBeUndefined();
  });

  it('does not alias the input fragment', () => {
    const copy = f.slice();
    const pt = unprotectRecord(state, APP, EPOCH, SEQ, copy);
    copy.fill(0);
    expect(pt).toEqual(PT);
  });
});

it('CCM_8 and CCM records do not open under each other', () => {
  expect(unprotectRecord(ccm16, APP, 1, 0, protectRecord(ccm8, APP, 1, 0, PT))).toBeUndefined();
  expect(unprotectRecord(ccm8, APP, 1, 0, protectRecord(ccm16, APP, 1, 0, PT))).toBeUndefined();
});

describe('cipher states', () => {
  const kb = keyBlock(new Uint8Array(48).fill(9), new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), TLS_PSK_WITH_AES_128_CCM_8);
  const client = cipherStatesFromKeyBlock(kb, 'client');
  const server = cipherStatesFromKeyBlock(kb, 'server');

  it('a client writes with client_write_* and reads with server_write_*, a server the other way round', () => {
    expect(cipherKey(client.write)).toEqual(kb.clientWriteKey.expose());
    expect(cipherIv(client.write)).toEqual(kb.clientWriteIv.expose());
    expect(cipherKey(client.read)).toEqual(kb.serverWriteKey.expose());
    expect(cipherIv(client.read)).toEqual(kb.serverWriteIv.expose());
    expect(cipherKey(server.write)).toEqual(kb.serverWriteKey.expose());
    expect(cipherKey(server.read)).toEqual(kb.clientWriteKey.expose());
    expect(client.write.suite).toBe(TLS_PSK_WITH_AES_128_CCM_8);
  });

  it('what one side writes the other reads, and not its own read state', () => {
    const f = protectRecord(client.write, APP, 1, 0, PT);
    expect(unprotectRecord(server.read, APP, 1, 0, f)).toEqual(PT);
    expect(unprotectRecord(client.read, APP, 1, 0, f)).toBeUndefined();
    const g = protectRecord(server.write, APP, 1, 0, PT);
    expect(unprotectRecord(client.read, APP, 1, 0, g)).toEqual(PT);
  });

  it('createCipherState checks lengths and never prints keys', () => {
    expect(() => createCipherState(TLS_PSK_WITH_AES_128_CCM_8, new Uint8Array(15), IV)).toThrow(RangeError);
    expect(() => createCipherState(TLS_PSK_WITH_AES_128_CCM_8, KEY, new Uint8Array(8))).toThrow(RangeError);
    expect(JSON.stringify(ccm8)).not.toContain('0001020304');
    expect(JSON.stringify(ccm8)).toContain('<secret:20 bytes>');
  });
});
