/** Field checks of the EMKS API, the caller taken from certificate URIs, and where the KEK comes from. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callerFromUris } from '../../src/emks/caller.js';
import { HttpProblem } from '../../src/emks/http.js';
import { loadKek } from '../../src/emks/kek.js';
import { appIdentityValue, bodyObject, dateTimeValue, hexValue, imsiValue, kidValue } from '../../src/emks/validate.js';
import { ConfigError } from '../../src/util/errors.js';

function problemOf(f: () => unknown): HttpProblem {
  try {
    f();
  } catch (e) {
    if (e instanceof HttpProblem) return e;
    throw e;
  }
  throw new Error('no problem raised');
}

describe('field values', () => {
  it('IMSI: 5..15 digits', () => {
    expect(imsiValue('00101', 'imsi')).toBe('00101');
    expect(imsiValue('001010123456789', 'imsi')).toBe('001010123456789');
    for (const bad of ['0010', '0010101234567890', '00101a', ' 00101', 1234567, undefined]) {
      expect(problemOf(() => imsiValue(bad, 'imsi')).status).toBe(400);
    }
  });

  it('kid: 8 lowercase hex digits', () => {
    expect(kidValue('1a2b3c4d', 'kid')).toBe('1a2b3c4d');
    for (const bad of ['1A2B3C4D', '1a2b3c4', '1a2b3c4d5', 'zzzzzzzz', 0x1a2b3c4d, null]) {
      expect(problemOf(() => kidValue(bad, 'kid')).detail).toMatch(/^kid: /);
    }
  });

  it('hex keys: exact length, lowercase, and the detail never echoes the value', () => {
    const key = 'ab'.repeat(32);
    expect(hexValue(key, 'key', 32)).toHaveLength(32);
    for (const bad of [key.toUpperCase(), key.slice(2), `${key}00`, `0x${key.slice(2)}`, 42]) {
      const p = problemOf(() => hexValue(bad, 'key', 32));
      expect(p.detail).toBe('key: expected 64 lowercase hex digits');
    }
  });

  it('application identity: NAI-like, at most 114 octets', () => {
    expect(appIdentityValue('sensor-17@iot.example.com', 'identity')).toBe('sensor-17@iot.example.com');
    expect(appIdentityValue('é'.repeat(57), 'identity')).toHaveLength(57); // 114 octets
    for (const bad of ['', 'a b', 'a\u0000b', 'a\nb', '\ud800', 'x'.repeat(115), 'é'.repeat(58), 7]) {
      expect(problemOf(() => appIdentityValue(bad, 'identity')).status).toBe(400);
    }
  });

  it('date-times: RFC 3339, with offsets and fractions, real calendar dates only', () => {
    expect(dateTimeValue('2025-01-31T12:00:00Z', 'createdAt')).toBe(Date.UTC(2025, 0, 31, 12));
    expect(dateTimeValue('2025-01-31T12:00:00.123456Z', 'createdAt')).toBe(Date.UTC(2025, 0, 31, 12, 0, 0, 123));
    expect(dateTimeValue('2025-01-31T14:30:00+02:30', 'createdAt')).toBe(Date.UTC(2025, 0, 31, 12));
    expect(dateTimeValue('2024-02-29T00:00:00Z', 'createdAt')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of ['2025-02-29T00:00:00Z', '2025-13-01T00:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01', '2025-01-01T00:00:00', '1700000000', 1700000000, '2025-01-01T00:00:00+25:00']) {
      expect(problemOf(() => dateTimeValue(bad, 'createdAt')).detail).toMatch(/^createdAt: /);
    }
  });

  it('bodies: a JSON object with exactly the allowed members', () => {
    expect(bodyObject({ kid: 'x' }, ['kid'])).toEqual({ kid: 'x' });
    expect(problemOf(() => bodyObject({ kid: 'x', extra: 1 }, ['kid'])).slug).toBe('unknown-field');
    expect(problemOf(() => bodyObject(JSON.parse('{"kid":"x","__proto__":{}}'), ['kid'])).slug).toBe('unknown-field');
    expect(problemOf(() => bodyObject({}, ['kid'])).slug).toBe('missing-field');
    for (const notObject of [[], null, 'x', 3]) expect(problemOf(() => bodyObject(notObject, ['kid'])).slug).toBe('invalid-body');
  });
});

describe('the caller from certificate URIs', () => {
  it('is the one role URI with a valid id', () => {
    expect(callerFromUris(['urn:e2m:emse:emse-a.example.com'])).toEqual({ role: 'emse', name: 'emse-a.example.com' });
    expect(callerFromUris(['https://example.com', 'urn:e2m:hss:hss-sim'])).toEqual({ role: 'hss', name: 'hss-sim' });
  });

  it('is nobody for no role, two roles, another scheme or an invalid id', () => {
    expect(callerFromUris([])).toBeUndefined();
    expect(callerFromUris(['urn:e2m:emse:a', 'urn:e2m:hss:b'])).toBeUndefined();
    expect(callerFromUris(['urn:e2m:emse:a', 'urn:e2m:emse:b'])).toBeUndefined();
    expect(callerFromUris(['urn:e2m:admin:root'])).toBeUndefined();
    expect(callerFromUris(['urn:e2m:emse:bad/id'])).toBeUndefined();
    expect(callerFromUris(['URN:E2M:EMSE:a'])).toBeUndefined();
  });
});

describe('the key-encryption key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
  const hex = '0f'.repeat(32);
  const file = join(dir, 'kek.key');
  writeFileSync(file, `${hex}\n`);
  chmodSync(file, 0o600);
  const other = join(dir, 'other.key');
  writeFileSync(other, `${'1e'.repeat(32)}\n`);

  it('comes from --kek-file, else E2M_KEK, else <pki>/kek.key', () => {
    const fromFile = loadKek({ kekFile: other, env: { E2M_KEK: hex }, pkiDir: dir });
    expect(fromFile.source).toBe('file');
    expect(fromFile.kek.expose()).toEqual(new Uint8Array(32).fill(0x1e));
    const fromEnv = loadKek({ env: { E2M_KEK: '2D'.repeat(32) }, pkiDir: dir });
    expect(fromEnv.source).toBe('env');
    expect(fromEnv.kek.expose()).toEqual(new Uint8Array(32).fill(0x2d));
    const fromPki = loadKek({ env: {}, pkiDir: dir });
    expect(fromPki.source).toBe('pki');
    expect(fromPki.kek.expose()).toEqual(new Uint8Array(32).fill(0x0f));
    expect(String(fromPki.kek)).toBe('<secret:32 bytes>');
  });

  it.each([
    [{ kekFile: join(dir, 'missing.key'), env: {} }, '--kek-file'],
    [{ kekFile: dir, env: {} }, '--kek-file'],
    [{ env: { E2M_KEK: 'ab'.repeat(31) } }, 'E2M_KEK'],
    [{ env: { E2M_KEK: 'zz'.repeat(32) } }, 'E2M_KEK'],
    [{ env: {}, pkiDir: join(dir, 'no-such-pki') }, '--pki'],
    [{ env: {} }, '--kek-file'],
  ])('a missing or malformed key names its source (%#)', (sources, option) => {
    let err: unknown;
    try {
      loadKek(sources);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe(option);
    expect((err as ConfigError).message).not.toContain('ab'.repeat(31));
  });
});
