/**
 * certs-free-test-vectors/sha256-hmac.json (FIPS 180-2 examples, NIST CAVP, RFC 4231) through the
 * keyed SHA-256 and HMAC-SHA-256 wrappers (on @noble/hashes), fed whole and in pieces that cross block boundaries; and a
 * cross-check against node:crypto (OpenSSL) on every length from 0 to 300 octets.
 */
import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HmacSha256, Sha256, SHA256_LENGTH } from '../../src/crypto/sha256.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';

interface HashEntry { id: string; message_hex?: string; message_ascii?: string; repeat?: number; expected: string }
interface HmacEntry { id: string; key_hex?: string; key_ascii?: string; data_hex?: string; data_ascii?: string; truncate?: number; expected: string }
const vectors = JSON.parse(readFileSync(new URL('../../certs-free-test-vectors/sha256-hmac.json', import.meta.url), 'utf8')) as {
  sha256: HashEntry[];
  hmac: HmacEntry[];
};

function bytes(hexValue: string | undefined, ascii: string | undefined, repeat = 1): Uint8Array {
  const one = hexValue !== undefined ? fromHex(hexValue, 'vector') : utf8(ascii ?? '');
  const out = new Uint8Array(one.length * repeat);
  for (let i = 0; i < repeat; i++) out.set(one, i * one.length);
  return out;
}

/** `data` cut into pieces of `size` octets (the last may be shorter). */
function pieces(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

function nodeSha256(data: Uint8Array): string {
  return nodeCrypto.createHash('sha256').update(data).digest('hex');
}

describe('SHA-256 against published vectors', () => {
  it.each(vectors.sha256.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const message = bytes(e.message_hex, e.message_ascii, e.repeat);
    expect(toHex(new Sha256().update(message).digest())).toBe(e.expected);
    for (const size of [1, 3, 55, 63, 64, 65, 1000]) {
      const h = new Sha256();
      for (const p of pieces(message, size)) h.update(p);
      expect(toHex(h.digest()), `pieces of ${size}`).toBe(e.expected);
    }
  });
});

describe('HMAC-SHA-256 against RFC 4231', () => {
  it.each(vectors.hmac.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const key = bytes(e.key_hex, e.key_ascii);
    const data = bytes(e.data_hex, e.data_ascii);
    const n = e.truncate ?? SHA256_LENGTH;
    const mac = new HmacSha256(key);
    expect(toHex(mac.mac(data).subarray(0, n))).toBe(e.expected);
    // The same MAC with the text in three parts, and written at an offset.
    const third = Math.floor(data.length / 3);
    const out = new Uint8Array(SHA256_LENGTH + 5).fill(0xee);
    mac.macInto(out, 5, data.subarray(0, third), data.subarray(third, 2 * third), data.subarray(2 * third));
    expect(toHex(out.subarray(5, 5 + n))).toBe(e.expected);
    expect(toHex(out.subarray(0, 5))).toBe('eeeeeeeeee');
  });
});

describe('SHA-256 and HMAC-SHA-256 agree with node:crypto', () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);

  it('on every message length 0..300, whole and in two parts', () => {
    for (let n = 0; n <= 300; n++) {
      const m = data.subarray(0, n);
      const expected = nodeSha256(m);
      expect(toHex(new Sha256().update(m).digest()), `length ${n}`).toBe(expected);
      const cut = Math.floor(n / 2);
      expect(toHex(new Sha256().update(m.subarray(0, cut)).update(m.subarray(cut)).digest()), `length ${n} in parts`).toBe(expected);
    }
  });

  it('on keys of 0..130 octets (shorter, equal to and longer than the 64-octet block)', () => {
    for (let k = 0; k <= 130; k++) {
      const key = data.subarray(100, 100 + k);
      const text = data.subarray(0, 77);
      const expected = nodeCrypto.createHmac('sha256', key).update(text).digest('hex');
      expect(toHex(new HmacSha256(key).mac(text)), `key of ${k}`).toBe(expected);
    }
  });
});

describe('Sha256 state handling', () => {
  const block = Uint8Array.from({ length: 64 }, (_, i) => i);
  const rest = utf8('the rest of the message');

  it('copyInto() lets one digest be taken while hashing goes on', () => {
    const h = new Sha256().update(rest);
    const early = h.copyInto(new Sha256()).digest();
    h.update(block);
    expect(toHex(early)).toBe(nodeSha256(rest));
    expect(toHex(h.digest())).toBe(nodeSha256(new Uint8Array([...rest, ...block])));
  });

  it('reset() and wipe() start a new message', () => {
    const h = new Sha256().update(block);
    h.digest();
    expect(toHex(h.reset().update(rest).digest())).toBe(nodeSha256(rest));
    h.reset().update(block);
    h.wipe();
    expect(toHex(h.update(rest).digest())).toBe(nodeSha256(rest));
  });
});

describe('HmacSha256 keys', () => {
  const text = utf8('message');

  it('rekey() switches keys; a MAC may be written over its own input', () => {
    const mac = new HmacSha256(utf8('key one'));
    mac.rekey(utf8('key two'));
    const expected = nodeCrypto.createHmac('sha256', 'key two').update(text).update(text).digest('hex');
    const buf = new Uint8Array(SHA256_LENGTH);
    buf.set(text);
    const view = buf.subarray(0, text.length);
    mac.macInto(buf, 0, view, text);
    expect(toHex(buf)).toBe(expected);
  });

  it('wipe() destroys the keyed states: no MAC until rekey()', () => {
    const mac = new HmacSha256(utf8('key'));
    const before = toHex(mac.mac(text));
    mac.wipe();
    expect(() => mac.mac(text)).toThrow(/destroyed/);
    mac.rekey(utf8('key'));
    expect(toHex(mac.mac(text))).toBe(before);
  });
});
