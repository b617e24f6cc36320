import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gcmOpen, gcmSeal } from '../../src/crypto/aead.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';

interface Entry { id: string; key: string; iv: string; aad: string; plaintext: string; ciphertext: string; tag: string }
const vectors = JSON.parse(readFileSync(new URL('../../certs-free-test-vectors/aes256-gcm.json', import.meta.url), 'utf8')) as { entries: Entry[] };

describe('AES-256-GCM open, against published vectors', () => {
  it.each(vectors.entries.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const sealed = fromHex(e.iv + e.ciphertext + e.tag, 'sealed');
    const opened = gcmOpen(fromHex(e.key, 'key'), sealed, fromHex(e.aad, 'aad'));
    expect(opened && toHex(opened)).toBe(e.plaintext);
    const flipped = new Uint8Array(sealed);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    expect(gcmOpen(fromHex(e.key, 'key'), flipped, fromHex(e.aad, 'aad'))).toBeUndefined();
  });
});

describe('gcmSeal', () => {
  const kek = fromHex('11'.repeat(32), 'kek');
  const secret = fromHex('00ff'.repeat(16), 'secret');

  it('uses a fresh nonce per seal and opens only under the same key and AAD', () => {
    const a = gcmSeal(kek, secret, utf8('001010000000001|1a2b3c4d'));
    const b = gcmSeal(kek, secret, utf8('001010000000001|1a2b3c4d'));
    expect(toHex(a.subarray(0, 12))).not.toBe(toHex(b.subarray(0, 12)));
    expect(a.length).toBe(12 + secret.length + 16);
    expect(toHex(gcmOpen(kek, a, utf8('001010000000001|1a2b3c4d')) ?? new Uint8Array())).toBe(toHex(secret));
    expect(gcmOpen(kek, a, utf8('001010000000001|ffffffff'))).toBeUndefined();
    expect(gcmOpen(fromHex('22'.repeat(32), 'kek2'), a, utf8('001010000000001|1a2b3c4d'))).toBeUndefined();
    expect(gcmOpen(kek, a.subarray(0, 20), utf8('x'))).toBeUndefined();
    expect(toHex(a)).not.toContain(toHex(secret));
  });

  it('refuses a key that is not 32 octets', () => {
    expect(() => gcmSeal(new Uint8Array(16), secret, new Uint8Array())).toThrow(RangeError);
  });
});
