/**
 * The subscriber file of hss-sim: every field is checked and a bad one is named in the ConfigError;
 * the SQN state file (0600, atomic replace) supersedes the file's SQN.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadSubscribers, parseSubscribers } from '../../src/hss/subscribers.js';
import { SqnStore } from '../../src/hss/sqn-store.js';
import { ConfigError } from '../../src/util/errors.js';

const K = '465b5ce8b199b49faa5f0a2ee238a6bc';
const OPC = 'cd63cb71954a9f4e48a5994e37a02baf';
const good = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  imsi: '001010000000001',
  k: K,
  opc: OPC,
  amf: '8000',
  sqn: '000000000020',
  identities: ['sensor-17@iot.example.com'],
  ...over,
});
const second = good({ imsi: '001010000000002', identities: ['sensor-18@iot.example.com'] });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseSubscribers', () => {
  it('accepts a good file and keeps K and OPc as secrets', () => {
    const [s] = parseSubscribers([good(), second]);
    expect(s?.imsi).toBe('001010000000001');
    expect(s?.sqn).toBe(0x20n);
    expect(Buffer.from(s?.amf ?? []).toString('hex')).toBe('8000');
    expect(s?.identities).toEqual(['sensor-17@iot.example.com']);
    expect(inspect(s)).not.toContain(K);
    expect(JSON.stringify({ k: s?.k, opc: s?.opc })).not.toMatch(new RegExp(`${K}|${OPC}`));
    expect(Buffer.from(s?.k.expose() ?? []).toString('hex')).toBe(K);
  });

  it('takes amf and identities as optional', () => {
    const entry = good();
    delete entry['amf'];
    delete entry['identities'];
    const [s] = parseSubscribers([entry]);
    expect(s?.amf).toBeUndefined();
    expect(s?.identities).toEqual([]);
  });

  const long = `${'a'.repeat(100)}@${'b'.repeat(14)}`; // 115 octets
  const bad: readonly [string, unknown, string][] = [
    ['not an array', { imsi: '1' }, 'subscribers'],
    ['empty list', [], 'subscribers'],
    ['entry not an object', [good(), 'x'], 'subscribers[1]'],
    ['unknown field', [good({ ki: K })], 'subscribers[0].ki'],
    ['imsi missing', [good({ imsi: undefined })], 'subscribers[0].imsi'],
    ['imsi a number', [good({ imsi: 1010000000001 })], 'subscribers[0].imsi'],
    ['imsi 4 digits', [good({ imsi: '0010' })], 'subscribers[0].imsi'],
    ['imsi 16 digits', [good({ imsi: '0010100000000011' })], 'subscribers[0].imsi'],
    ['imsi with a letter', [good({ imsi: '00101000000000a' })], 'subscribers[0].imsi'],
    ['k short', [good({ k: K.slice(2) })], 'subscribers[0].k'],
    ['k not hex', [second, good({ k: `${K.slice(1)}g` })], 'subscribers[1].k'],
    ['k with 0x', [good({ k: `0x${K.slice(2)}` })], 'subscribers[0].k'],
    ['opc bad', [good(), second, good({ imsi: '001010000000003', identities: [], opc: `${OPC}00` })], 'subscribers[2].opc'],
    ['opc missing', [good({ opc: undefined })], 'subscribers[0].opc'],
    ['amf 3 hex', [good({ amf: '800' })], 'subscribers[0].amf'],
    ['amf number', [good({ amf: 8000 })], 'subscribers[0].amf'],
    ['sqn 10 hex', [good({ sqn: '0000000020' })], 'subscribers[0].sqn'],
    ['sqn missing', [good({ sqn: undefined })], 'subscribers[0].sqn'],
    ['identities not an array', [good({ identities: 'a@b' })], 'subscribers[0].identities'],
    ['identity empty', [good({ identities: ['ok@x', ''] })], 'subscribers[0].identities[1]'],
    ['identity with a control character', [good({ identities: ['a\u0007b'] })], 'subscribers[0].identities[0]'],
    ['identity with a newline', [good({ identities: ['a\nb'] })], 'subscribers[0].identities[0]'],
    ['identity too long', [good({ identities: [long] })], 'subscribers[0].identities[0]'],
    ['identity not a string', [good({ identities: [7] })], 'subscribers[0].identities[0]'],
    ['identity twice in one entry', [good({ identities: ['a@x', 'a@x'] })], 'subscribers[0].identities[1]'],
    ['identity given to two subscribers', [good(), good({ imsi: '001010000000002' })], 'subscribers[1].identities[0]'],
    ['duplicate imsi', [good(), good({ identities: [] })], 'subscribers[1].imsi'],
  ];
  it.each(bad)('rejects %s, naming the field', (_what, json, field) => {
    const err = configError(() => parseSubscribers(json));
    expect(err.option).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).not.toContain(K.slice(4));
  });

  it('accepts an identity of exactly 114 octets', () => {
    const id = `${'a'.repeat(99)}@${'b'.repeat(14)}`;
    expect(Buffer.byteLength(id)).toBe(114);
    expect(parseSubscribers([good({ identities: [id] })])[0]?.identities).toEqual([id]);
  });
});

describe('loadSubscribers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-'));

  it('reads a file', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify([good()]));
    expect(loadSubscribers(file).map((s) => s.imsi)).toEqual(['001010000000001']);
  });

  it('names the flag for a missing file or bad JSON', () => {
    expect(configError(() => loadSubscribers(join(dir, 'none.json'))).option).toBe('--subscribers');
    const file = join(dir, 'bad.json');
    writeFileSync(file, '[{"imsi": ');
    expect(configError(() => loadSubscribers(file)).option).toBe('--subscribers');
  });
});

describe('SqnStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-'));

  it('persists every change with mode 0600 and supersedes the initial values on reload', () => {
    const file = join(dir, 'state.json');
    const a = new SqnStore(new Map([['001010000000001', 0x20n], ['001010000000002', 5n]]), file);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    a.set('001010000000001', 0x21n);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, sqn: { '001010000000001': '000000000021', '001010000000002': '000000000005' } });
    const b = new SqnStore(new Map([['001010000000001', 0x20n], ['001010000000003', 9n]]), file);
    expect(b.get('001010000000001')).toBe(0x21n);
    expect(b.get('001010000000003')).toBe(9n);
    expect(b.get('001010000000002')).toBeUndefined();
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  });

  it('works in memory without a file', () => {
    const s = new SqnStore(new Map([['00101', 1n]]));
    s.set('00101', 2n);
    expect(s.get('00101')).toBe(2n);
  });

  it.each([
    ['not JSON', '{'],
    ['wrong shape', '{"sqn":[]}'],
    ['bad value', '{"version":1,"sqn":{"001010000000001":"21"}}'],
    ['bad imsi', '{"version":1,"sqn":{"abc":"000000000021"}}'],
  ])('rejects a state file that is %s, naming --state', (_what, text) => {
    const file = join(dir, `bad-${_what.replace(/\W/g, '')}.json`);
    writeFileSync(file, text);
    expect(configError(() => new SqnStore(new Map(), file)).option).toBe('--state');
  });
});
