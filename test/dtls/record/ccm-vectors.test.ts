/**
 * certs-free-test-vectors/ccm8.json: every entry through ccmEncrypt/ccmDecrypt, and the entries with
 * the TLS CCM_8 shape (12-octet nonce, 8-octet tag: RFC 6655 §3) through protectRecord/unprotectRecord.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ccmDecrypt, ccmEncrypt } from '../../../src/crypto/ccm.js';
import { TLS_PSK_WITH_AES_128_CCM_8 } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { createCipherState } from '../../../src/dtls/record/cipher-state.js';
import { protectRecord, unprotectRecord } from '../../../src/dtls/record/protection.js';
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
