/**
 * The simulated USIM (TS 33.102 §6.3.3, Annex C.2.2) driven with challenges from
 * certs-free-test-vectors/milenage.json, and the network's resynchronisation from its AUTS (§6.3.5).
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Usim, generateVector, recoverSqnFromAuts, sqnFromBigInt, sqnToBigInt } from '../../src/aka/index.js';
import { ConfigError, concat, toHex, xor } from '../../src/util/index.js';
import { type AutnCase, type MilenageFile, type MilenageSet, readVectors, vectorBytes } from '../support/vectors.js';

/** The TS 35.208 sets list OPc, f1, f2, f5 and f5* (the tests below rely on it). */
type CompleteSet = MilenageSet & Required<Pick<MilenageSet, 'opc' | 'f1' | 'f2' | 'f5' | 'f5star'>>;

const vectors = readVectors<Pick<MilenageFile, 'autn'> & { readonly sets_ts35208: readonly CompleteSet[] }>('milenage.json');
const h = vectorBytes;

const c = vectors.autn[0] as AutnCase;
const k = h(c.k);
const opc = h(c.opc);
const rand = h(c.rand);
const autn = h(c.expected.autn);
const SQN = sqnToBigInt(h(c.sqn));
/** A USIM for the AUTN case whose SQN_MS is `below` under the vector's SQN. */
const usimBelow = (below: bigint, delta?: bigint): Usim =>
  new Usim({ k, opc, sqnMs: sqnFromBigInt(SQN - below), ...(delta === undefined ? {} : { delta }) });

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (0x80 >> (bit & 7));
  return out;
}

describe('Usim.authenticate: accepted challenge', () => {
  it(`${c.id}: returns the vector RES, CK, IK and stores SQN as SQN_MS`, () => {
    const usim = usimBelow(1n);
    const r = usim.authenticate(rand, autn);
    expect(r.result).toBe('ok');
    if (r.result !== 'ok') return;
    expect(toHex(r.res)).toBe(c.expected.res);
    expect(toHex(r.ck)).toBe(c.expected.ck);
    expect(toHex(r.ik)).toBe(c.expected.ik);
    expect(toHex(usim.sqnMs)).toBe(c.sqn);
  });

  it('accepts SQN − SQN_MS = Δ = 2^28 by default, and rejects 2^28 + 1 (TS 33.102 Annex C.2.2)', () => {
    expect(usimBelow(2n ** 28n).authenticate(rand, autn).result).toBe('ok');
    expect(usimBelow(2n ** 28n + 1n).authenticate(rand, autn).result).toBe('sync-failure');
  });
});

describe('Usim.authenticate: synchronisation failure and resynchronisation', () => {
  it(`${c.id}: a replayed AUTN gives AUTS from which the network recovers SQN_MS`, () => {
    const usim = usimBelow(1n);
    expect(usim.authenticate(rand, autn).result).toBe('ok');
    const again = usim.authenticate(rand, autn);
    expect(again.result).toBe('sync-failure');
    if (again.result !== 'sync-failure') return;
    expect(again.auts.length).toBe(14);
    expect(toHex(recoverSqnFromAuts(k, opc, rand, again.auts))).toBe(c.sqn);
    expect(toHex(usim.sqnMs)).toBe(c.sqn);
  });

  it('after resynchronisation the next vector (SQN_MS + 1) is accepted', () => {
    const usim = usimBelow(0n);
    const failed = usim.authenticate(rand, autn);
    if (failed.result !== 'sync-failure') throw new Error(`expected sync-failure, got ${failed.result}`);
    const sqnMs = sqnToBigInt(recoverSqnFromAuts(k, opc, rand, failed.auts));
    expect(sqnMs).toBe(SQN);
    const rand2 = xor(rand, new Uint8Array(16).fill(0x5a));
    const v = generateVector({ k, opc, rand: rand2, sqn: sqnFromBigInt(sqnMs + 1n), amf: h(c.amf) });
    const r = usim.authenticate(rand2, v.autn);
    expect(r.result).toBe('ok');
    if (r.result === 'ok') expect(toHex(r.res)).toBe(toHex(v.xres));
    expect(usim.sqnMs).toEqual(sqnFromBigInt(SQN + 1n));
  });

  it.each(vectors.sets_ts35208.slice(0, 4))('$id: AUTS conceals SQN_MS with the vector f5* (TS 33.102 §6.3.3)', (s) => {
    // AUTN assembled here from the vector's f5 and f1 (TS 33.102 §6.3.2), then replayed at SQN_MS = SQN.
    const sqn = h(s.sqn);
    const vAutn = concat(xor(sqn, h(s.f5)), h(s.amf), h(s.f1));
    const usim = new Usim({ k: h(s.k), opc: h(s.opc), sqnMs: sqn });
    const r = usim.authenticate(h(s.rand), vAutn);
    expect(r.result).toBe('sync-failure');
    if (r.result !== 'sync-failure') return;
    expect(toHex(xor(r.auts.subarray(0, 6), h(s.f5star)))).toBe(s.sqn);
  });

  it('an SQN more than Δ ahead is a sync-failure and SQN_MS stays', () => {
    const usim = usimBelow(17n, 16n);
    const r = usim.authenticate(rand, autn);
    expect(r.result).toBe('sync-failure');
    if (r.result === 'sync-failure') expect(sqnToBigInt(recoverSqnFromAuts(k, opc, rand, r.auts))).toBe(SQN - 17n);
    expect(sqnToBigInt(usim.sqnMs)).toBe(SQN - 17n);
    expect(usimBelow(16n, 16n).authenticate(rand, autn).result).toBe('ok');
  });

  it('an SQN below SQN_MS is a sync-failure', () => {
    const usim = usimBelow(-5n);
    expect(usim.authenticate(rand, autn).result).toBe('sync-failure');
    expect(sqnToBigInt(usim.sqnMs)).toBe(SQN + 5n);
  });
});

describe('Usim.authenticate: MAC failure', () => {
  it('every flipped bit of AUTN (SQN ⊕ AK, AMF, MAC-A) is a mac-failure and leaves SQN_MS alone', () => {
    const usim = usimBelow(1n);
    for (let bit = 0; bit < 128; bit++) {
      expect(usim.authenticate(rand, flipBit(autn, bit)).result, `bit ${bit}`).toBe('mac-failure');
    }
    expect(sqnToBigInt(usim.sqnMs)).toBe(SQN - 1n);
    expect(usim.authenticate(rand, autn).result).toBe('ok');
  });

  it('MAC-A is checked before SQN: a stale AUTN with a bad MAC is a mac-failure', () => {
    const usim = usimBelow(-1n);
    expect(usim.authenticate(rand, flipBit(autn, 127)).result).toBe('mac-failure');
  });

  it('a different RAND or K is a mac-failure', () => {
    expect(usimBelow(1n).authenticate(flipBit(rand, 0), autn).result).toBe('mac-failure');
    const other = new Usim({ k: flipBit(k, 5), opc, sqnMs: sqnFromBigInt(SQN - 1n) });
    expect(other.authenticate(rand, autn).result).toBe('mac-failure');
  });
});

describe('Usim: arguments and secrets', () => {
  const b = (n: number): Uint8Array => new Uint8Array(n);
  const cases: ReadonlyArray<readonly [string, () => unknown]> = [
    ['k', () => new Usim({ k: b(15), opc, sqnMs: b(6) })],
    ['opc', () => new Usim({ k, opc: b(17), sqnMs: b(6) })],
    ['sqnMs', () => new Usim({ k, opc, sqnMs: b(5) })],
    ['delta', () => new Usim({ k, opc, sqnMs: b(6), delta: 0 })],
    ['delta', () => new Usim({ k, opc, sqnMs: b(6), delta: 1.5 })],
    ['delta', () => new Usim({ k, opc, sqnMs: b(6), delta: 2n ** 48n })],
    ['rand', () => usimBelow(1n).authenticate(b(15), autn)],
    ['autn', () => usimBelow(1n).authenticate(rand, b(14))],
  ];
  it.each(cases)('wrong %s is a ConfigError naming it', (option, call) => {
    let caught: unknown;
    try {
      call();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).option).toBe(option);
  });

  it('does not print K or OPc', () => {
    const usim = usimBelow(1n);
    const shown = `${inspect(usim, { showHidden: true, depth: 5 })} ${JSON.stringify(usim)}`;
    expect(shown).not.toContain(c.k);
    expect(shown).not.toContain(c.opc);
  });

  it('copies its inputs: mutating the caller buffers changes nothing', () => {
    const kk = k.slice();
    const sqnMs = sqnFromBigInt(SQN - 1n);
    const usim = new Usim({ k: kk, opc, sqnMs });
    kk.fill(0);
    sqnMs.fill(0xff);
    usim.sqnMs.fill(0xff);
    expect(usim.authenticate(rand, autn).result).toBe('ok');
  });
});
