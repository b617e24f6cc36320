import { describe, expect, it } from 'vitest';
import { hmacSha256 } from '../../src/crypto/primitives.js';
import { CookieFactory, cookieParams, DEFAULT_COOKIE_LENGTH, DEFAULT_COOKIE_ROTATE_MS } from '../../src/dtls/cookie.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { ManualClock } from '../../src/util/clock.js';

const ADDR = '192.0.2.10:56830';
const HELLO = {
  clientVersion: 0xfefd,
  random: new Uint8Array(32).map((_, i) => i),
  sessionId: new Uint8Array(0),
  cipherSuites: [0xc0a8, 0xc0a4],
  compressionMethods: [0],
};
const PARAMS = cookieParams(HELLO);

/** A deterministic rng: secret number n is 32 octets of value n. */
function countingRng(): (n: number) => Uint8Array {
  let i = 0;
  return (n) => new Uint8Array(n).fill(++i);
}

function factory(clock = new ManualClock(), rotateMs = 1000): CookieFactory {
  return new CookieFactory({ clock, rotateMs, rng: countingRng() });
}

describe('cookieParams', () => {
  it('encodes version, random, session_id<0..32>, cipher_suites<2..>, compression_methods<1..> as on the wire', () => {
    const p = cookieParams({ ...HELLO, sessionId: fromHex('aabb', 's') });
    const expected = 'fefd' + toHex(HELLO.random) + '02aabb' + '0004c0a8c0a4' + '0100';
    expect(toHex(p)).toBe(expected);
  });
});

describe('CookieFactory (RFC 6347 §4.2.1)', () => {
  it('makes 16-octet cookies by default; rotation every 5 minutes by default', () => {
    expect(DEFAULT_COOKIE_LENGTH).toBe(16);
    expect(DEFAULT_COOKIE_ROTATE_MS).toBe(300_000);
    expect(new CookieFactory().make(ADDR, PARAMS).length).toBe(16);
  });

  it('is truncated HMAC-SHA-256(secret, version ‖ len ‖ address ‖ params)', () => {
    const c = factory().make(ADDR, PARAMS);
    const addr = utf8(ADDR);
    const mac = hmacSha256(new Uint8Array(32).fill(1), new Uint8Array([1, 0, addr.length]), addr, PARAMS);
    expect(toHex(c)).toBe(toHex(mac.subarray(0, 16)));
  });

  it.each([
    ['a non-ASCII address', 'fe80::1%Ethernet-Ü|5684'],
    ['an address longer than 128 characters', `${'a'.repeat(140)}|5684`],
  ])('is the same HMAC for %s (encoded as UTF-8)', (_, address) => {
    const f = factory();
    const c = f.make(address, PARAMS);
    const addr = utf8(address);
    const mac = hmacSha256(new Uint8Array(32).fill(1), new Uint8Array([1, addr.length >>> 8, addr.length & 0xff]), addr, PARAMS);
    expect(toHex(c)).toBe(toHex(mac.subarray(0, 16)));
    expect(f.verify(address, PARAMS, c)).toBe(true);
    expect(f.verify(ADDR, PARAMS, c)).toBe(false);
  });

  it('verifies for the same address and parameters', () => {
    const f = factory();
    expect(f.verify(ADDR, PARAMS, f.make(ADDR, PARAMS))).toBe(true);
  });

  it('fails for another address (IP or port), other parameters, a flipped bit, a truncated cookie', () => {
    const f = factory();
    const c = f.make(ADDR, PARAMS);
    expect(f.verify('192.0.2.11:56830', PARAMS, c)).toBe(false);
    expect(f.verify('192.0.2.10:56831', PARAMS, c)).toBe(false);
    const otherRandom = cookieParams({ ...HELLO, random: HELLO.random.map((b) => b ^ 1) });
    expect(f.verify(ADDR, otherRandom, c)).toBe(false);
    expect(f.verify(ADDR, cookieParams({ ...HELLO, cipherSuites: [0xc0a8] }), c)).toBe(false);
    expect(f.verify(ADDR, cookieParams({ ...HELLO, clientVersion: 0xfeff }), c)).toBe(false);
    for (let i = 0; i < c.length; i++) {
      const bad = c.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(f.verify(ADDR, PARAMS, bad), `octet ${i}`).toBe(false);
    }
    expect(f.verify(ADDR, PARAMS, c.subarray(0, 15))).toBe(false);
    expect(f.verify(ADDR, PARAMS, new Uint8Array(0))).toBe(false);
  });

  it('does not verify another factory\'s cookie (another secret)', () => {
    const a = new CookieFactory();
    const b = new CookieFactory();
    expect(b.verify(ADDR, PARAMS, a.make(ADDR, PARAMS))).toBe(false);
  });

  it('still verifies after exactly one rotation, not after two', () => {
    const clock = new ManualClock();
    const f = factory(clock, 1000);
    const c = f.make(ADDR, PARAMS);
    clock.advance(999);
    expect(f.verify(ADDR, PARAMS, c)).toBe(true);
    clock.advance(1); // t = 1000: one rotation, c is under the previous secret
    expect(f.verify(ADDR, PARAMS, c)).toBe(true);
    expect(toHex(f.make(ADDR, PARAMS))).not.toBe(toHex(c));
    clock.advance(1000); // t = 2000: two rotations
    expect(f.verify(ADDR, PARAMS, c)).toBe(false);
  });

  it('forgets both secrets after a long idle period (rotation is lazy)', () => {
    const clock = new ManualClock();
    const f = factory(clock, 1000);
    const c = f.make(ADDR, PARAMS);
    clock.advance(2500); // no call in between: two periods at once
    expect(f.verify(ADDR, PARAMS, c)).toBe(false);
    const d = f.make(ADDR, PARAMS);
    clock.advance(600); // t = 3100: one rotation after d's period began at 2000
    expect(f.verify(ADDR, PARAMS, d)).toBe(true);
  });

  it('takes a longer cookie length and rejects bad options', () => {
    expect(new CookieFactory({ cookieLength: 32 }).make(ADDR, PARAMS).length).toBe(32);
    expect(() => new CookieFactory({ cookieLength: 8 })).toThrow(RangeError);
    expect(() => new CookieFactory({ rotateMs: 0 })).toThrow(RangeError);
    expect(() => new CookieFactory({ rng: () => new Uint8Array(4) })).toThrow(RangeError);
  });
});
