/**
 * The real binaries (`bin/*.js` shims over `dist/`) as child processes: exit statuses 0, 2 and 3,
 * help with an example, JSON on stdout. Values are checked against certs-free-test-vectors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => fileURLToPath(new URL(`../../bin/${name}.js`, import.meta.url));

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }
}, 180_000);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(binary: 'ue-client' | 'e2m', args: readonly string[]): Run {
  const r = spawnSync(process.execPath, [bin(binary), ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface MilenageSet {
  readonly id: string;
  readonly k: string;
  readonly opc: string;
  readonly op: string;
  readonly rand: string;
  readonly sqn: string;
  readonly amf: string;
  readonly f1: string;
  readonly f2: string;
  readonly f3: string;
  readonly f4: string;
  readonly f5: string;
}
const milenage = JSON.parse(
  readFileSync(new URL('../../certs-free-test-vectors/milenage.json', import.meta.url), 'utf8'),
) as { readonly sets_ts35207: readonly MilenageSet[] };
const kdfVectors = JSON.parse(
  readFileSync(new URL('../../certs-free-test-vectors/kdf-ts33220.json', import.meta.url), 'utf8'),
) as { readonly entries: readonly { id: string; expected: string }[] };
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** TS 35.207 test set 2 (K = 0396eb31…), a set not used by the help examples. */
const set = (() => {
  const s = milenage.sets_ts35207.find((x) => x.id === 'ts35207-set2');
  if (s === undefined) throw new Error('ts35207-set2 missing from milenage.json');
  return s;
})();
const sqnMinus = (d: bigint): string => (BigInt(`0x${set.sqn}`) - d).toString(16).padStart(12, '0');
/** AUTN = (SQN ⊕ f5) ‖ AMF ‖ f1 (TS 33.102 §6.3.2), from the vector's values. */
const autn = (() => {
  const x = Buffer.from(set.sqn, 'hex').map((v, i) => v ^ (Buffer.from(set.f5, 'hex')[i] ?? 0));
  return `${Buffer.from(x).toString('hex')}${set.amf}${set.f1}`;
})();
const usim = (sqnMs: string, a = autn): string[] => [
  'usim', '--k', set.k, '--opc', set.opc, '--rand', set.rand, '--autn', a, '--sqn-ms', sqnMs, '--json',
];

describe('bin/ue-client.js', () => {
  it('milenage --json: exit 0 and JSON with the vector outputs', () => {
    const r = run('ue-client', ['milenage', '--k', set.k, '--op', set.op, '--rand', set.rand, '--sqn', set.sqn, '--amf', set.amf, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ opc: set.opc, macA: set.f1, res: set.f2, ck: set.f3, ik: set.f4, ak: set.f5, autn });
  });

  it('usim: exit 0 for a fresh challenge', () => {
    const r = run('ue-client', usim(sqnMinus(1n)));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ result: 'ok', res: set.f2, ck: set.f3, ik: set.f4 });
  });

  it('usim: exit 3 on a sync failure', () => {
    const r = run('ue-client', usim(sqnMinus(0n)));
    expect(r.code).toBe(3);
    expect((JSON.parse(r.stdout) as { result: string }).result).toBe('sync-failure');
  });

  it('usim: exit 3 on a MAC failure', () => {
    const flipped = `${autn.slice(0, -1)}${(parseInt(autn.slice(-1), 16) ^ 1).toString(16)}`;
    const r = run('ue-client', usim(sqnMinus(1n), flipped));
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({ result: 'mac-failure' });
  });

  it('bad input: exit 2, one line naming the flag, no stack trace', () => {
    const r = run('ue-client', ['milenage', '--k', set.k.slice(1), '--op', set.op, '--rand', set.rand, '--sqn', set.sqn, '--amf', set.amf]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/(^|\s)--k\b/);
    expect(r.stderr).not.toContain('    at ');
  });

  it('a missing required flag: exit 2, one line naming it', () => {
    const r = run('ue-client', ['derive', '--ck', set.f3, '--ik', set.f4, '--rand', set.rand, '--identity', 'dev@iot.example']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--emse-id');
  });

  it('no command: exit 2', () => {
    expect(run('ue-client', []).code).toBe(2);
  });

  it.each(['milenage', 'usim', 'derive'])('%s --help: exit 0 with an example', (sub) => {
    const r = run('ue-client', [sub, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example');
    expect(r.stdout).toContain(`ue-client ${sub} `);
  });

  it('--version prints the package version', () => {
    const r = run('ue-client', ['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('bin/e2m.js', () => {
  const rfc5448 = kdfVectors.entries.find((e) => e.id === 'rfc5448-case1-ckprime-ikprime');

  it('kdf --json: exit 0 and the RFC 5448 test case 1 key', () => {
    const key = `${'5349fbe098649f948f5d2e973a81c00f'}${'9744871ad32bf9bbd1dd5ce54e3e2e5a'}`;
    const r = run('e2m', ['kdf', '--key', key, '--fc', '20', '--p', Buffer.from('WLAN').toString('hex'), '--p', 'bb52e91c747a', '--json']);
    expect(r.code).toBe(0);
    expect(rfc5448?.expected).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(r.stdout)).toEqual({ key: rfc5448?.expected });
  });

  it('kdf bad input: exit 2, one line naming the flag', () => {
    const r = run('e2m', ['kdf', '--key', '00', '--fc', '2000']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--fc');
    expect(r.stderr).not.toContain('    at ');
  });

  it('kdf --help: exit 0 with an example', () => {
    const r = run('e2m', ['kdf', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example');
    expect(r.stdout).toContain('e2m kdf ');
  });

  it('ue usim: the device commands under the umbrella binary, exit 3 on a sync failure', () => {
    const r = run('e2m', ['ue', ...usim(sqnMinus(0n))]);
    expect(r.code).toBe(3);
    expect((JSON.parse(r.stdout) as { result: string }).result).toBe('sync-failure');
  });

  it('no command: exit 2', () => {
    expect(run('e2m', []).code).toBe(2);
  });
});
