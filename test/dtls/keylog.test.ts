import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyLogWriter, keyLogLine, openKeyLog } from '../../src/dtls/keylog.js';
import { fromHex } from '../../src/util/bytes.js';
import { ConfigError } from '../../src/util/errors.js';
import { SecretBytes } from '../../src/util/secret.js';

// A line OpenSSL 3.0 s_client wrote with -keylogfile (test/dtls/fixtures/openssl-dtls12-psk.json).
const fixture = JSON.parse(
  readFileSync(new URL('fixtures/openssl-dtls12-psk.json', import.meta.url), 'utf8'),
) as { captures: { keylog_line: string }[] };
const OPENSSL_LINE = fixture.captures[0]?.keylog_line ?? '';
const [, CR_HEX = '', MS_HEX = ''] = OPENSSL_LINE.split(' ');
const CR = fromHex(CR_HEX, 'cr');
const MS = new SecretBytes(fromHex(MS_HEX, 'ms'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'e2m-keylog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('keyLogLine (NSS key log format)', () => {
  it('matches the line OpenSSL writes for the same session', () => {
    expect(OPENSSL_LINE).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
    expect(keyLogLine(CR, MS)).toBe(OPENSSL_LINE);
  });

  it('writes lowercase hex', () => {
    const line = keyLogLine(new Uint8Array(32).fill(0xab), new Uint8Array(48).fill(0xcd));
    expect(line).toBe(`CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}`);
  });

  it('rejects wrong lengths', () => {
    expect(() => keyLogLine(new Uint8Array(31), MS)).toThrow(RangeError);
    expect(() => keyLogLine(CR, new Uint8Array(32))).toThrow(RangeError);
  });
});

describe('KeyLogWriter', () => {
  it('creates the file with mode 0600 and appends one line per session', () => {
    const path = join(dir, 'keys.log');
    const w = new KeyLogWriter(path);
    w.log(CR, MS);
    w.log(new Uint8Array(32), new Uint8Array(48));
    w.close();
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${OPENSSL_LINE}\nCLIENT_RANDOM ${'0'.repeat(64)} ${'0'.repeat(96)}\n`);
  });

  it('appends to an existing file and ignores log() after close()', () => {
    const path = join(dir, 'keys.log');
    const a = new KeyLogWriter(path);
    a.log(CR, MS);
    a.close();
    a.close();
    a.log(CR, MS);
    const b = new KeyLogWriter(path);
    b.log(CR, MS);
    b.close();
    expect(readFileSync(path, 'utf8')).toBe(`${OPENSSL_LINE}\n${OPENSSL_LINE}\n`);
  });

  it('reports an unopenable path as a ConfigError naming the setting', () => {
    const bad = join(dir, 'missing-dir', 'keys.log');
    expect(() => new KeyLogWriter(bad)).toThrow(ConfigError);
    try {
      new KeyLogWriter(bad, 'SSLKEYLOGFILE');
    } catch (e) {
      expect((e as ConfigError).option).toBe('SSLKEYLOGFILE');
    }
  });
});

describe('openKeyLog', () => {
  it('prefers the explicit path over SSLKEYLOGFILE', () => {
    const explicit = join(dir, 'explicit.log');
    const fromEnv = join(dir, 'env.log');
    const w = openKeyLog(explicit, { SSLKEYLOGFILE: fromEnv });
    expect(w?.path).toBe(explicit);
    w?.close();
  });

  it('falls back to SSLKEYLOGFILE', () => {
    const fromEnv = join(dir, 'env.log');
    const w = openKeyLog(undefined, { SSLKEYLOGFILE: fromEnv });
    expect(w?.path).toBe(fromEnv);
    w?.log(CR, MS);
    w?.close();
    expect(readFileSync(fromEnv, 'utf8')).toBe(`${OPENSSL_LINE}\n`);
  });

  it('returns undefined with neither (or empty values)', () => {
    expect(openKeyLog(undefined, {})).toBeUndefined();
    expect(openKeyLog('', { SSLKEYLOGFILE: '' })).toBeUndefined();
  });
});
