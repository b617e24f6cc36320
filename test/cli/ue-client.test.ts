/**
 * `ue-client milenage | usim | derive`, run in-process through runProgram (STYLE.md 12), against
 * certs-free-test-vectors/milenage.json and e2m-profiles.json (sources cited per entry there), plus an
 * independent recomputation of the `best` and `scef` derivations by the openssl command line over S
 * strings assembled here by hand (TS 33.220 B.2.1), and the bad-input contract (DESIGN.md §9: one line
 * naming the flag, exit 2).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverSqnFromAuts } from '../../src/aka/index.js';
import { ExitCode } from '../../src/cli/io.js';
import { createUeClientProgram } from '../../src/cli/ue-client/index.js';
import { type Run, runCli } from '../support/cli-io.js';
import { type MilenageFile, type MilenageSet, readVectors } from '../support/vectors.js';

function ueClient(argv: readonly string[]): Promise<Run> {
  return runCli(createUeClientProgram, argv);
}

/** Runs a command that must succeed with --json and returns its object. */
async function json(argv: readonly string[]): Promise<Record<string, unknown>> {
  const r = await ueClient([...argv, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(ExitCode.ok);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const sortedKeys = (o: object): string[] => Object.keys(o).sort();

// ---------------------------------------------------------------------------------------------------
// Vector files

interface ProfileEntry {
  readonly id: string;
  readonly kind: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly expected?: string;
  readonly text?: string;
  readonly expected_hex?: string;
  readonly psk_identity_hex?: string;
  readonly kid_rand?: string;
  readonly kid_hash?: string;
  readonly config?: unknown;
}
interface ProfileFile {
  readonly entries: readonly ProfileEntry[];
}

const milenageFile = readVectors<MilenageFile>('milenage.json');
const profileFile = readVectors<ProfileFile>('e2m-profiles.json');

const hexXor = (a: string, b: string): string => {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return Buffer.from(x.map((v, i) => v ^ (y[i] ?? 0))).toString('hex');
};
const sqnHex = (n: bigint): string => n.toString(16).padStart(12, '0');

// ---------------------------------------------------------------------------------------------------
// ue-client milenage

/** The CLI's JSON name for each listed output of a Milenage test set (TS 35.206 §4.1). */
const MILENAGE_OUTPUTS = [
  ['opc', 'opc'],
  ['f1', 'macA'],
  ['f1star', 'macS'],
  ['f2', 'res'],
  ['f3', 'ck'],
  ['f4', 'ik'],
  ['f5', 'ak'],
  ['f5star', 'akStar'],
] as const;
const MILENAGE_KEYS = ['opc', 'macA', 'macS', 'res', 'ck', 'ik', 'ak', 'akStar', 'autn'].sort();

interface MilenageCase {
  readonly name: string;
  readonly set: MilenageSet;
  readonly flag: '--op' | '--opc';
  readonly value: string;
}
const milenageSets = [...milenageFile.sets_ts35208, ...milenageFile.sets_ts35207];
const milenageCases: MilenageCase[] = milenageSets.flatMap((set) => [
  ...(set.op === undefined ? [] : [{ name: `${set.id} --op`, set, flag: '--op' as const, value: set.op }]),
  ...(set.opc === undefined ? [] : [{ name: `${set.id} --opc`, set, flag: '--opc' as const, value: set.opc }]),
]);

describe('ue-client milenage', () => {
  it('has vectors for both OP and OPc input', () => {
    expect(milenageSets.length).toBeGreaterThanOrEqual(16);
    expect(milenageCases.filter((c) => c.flag === '--op').length).toBeGreaterThan(0);
    expect(milenageCases.filter((c) => c.flag === '--opc').length).toBeGreaterThan(0);
  });

  it.each(milenageCases)('$name: every listed output, and AUTN = (SQN ⊕ f5) ‖ AMF ‖ f1', async ({ set, flag, value }) => {
    const out = await json(['milenage', '--k', set.k, flag, value, '--rand', set.rand, '--sqn', set.sqn, '--amf', set.amf]);
    expect(sortedKeys(out)).toEqual(MILENAGE_KEYS);
    let compared = 0;
    for (const [field, key] of MILENAGE_OUTPUTS) {
      const expected = set[field];
      if (expected === undefined) continue;
      expect(out[key], `${key} (${field})`).toBe(expected.toLowerCase());
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(7);
    if (set.f1 !== undefined && set.f5 !== undefined) {
      // TS 33.102 §6.3.2, assembled from the vector's own f5 and f1.
      expect(out.autn).toBe(`${hexXor(set.sqn, set.f5)}${set.amf}${set.f1}`.toLowerCase());
    }
  });

  it.each(milenageFile.autn)('$id: AUTN, RES, CK, IK, AK of the published vector', async (c) => {
    const out = await json(['milenage', '--k', c.k, '--opc', c.opc, '--rand', c.rand, '--sqn', c.sqn, '--amf', c.amf]);
    const names: Readonly<Record<string, string>> = { autn: 'autn', res: 'res', ck: 'ck', ik: 'ik', ak: 'ak' };
    const expectedAutn = c.expected.autn;
    expect(expectedAutn).toMatch(/^[0-9a-f]{32}$/);
    expect(out.autn).toBe(expectedAutn);
    for (const [field, value] of Object.entries(c.expected)) {
      const key = names[field];
      if (key !== undefined) expect(out[key], field).toBe(value);
    }
  });

  it('accepts upper-case and 0x-prefixed hex and prints lower case', async () => {
    const set = milenageSets.find((s) => s.op !== undefined && s.f3 !== undefined && /[a-f]/.test(s.k));
    if (set?.op === undefined || set.f3 === undefined) throw new Error('no suitable Milenage set');
    const up = (s: string): string => `0x${s.toUpperCase()}`;
    const out = await json(['milenage', '--k', up(set.k), '--op', up(set.op), '--rand', up(set.rand), '--sqn', up(set.sqn), '--amf', up(set.amf)]);
    expect(out.ck).toBe(set.f3.toLowerCase());
  });

  it('prints `key: value` lines without --json', async () => {
    const set = milenageSets[0];
    if (set?.opc === undefined || set.f2 === undefined) throw new Error('no Milenage set with opc and f2');
    const r = await ueClient(['milenage', '--k', set.k, '--opc', set.opc, '--rand', set.rand, '--sqn', set.sqn, '--amf', set.amf]);
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout.split('\n')).toContain(`res: ${set.f2}`);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(MILENAGE_KEYS.length);
  });
});

// ---------------------------------------------------------------------------------------------------
// ue-client usim

/** TS 35.208 test set 1, with AUTN assembled from the vector's f5 and f1. */
const usimSet = (() => {
  const s = milenageSets.find((x) => x.opc !== undefined && x.f1 && x.f2 && x.f3 && x.f4 && x.f5 && x.f5star);
  if (!s?.opc || !s.f1 || !s.f2 || !s.f3 || !s.f4 || !s.f5 || !s.f5star) throw new Error('no complete Milenage set');
  return { ...s, opc: s.opc, f2: s.f2, f3: s.f3, f4: s.f4, f5star: s.f5star, autn: `${hexXor(s.sqn, s.f5)}${s.amf}${s.f1}` };
})();
const sqnValue = BigInt(`0x${usimSet.sqn}`);

function usimArgs(sqnMs: string, autn = usimSet.autn): string[] {
  return ['usim', '--k', usimSet.k, '--opc', usimSet.opc, '--rand', usimSet.rand, '--autn', autn, '--sqn-ms', sqnMs, '--json'];
}

describe('ue-client usim', () => {
  it('answers ok with RES, CK, IK for a fresh SQN (SQN_MS = SQN − 1)', async () => {
    const r = await ueClient(usimArgs(sqnHex(sqnValue - 1n)));
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ result: 'ok', res: usimSet.f2, ck: usimSet.f3, ik: usimSet.f4 });
  });

  it('the AUTS convention is anchored by the published AUTS vector', () => {
    for (const c of milenageFile.auts) {
      const sqnMs = recoverSqnFromAuts(Buffer.from(c.k, 'hex'), Buffer.from(c.opc, 'hex'), Buffer.from(c.rand, 'hex'), Buffer.from(c.auts, 'hex'));
      expect(Buffer.from(sqnMs).toString('hex'), c.id).toBe(c.expected_sqn_ms);
    }
  });

  it.each([
    ['SQN_MS = SQN (replay)', 0n],
    ['SQN_MS = SQN + 1', 1n],
    ['SQN_MS far below SQN (beyond Δ = 2^28)', -(1n << 28n) - 1n],
  ])('sync-failure with %s: exit 3 and an AUTS that carries SQN_MS', async (_name, offset) => {
    const sqnMs = sqnHex(sqnValue + offset);
    const r = await ueClient(usimArgs(sqnMs));
    expect(r.code).toBe(ExitCode.authFailure);
    expect(r.stderr).not.toContain('    at ');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(sortedKeys(out)).toEqual(['auts', 'result']);
    expect(out.result).toBe('sync-failure');
    const auts = String(out.auts);
    expect(auts).toMatch(/^[0-9a-f]{28}$/);
    // Conc(SQN_MS) = SQN_MS ⊕ AK*, with AK* = f5* of the vector (TS 33.102 §6.3.3).
    expect(auts.slice(0, 12)).toBe(hexXor(sqnMs, usimSet.f5star));
    const recovered = recoverSqnFromAuts(
      Buffer.from(usimSet.k, 'hex'),
      Buffer.from(usimSet.opc, 'hex'),
      Buffer.from(usimSet.rand, 'hex'),
      Buffer.from(auts, 'hex'),
    );
    expect(Buffer.from(recovered).toString('hex')).toBe(sqnMs);
  });

  it.each([
    ['SQN ⊕ AK', 0],
    ['SQN ⊕ AK', 47],
    ['AMF', 48],
    ['AMF', 63],
    ['MAC-A', 64],
    ['MAC-A', 127],
  ])('mac-failure (exit 3) when AUTN bit %s/%i is flipped', async (_part, bit) => {
    const autn = Buffer.from(usimSet.autn, 'hex');
    autn[bit >> 3] = (autn[bit >> 3] ?? 0) ^ (0x80 >> (bit & 7));
    const r = await ueClient(usimArgs(sqnHex(sqnValue - 1n), autn.toString('hex')));
    expect(r.code).toBe(ExitCode.authFailure);
    expect(JSON.parse(r.stdout)).toEqual({ result: 'mac-failure' });
  });
});

// ---------------------------------------------------------------------------------------------------
// ue-client derive: e2m-profiles.json

interface DeriveCase {
  readonly name: string;
  readonly argv: readonly string[];
  /** Expected values of the JSON output. */
  readonly expected: Readonly<Record<string, string>>;
  /** Expected UTF-8 octets of pskIdentity, as hex. */
  readonly pskIdentityHex?: string;
}

const PROFILE_KEYS: Readonly<Record<string, readonly string[]>> = {
  best: ['e2mIntKey', 'kid', 'e2mKey', 'pskIdentity'],
  scef: ['ks', 'ksAs', 'pskIdentity'],
  akma: ['kausf', 'kakma', 'aTid', 'akid', 'kaf', 'pskIdentity'],
};

/** Filler inputs for flags that an entry does not constrain. */
const FILL = {
  ck: '000102030405060708090a0b0c0d0e0f',
  ik: '101112131415161718191a1b1c1d1e1f',
  rand: '202122232425262728292a2b2c2d2e2f',
  emseId: 'emse.fill.example',
  identity: 'fill@iot.example',
  supi: '001010000000001',
  sqnXorAk: '000000000001',
};

/** Ua* security protocol identifier of TLS_PSK_WITH_AES_128_CCM_8 (TS 33.220 Annex H.3), fixed in the CLI. */
const UA_PROTOCOL_ID_CCM8 = '010001c0a8';

const entries = profileFile.entries;
const entryBy = (kind: string, expected: string | undefined): ProfileEntry | undefined =>
  entries.find((e) => e.kind === kind && e.expected === expected && e.config === undefined);

function input(e: ProfileEntry, name: string): string {
  const v = e.inputs[name];
  if (v === undefined) throw new Error(`${e.id}: no input ${name}`);
  return v;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(what);
  return v;
}

/** argv of `derive --profile akma` reaching the K_AUSF of `kausfEntry`. */
function akmaArgv(kausfEntry: ProfileEntry, supi: string, afFqdn: string): string[] {
  return [
    'derive', '--profile', 'akma',
    '--ck', input(kausfEntry, 'ck'), '--ik', input(kausfEntry, 'ik'), '--rand', FILL.rand,
    '--sn-name', input(kausfEntry, 'servingNetworkName'), '--sqn-xor-ak', input(kausfEntry, 'sqnXorAk'),
    '--identity', supi, '--emse-id', afFqdn,
  ];
}

/**
 * Maps one entry of e2m-profiles.json onto `ue-client derive` invocations, following chained entries
 * (an e2m_key entry's int key is the output of an e2m_int_key entry, and so on). Returns a reason
 * string for an entry the CLI flags cannot express.
 */
function deriveCases(e: ProfileEntry): DeriveCase[] | string {
  if (e.config !== undefined) return 'profile configuration overrides (FC, labels) have no CLI flag';
  const expected = need(e.expected ?? e.text, `${e.id}: no expected value`);
  const best = (ck: string, ik: string, rand: string, emseId: string, identity: string): string[] => [
    'derive', '--ck', ck, '--ik', ik, '--rand', rand, '--emse-id', emseId, '--identity', identity,
  ];
  switch (e.kind) {
    case 'e2mIntKey': {
      const argv = best(input(e, 'ck'), input(e, 'ik'), input(e, 'rand'), FILL.emseId, FILL.identity);
      const kidRand = need(e.kid_rand, `${e.id}: kid_rand`);
      const kidHash = need(e.kid_hash, `${e.id}: kid_hash`);
      return [
        { name: `${e.id} (default kid mode)`, argv, expected: { e2mIntKey: expected, kid: kidRand } },
        { name: `${e.id} --kid-mode rand`, argv: [...argv, '--kid-mode', 'rand'], expected: { e2mIntKey: expected, kid: kidRand } },
        { name: `${e.id} --kid-mode hash`, argv: [...argv, '--kid-mode', 'hash'], expected: { e2mIntKey: expected, kid: kidHash } },
      ];
    }
    case 'e2mKey': {
      const intKey = input(e, 'intKey');
      const from = entryBy('e2mIntKey', intKey);
      if (from === undefined) return `no e2mIntKey entry yields ${intKey}`;
      const argv = best(input(from, 'ck'), input(from, 'ik'), input(from, 'rand'), input(e, 'emseId'), FILL.identity);
      return [{ name: e.id, argv, expected: { e2mIntKey: intKey, e2mKey: expected } }];
    }
    case 'bestPskIdentity': {
      const kid = input(e, 'kid');
      // kid alternative 1 is the last four octets of RAND (DESIGN.md §3).
      const rand = `${FILL.rand.slice(0, 24)}${kid}`;
      const argv = best(FILL.ck, FILL.ik, rand, FILL.emseId, input(e, 'appIdentity'));
      return [{ name: e.id, argv, expected: { kid, pskIdentity: expected }, pskIdentityHex: need(e.expected_hex, e.id) }];
    }
    case 'ks': {
      const argv = ['derive', '--profile', 'scef', '--ck', input(e, 'ck'), '--ik', input(e, 'ik'), '--rand', FILL.rand];
      return [{ name: e.id, argv: [...argv, '--emse-id', FILL.emseId, '--identity', FILL.identity], expected: { ks: expected } }];
    }
    case 'ksAs': {
      const ks = input(e, 'ks');
      const from = entryBy('ks', ks);
      if (from === undefined) return `no ks entry yields ${ks}`;
      const argv = ['derive', '--profile', 'scef', '--ck', input(from, 'ck'), '--ik', input(from, 'ik'), '--rand', FILL.rand];
      return [{ name: e.id, argv: [...argv, '--emse-id', input(e, 'asId'), '--identity', FILL.identity], expected: { ks, ksAs: expected } }];
    }
    case 'scefPskIdentity': {
      const argv = ['derive', '--profile', 'scef', '--ck', FILL.ck, '--ik', FILL.ik, '--rand', FILL.rand, '--emse-id', FILL.emseId];
      const pskIdentityHex = need(e.expected_hex, e.id);
      return [{ name: e.id, argv: [...argv, '--identity', input(e, 'guti')], expected: { pskIdentity: expected }, pskIdentityHex }];
    }
    case 'kausf':
      return [{ name: e.id, argv: akmaArgv(e, FILL.supi, FILL.emseId), expected: { kausf: expected } }];
    case 'kakma':
    case 'aTid': {
      const kausf = input(e, 'kausf');
      const from = entryBy('kausf', kausf);
      if (from === undefined) return `no kausf entry yields ${kausf}`;
      return [{ name: e.id, argv: akmaArgv(from, input(e, 'supi'), FILL.emseId), expected: { kausf, [e.kind]: expected } }];
    }
    case 'kaf': {
      if (input(e, 'uaProtocolId') !== UA_PROTOCOL_ID_CCM8) return 'the CLI derives K_AF for TLS_PSK_WITH_AES_128_CCM_8 only';
      const kakma = input(e, 'kakma');
      const viaKakma = entryBy('kakma', kakma);
      const from = viaKakma === undefined ? undefined : entryBy('kausf', input(viaKakma, 'kausf'));
      if (viaKakma === undefined || from === undefined) return `no kakma/kausf entries yield ${kakma}`;
      return [{ name: e.id, argv: akmaArgv(from, input(viaKakma, 'supi'), input(e, 'afFqdn')), expected: { kakma, kaf: expected } }];
    }
    case 'akid': {
      const aTid = input(e, 'aTid');
      const viaTid = entryBy('aTid', aTid);
      const from = viaTid === undefined ? undefined : entryBy('kausf', input(viaTid, 'kausf'));
      if (viaTid === undefined || from === undefined) return `no aTid/kausf entries yield ${aTid}`;
      const argv = [...akmaArgv(from, input(viaTid, 'supi'), FILL.emseId), '--rid', input(e, 'rid')];
      const realm = input(e, 'realm');
      const pskIdentityHex = need(e.psk_identity_hex, e.id);
      return [
        { name: `${e.id} --realm`, argv: [...argv, '--realm', realm], expected: { aTid, akid: expected }, pskIdentityHex },
        {
          name: `${e.id} realm from --sn-name`,
          argv: argv.flatMap((a, i) => (argv[i - 1] === '--sn-name' ? [`5G:${realm}`] : [a])),
          expected: { akid: expected },
          pskIdentityHex,
        },
      ];
    }
    default:
      return `unknown kind ${e.kind}`;
  }
}

const mapped = entries.map((e) => ({ entry: e, cases: deriveCases(e) }));
const deriveVectorCases = mapped.flatMap((m) => (typeof m.cases === 'string' ? [] : m.cases));
const unmapped = mapped.flatMap((m) => (typeof m.cases === 'string' ? [{ id: m.entry.id, reason: m.cases }] : []));

function profileOf(argv: readonly string[]): string {
  const i = argv.indexOf('--profile');
  return i < 0 ? 'best' : (argv[i + 1] ?? 'best');
}

describe('ue-client derive: e2m-profiles.json', () => {
  it('maps every entry except the configuration overrides', () => {
    expect(unmapped.map((u) => u.reason).every((r) => r.startsWith('profile configuration'))).toBe(true);
    expect(unmapped.length).toBeLessThanOrEqual(entries.filter((e) => e.config !== undefined).length);
    const kinds = new Set(mapped.filter((m) => typeof m.cases !== 'string').map((m) => m.entry.kind));
    for (const k of ['e2mIntKey', 'e2mKey', 'bestPskIdentity', 'ks', 'ksAs', 'scefPskIdentity', 'kausf', 'kakma', 'aTid', 'kaf', 'akid']) {
      expect(kinds.has(k), k).toBe(true);
    }
  });

  it.each(deriveVectorCases)('$name', async (c) => {
    const out = await json(c.argv);
    const profile = profileOf(c.argv);
    expect(sortedKeys(out)).toEqual([...(PROFILE_KEYS[profile] ?? [])].sort());
    for (const [key, value] of Object.entries(c.expected)) expect(out[key], key).toBe(value);
    if (c.pskIdentityHex !== undefined) {
      expect(Buffer.from(String(out.pskIdentity), 'utf8').toString('hex')).toBe(c.pskIdentityHex);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// ue-client derive: independent recomputation with openssl

const dir = mkdtempSync(join(tmpdir(), 'e2m-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function opensslHmac(keyHex: string, s: Buffer): string {
  const file = join(dir, `s${fileNo++}.bin`);
  writeFileSync(file, s);
  const out = execFileSync('openssl', ['mac', '-digest', 'SHA256', '-macopt', `hexkey:${keyHex}`, '-in', file, 'HMAC'], {
    encoding: 'utf8',
  });
  return out.trim().toLowerCase();
}

function opensslSha256(hex: string): string {
  const file = join(dir, `h${fileNo++}.bin`);
  writeFileSync(file, Buffer.from(hex, 'hex'));
  const out = execFileSync('openssl', ['dgst', '-sha256', '-r', file], { encoding: 'utf8' });
  return (out.split(' ')[0] ?? '').toLowerCase();
}

/** S = FC ‖ P0 ‖ L0 ‖ P1 ‖ L1 … (TS 33.220 B.2.1.1), strings as UTF-8. */
function handS(fc: readonly number[], ...params: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(fc)];
  for (const p of params) {
    const b = Buffer.from(p, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(b, len);
  }
  return Buffer.concat(parts);
}

const rndHex = (n: number): string => randomBytes(n).toString('hex');

describe('ue-client derive: openssl agrees on random CK, IK, RAND', () => {
  it.each([0, 1, 2, 3])('best, random case %i', async () => {
    const [ck, ik, rand] = [rndHex(16), rndHex(16), rndHex(16)];
    const emseId = `emse-${rndHex(3)}.example.net`;
    const identity = `dev-${rndHex(4)}@iot.example.com`;
    const out = await json(['derive', '--ck', ck, '--ik', ik, '--rand', rand, '--emse-id', emseId, '--identity', identity, '--kid-mode', 'rand']);
    const intKey = opensslHmac(`${ck}${ik}`, handS([0xff, 0xe0], 'e2m_CIoT'));
    const e2mKey = opensslHmac(intKey, handS([0xff, 0xe1], emseId, 'e2m_key'));
    const kid = rand.slice(-8);
    expect(out).toEqual({ e2mIntKey: intKey, kid, e2mKey, pskIdentity: `e2m:${kid}:${identity}` });

    const hashed = await json(['derive', '--ck', ck, '--ik', ik, '--rand', rand, '--emse-id', emseId, '--identity', identity, '--kid-mode', 'hash']);
    const kidHash = opensslSha256(intKey).slice(0, 8);
    expect(hashed).toEqual({ e2mIntKey: intKey, kid: kidHash, e2mKey, pskIdentity: `e2m:${kidHash}:${identity}` });
  });

  it('scef, random case', async () => {
    const [ck, ik] = [rndHex(16), rndHex(16)];
    const asId = `as-${rndHex(3)}.example.org`;
    const guti = `00101-8001-01-${rndHex(4)}`;
    const out = await json(['derive', '--profile', 'scef', '--ck', ck, '--ik', ik, '--rand', rndHex(16), '--emse-id', asId, '--identity', guti]);
    const ks = opensslHmac(`${ck}${ik}`, handS([0xff, 0xe2], 'End-to-End_IOT'));
    expect(out).toEqual({ ks, ksAs: opensslHmac(ks, handS([0xff, 0xe3], asId)), pskIdentity: `guti:${guti}` });
  });
});

// ---------------------------------------------------------------------------------------------------
// Help and examples

/** The command line of the help text's example, without the binary and subcommand names. */
function exampleArgv(help: string, sub: string): string[] {
  const at = help.indexOf('Example');
  expect(at).toBeGreaterThanOrEqual(0);
  const lines = help.slice(at).split('\n').slice(1).join('\n').replace(/\\\n/g, ' ');
  const line = lines.split('\n').find((l) => l.includes(`ue-client ${sub}`)) ?? '';
  const words = line.trim().split(/\s+/);
  expect(words.slice(0, 2)).toEqual(['ue-client', sub]);
  return words.slice(2);
}

describe('ue-client --help', () => {
  const REQUIRED: Readonly<Record<string, readonly string[]>> = {
    milenage: ['--k', '--rand', '--sqn', '--amf'],
    usim: ['--k', '--opc', '--rand', '--autn', '--sqn-ms'],
    derive: ['--ck', '--ik', '--rand', '--emse-id', '--identity'],
  };

  it.each(Object.keys(REQUIRED))('%s --help shows an example naming every required flag', async (sub) => {
    const r = await ueClient([sub, '--help']);
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout).toContain('Example');
    const argv = exampleArgv(r.stdout, sub);
    for (const flag of REQUIRED[sub] ?? []) expect(argv).toContain(flag);
  });

  const set1 = milenageSets.find((s) => s.id === 'ts35208-set1');
  const int1 = entries.find((e) => e.kind === 'e2mIntKey' && e.inputs.rand === set1?.rand && e.config === undefined);

  it('the milenage example is TS 35.208 test set 1 and gives its outputs', async () => {
    const help = (await ueClient(['milenage', '--help'])).stdout;
    const out = await json(['milenage', ...exampleArgv(help, 'milenage').filter((a) => a !== '--json')]);
    expect(set1?.f1).toMatch(/^[0-9a-f]{16}$/);
    expect(out.macA).toBe(set1?.f1);
    expect(out.res).toBe(set1?.f2);
    expect(out.ck).toBe(set1?.f3);
  });

  it('the usim example answers ok with test set 1 outputs', async () => {
    const help = (await ueClient(['usim', '--help'])).stdout;
    const out = await json(['usim', ...exampleArgv(help, 'usim').filter((a) => a !== '--json')]);
    expect(out).toEqual({ result: 'ok', res: set1?.f2, ck: set1?.f3, ik: set1?.f4 });
  });

  it('the derive example gives the e2m_int_key of e2m-profiles.json', async () => {
    const help = (await ueClient(['derive', '--help'])).stdout;
    const out = await json(['derive', ...exampleArgv(help, 'derive').filter((a) => a !== '--json')]);
    expect(int1?.expected).toMatch(/^[0-9a-f]{64}$/);
    expect(out.e2mIntKey).toBe(int1?.expected);
  });

  it('no command at all shows usage and exits 2', async () => {
    const r = await ueClient([]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain('Usage: ue-client');
    expect(r.stdout).toBe('');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await ueClient(['--version']);
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

// ---------------------------------------------------------------------------------------------------
// Bad input: one line naming the flag, exit 2 (DESIGN.md §9)

const S1 = {
  k: '465b5ce8b199b49faa5f0a2ee238a6bc',
  op: 'cdc202d5123e20f62b6d676ac72cb318',
  opc: 'cd63cb71954a9f4e48a5994e37a02baf',
  rand: '23553cbe9637a89d218ae64dae47bf35',
  sqn: 'ff9bb4d0b607',
  amf: 'b9b9',
  autn: '55f328b43577b9b94a9ffac354dfafb3',
  ck: 'b40ba9a3c58b2a05bbf0d987b21bf8cb',
  ik: 'f769bcd751044604127672711c6d3441',
};

type Flags = Readonly<Record<string, string | undefined>>;
const toArgv = (flags: Flags): string[] =>
  Object.entries(flags).flatMap(([f, v]) => (v === undefined ? [] : [`--${f}`, v]));

const milenageOk: Flags = { k: S1.k, op: S1.op, rand: S1.rand, sqn: S1.sqn, amf: S1.amf };
const usimOk: Flags = { k: S1.k, opc: S1.opc, rand: S1.rand, autn: S1.autn, 'sqn-ms': 'ff9bb4d0b600' };
const deriveOk: Flags = { ck: S1.ck, ik: S1.ik, rand: S1.rand, 'emse-id': 'emse.example.com', identity: 'sensor-17@iot.example.com' };
const akmaOk: Flags = { ...deriveOk, profile: 'akma', identity: '001010123456789', 'sqn-xor-ak': '0304050607f7' };

/** A valid DNS name (labels of 60 and 30) long enough to push `3GPP-AKMA` ‖ A-KID past 128 octets. */
const LONG_REALM = `${'r'.repeat(60)}.${'s'.repeat(30)}`;

interface BadCase {
  readonly name: string;
  readonly argv: readonly string[];
  readonly flag: string;
}
const bad = (name: string, sub: string, flags: Flags, flag: string, extra: readonly string[] = []): BadCase => ({
  name,
  argv: [sub, ...toArgv(flags), ...extra],
  flag,
});

const badCases: BadCase[] = [
  // milenage
  bad('milenage: odd-length --k', 'milenage', { ...milenageOk, k: S1.k.slice(1) }, '--k'),
  bad('milenage: non-hex --k', 'milenage', { ...milenageOk, k: `${S1.k.slice(2)}zz` }, '--k'),
  bad('milenage: --k of 15 octets', 'milenage', { ...milenageOk, k: S1.k.slice(2) }, '--k'),
  bad('milenage: --k of 17 octets', 'milenage', { ...milenageOk, k: `${S1.k}00` }, '--k'),
  bad('milenage: empty --k', 'milenage', { ...milenageOk, k: '' }, '--k'),
  bad('milenage: --op of 15 octets', 'milenage', { ...milenageOk, op: S1.op.slice(2) }, '--op'),
  bad('milenage: non-hex --opc', 'milenage', { ...milenageOk, op: undefined, opc: `g${S1.opc.slice(1)}` }, '--opc'),
  bad('milenage: both --op and --opc', 'milenage', { ...milenageOk, opc: S1.opc }, '--opc'),
  bad('milenage: neither --op nor --opc', 'milenage', { ...milenageOk, op: undefined }, '--op'),
  bad('milenage: --rand of 8 octets', 'milenage', { ...milenageOk, rand: S1.rand.slice(16) }, '--rand'),
  bad('milenage: odd-length --rand', 'milenage', { ...milenageOk, rand: `${S1.rand}0` }, '--rand'),
  bad('milenage: --sqn of 5 octets', 'milenage', { ...milenageOk, sqn: S1.sqn.slice(2) }, '--sqn'),
  bad('milenage: --sqn of 7 octets', 'milenage', { ...milenageOk, sqn: `00${S1.sqn}` }, '--sqn'),
  bad('milenage: non-hex --sqn', 'milenage', { ...milenageOk, sqn: 'ff9bb4d0b6x7' }, '--sqn'),
  bad('milenage: --amf of 1 octet', 'milenage', { ...milenageOk, amf: 'b9' }, '--amf'),
  bad('milenage: --amf of 3 octets', 'milenage', { ...milenageOk, amf: 'b9b900' }, '--amf'),
  bad('milenage: missing --k', 'milenage', { ...milenageOk, k: undefined }, '--k'),
  bad('milenage: missing --rand', 'milenage', { ...milenageOk, rand: undefined }, '--rand'),
  bad('milenage: missing --sqn', 'milenage', { ...milenageOk, sqn: undefined }, '--sqn'),
  bad('milenage: missing --amf', 'milenage', { ...milenageOk, amf: undefined }, '--amf'),
  bad('milenage: --amf without its value', 'milenage', { ...milenageOk, amf: undefined }, '--amf', ['--amf']),
  bad('milenage: misspelt flag with a suggestion', 'milenage', milenageOk, '--jsn', ['--jsn']),
  // usim
  bad('usim: --k of 15 octets', 'usim', { ...usimOk, k: S1.k.slice(2) }, '--k'),
  bad('usim: odd-length --opc', 'usim', { ...usimOk, opc: S1.opc.slice(1) }, '--opc'),
  bad('usim: non-hex --rand', 'usim', { ...usimOk, rand: `${S1.rand.slice(2)}--` }, '--rand'),
  bad('usim: --autn of 15 octets', 'usim', { ...usimOk, autn: S1.autn.slice(2) }, '--autn'),
  bad('usim: --autn of 17 octets', 'usim', { ...usimOk, autn: `${S1.autn}00` }, '--autn'),
  bad('usim: --sqn-ms of 5 octets', 'usim', { ...usimOk, 'sqn-ms': 'ff9bb4d0b6' }, '--sqn-ms'),
  bad('usim: odd-length --sqn-ms', 'usim', { ...usimOk, 'sqn-ms': 'ff9bb4d0b60' }, '--sqn-ms'),
  bad('usim: missing --autn', 'usim', { ...usimOk, autn: undefined }, '--autn'),
  bad('usim: missing --sqn-ms', 'usim', { ...usimOk, 'sqn-ms': undefined }, '--sqn-ms'),
  bad('usim: missing --opc', 'usim', { ...usimOk, opc: undefined }, '--opc'),
  // derive
  bad('derive: --ck of 15 octets', 'derive', { ...deriveOk, ck: S1.ck.slice(2) }, '--ck'),
  bad('derive: odd-length --ik', 'derive', { ...deriveOk, ik: S1.ik.slice(1) }, '--ik'),
  bad('derive: non-hex --rand', 'derive', { ...deriveOk, rand: 'x'.repeat(32) }, '--rand'),
  bad('derive: --rand of 17 octets', 'derive', { ...deriveOk, rand: `${S1.rand}00` }, '--rand'),
  bad('derive: unknown --profile', 'derive', { ...deriveOk, profile: 'gba' }, '--profile'),
  bad('derive: --profile with a line break', 'derive', { ...deriveOk, profile: 'be\nst' }, '--profile'),
  bad('derive: unknown --kid-mode', 'derive', { ...deriveOk, 'kid-mode': 'sha1' }, '--kid-mode'),
  bad('derive: missing --ck', 'derive', { ...deriveOk, ck: undefined }, '--ck'),
  bad('derive: missing --emse-id', 'derive', { ...deriveOk, 'emse-id': undefined }, '--emse-id'),
  bad('derive: missing --identity', 'derive', { ...deriveOk, identity: undefined }, '--identity'),
  bad('derive: empty --identity', 'derive', { ...deriveOk, identity: '' }, '--identity'),
  bad('derive: --identity with a space', 'derive', { ...deriveOk, identity: 'sensor 17@iot.example.com' }, '--identity'),
  bad('derive: psk_identity over 128 octets', 'derive', { ...deriveOk, identity: `${'a'.repeat(116)}@x.example` }, '--identity'),
  bad('derive: --emse-id with a control character', 'derive', { ...deriveOk, 'emse-id': 'emse\u0007.example.com' }, '--emse-id'),
  bad('derive scef: --identity with a space', 'derive', { ...deriveOk, profile: 'scef', identity: 'a b' }, '--identity'),
  bad('derive akma: missing --sqn-xor-ak', 'derive', { ...akmaOk, 'sqn-xor-ak': undefined }, '--sqn-xor-ak'),
  bad('derive akma: --sqn-xor-ak of 5 octets', 'derive', { ...akmaOk, 'sqn-xor-ak': '0304050607' }, '--sqn-xor-ak'),
  bad('derive akma: --sn-name without "5G:"', 'derive', { ...akmaOk, 'sn-name': '4G:mnc001.mcc001.3gppnetwork.org' }, '--sn-name'),
  bad('derive akma: --sn-name whose realm is not a DNS name', 'derive', { ...akmaOk, 'sn-name': '5G:mnc_001' }, '--sn-name'),
  bad('derive akma: --rid of 5 digits', 'derive', { ...akmaOk, rid: '12345' }, '--rid'),
  bad('derive akma: --rid not digits', 'derive', { ...akmaOk, rid: 'ab' }, '--rid'),
  bad('derive akma: --realm not a DNS name', 'derive', { ...akmaOk, realm: 'realm_with_underscore' }, '--realm'),
  bad('derive akma: --realm making the psk_identity over 128 octets', 'derive', { ...akmaOk, realm: LONG_REALM }, '--realm'),
  bad('derive akma: --identity with the "imsi-" prefix', 'derive', { ...akmaOk, identity: 'imsi-001010123456789' }, '--identity'),
];

/** `flag` as a whole word in `text` (so that --k is not found inside --kid-mode). */
function namesFlag(text: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w-])${escaped}(?![\\w-])`).test(text);
}

describe('ue-client bad input', () => {
  it('every valid base command line succeeds (so the failures below are the mutation’s)', async () => {
    for (const [sub, flags] of [['milenage', milenageOk], ['usim', usimOk], ['derive', deriveOk], ['derive', akmaOk]] as const) {
      const r = await ueClient([sub, ...toArgv(flags)]);
      expect(r.code, `${sub} ${r.stderr}`).toBe(ExitCode.ok);
    }
  });

  it.each(badCases)('$name → exit 2, one line naming $flag', async ({ argv, flag }) => {
    const r = await ueClient(argv);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.slice(0, -1).split(/\r?\n/)).toHaveLength(1);
    expect(namesFlag(r.stderr, flag), r.stderr).toBe(true);
    expect(r.stderr).not.toContain('    at ');
  });
});
