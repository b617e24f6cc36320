/**
 * certs-free-test-vectors/ccm8.json: every entry through ccmEncrypt/ccmDecrypt (OpenSSL's CCM) and the
 * keyed Ccm128 (CCM built from AES-ECB and AES-CBC contexts), and the entries with
 * the TLS CCM_8 shape (12-octet nonce, 8-octet tag: RFC 6655 §3) through protectRecord/unprotectRecord.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ccm128, ccmDecrypt, ccmEncrypt } from '../../../src/crypto/ccm.js';
import { randomBytes } from '../../../src/crypto/primitives.js';
import { TLS_PSK_WITH_AES_128_CCM_8 } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { createCipherState } from '../../../src/dtls/record/cipher-state.js';
import { ccmContextCount, MAX_CCM_CONTEXTS, protectRecord, releaseCipherState, unprotectRecord } from '../../../src/dtls/record/protection.js';
import { fromHex, toHex } from '../../../src/util/bytes.js';

interface CcmEntry {
  id: string;
  M_tag_octets: number;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  expected_ciphertext_and_tag: string;
  tls_ccm8_shape: boolean;
}

const file = JSON.parse(
  readFileSync(new URL('../../../certs-free-test-vectors/ccm8.json', import.meta.url), 'utf8'),
) as { entries: CcmEntry[] };
const all = file.entries.map((e) => [e.id, e] as const);
const tlsShaped = file.entries.filter((e) => e.tls_ccm8_shape).map((e) => [e.id, e] as const);
const h = (s: string): Uint8Array => fromHex(s, 'vector');

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  out[at] = (out[at] as number) ^ 0x01;
  return out;
}

describe('ccm8.json through ccmEncrypt/ccmDecrypt', () => {
  it('has entries, some of the TLS CCM_8 shape', () => {
    expect(all.length).toBeGreaterThanOrEqual(30);
    expect(tlsShaped.length).toBeGreaterThanOrEqual(2);
  });

  it.each(all)('%s', (_id, e) => {
    const sealed = ccmEncrypt(h(e.key), h(e.nonce), h(e.plaintext), h(e.aad), e.M_tag_octets);
    expect(toHex(sealed)).toBe(e.expected_ciphertext_and_tag);
    const expected = h(e.expected_ciphertext_and_tag);
    const opened = ccmDecrypt(h(e.key), h(e.nonce), expected, h(e.aad), e.M_tag_octets);
    expect(opened && toHex(opened)).toBe(e.plaintext);
    for (const at of [0, expected.length - 1]) {
      expect(ccmDecrypt(h(e.key), h(e.nonce), flip(expected, at), h(e.aad), e.M_tag_octets)).toBeUndefined();
    }
  });
});

describe('ccm8.json through the keyed Ccm128', () => {
  it.each(all)('%s', (_id, e) => {
    const ccm = new Ccm128(h(e.key));
    const expected = h(e.expected_ciphertext_and_tag);
    // Twice each way on one context: every message must start its CBC-MAC from a zero IV.
    for (let round = 0; round < 2; round++) {
      expect(toHex(ccm.encrypt(h(e.nonce), h(e.plaintext), h(e.aad), e.M_tag_octets))).toBe(e.expected_ciphertext_and_tag);
      const opened = ccm.decrypt(h(e.nonce), expected, h(e.aad), e.M_tag_octets);
      expect(opened && toHex(opened)).toBe(e.plaintext);
      for (const at of [0, expected.length - 1]) {
        expect(ccm.decrypt(h(e.nonce), flip(expected, at), h(e.aad), e.M_tag_octets)).toBeUndefined();
      }
    }
  });

  it('agrees with OpenSSL\'s CCM on random messages interleaved on one context (lengths 0..100, AAD 0..40 and 65,300)', () => {
    const key = randomBytes(16);
    const ccm = new Ccm128(key);
    for (let i = 0; i < 300; i++) {
      const nonce = randomBytes(7 + (i % 7));
      const tag = [4, 6, 8, 10, 12, 14, 16][i % 7] as number;
      const pt = randomBytes((i * 37) % 101);
      const aad = randomBytes(i === 299 ? 65_300 : (i * 13) % 41);
      const reference = ccmEncrypt(key, nonce, pt, aad, tag);
      expect(toHex(ccm.encrypt(nonce, pt, aad, tag))).toBe(toHex(reference));
      expect(toHex(ccm.decrypt(nonce, reference, aad, tag) ?? Uint8Array.of(0xff))).toBe(toHex(pt));
    }
  });

  it('agrees with OpenSSL\'s CCM on record nonces in sequence, whose keystream it computes ahead', () => {
    const key = randomBytes(16);
    const sealer = new Ccm128(key);
    const opener = new Ccm128(key);
    const salt = randomBytes(4);
    const recordNonce = (prefix: Uint8Array, counter: number): Uint8Array => {
      const n = new Uint8Array(12);
      n.set(prefix, 0);
      n[4] = 0;
      n[5] = 1;
      for (let i = 11, v = counter; i >= 6; i--, v = Math.floor(v / 256)) n[i] = v % 256;
      return n;
    };
    const check = (ccm: Ccm128, nonce: Uint8Array, length: number): void => {
      const pt = randomBytes(length);
      const aad = randomBytes(13);
      const reference = ccmEncrypt(key, nonce, pt, aad, 8);
      // encryptInto writes at an offset and leaves the octets around it alone.
      const out = new Uint8Array(pt.length + 8 + 5).fill(0xee);
      sealer.encryptInto(out, 3, nonce, pt, aad, 8);
      expect(toHex(out.subarray(3, 3 + pt.length + 8))).toBe(toHex(reference));
      expect(toHex(out.subarray(0, 3)) + toHex(out.subarray(3 + pt.length + 8))).toBe('eeeeeeeeee');
      expect(toHex(ccm.decrypt(nonce, reference, aad, 8) ?? Uint8Array.of(0xff))).toBe(toHex(pt));
    };
    // Sequence numbers 1..60 (several batches), lengths on both sides of the 48 octets a batch covers.
    for (let seq = 1; seq <= 60; seq++) check(opener, recordNonce(salt, seq), (seq * 7) % 64);
    // Nonces out of sequence in between: a forged counter far ahead, and a nonce whose counter lies
    // inside the batch but whose other octets differ: neither may be served from the batch.
    const otherSalt = Uint8Array.from(salt, (b) => b ^ 0x80);
    for (let seq = 61; seq <= 90; seq++) {
      check(opener, recordNonce(salt, seq), seq % 40);
      if (seq % 5 === 0) check(opener, recordNonce(otherSalt, seq + 1), 10);
      if (seq % 7 === 0) check(opener, recordNonce(salt, 1_000_000 + seq), 10);
    }
    // Carries into every octet of the counter within a batch.
    for (const start of [0xff - 8, 0xffff - 8, 2 ** 32 - 8, 2 ** 40 - 8]) {
      for (let seq = start; seq < start + 20; seq++) check(opener, recordNonce(salt, seq), 20);
    }
    // Up to the last sequence number: a batch never runs past it.
    const max = 0xffff_ffff_ffff;
    for (let seq = max - 40; seq <= max; seq++) check(opener, recordNonce(salt, seq), 20);
  });

  it('gives each plaintext an ArrayBuffer of its own, so that a kept message holds no other memory', () => {
    const key = randomBytes(16);
    const ccm = new Ccm128(key);
    for (const length of [1, 20, 64, 100]) {
      const nonce = randomBytes(12);
      const opened = ccm.decrypt(nonce, ccmEncrypt(key, nonce, new Uint8Array(length).fill(7), new Uint8Array(0), 8), new Uint8Array(0), 8);
      expect(opened?.buffer.byteLength).toBe(length);
    }
  });

  it('refuses a bad key, nonce or tag length, and a sealed text shorter than its tag', () => {
    expect(() => new Ccm128(new Uint8Array(32))).toThrow(RangeError);
    const ccm = new Ccm128(new Uint8Array(16));
    expect(() => ccm.encrypt(new Uint8Array(6), new Uint8Array(1), new Uint8Array(0), 8)).toThrow(RangeError);
    expect(() => ccm.encrypt(new Uint8Array(12), new Uint8Array(1), new Uint8Array(0), 7)).toThrow(RangeError);
    expect(ccm.decrypt(new Uint8Array(12), new Uint8Array(7), new Uint8Array(0), 8)).toBeUndefined();
  });

  it('cannot be used once disposed of (its AES contexts are freed), and a second dispose is harmless', () => {
    const ccm = new Ccm128(new Uint8Array(16));
    ccm.encrypt(new Uint8Array(12), new Uint8Array(3), new Uint8Array(13), 8);
    ccm.dispose();
    ccm.dispose();
    expect(() => ccm.encrypt(new Uint8Array(12), new Uint8Array(3), new Uint8Array(13), 8)).toThrow();
  });
});

describe('TLS-shaped ccm8.json entries through protectRecord/unprotectRecord', () => {
  // nonce = salt(4) ‖ epoch(2) ‖ seq(6): the vector's nonce read as a DTLS record nonce.
  it.each(tlsShaped)('%s', (_id, e) => {
    const nonce = h(e.nonce);
    const state = createCipherState(TLS_PSK_WITH_AES_128_CCM_8, h(e.key), nonce.subarray(0, 4));
    const epoch = ((nonce[4] as number) << 8) | (nonce[5] as number);
    const seq = parseInt(e.nonce.slice(12), 16);
    const pt = h(e.plaintext);
    const fragment = protectRecord(state, 23, epoch, seq, pt);
    expect(fragment.length).toBe(8 + pt.length + 8);
    // The explicit nonce is the vector's nonce after the salt.
    expect(toHex(fragment.subarray(0, 8))).toBe(e.nonce.slice(8));
    // CCM encrypts in CTR mode from the nonce alone (RFC 3610 §2.3): the ciphertext matches the
    // vector even though the record's AAD (RFC 5246 §6.2.3.3) differs from the vector's.
    expect(toHex(fragment.subarray(8, 8 + pt.length))).toBe(e.expected_ciphertext_and_tag.slice(0, 2 * pt.length));
    // The tag is over the 13-octet TLS AAD, written out here from RFC 5246 §6.2.3.3 / RFC 6347 §4.1.2.1.
    const aad = h(e.nonce.slice(8) + '17' + 'fefd' + pt.length.toString(16).padStart(4, '0'));
    expect(toHex(ccmDecrypt(h(e.key), nonce, fragment.subarray(8), aad, 8) ?? new Uint8Array(0))).toBe(e.plaintext);
    const opened = unprotectRecord(state, 23, epoch, seq, fragment);
    expect(opened && toHex(opened)).toBe(e.plaintext);
    expect(unprotectRecord(state, 23, epoch, seq, flip(fragment, fragment.length - 1))).toBeUndefined();
  });
});

describe('keyed CCM contexts of cipher states', () => {
  it('are kept for at most MAX_CCM_CONTEXTS cipher states, and released with their connection', () => {
    const states = Array.from({ length: MAX_CCM_CONTEXTS + 76 }, (_, i) =>
      createCipherState(TLS_PSK_WITH_AES_128_CCM_8, Uint8Array.from({ length: 16 }, (_, j) => (i * 7 + j * 13 + (i >> 8)) & 0xff), new Uint8Array(4)),
    );
    // The first record of an epoch (sequence number 0, the Finished) takes no context.
    const before = ccmContextCount(); // the vector tests above left some
    const finished = states.map((s) => protectRecord(s, 22, 1, 0, Uint8Array.of(20, 0, 0, 12)));
    expect(ccmContextCount()).toBe(before);
    const sealed = states.map((s) => protectRecord(s, 23, 1, 1, Uint8Array.of(9, 8, 7)));
    expect(ccmContextCount()).toBe(MAX_CCM_CONTEXTS);
    // Both ways of sealing open either way.
    expect(toHex(unprotectRecord(states[5]!, 22, 1, 0, finished[5]!) ?? new Uint8Array(0))).toBe('1400000c');
    expect(toHex(unprotectRecord(states[MAX_CCM_CONTEXTS + 70]!, 22, 1, 0, finished[MAX_CCM_CONTEXTS + 70]!) ?? new Uint8Array(0))).toBe('1400000c');
    const last = states[states.length - 1]!;
    releaseCipherState(last);
    expect(ccmContextCount()).toBe(MAX_CCM_CONTEXTS - 1);
    // A released state still works; it only sets up its context again.
    const fragment = protectRecord(last, 23, 1, 2, Uint8Array.of(1, 2, 3));
    expect(toHex(unprotectRecord(last, 23, 1, 2, fragment) ?? new Uint8Array(0))).toBe('010203');
    // So does the first one, whose context was disposed of to make room.
    expect(toHex(unprotectRecord(states[0]!, 23, 1, 1, sealed[0]!) ?? new Uint8Array(0))).toBe('090807');
    for (const s of states) releaseCipherState(s);
    expect(ccmContextCount()).toBe(0);
  });

  it('are not set up for an alert (a close_notify) of a state that has none', () => {
    const state = createCipherState(TLS_PSK_WITH_AES_128_CCM_8, Uint8Array.from({ length: 16 }, (_, i) => i * 3), Uint8Array.of(1, 2, 3, 4));
    const before = ccmContextCount();
    const alert = protectRecord(state, 21, 1, 5, Uint8Array.of(1, 0));
    expect(toHex(unprotectRecord(state, 21, 1, 5, alert) ?? new Uint8Array(0))).toBe('0100');
    expect(ccmContextCount()).toBe(before);
    // A data record sets one up; the alert then opens through it, and a record sealed through it opens one-shot.
    const data = protectRecord(state, 23, 1, 6, Uint8Array.of(7));
    expect(ccmContextCount()).toBe(before + 1);
    expect(toHex(unprotectRecord(state, 21, 1, 5, alert) ?? new Uint8Array(0))).toBe('0100');
    const alert2 = protectRecord(state, 21, 1, 7, Uint8Array.of(2, 0));
    releaseCipherState(state);
    expect(toHex(unprotectRecord(state, 21, 1, 7, alert2) ?? new Uint8Array(0))).toBe('0200');
    expect(toHex(unprotectRecord(state, 23, 1, 6, data) ?? new Uint8Array(0))).toBe('07');
    releaseCipherState(state);
    expect(ccmContextCount()).toBe(before);
  });

  it('dispose of the least recently used: a state in use keeps its context while new ones push others out', () => {
    const states = Array.from({ length: MAX_CCM_CONTEXTS + 100 }, (_, i) =>
      createCipherState(TLS_PSK_WITH_AES_128_CCM_8, Uint8Array.from({ length: 16 }, (_, j) => (i * 11 + j * 5 + (i >> 8)) & 0xff), new Uint8Array(4)),
    );
    for (const s of states.slice(0, MAX_CCM_CONTEXTS)) protectRecord(s, 23, 1, 1, Uint8Array.of(1));
    expect(ccmContextCount()).toBe(MAX_CCM_CONTEXTS);
    // The first state is busy again; then 100 new states need a context.
    protectRecord(states[0]!, 23, 1, 2, Uint8Array.of(2));
    for (const s of states.slice(MAX_CCM_CONTEXTS)) protectRecord(s, 23, 1, 1, Uint8Array.of(1));
    expect(ccmContextCount()).toBe(MAX_CCM_CONTEXTS);
    // Releasing a state frees a context only if it still had one.
    releaseCipherState(states[0]!);
    expect(ccmContextCount()).toBe(MAX_CCM_CONTEXTS - 1);
    releaseCipherState(states[1]!);
    expect(ccmContextCount()).toBe(MAX_CCM_CONTEXTS - 1);
    for (const s of states) releaseCipherState(s);
    expect(ccmContextCount()).toBe(0);
  });
});
