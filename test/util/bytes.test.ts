import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, concat, fromHex, toHex, xor } from '../../src/util/bytes.js';
import { ConfigError, DecodeError } from '../../src/util/errors.js';

describe('ByteReader', () => {
  it('reads big-endian integers of every width', () => {
    const r = new ByteReader(fromHex('01020304050607080910111213141516171819', 'in'));
    expect(r.u8('a')).toBe(0x01);
    expect(r.u16('b')).toBe(0x0203);
    expect(r.u24('c')).toBe(0x040506);
    expect(r.u32('d')).toBe(0x07080910);
    expect(r.u48('e')).toBe(0x111213141516);
    expect(r.remaining).toBe(3);
  });

  it('reads u32 and u48 above 2^31 without sign errors', () => {
    const r = new ByteReader(fromHex('ffffffffffffffffffff', 'in'));
    expect(r.u32('a')).toBe(0xffffffff);
    expect(r.u48('b')).toBe(0xffffffffffff);
  });

  it('throws DecodeError naming the field and offset on a short read', () => {
    const r = new ByteReader(new Uint8Array([1, 2, 3]), 'hello');
    r.u16('version');
    try {
      r.u16('length');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).field).toBe('hello.length');
      expect((e as DecodeError).offset).toBe(2);
    }
  });

  it('checks vector length bounds and copies vector contents', () => {
    const input = fromHex('03aabbcc', 'in');
    const v = new ByteReader(input).vec8('v');
    input[1] = 0;
    expect(toHex(v)).toBe('aabbcc');
    expect(() => new ByteReader(fromHex('03aabbcc', 'in')).vec8('v', 4)).toThrow(DecodeError);
    expect(() => new ByteReader(fromHex('04aabbcc', 'in')).vec8('v')).toThrow(DecodeError);
    expect(() => new ByteReader(fromHex('0002aa', 'in')).vec16('v')).toThrow(DecodeError);
  });

  it('end() rejects trailing bytes', () => {
    const r = new ByteReader(new Uint8Array([1, 2]));
    r.u8('a');
    expect(() => r.end()).toThrow(DecodeError);
    r.u8('b');
    expect(() => r.end()).not.toThrow();
  });
});

describe('ByteWriter', () => {
  it('writes what ByteReader reads, growing past its initial size', () => {
    const w = new ByteWriter(2);
    w.u8(1).u16(0x0203).u24(0x040506).u32(0xfffffffe).u48(0x123456789abc).vec8(new Uint8Array([9])).vec16(new Uint8Array(300));
    const r = new ByteReader(w.finish());
    expect([r.u8('a'), r.u16('b'), r.u24('c'), r.u32('d'), r.u48('e')]).toEqual([1, 0x0203, 0x040506, 0xfffffffe, 0x123456789abc]);
    expect(toHex(r.vec8('f'))).toBe('09');
    expect(r.vec16('g').length).toBe(300);
    r.end();
  });

  it('refuses out-of-range values instead of truncating them', () => {
    expect(() => new ByteWriter().u8(256)).toThrow(RangeError);
    expect(() => new ByteWriter().u16(-1)).toThrow(RangeError);
    expect(() => new ByteWriter().u48(2 ** 48)).toThrow(RangeError);
    expect(() => new ByteWriter().vec8(new Uint8Array(256))).toThrow(RangeError);
  });
});

describe('hex helpers', () => {
  it('parses strictly and names the flag in errors', () => {
    expect(toHex(fromHex('00Ff80', '--k'))).toBe('00ff80');
    expect(() => fromHex('abc', '--k')).toThrow(/--k: odd number of hex digits/);
    expect(() => fromHex('zz', '--rand')).toThrow(/--rand: not a hex string/);
    expect(() => fromHex('0011', '--amf', 3)).toThrow(ConfigError);
    expect(() => fromHex('00 11', '--amf')).toThrow(ConfigError);
  });

  it('concat and xor', () => {
    expect(toHex(concat(fromHex('01', 'a'), new Uint8Array(0), fromHex('0203', 'b')))).toBe('010203');
    expect(toHex(xor(fromHex('ff00', 'a'), fromHex('0f0f', 'b')))).toBe('f00f');
    expect(() => xor(new Uint8Array(1), new Uint8Array(2))).toThrow(RangeError);
  });
});
