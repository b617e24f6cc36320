/**
 * Milenage (TS 35.206) and AUTN/AUTS (TS 33.102 §6.3) against certs-free-test-vectors/milenage.json:
 * the TS 35.208 and TS 35.207 test sets, an AUTN case and an AUTS case (sources cited per entry there).
 */
import { describe, expect, it } from 'vitest';
import {
  buildAutn,
  buildAuts,
  computeOpc,
  f1,
  f1star,
  f2345,
  f5star,
  generateVector,
  milenage,
  parseAutn,
  recoverSqnFromAuts,
  sqnFromBigInt,
  sqnToBigInt,
} from '../../src/aka/index.js';
import { AuthError, ConfigError, DecodeError, SecretBytes, concat, toHex, xor } from '../../src/util/index.js';
import { type MilenageFile, type MilenageSet, readVectors, vectorBytes } from '../support/vectors.js';

const vectors = readVectors<MilenageFile>('milenage.json');
const h = vectorBytes;
const sets = [...vectors.sets_ts35208, ...vectors.sets_ts35207];

/** OPc from the entry if listed, else computed from OP (each set lists at least one of them). */
function opcOf(s: MilenageSet): Uint8Array {
  if (s.opc !== undefined) return h(s.opc);
  if (s.op === undefined) throw new Error(`${s.id}: neither op nor opc`);
  return computeOpc(h(s.k), h(s.op));
}

/** Expects `actual` to equal the vector's hex value when the entry lists it; counts the checks. */
function check(actual: Uint8Array, expected: string | undefined, seen: string[], name: string): void {
  if (expected === undefined) return;
  expect(toHex(actual), name).toBe(expected.toLowerCase());
  seen.push(name);
}

describe('vector file', () => {
  it('holds the expected sections', () => {
    expect(vectors.sets_ts35208.length).toBeGreaterThan(0);
    expect(vectors.sets_ts35207.length).toBeGreaterThan(0);
    expect(vectors.autn.length).toBeGreaterThan(0);
    expect(vectors.auts.length).toBeGreaterThan(0);
  });
});

describe('Milenage functions (TS 35.206 §4.1)', () => {
  it.each(sets)('$id: OPc, f1, f1*, f2, f3, f4, f5, f5*', (s) => {
    const [k, rand, sqn, amf] = [h(s.k), h(s.rand), h(s.sqn), h(s.amf)];
    const seen: string[] = [];
    if (s.op !== undefined) check(computeOpc(k, h(s.op)), s.opc, seen, 'opc');
    const opc = opcOf(s);
    check(f1(k, opc, rand, sqn, amf), s.f1, seen, 'f1');
    check(f1star(k, opc, rand, sqn, amf), s.f1star, seen, 'f1star');
    const out = f2345(k, opc, rand);
    check(out.res, s.f2, seen, 'f2');
    check(out.ck, s.f3, seen, 'f3');
    check(out.ik, s.f4, seen, 'f4');
    check(out.ak, s.f5, seen, 'f5');
    check(f5star(k, opc, rand), s.f5star, seen, 'f5star');
    expect(seen.length).toBeGreaterThan(0);
  });

  it.each(sets)('$id: milenage() gives the same seven outputs', (s) => {
    const m = milenage({ k: h(s.k), opc: opcOf(s), rand: h(s.rand), sqn: h(s.sqn), amf: h(s.amf) });
    const seen: string[] = [];
    check(m.macA, s.f1, seen, 'f1');
    check(m.macS, s.f1star, seen, 'f1star');
    check(m.res, s.f2, seen, 'f2');
    check(m.ck, s.f3, seen, 'f3');
    check(m.ik, s.f4, seen, 'f4');
    check(m.ak, s.f5, seen, 'f5');
    check(m.akStar, s.f5star, seen, 'f5star');
    expect(seen.length).toBeGreaterThan(0);
  });

  it.each(sets.filter((s) => s.f1 !== undefined && s.f5 !== undefined))(
    '$id: generateVector AUTN = (SQN ⊕ f5) ‖ AMF ‖ f1 (TS 33.102 §6.3.2)',
    (s) => {
      const [sqn, amf] = [h(s.sqn), h(s.amf)];
      const v = generateVector({ k: h(s.k), opc: opcOf(s), rand: h(s.rand), sqn, amf });
      const expected = concat(xor(sqn, h(s.f5 ?? '')), amf, h(s.f1 ?? ''));
      expect(toHex(v.autn)).toBe(toHex(expected));
      expect(toHex(v.rand)).toBe(s.rand);
    },
  );

  it.each(sets.filter((s) => s.f5star !== undefined))(
    '$id: buildAuts conceals SQN_MS with f5* and recoverSqnFromAuts reverses it',
    (s) => {
      const [k, opc, rand, sqn] = [h(s.k), opcOf(s), h(s.rand), h(s.sqn)];
      const auts = buildAuts(k, opc, rand, sqn);
      // Conc(SQN_MS) = SQN_MS ⊕ f5* of the vector (MAC-S uses AMF* = 0x0000, so not the vector's f1*).
      expect(toHex(auts.subarray(0, 6))).toBe(toHex(xor(sqn, h(s.f5star ?? ''))));
      expect(toHex(recoverSqnFromAuts(k, opc, rand, auts))).toBe(s.sqn);
    },
  );

  it('accepts K and OPc wrapped in SecretBytes', () => {
    const s = vectors.sets_ts35207[0];
    if (s === undefined || s.f2 === undefined) throw new Error('no TS 35.207 set with f2');
    const out = f2345(new SecretBytes(h(s.k)), new SecretBytes(opcOf(s)), h(s.rand));
    expect(toHex(out.res)).toBe(s.f2);
  });
});

describe('AUTN (TS 33.102 §6.3.2)', () => {
  it.each(vectors.autn)('$id: generateVector gives AUTN, XRES, CK, IK, AK', (c) => {
    const v = generateVector({ k: h(c.k), opc: h(c.opc), rand: h(c.rand), sqn: h(c.sqn), amf: h(c.amf) });
    expect(toHex(v.autn)).toBe(c.expected.autn);
    expect(toHex(v.xres)).toBe(c.expected.res);
    expect(toHex(v.ck)).toBe(c.expected.ck);
    expect(toHex(v.ik)).toBe(c.expected.ik);
    expect(toHex(v.ak)).toBe(c.expected.ak);
  });

  it.each(vectors.autn)('$id: parseAutn splits the vector AUTN', (c) => {
    const p = parseAutn(h(c.expected.autn));
    expect(toHex(xor(p.sqnXorAk, h(c.expected.ak)))).toBe(c.sqn);
    expect(toHex(p.amf)).toBe(c.amf);
    expect(toHex(buildAutn(h(c.sqn), h(c.expected.ak), p.amf, p.macA))).toBe(c.expected.autn);
  });

  it('parseAutn rejects a short or long AUTN with DecodeError', () => {
    expect(() => parseAutn(new Uint8Array(15))).toThrow(DecodeError);
    expect(() => parseAutn(new Uint8Array(17))).toThrow(DecodeError);
  });
});

describe('AUTS (TS 33.102 §6.3.3, §6.3.5)', () => {
  it.each(vectors.auts)('$id: recoverSqnFromAuts gives SQN_MS', (c) => {
    expect(toHex(recoverSqnFromAuts(h(c.k), h(c.opc), h(c.rand), h(c.auts)))).toBe(c.expected_sqn_ms);
  });

  it.each(vectors.auts)('$id: buildAuts reproduces the vector AUTS', (c) => {
    expect(toHex(buildAuts(h(c.k), h(c.opc), h(c.rand), h(c.expected_sqn_ms)))).toBe(c.auts);
  });

  it.each(vectors.auts)('$id: any flipped bit in AUTS is an AuthError', (c) => {
    const auts = h(c.auts);
    for (let bit = 0; bit < auts.length * 8; bit++) {
      const bad = auts.slice();
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (0x80 >> (bit & 7));
      expect(() => recoverSqnFromAuts(h(c.k), h(c.opc), h(c.rand), bad), `bit ${bit}`).toThrow(AuthError);
    }
  });
});

describe('SQN conversions (48 bits, TS 33.102 §6.3.7)', () => {
  it('maps big-endian octets to integers exactly', () => {
    expect(sqnToBigInt(h('000000000001'))).toBe(1n);
    expect(sqnToBigInt(h('ffffffffffff'))).toBe(2n ** 48n - 1n);
    expect(sqnToBigInt(h('ff9bb4d0b607'))).toBe(0xff9bb4d0b607n);
    expect(toHex(sqnFromBigInt(2n ** 48n - 1n))).toBe('ffffffffffff');
    expect(toHex(sqnFromBigInt(0x0102030405n))).toBe('000102030405');
  });

  it('rejects values outside 0..2^48-1', () => {
    expect(() => sqnFromBigInt(2n ** 48n)).toThrow(ConfigError);
    expect(() => sqnFromBigInt(-1n)).toThrow(ConfigError);
  });
});

describe('argument checks name the argument (ConfigError.option)', () => {
  const b = (n: number): Uint8Array => new Uint8Array(n);
  const ok = { k: b(16), opc: b(16), rand: b(16), sqn: b(6), amf: b(2) };
  const cases: ReadonlyArray<readonly [string, () => unknown]> = [
    ['k', () => computeOpc(b(15), b(16))],
    ['op', () => computeOpc(b(16), b(17))],
    ['k', () => f1(b(8), ok.opc, ok.rand, ok.sqn, ok.amf)],
    ['opc', () => f1(ok.k, b(0), ok.rand, ok.sqn, ok.amf)],
    ['rand', () => f1star(ok.k, ok.opc, b(32), ok.sqn, ok.amf)],
    ['sqn', () => f1(ok.k, ok.opc, ok.rand, b(8), ok.amf)],
    ['amf', () => f1star(ok.k, ok.opc, ok.rand, ok.sqn, b(1))],
    ['rand', () => f2345(ok.k, ok.opc, b(15))],
    ['opc', () => f5star(ok.k, b(15), ok.rand)],
    ['sqn', () => milenage({ ...ok, sqn: b(5) })],
    ['amf', () => generateVector({ ...ok, amf: b(3) })],
    ['k', () => milenage({ ...ok, k: 'not bytes' as unknown as Uint8Array })],
    ['ak', () => buildAutn(b(6), b(5), b(2), b(8))],
    ['amf', () => buildAutn(b(6), b(6), b(16), b(8))],
    ['macA', () => buildAutn(b(6), b(6), b(2), b(7))],
    ['sqn', () => buildAutn(b(5), b(6), b(2), b(8))],
    ['sqnMs', () => buildAuts(ok.k, ok.opc, ok.rand, b(7))],
    ['auts', () => recoverSqnFromAuts(ok.k, ok.opc, ok.rand, b(16))],
    ['rand', () => recoverSqnFromAuts(ok.k, ok.opc, b(15), b(14))],
  ];
  it.each(cases)('%s', (option, call) => {
    let caught: unknown;
    try {
      call();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).option).toBe(option);
    expect((caught as ConfigError).code).toBe('E_CONFIG');
  });
});
