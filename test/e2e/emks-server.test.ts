/**
 * The `emks-server` binary as an operator runs it: a real process on 127.0.0.1 with a dev PKI and a
 * SQLite file. A key answered 201 is still served after SIGTERM and a restart on the same file
 * (DESIGN.md §9); the KEK decides whether stored keys open; bad flags exit 2 with one line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDevPki, loadTlsMaterial } from '../../src/crypto/pki.js';
import { randomBytes } from '../../src/crypto/primitives.js';
import { deriveE2mKey } from '../../src/kdf/best.js';
import { toHex } from '../../src/util/bytes.js';
import { createMtlsAgent, requestJson } from '../../src/util/https-json.js';
import { type PeerProcess, ProcessGroup } from '../support/processes.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'emks-server.js');

const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
const pki = join(dir, 'pki');
const db = join(dir, 'emks.db');
const procs = new ProcessGroup();
let hss: Agent;
let emse: Agent;

const IMSI = '001010000000123';
const IDENTITY = 'sensor-123@iot.example.com';
const intKey = randomBytes(32);
const KID = '0badcafe';

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  await createDevPki({ dir: pki, emseIds: ['emse-a.example.com'] });
  hss = createMtlsAgent(loadTlsMaterial(pki, 'hss'));
  emse = createMtlsAgent(loadTlsMaterial(pki, { emse: 'emse-a.example.com' }));
}, 180_000);

afterEach(async () => {
  await procs.stopAll();
});

afterAll(() => {
  hss?.destroy();
  emse?.destroy();
});

/** Starts the binary and resolves once it printed its listening line. */
async function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ p: PeerProcess; url: string }> {
  const p = procs.spawn(process.execPath, [bin, '--listen', '127.0.0.1:0', '--pki', pki, '--db', `sqlite:${db}`, ...args], {
    env: { ...process.env, E2M_KEK: undefined, ...env },
  });
  const m = await p.waitFor(/^emks-server listening on (https:\/\/127\.0\.0\.1:\d+)$/m, { stream: 'stdout' });
  return { p, url: m[1] as string };
}

function fetchKey(url: string): Promise<{ status: number; body: unknown }> {
  return requestJson({ method: 'GET', url: `${url}/v1/e2m-keys?identity=${encodeURIComponent(IDENTITY)}&kid=${KID}`, agent: emse });
}

describe('emks-server keeps what it acknowledged', () => {
  it('serves a pushed key, stops on SIGTERM, and serves the same key after a restart on the same file', async () => {
    const first = await start([]);
    expect(first.p.stdout.trim().split('\n')).toHaveLength(1);
    const pushed = await requestJson({
      method: 'POST',
      url: `${first.url}/v1/subscribers/${IMSI}/int-keys`,
      agent: hss,
      body: { kid: KID, key: toHex(intKey), rand: toHex(randomBytes(16)), createdAt: new Date().toISOString() },
    });
    expect(pushed.status).toBe(201);
    expect((await requestJson({ method: 'PUT', url: `${first.url}/v1/identities/${encodeURIComponent(IDENTITY)}`, agent: hss, body: { imsi: IMSI } })).status).toBe(201);
    const served = await fetchKey(first.url);
    const expected = toHex(deriveE2mKey(intKey, 'emse-a.example.com'));
    expect(served.status).toBe(201);
    expect((served.body as Record<string, unknown>)['e2mKey']).toBe(expected);

    hss.destroy();
    emse.destroy();
    hss = createMtlsAgent(loadTlsMaterial(pki, 'hss'));
    emse = createMtlsAgent(loadTlsMaterial(pki, { emse: 'emse-a.example.com' }));
    expect(await first.p.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null });
    expect(first.p.stderr).toContain('EMKS stopped');

    const second = await start([]);
    const again = await fetchKey(second.url);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(served.body);

    const logs = `${first.p.stderr}\n${second.p.stderr}`;
    expect(logs).toContain('"msg":"request"');
    expect(logs).not.toContain(toHex(intKey));
    expect(logs).not.toContain(expected);
    expect(logs).not.toContain(readFileSync(join(pki, 'kek.key'), 'utf8').trim());
  });

  it('opens stored keys only with the KEK that sealed them (--kek-file, E2M_KEK)', async () => {
    const otherKek = join(dir, 'other.kek');
    writeFileSync(otherKek, `${toHex(randomBytes(32))}\n`, { mode: 0o600 });
    const wrong = await start(['--kek-file', otherKek]);
    expect((await fetchKey(wrong.url)).status).toBe(404);
    await wrong.p.waitFor(/does not open/, { stream: 'stderr' });
    await wrong.p.stop();

    const right = await start([], { E2M_KEK: readFileSync(join(pki, 'kek.key'), 'utf8').trim() });
    const r = await fetchKey(right.url);
    expect(r.status).toBe(201);
    expect((r.body as Record<string, unknown>)['e2mKey']).toBe(toHex(deriveE2mKey(intKey, 'emse-a.example.com')));
  });
});

describe('emks-server refuses bad flags with one line naming the flag and exit 2', () => {
  const empty = mkdtempSync(join(tmpdir(), 'e2m-'));
  const base = ['--pki', pki, '--db', `sqlite:${join(dir, 'flags.db')}`];

  async function runBad(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
    const p = procs.spawn(process.execPath, [bin, ...args], { env: { ...process.env, E2M_KEK: undefined, ...env } });
    const exit = await p.exited;
    return { code: exit.code, stderr: p.stderr };
  }

  it.each([
    [['--listen', 'nonsense', ...base], {}, '--listen'],
    [['--listen', '127.0.0.1:0', '--pki', pki, '--db', 'postgres://emks@db/emks'], {}, '--db'],
    [['--listen', '127.0.0.1:0', '--pki', pki, '--db', 'mysql:emks'], {}, '--db'],
    [['--listen', '127.0.0.1:0', '--pki', pki], {}, '--db'],
    [['--listen', '127.0.0.1:0', '--db', 'sqlite::memory:'], {}, '--pki'],
    [['--listen', '127.0.0.1:0', '--pki', join(dir, 'missing'), '--db', 'sqlite::memory:'], {}, '--pki'],
    [['--listen', '127.0.0.1:0', '--pki', empty, '--db', 'sqlite::memory:'], { E2M_KEK: 'ab'.repeat(32) }, '--pki'],
    [['--listen', '127.0.0.1:0', ...base, '--retain', '0'], {}, '--retain'],
    [['--listen', '127.0.0.1:0', ...base, '--key-ttl', 'a day'], {}, '--key-ttl'],
    [['--listen', '127.0.0.1:0', ...base, '--log-level', 'loud'], {}, '--log-level'],
    [['--listen', '127.0.0.1:0', ...base, '--kek-file', join(dir, 'missing.kek')], {}, '--kek-file'],
    [['--listen', '127.0.0.1:0', ...base], { E2M_KEK: 'not hex' }, 'E2M_KEK'],
    [['--listen', '127.0.0.1:0', ...base, '--bogus'], {}, '--bogus'],
  ])('%j %j', async (args, env, flag) => {
    const r = await runBad(args, env);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--listen on a port in use', async () => {
    const running = await start([]);
    const port = new URL(running.url).port;
    const r = await runBad(['--listen', `127.0.0.1:${port}`, ...base]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--listen.*EADDRINUSE/);
  });

  it('--help shows an example', async () => {
    const p = procs.spawn(process.execPath, [bin, '--help']);
    expect((await p.exited).code).toBe(0);
    expect(p.stdout).toMatch(/Example:\n[\s\S]*emks-server --listen 127\.0\.0\.1:8443 --pki \S+ --db sqlite:/);
  });
});
