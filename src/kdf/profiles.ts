/**
 * The derivation profiles of DESIGN.md §3 in one table, and their configuration.
 *
 * The `best` and `scef` values are not allocated by 3GPP, so their FC values and strings may be
 * overridden by configuration; the defaults use the two-octet FC form 0xFF ‖ FC2 (TS 33.220 B.2.2)
 * to stay clear of the one-octet allocations. The `akma` values are the standard ones and fixed.
 */
import { ConfigError } from '../util/index.js';
import { fcNumber, isWellFormedUnicode, kdfString, KDF_MAX_PARAM_LENGTH } from './generic.js';

/** FC values and constant strings of every derivation. */
export const PROFILES = {
  best: {
    /** e2m_int_key = KDF(CK‖IK, FC, P0 = "e2m_CIoT"): DESIGN.md §3, e2m value (not a 3GPP allocation). */
    intKey: { fc: 0xffe0, label: 'e2m_CIoT' },
    /** e2m_key = KDF(e2m_int_key, FC, P0 = EMSE_Id, P1 = "e2m_key"): DESIGN.md §3, e2m value. */
    e2mKey: { fc: 0xffe1, label: 'e2m_key' },
  },
  scef: {
    /** Ks = KDF(CK‖IK, FC, P0 = "End-to-End_IOT"): DESIGN.md §3, e2m value. */
    ks: { fc: 0xffe2, label: 'End-to-End_IOT' },
    /** Ks_AS = KDF(Ks, FC, P0 = AS_ID): DESIGN.md §3, e2m value. */
    ksAs: { fc: 0xffe3 },
  },
  akma: {
    /** K_AUSF = KDF(CK‖IK, 0x6A, serving network name, SQN⊕AK): TS 33.501 Annex A.2. */
    kausf: { fc: 0x6a },
    /** K_AKMA = KDF(K_AUSF, 0x80, "AKMA", SUPI): TS 33.535 Annex A.2. */
    kakma: { fc: 0x80, label: 'AKMA' },
    /** A-TID = KDF(K_AUSF, 0x81, "A-TID", SUPI): TS 33.535 Annex A.3. */
    aTid: { fc: 0x81, label: 'A-TID' },
    /** K_AF = KDF(K_AKMA, 0x82, AF_ID): TS 33.535 Annex A.4. */
    kaf: { fc: 0x82 },
  },
} as const;

/** One configurable derivation: its FC (number form, two-octet FCs as 0xFFxx) and string. */
export interface LabelledFc {
  readonly fc: number;
  readonly label: string;
}

/** The configurable part of the profiles (`best` and `scef`), resolved and validated. */
export interface ProfileConfig {
  readonly best: { readonly intKey: LabelledFc; readonly e2mKey: LabelledFc };
  readonly scef: { readonly ks: LabelledFc; readonly ksAs: { readonly fc: number } };
}

/** The defaults of DESIGN.md §3. */
export const DEFAULT_PROFILE_CONFIG: ProfileConfig = {
  best: { intKey: PROFILES.best.intKey, e2mKey: PROFILES.best.e2mKey },
  scef: { ks: PROFILES.scef.ks, ksAs: PROFILES.scef.ksAs },
};

/** An FC in configuration: a number, or hex of one or two octets ("0x6a", "FFE0", "0xffe0"). */
export type FcSetting = number | string;

/** What a configuration file may override; everything is optional. */
export interface ProfileOverrides {
  best?: {
    intKey?: { fc?: FcSetting; label?: string };
    e2mKey?: { fc?: FcSetting; label?: string };
  };
  scef?: {
    ks?: { fc?: FcSetting; label?: string };
    ksAs?: { fc?: FcSetting };
  };
}

const FC_HEX = /^(?:0x)?([0-9a-f]{2}|[0-9a-f]{4})$/i;

function parseFc(v: unknown, field: string): number {
  if (typeof v === 'string') {
    const m = FC_HEX.exec(v.trim());
    if (m === null) throw new ConfigError(field, `"${v}" is not hex of one or two octets (e.g. "0xffe0")`);
    return fcNumber(parseInt(m[1] as string, 16), field);
  }
  if (typeof v === 'number') return fcNumber(v, field);
  throw new ConfigError(field, 'expected a number or a hex string');
}

function parseLabel(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(field, 'expected a non-empty string');
  if (!isWellFormedUnicode(v)) throw new ConfigError(field, 'not well-formed Unicode');
  if (kdfString(v, field).length > KDF_MAX_PARAM_LENGTH) throw new ConfigError(field, 'longer than 65535 octets');
  return v;
}

function asRecord(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(field, 'expected an object');
  const rec = v as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!allowed.includes(k)) throw new ConfigError(`${field}.${k}`, `unknown field (expected one of ${allowed.join(', ')})`);
  }
  return rec;
}

function mergeEntry<T extends { fc: number; label?: string }>(base: T, v: unknown, field: string): T {
  if (v === undefined) return base;
  const hasLabel = base.label !== undefined;
  const rec = asRecord(v, field, hasLabel ? ['fc', 'label'] : ['fc']);
  const out: { fc: number; label?: string } = { ...base };
  if (rec['fc'] !== undefined) out.fc = parseFc(rec['fc'], `${field}.fc`);
  if (hasLabel && rec['label'] !== undefined) out.label = parseLabel(rec['label'], `${field}.label`);
  return out as T;
}

function checkDistinctFcs(cfg: ProfileConfig, path: string): void {
  const seen = new Map<number, string>([
    [PROFILES.akma.kausf.fc, 'akma.kausf'],
    [PROFILES.akma.kakma.fc, 'akma.kakma'],
    [PROFILES.akma.aTid.fc, 'akma.aTid'],
    [PROFILES.akma.kaf.fc, 'akma.kaf'],
  ]);
  const entries: [string, number][] = [
    ['best.intKey', cfg.best.intKey.fc],
    ['best.e2mKey', cfg.best.e2mKey.fc],
    ['scef.ks', cfg.scef.ks.fc],
    ['scef.ksAs', cfg.scef.ksAs.fc],
  ];
  for (const [name, fc] of entries) {
    const other = seen.get(fc);
    // TS 33.220 B.2.2: an FC value identifies one derivation; reuse would break key separation.
    if (other !== undefined) throw new ConfigError(`${path}.${name}.fc`, `FC 0x${fc.toString(16)} is already used by ${other}`);
    seen.set(fc, name);
  }
}

/**
 * Applies configuration overrides (e.g. parsed JSON) to the defaults of DESIGN.md §3. Every field is
 * validated; a bad one throws ConfigError naming it as `<path>.best.intKey.fc` and so on. The FCs of
 * all derivations (AKMA's included) must stay distinct.
 */
export function resolveProfileConfig(overrides: unknown = {}, path = 'kdf'): ProfileConfig {
  if (overrides === undefined || overrides === null) return DEFAULT_PROFILE_CONFIG;
  if (typeof overrides === 'object' && Object.hasOwn(overrides, 'akma')) {
    throw new ConfigError(`${path}.akma`, 'the AKMA values are fixed by TS 33.501 / TS 33.535 and not configurable');
  }
  const top = asRecord(overrides, path, ['best', 'scef']);
  const d = DEFAULT_PROFILE_CONFIG;
  const best = top['best'] === undefined ? {} : asRecord(top['best'], `${path}.best`, ['intKey', 'e2mKey']);
  const scef = top['scef'] === undefined ? {} : asRecord(top['scef'], `${path}.scef`, ['ks', 'ksAs']);
  const cfg: ProfileConfig = {
    best: {
      intKey: mergeEntry(d.best.intKey, best['intKey'], `${path}.best.intKey`),
      e2mKey: mergeEntry(d.best.e2mKey, best['e2mKey'], `${path}.best.e2mKey`),
    },
    scef: {
      ks: mergeEntry(d.scef.ks, scef['ks'], `${path}.scef.ks`),
      ksAs: mergeEntry(d.scef.ksAs, scef['ksAs'], `${path}.scef.ksAs`),
    },
  };
  checkDistinctFcs(cfg, path);
  return cfg;
}
