/**
 * The UE's SIM file and state file (src/ue/sim.ts): every field checked and named in the error,
 * the state file written 0600 and replaced by rename, and its IMSI tied to the SIM's.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadSim, readState, statePathFor, type UeState, writeState } from '../../src/ue/sim.js';
import { ConfigError } from '../../src/util/errors.js';
import { SecretBytes } from '../../src/util/secret.js';

const GOOD = {
  imsi: '001010123456789',
  k: '465b5ce8b199b49faa5f0a2ee238a6bc',
  opc: 'cd63cb71954a9f4e48a5994e37a02baf',
  sqn: 'ff9bb4d0b600',
  identity: 'sensor-17@iot.example.com',
};

let dir: string;
let simPath: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'e2m-'));
  simPath = join(dir, 'sim.json');
});

function writeSim(obj: unknown): string {
  writeFileSync(simPath, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return simPath;
}

/** The ConfigError `f` throws (fails the test if it throws nothing or something else). */
function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function state(overrides: Partial<UeState> = {}): UeState {
  return {
    imsi: GOOD.imsi,
    kid: '0a0b0c0d',
    rand: new Uint8Array(16).fill(7),
    e2mIntKey: new SecretBytes(new Uint8Array(32).fill(9)),
    sqnMs: Uint8Array.of(0, 0, 0, 0, 0, 0x21),
    guti: '00101-0001-01-deadbeef',
    attachedAt: '2025-01-02T03:04:05.678Z',
    ...overrides,
  };
}

describe('loadSim', () => {
  it('reads a good SIM file, keeping K and OPc as secrets', () => {
    const sim = loadSim(writeSim(GOOD));
    expect(sim.imsi).toBe(GOOD.imsi);
    expect(sim.identity).toBe(GOOD.identity);
    expect(Buffer.from(sim.k.expose()).toString('hex')).toBe(GOOD.k);
    expect(Buffer.from(sim.opc.expose()).toString('hex')).toBe(GOOD.opc);
    expect(Buffer.from(sim.sqn).toString('hex')).toBe(GOOD.sqn);
    expect(JSON.stringify(sim)).not.toContain(GOOD.k);
    expect(JSON.stringify(sim)).not.toContain(GOOD.opc);
  });

  it.each([
    ['imsi', { ...GOOD, imsi: '1234' }],
    ['imsi', { ...GOOD, imsi: '0010101234567890' }],
    ['imsi', { ...GOOD, imsi: 1234567 }],
    ['k', { ...GOOD, k: GOOD.k.slice(2) }],
    ['k', { ...GOOD, k: `${GOOD.k.slice(1)}z` }],
    ['opc', { ...GOOD, opc: `${GOOD.opc}00` }],
    ['sqn', { ...GOOD, sqn: '00000000001' }],
    ['sqn', { ...GOOD, sqn: 5 }],
    ['identity', { ...GOOD, identity: '' }],
    ['identity', { ...GOOD, identity: 'has space@example.com' }],
    ['identity', { ...GOOD, identity: `${'a'.repeat(115)}` }],
  ])('names sim.%s when it is bad (%j)', (field, obj) => {
    const err = configError(() => loadSim(writeSim(obj)));
    expect(err.option).toBe(`sim.${field}`);
  });

  it('names a missing field and an unknown field', () => {
    const { k: _k, ...noK } = GOOD;
    expect(configError(() => loadSim(writeSim(noK))).option).toBe('sim.k');
    expect(configError(() => loadSim(writeSim({ ...GOOD, amf: '8000' }))).option).toBe('sim.amf');
  });

  it('accepts an identity of exactly 114 octets', () => {
    expect(loadSim(writeSim({ ...GOOD, identity: 'a'.repeat(114) })).identity).toHaveLength(114);
  });

  it('names the file option when the file is missing, not JSON or not an object', () => {
    expect(configError(() => loadSim(join(dir, 'none.json'), '--sim')).option).toBe('--sim');
    expect(configError(() => loadSim(writeSim('{"imsi":'), '--sim')).message).toMatch(/not valid JSON/);
    expect(configError(() => loadSim(writeSim('[1,2]'))).option).toBe('sim');
    expect(configError(() => loadSim(dir)).message).toMatch(/not a regular file/);
  });
});

describe('state file', () => {
  it('is <sim>.state.json, written with mode 0600, and reads back equal', () => {
    const sim = loadSim(writeSim(GOOD));
    expect(readState(simPath, sim)).toBeUndefined();
    writeState(simPath, state());
    const path = statePathFor(simPath);
    expect(path).toBe(`${simPath}.state.json`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const back = readState(simPath, sim);
    expect(back?.kid).toBe('0a0b0c0d');
    expect(Buffer.from(back?.e2mIntKey.expose() ?? []).toString('hex')).toBe('09'.repeat(32));
    expect(Buffer.from(back?.sqnMs ?? []).toString('hex')).toBe('000000000021');
    expect(back?.attachedAt).toBe('2025-01-02T03:04:05.678Z');
    const onDisk = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(onDisk).sort()).toEqual(['attachedAt', 'e2mIntKey', 'guti', 'imsi', 'kid', 'rand', 'sqnMs']);
  });

  it('is replaced by rename (a new inode, no temporary file left) and stays 0600', () => {
    writeSim(GOOD);
    const path = statePathFor(simPath);
    writeFileSync(path, '{}', { mode: 0o644 });
    const before = statSync(path).ino;
    writeState(simPath, state({ kid: '11223344' }));
    expect(statSync(path).ino).not.toBe(before);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['sim.json', 'sim.json.state.json']);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ kid: '11223344' });
  });

  it('leaves the old state untouched and no temporary file when the write fails', () => {
    writeSim(GOOD);
    writeState(simPath, state({ kid: '11223344' }));
    const missingDir = join(dir, 'gone', 'sim.json');
    expect(configError(() => writeState(missingDir, state())).option).toBe('state');
    expect(existsSync(join(dir, 'gone'))).toBe(false);
    expect(JSON.parse(readFileSync(statePathFor(simPath), 'utf8'))).toMatchObject({ kid: '11223344' });
    expect(readdirSync(dir).sort()).toEqual(['sim.json', 'sim.json.state.json']);
  });

  it.each([
    ['kid', { kid: '0A0B0C0D' }],
    ['rand', { rand: '00' }],
    ['e2mIntKey', { e2mIntKey: randomBytes(31).toString('hex') }],
    ['sqnMs', { sqnMs: 'xyz' }],
    ['guti', { guti: '' }],
    ['attachedAt', { attachedAt: 'yesterday' }],
    ['imsi', { imsi: 'abc' }],
    ['extra', { extra: 1 }],
  ])('names state.%s when it is bad', (field, patch) => {
    const sim = loadSim(writeSim(GOOD));
    writeState(simPath, state());
    const path = statePathFor(simPath);
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...patch }));
    expect(configError(() => readState(simPath, sim)).option).toBe(`state.${field}`);
  });

  it('refuses a state that belongs to another IMSI', () => {
    const sim = loadSim(writeSim(GOOD));
    writeState(simPath, state({ imsi: '001010000000001' }));
    const err = configError(() => readState(simPath, sim));
    expect(err.option).toBe('state.imsi');
    expect(err.message).toMatch(/not to the SIM's/);
  });
});
