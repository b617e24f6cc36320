import { describe, expect, it } from 'vitest';
import { constantTimeEqual, randomBytes } from '../../src/crypto/primitives.js';
import { toHex } from '../../src/util/bytes.js';

describe('randomBytes', () => {
  it('returns exactly n octets, from the pool (small) or directly (large)', () => {
    for (const n of [0, 1, 32, 256, 257, 5000]) {
      const r = randomBytes(n);
      expect(r).toBeInstanceOf(Uint8Array);
      expect(r.length).toBe(n);
    }
  });

  it('never hands out the same octets twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const r = randomBytes(32);
      expect(r.some((b) => b !== 0)).toBe(true);
      seen.add(toHex(r));
    }
    expect(seen.size).toBe(400);
  });

  it('gives each caller its own memory: later draws leave an earlier result alone', () => {
    const a = randomBytes(32);
    const copy = a.slice();
    const b = randomBytes(32);
    for (let i = 0; i < 300; i++) randomBytes(32);
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.byteLength).toBe(a.buffer.byteLength);
    expect(toHex(a)).toBe(toHex(copy));
  });

  it('rejects a count that is not a non-negative integer', () => {
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });
});

describe('constantTimeEqual', () => {
  it('compares contents; unequal lengths are unequal', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});
