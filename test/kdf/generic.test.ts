import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fcNumber, fcOctets, kdf, kdfInput, kdfString } from '../../src/kdf/index.js';
import { ConfigError, SecretBytes, fromHex, toHex } from '../../src/util/index.js';

interface Param {
  name: string;
  ascii?: string;
  hex?: string;
}
interface Entry {
  id: string;
  fc: number;
  key: string;
  params: Param[];
  expected: string;
  s_hex: string;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../certs-free-test-vectors/kdf-ts33220.json', import.meta.url), 'utf8'),
) as { entries: Entry[] };

function paramBytes(p: Param): Uint8Array {
  if (p.ascii !== undefined) return new Uint8Array(Buffer.from(p.ascii, 'ascii'));
  if (p.hex !== undefined) return fromHex(p.hex, p.name);
  throw new Error(`parameter ${p.name} has neither ascii nor hex`);
}

function expectConfigError(fn: () => unknown, option: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).code).toBe('E_CONFIG');
  expect((caught as ConfigError).option).toBe(option);
}

describe('TS 33.220 KDF: published instances (kdf-ts33220.json)', () => {
  it('has entries to check', () => {
    expect(vectors.entries.length).toBeGreaterThanOrEqual(20);
  });

  it.each(vectors.entries)('$id: S and output', (e) => {
    const params = e.params.map(paramBytes);
    expect(toHex(kdfInput(e.fc, ...params))).toBe(e.s_hex);
    expect(toHex(kdf(fromHex(e.key, 'key'), e.fc, ...params))).toBe(e.expected);
  });
});

describe('FC encoding (TS 33.220 B.2.2)', () => {
  it('accepts one-octet numbers and octets', () => {
    expect(toHex(fcOctets(0x00))).toBe('00');
    expect(toHex(fcOctets(0x6a))).toBe('6a');
    expect(toHex(fcOctets(0xfe))).toBe('fe');
    expect(toHex(fcOctets(Uint8Array.of(0x80)))).toBe('80');
  });

  it('accepts the two-octet form 0xFF || FC2', () => {
    expect(toHex(fcOctets(0xffe0))).toBe('ffe0');
    expect(toHex(fcOctets(0xff00))).toBe('ff00');
    expect(toHex(fcOctets(Uint8Array.of(0xff, 0xe1)))).toBe('ffe1');
    expect(fcNumber(Uint8Array.of(0xff, 0xe2))).toBe(0xffe2);
    expect(fcNumber(Uint8Array.of(0x21))).toBe(0x21);
  });

  it.each([
    ['0xFF alone', 0xff],
    ['0x100', 0x100],
    ['0xFE00 (first octet not 0xFF)', 0xfe00],
    ['negative', -1],
    ['fractional', 1.5],
    ['above 16 bits', 0x10000],
    ['NaN', Number.NaN],
  ])('rejects the number %s', (_name, fc) => {
    expectConfigError(() => fcOctets(fc), 'fc');
    expectConfigError(() => kdf(new Uint8Array(32), fc), 'fc');
  });

  it.each([
    ['empty', []],
    ['0xFF alone', [0xff]],
    ['two octets not starting 0xFF', [0xfe, 0x01]],
    ['three octets', [0xff, 0x01, 0x02]],
  ])('rejects the octets %s', (_name, octets) => {
    expectConfigError(() => kdfInput(Uint8Array.from(octets)), 'fc');
  });

  it('gives the same output for the number and octet forms of an FC', () => {
    const key = fromHex('000102030405060708090a0b0c0d0e0f', 'key');
    const p = kdfString('x');
    expect(toHex(kdf(key, 0xffe0, p))).toBe(toHex(kdf(key, Uint8Array.of(0xff, 0xe0), p)));
    expect(toHex(kdf(key, 0x20, p))).toBe(toHex(kdf(key, Uint8Array.of(0x20), p)));
    expect(toHex(kdf(key, 0xffe0, p))).not.toBe(toHex(kdf(key, 0xffe1, p)));
  });
});

describe('S construction', () => {
  it('is FC alone without parameters, and encodes an empty parameter with L = 0', () => {
    expect(toHex(kdfInput(0x10))).toBe('10');
    expect(toHex(kdfInput(0xffe3, new Uint8Array(0)))).toBe('ffe30000');
  });

  it('accepts a 65535-octet parameter and rejects a 65536-octet one, naming it', () => {
    const s = kdfInput(0x10, Uint8Array.of(1), new Uint8Array(0xffff));
    expect(s.length).toBe(1 + 1 + 2 + 0xffff + 2);
    expect(toHex(s.subarray(s.length - 2))).toBe('ffff');
    expectConfigError(() => kdfInput(0x10, Uint8Array.of(1), new Uint8Array(0x10000)), 'P1');
  });

  it('rejects a parameter that is not a Uint8Array', () => {
    expectConfigError(() => kdfInput(0x10, 'abc' as unknown as Uint8Array), 'P0');
  });

  it('keeps parameters apart through their lengths', () => {
    const key = new Uint8Array(32).fill(7);
    const ab = kdf(key, 0x10, kdfString('ab'), kdfString('c'));
    const a_bc = kdf(key, 0x10, kdfString('a'), kdfString('bc'));
    expect(toHex(ab)).not.toBe(toHex(a_bc));
  });
});

describe('keys and strings', () => {
  it('takes a SecretBytes key like the raw bytes', () => {
    const raw = fromHex('b40ba9a3c58b2a05bbf0d987b21bf8cbf769bcd751044604127672711c6d3441', 'key');
    expect(toHex(kdf(new SecretBytes(raw), 0x20, kdfString('WLAN')))).toBe(toHex(kdf(raw, 0x20, kdfString('WLAN'))));
  });

  it('rejects a key that is not bytes', () => {
    expectConfigError(() => kdf('00' as unknown as Uint8Array, 0x20), 'key');
  });

  it('encodes strings as UTF-8 of their NFKC form (TS 33.220 B.2.1.2)', () => {
    expect(toHex(kdfString('e2m_CIoT'))).toBe('65326d5f43496f54');
    expect(toHex(kdfString('é'))).toBe('c3a9');
    expect(toHex(kdfString('e\u0301'))).toBe('c3a9');
    expect(toHex(kdfString('\ufb01'))).toBe('6669');
  });

  it('rejects a lone surrogate and a non-string', () => {
    expectConfigError(() => kdfString('a\ud800b', 'emseId'), 'emseId');
    expectConfigError(() => kdfString(5 as unknown as string, 'emseId'), 'emseId');
  });
});
