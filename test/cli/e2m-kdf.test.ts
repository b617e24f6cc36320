/**
 * `e2m kdf` (TS 33.220 Annex B.2), run in-process through runProgram, against
 * certs-free-test-vectors/kdf-ts33220.json (sources cited per entry there), against the openssl command
 * line on random inputs (S assembled here by hand), and the bad-input contract (one line naming the
 * flag, exit 2).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createE2mProgram } from '../../src/cli/e2m/index.js';
import { ExitCode } from '../../src/cli/io.js';
import { type Run, runCli } from '../support/cli-io.js';
import { readVectors } from '../support/vectors.js';

function e2m(argv: readonly string[]): Promise<Run> {
  return runCli(createE2mProgram, argv);
}

/** `e2m kdf … --json`, which must succeed; returns the derived key. */
async function kdfKey(argv: readonly string[]): Promise<string> {
  const r = await e2m(['kdf', ...argv, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(ExitCode.ok);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(Object.keys(out)).toEqual(['key']);
  return String(out.key);
}

interface KdfParam {
  readonly name: string;
  readonly ascii?: string;
  readonly hex?: string;
}
interface KdfEntry {
  readonly id: string;
  readonly fc: number;
  readonly key: string;
  readonly params: readonly KdfParam[];
  readonly expected: string;
  readonly s_hex?: string;
}

const vectors = readVectors<{ readonly entries: readonly KdfEntry[] }>('kdf-ts33220.json');

function paramHex(p: KdfParam): string {
  if (p.hex !== undefined) return p.hex;
  if (p.ascii !== undefined) return Buffer.from(p.ascii, 'ascii').toString('hex');
  throw new Error(`parameter ${p.name}: neither ascii nor hex`);
}

/** FC as hex: one octet (2 digits), or 0xFF ‖ FC2 (4 digits) for values above 0xFF (TS 33.220 B.2.2). */
const fcHex = (fc: number): string => fc.toString(16).padStart(fc > 0xff ? 4 : 2, '0');

describe('e2m kdf: kdf-ts33220.json', () => {
  it('has entries', () => {
    expect(vectors.entries.length).toBeGreaterThan(0);
  });

  it.each(vectors.entries)('$id', async (e) => {
    const argv = ['--key', e.key, '--fc', fcHex(e.fc), ...e.params.flatMap((p) => ['--p', paramHex(p)])];
    // The S string the vector lists is FC ‖ P0 ‖ L0 ‖ … of exactly these flags.
    if (e.s_hex !== undefined) {
      const s = fcHex(e.fc) + e.params.map((p) => paramHex(p) + (paramHex(p).length / 2).toString(16).padStart(4, '0')).join('');
      expect(s).toBe(e.s_hex);
    }
    expect(await kdfKey(argv)).toBe(e.expected);
  });

  it('prints `key: <hex>` without --json', async () => {
    const e = vectors.entries[0];
    if (e === undefined) throw new Error('no entry');
    const r = await e2m(['kdf', '--key', e.key, '--fc', fcHex(e.fc), ...e.params.flatMap((p) => ['--p', paramHex(p)])]);
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout).toBe(`key: ${e.expected}\n`);
  });

  it('the --help example is RFC 5448 test case 1 and gives its CK′‖IK′', async () => {
    const help = await e2m(['kdf', '--help']);
    expect(help.code).toBe(ExitCode.ok);
    const at = help.stdout.indexOf('Example');
    expect(at).toBeGreaterThanOrEqual(0);
    const line = help.stdout
      .slice(at)
      .replace(/\\\n/g, ' ')
      .split('\n')
      .find((l) => l.includes('e2m kdf'));
    const words = (line ?? '').trim().split(/\s+/);
    expect(words.slice(0, 2)).toEqual(['e2m', 'kdf']);
    const rfc5448 = vectors.entries.find((x) => x.id === 'rfc5448-case1-ckprime-ikprime');
    expect(rfc5448?.expected).toMatch(/^[0-9a-f]{64}$/);
    expect(await kdfKey(words.slice(2).filter((w) => w !== '--json'))).toBe(rfc5448?.expected);
  });
});

describe('e2m kdf: openssl agrees on random inputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-cli-kdf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function opensslHmac(keyHex: string, s: Buffer, n: number): string {
    const file = join(dir, `s${n}.bin`);
    writeFileSync(file, s);
    const out = execFileSync('openssl', ['mac', '-digest', 'SHA256', '-macopt', `hexkey:${keyHex}`, '-in', file, 'HMAC'], {
      encoding: 'utf8',
    });
    return out.trim().toLowerCase();
  }

  it.each([0, 1, 2, 3, 4, 5])('random case %i', async (n) => {
    // Keys below and above the HMAC block size (64); one- and two-octet FC; 0 to 3 parameters, some empty.
    const key = randomBytes(randomInt(1, 100)).toString('hex');
    const fc = n % 2 === 0 ? Buffer.of(randomInt(0, 0xff)) : Buffer.of(0xff, randomInt(0, 0x100));
    const params = Array.from({ length: randomInt(0, 4) }, () => randomBytes(randomInt(0, 200)));
    const s = Buffer.concat([fc, ...params.flatMap((p) => [p, Buffer.of(p.length >> 8, p.length & 0xff)])]);
    const argv = ['--key', key, '--fc', fc.toString('hex'), ...params.flatMap((p) => ['--p', p.toString('hex')])];
    expect(await kdfKey(argv)).toBe(opensslHmac(key, s, n));
  });
});

describe('e2m kdf: bad input → exit 2, one line naming the flag', () => {
  const KEY = '5349fbe098649f948f5d2e973a81c00f9744871ad32bf9bbd1dd5ce54e3e2e5a';
  const cases: ReadonlyArray<readonly [name: string, argv: readonly string[], flag: string]> = [
    ['odd-length --key', ['--key', KEY.slice(1), '--fc', '20'], '--key'],
    ['non-hex --key', ['--key', `${KEY.slice(2)}xy`, '--fc', '20'], '--key'],
    ['empty --key', ['--key', '', '--fc', '20'], '--key'],
    ['missing --key', ['--fc', '20'], '--key'],
    ['missing --fc', ['--key', KEY], '--fc'],
    ['--fc without its value', ['--key', KEY, '--fc'], '--fc'],
    ['odd-length --fc', ['--key', KEY, '--fc', '2'], '--fc'],
    ['non-hex --fc', ['--key', KEY, '--fc', 'zz'], '--fc'],
    ['empty --fc', ['--key', KEY, '--fc', ''], '--fc'],
    ['--fc ff alone (reserved escape octet)', ['--key', KEY, '--fc', 'ff'], '--fc'],
    ['two-octet --fc not starting with ff', ['--key', KEY, '--fc', '2000'], '--fc'],
    ['three-octet --fc', ['--key', KEY, '--fc', 'ff2000'], '--fc'],
    ['odd-length --p', ['--key', KEY, '--fc', '20', '--p', '574c414e', '--p', 'bb52e'], '--p'],
    ['non-hex --p', ['--key', KEY, '--fc', '20', '--p', 'WLAN'], '--p'],
    ['misspelt flag with a suggestion', ['--key', KEY, '--fc', '20', '--jsonn'], '--jsonn'],
  ];

  it('the base command line succeeds', async () => {
    expect(await kdfKey(['--key', KEY, '--fc', '20'])).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(cases)('%s', async (_name, argv, flag) => {
    const r = await e2m(['kdf', ...argv]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.slice(0, -1).split(/\r?\n/)).toHaveLength(1);
    const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(r.stderr).toMatch(new RegExp(`(^|[^\\w-])${escaped}(?![\\w-])`));
    expect(r.stderr).not.toContain('    at ');
  });

  it('no command at all shows usage and exits 2', async () => {
    const r = await e2m([]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain('Usage: e2m');
  });
});
