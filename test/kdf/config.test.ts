import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILE_CONFIG,
  KidMode,
  TLS_PSK_WITH_AES_128_CCM_8,
  deriveAtid,
  deriveE2mIntKey,
  deriveE2mKey,
  deriveKaf,
  deriveKakma,
  deriveKausf,
  deriveKid,
  deriveKs,
  deriveKsAs,
  kidFromIntKey,
  kidFromRand,
  resolveProfileConfig,
  uaProtocolIdForTlsSuite,
} from '../../src/kdf/index.js';
import type { KidMode as KidModeType } from '../../src/kdf/index.js';
import { ConfigError, SecretBytes, toHex } from '../../src/util/index.js';

function expectConfigError(fn: () => unknown, option: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).option).toBe(option);
}

const ck = Uint8Array.from({ length: 16 }, (_, i) => i);
const ik = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 - i);
const k32 = new Uint8Array(32).fill(0x5a);

describe('resolveProfileConfig', () => {
  it('returns the defaults without overrides', () => {
    expect(resolveProfileConfig()).toEqual(DEFAULT_PROFILE_CONFIG);
    expect(resolveProfileConfig({})).toEqual(DEFAULT_PROFILE_CONFIG);
    expect(resolveProfileConfig(null)).toEqual(DEFAULT_PROFILE_CONFIG);
    expect(resolveProfileConfig({}).best.intKey).toEqual({ fc: 0xffe0, label: 'e2m_CIoT' });
  });

  it('accepts FCs as numbers and as hex strings', () => {
    for (const fc of [0xffa0, '0xffa0', 'FFA0', 'ffa0']) {
      expect(resolveProfileConfig({ best: { intKey: { fc } } }).best.intKey.fc).toBe(0xffa0);
    }
    expect(resolveProfileConfig({ scef: { ksAs: { fc: '0x5f' } } }).scef.ksAs.fc).toBe(0x5f);
  });

  it('changes the output when an FC or a string is overridden, and only the overridden one', () => {
    const base = toHex(deriveE2mIntKey(ck, ik));
    const byFc = resolveProfileConfig({ best: { intKey: { fc: 0xffa0 } } });
    const byLabel = resolveProfileConfig({ best: { intKey: { label: 'e2m_CIoT2' } } });
    expect(byFc.best.intKey.label).toBe('e2m_CIoT');
    expect(byLabel.best.intKey.fc).toBe(0xffe0);
    expect(toHex(deriveE2mIntKey(ck, ik, byFc))).not.toBe(base);
    expect(toHex(deriveE2mIntKey(ck, ik, byLabel))).not.toBe(base);
    expect(toHex(deriveE2mKey(k32, 'emse', byFc))).toBe(toHex(deriveE2mKey(k32, 'emse')));

    const e2mLabel = resolveProfileConfig({ best: { e2mKey: { label: 'other' } } });
    expect(toHex(deriveE2mKey(k32, 'emse', e2mLabel))).not.toBe(toHex(deriveE2mKey(k32, 'emse')));
    const ks = resolveProfileConfig({ scef: { ks: { fc: 0xffb2, label: 'E2E' }, ksAs: { fc: 0xffb3 } } });
    expect(toHex(deriveKs(ck, ik, ks))).not.toBe(toHex(deriveKs(ck, ik)));
    expect(toHex(deriveKsAs(k32, 'as', ks))).not.toBe(toHex(deriveKsAs(k32, 'as')));
  });

  it.each([
    ['0xFF alone', { best: { intKey: { fc: 0xff } } }, 'kdf.best.intKey.fc'],
    ['two octets not starting FF', { best: { intKey: { fc: 0x1ff } } }, 'kdf.best.intKey.fc'],
    ['fractional', { best: { e2mKey: { fc: 1.5 } } }, 'kdf.best.e2mKey.fc'],
    ['negative', { scef: { ks: { fc: -1 } } }, 'kdf.scef.ks.fc'],
    ['not hex', { scef: { ksAs: { fc: 'zz' } } }, 'kdf.scef.ksAs.fc'],
    ['three octets of hex', { scef: { ksAs: { fc: '0xffe3e3' } } }, 'kdf.scef.ksAs.fc'],
    ['FE00 as hex', { scef: { ksAs: { fc: 'fe00' } } }, 'kdf.scef.ksAs.fc'],
    ['boolean FC', { scef: { ksAs: { fc: true } } }, 'kdf.scef.ksAs.fc'],
    ['empty label', { best: { intKey: { label: '' } } }, 'kdf.best.intKey.label'],
    ['numeric label', { best: { e2mKey: { label: 42 } } }, 'kdf.best.e2mKey.label'],
    ['lone-surrogate label', { scef: { ks: { label: '\udc00' } } }, 'kdf.scef.ks.label'],
    ['label on Ks_AS', { scef: { ksAs: { label: 'x' } } }, 'kdf.scef.ksAs.label'],
    ['unknown profile', { bset: {} }, 'kdf.bset'],
    ['unknown derivation', { best: { intkey: {} } }, 'kdf.best.intkey'],
    ['AKMA override', { akma: { kakma: { fc: 0x90 } } }, 'kdf.akma'],
    ['entry not an object', { best: { intKey: 5 } }, 'kdf.best.intKey'],
    ['array', [], 'kdf'],
    ['string', 'best', 'kdf'],
    ['FC reused within e2m', { best: { e2mKey: { fc: 0xffe0 } } }, 'kdf.best.e2mKey.fc'],
    ['FC of an AKMA derivation', { scef: { ks: { fc: 0x6a } } }, 'kdf.scef.ks.fc'],
    ['FC of K_AKMA as hex', { best: { intKey: { fc: '80' } } }, 'kdf.best.intKey.fc'],
  ])('rejects %s, naming the field', (_n, overrides, option) => {
    expectConfigError(() => resolveProfileConfig(overrides), option);
  });

  it('names fields under the given path', () => {
    expectConfigError(() => resolveProfileConfig({ best: { intKey: { fc: 'q' } } }, 'config.kdf'), 'config.kdf.best.intKey.fc');
  });
});

describe('kid modes', () => {
  const rand = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i);

  it('rand mode takes the 32 least significant bits of RAND', () => {
    expect(kidFromRand(rand)).toBe('fcfdfeff');
  });

  it('hash mode depends on e2m_int_key and is 8 lowercase hex digits', () => {
    const a = kidFromIntKey(k32);
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(kidFromIntKey(new Uint8Array(32))).not.toBe(a);
    expect(kidFromIntKey(new SecretBytes(k32))).toBe(a);
  });

  it('deriveKid dispatches on the mode and rejects unknown modes', () => {
    expect(deriveKid(KidMode.Rand, { rand, intKey: k32 })).toBe('fcfdfeff');
    expect(deriveKid(KidMode.Hash, { rand, intKey: k32 })).toBe(kidFromIntKey(k32));
    expectConfigError(() => deriveKid('sha1' as KidModeType, { rand, intKey: k32 }), 'kidMode');
  });

  it('checks lengths', () => {
    expectConfigError(() => kidFromRand(new Uint8Array(15)), 'rand');
    expectConfigError(() => kidFromIntKey(new Uint8Array(16)), 'intKey');
  });
});

describe('input length and value checks', () => {
  it.each([
    ['ck', () => deriveE2mIntKey(new Uint8Array(15), ik)],
    ['ik', () => deriveE2mIntKey(ck, new Uint8Array(17))],
    ['ck', () => deriveKs(new Uint8Array(32), ik)],
    ['intKey', () => deriveE2mKey(new Uint8Array(31), 'emse')],
    ['emseId', () => deriveE2mKey(k32, '')],
    ['emseId', () => deriveE2mKey(k32, 'em se')],
    ['ks', () => deriveKsAs(new Uint8Array(16), 'as')],
    ['asId', () => deriveKsAs(k32, '')],
    ['ck', () => deriveKausf(new Uint8Array(16 + 1), ik, '5G:mnc001.mcc001.3gppnetwork.org', new Uint8Array(6))],
    ['sqnXorAk', () => deriveKausf(ck, ik, '5G:mnc001.mcc001.3gppnetwork.org', new Uint8Array(5))],
    ['servingNetworkName', () => deriveKausf(ck, ik, 'mnc001.mcc001.3gppnetwork.org', new Uint8Array(6))],
    ['kausf', () => deriveKakma(new Uint8Array(16), '001010123456789')],
    ['supi', () => deriveKakma(k32, 'imsi-001010123456789')],
    ['supi', () => deriveAtid(k32, '')],
    ['kakma', () => deriveKaf(new Uint8Array(33), 'af.example', uaProtocolIdForTlsSuite(TLS_PSK_WITH_AES_128_CCM_8))],
    ['uaProtocolId', () => deriveKaf(k32, 'af.example', new Uint8Array(4))],
    ['afFqdn', () => deriveKaf(k32, '', new Uint8Array(5))],
    ['cipherSuite', () => uaProtocolIdForTlsSuite(0x10000)],
  ])('rejects a bad %s', (option, fn) => {
    expectConfigError(fn, option);
  });

  it('builds the Ua* identifier of TS 33.220 H.3 for the e2m cipher suite', () => {
    expect(toHex(uaProtocolIdForTlsSuite(TLS_PSK_WITH_AES_128_CCM_8))).toBe('010001c0a8');
  });

  it('separates K_AKMA from A-TID and SUPIs from each other', () => {
    expect(toHex(deriveKakma(k32, '001010123456789'))).not.toBe(toHex(deriveAtid(k32, '001010123456789')));
    expect(toHex(deriveKakma(k32, '001010123456789'))).not.toBe(toHex(deriveKakma(k32, '001010123456780')));
  });
});
