import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILE_CONFIG,
  KidMode,
  PROFILES,
  akmaPskIdentity,
  bestPskIdentity,
  deriveAtid,
  deriveE2mIntKey,
  deriveE2mKey,
  deriveKaf,
  deriveKakma,
  deriveKausf,
  deriveKid,
  deriveKs,
  deriveKsAs,
  kdf,
  kdfInput,
  kidFromIntKey,
  kidFromRand,
  parseAkmaPskIdentity,
  parseBestPskIdentity,
  parseScefPskIdentity,
  renderAkid,
  resolveProfileConfig,
  scefPskIdentity,
} from '../../src/kdf/index.js';
import { fromHex, toHex } from '../../src/util/index.js';

interface Entry {
  id: string;
  kind: string;
  inputs: Record<string, string>;
  fc?: string;
  key?: string;
  params?: { name: string; hex: string; text?: string }[];
  s_hex?: string;
  expected?: string;
  expected_hex?: string;
  text?: string;
  psk_identity_hex?: string;
  kid_rand?: string;
  kid_hash?: string;
  config?: unknown;
  published?: { value: string };
  source: string;
}

const { entries } = JSON.parse(
  readFileSync(new URL('../../certs-free-test-vectors/e2m-profiles.json', import.meta.url), 'utf8'),
) as { entries: Entry[] };

const h = (s: string | undefined, name = 'hex'): Uint8Array => fromHex(s ?? '', name);
const input = (e: Entry, k: string): string => {
  const v = e.inputs[k];
  if (v === undefined) throw new Error(`${e.id}: no input ${k}`);
  return v;
};
const ofKind = (...kinds: string[]): Entry[] => entries.filter((e) => kinds.includes(e.kind));
const kdfEntries = entries.filter((e) => e.s_hex !== undefined);

/** The derivation each KDF vector exercises, through the public profile functions. */
function derive(e: Entry): Uint8Array {
  const i = (k: string): string => input(e, k);
  const cfg = e.config === undefined ? DEFAULT_PROFILE_CONFIG : resolveProfileConfig(e.config);
  switch (e.kind) {
    case 'e2mIntKey':
      return deriveE2mIntKey(h(i('ck')), h(i('ik')), cfg);
    case 'e2mKey':
      return deriveE2mKey(h(i('intKey')), i('emseId'), cfg);
    case 'ks':
      return deriveKs(h(i('ck')), h(i('ik')), cfg);
    case 'ksAs':
      return deriveKsAs(h(i('ks')), i('asId'), cfg);
    case 'kausf':
      return deriveKausf(h(i('ck')), h(i('ik')), i('servingNetworkName'), h(i('sqnXorAk')));
    case 'kakma':
      return deriveKakma(h(i('kausf')), i('supi'));
    case 'aTid':
      return deriveAtid(h(i('kausf')), i('supi'));
    case 'kaf':
      return deriveKaf(h(i('kakma')), i('afFqdn'), h(i('uaProtocolId')));
    default:
      throw new Error(`${e.id}: unknown kind ${e.kind}`);
  }
}

describe('e2m-profiles.json', () => {
  it('covers every profile', () => {
    const kinds = new Set(entries.map((e) => e.kind));
    for (const k of ['e2mIntKey', 'e2mKey', 'ks', 'ksAs', 'kausf', 'kakma', 'aTid', 'kaf', 'bestPskIdentity', 'scefPskIdentity', 'akid']) {
      expect(kinds.has(k), k).toBe(true);
    }
    for (const e of entries) expect(e.source.length, e.id).toBeGreaterThan(20);
  });

  it.each(kdfEntries)('$id: S matches the stated s_hex and openssl output', (e) => {
    const params = (e.params ?? []).map((p) => h(p.hex, p.name));
    expect(toHex(kdfInput(h(e.fc, 'fc'), ...params))).toBe(e.s_hex);
    expect(toHex(kdf(h(e.key, 'key'), h(e.fc, 'fc'), ...params))).toBe(e.expected);
  });

  it.each(kdfEntries)('$id: profile function gives the expected key', (e) => {
    const out = derive(e);
    expect(out.length).toBe(32);
    expect(toHex(out)).toBe(e.expected);
  });

  it('matches the published K_AUSF', () => {
    const [e] = ofKind('kausf').filter((x) => x.published !== undefined);
    expect(e).toBeDefined();
    expect(toHex(derive(e as Entry))).toBe(e?.published?.value);
  });

  it.each(ofKind('e2mIntKey').filter((e) => e.kid_rand !== undefined))('$id: both kid modes', (e) => {
    const rand = h(input(e, 'rand'));
    const intKey = h(e.expected);
    expect(kidFromRand(rand)).toBe(e.kid_rand);
    expect(kidFromIntKey(intKey)).toBe(e.kid_hash);
    expect(deriveKid(KidMode.Rand, { rand, intKey })).toBe(e.kid_rand);
    expect(deriveKid(KidMode.Hash, { rand, intKey })).toBe(e.kid_hash);
  });

  it.each(ofKind('bestPskIdentity'))('$id: best psk_identity and its parse', (e) => {
    const bytes = bestPskIdentity(input(e, 'kid'), input(e, 'appIdentity'));
    expect(toHex(bytes)).toBe(e.expected_hex);
    expect(parseBestPskIdentity(bytes)).toEqual({ kid: input(e, 'kid'), appIdentity: input(e, 'appIdentity') });
  });

  it.each(ofKind('scefPskIdentity'))('$id: scef psk_identity and its parse', (e) => {
    const bytes = scefPskIdentity(input(e, 'guti'));
    expect(toHex(bytes)).toBe(e.expected_hex);
    expect(parseScefPskIdentity(bytes)).toEqual({ guti: input(e, 'guti') });
  });

  it.each(ofKind('akid'))('$id: A-KID rendering and AKMA psk_identity', (e) => {
    const aTid = h(input(e, 'aTid'));
    const akid = renderAkid(input(e, 'rid'), aTid, input(e, 'realm'));
    expect(akid).toBe(e.text);
    const bytes = akmaPskIdentity(akid);
    expect(toHex(bytes)).toBe(e.psk_identity_hex);
    const parsed = parseAkmaPskIdentity(bytes);
    expect(parsed.akid).toBe(akid);
    expect(parsed.rid).toBe(input(e, 'rid'));
    expect(toHex(parsed.aTid)).toBe(toHex(aTid));
    expect(parsed.realm).toBe(input(e, 'realm'));
  });
});

describe('the profile table', () => {
  it('holds the defaults of DESIGN.md §3 and the standard AKMA values', () => {
    expect(PROFILES.best.intKey).toEqual({ fc: 0xffe0, label: 'e2m_CIoT' });
    expect(PROFILES.best.e2mKey).toEqual({ fc: 0xffe1, label: 'e2m_key' });
    expect(PROFILES.scef.ks).toEqual({ fc: 0xffe2, label: 'End-to-End_IOT' });
    expect(PROFILES.scef.ksAs).toEqual({ fc: 0xffe3 });
    expect(PROFILES.akma.kausf.fc).toBe(0x6a);
    expect(PROFILES.akma.kakma).toEqual({ fc: 0x80, label: 'AKMA' });
    expect(PROFILES.akma.aTid).toEqual({ fc: 0x81, label: 'A-TID' });
    expect(PROFILES.akma.kaf.fc).toBe(0x82);
  });

  it('keeps e2m_key bound to the EMSE and the two CK‖IK derivations apart', () => {
    const intKey = new Uint8Array(32).fill(9);
    expect(toHex(deriveE2mKey(intKey, 'emse-a'))).not.toBe(toHex(deriveE2mKey(intKey, 'emse-b')));
    const ck = new Uint8Array(16).fill(1);
    const ik = new Uint8Array(16).fill(2);
    expect(toHex(deriveE2mIntKey(ck, ik))).not.toBe(toHex(deriveKs(ck, ik)));
  });

  it('normalises EMSE_Id to NFKC, so composed and decomposed forms give one key', () => {
    const intKey = new Uint8Array(32).fill(3);
    expect(toHex(deriveE2mKey(intKey, 'caf\u00e9'))).toBe(toHex(deriveE2mKey(intKey, 'cafe\u0301')));
  });
});
