/**
 * The `ue-client` binary as a user runs it: attach against a stub hss-sim (test/support/stub-hss.ts,
 * Milenage from the library), `keys` handed to a real `emse-server --psk`, then CoAP GET and Observe
 * over DTLS; the state file's mode and contents; the bad-input contract (one line, exit 2).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveE2mIntKey, deriveE2mKey } from '../../src/kdf/index.js';
import { freeUdpPort } from '../support/peers.js';
import { type PeerProcess, ProcessGroup } from '../support/processes.js';
import { type StubHss, startStubHss } from '../support/stub-hss.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => join(root, 'bin', `${name}.js`);

const K = randomBytes(16);
const OPC = randomBytes(16);
const IMSI = '001010000000017';
const APP_ID = 'sensor-17@iot.example.com';
const EMSE_ID = 'emse-1';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ueClient(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin('ue-client'), ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const raw = (err as { code?: unknown } | null)?.code;
      resolve({ code: err === null ? 0 : typeof raw === 'number' ? raw : null, stdout, stderr });
    });
  });
}

describe('ue-client attach, keys, get and observe against a stub hss-sim and emse-server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
  const sim = join(dir, 'sim.json');
  const procs = new ProcessGroup();
  let hss: StubHss;
  let hssUrl: string;
  let emsePort: number;
  let emse: PeerProcess | undefined;
  let attached: Record<string, string>;
  let keys: Record<string, string>;

  beforeAll(async () => {
    writeFileSync(sim, JSON.stringify({ imsi: IMSI, k: K.toString('hex'), opc: OPC.toString('hex'), sqn: '000000000100', identity: APP_ID }));
    hss = await startStubHss({ k: K, opc: OPC, imsi: IMSI, sqn: 0x100n, guti: (kid) => `guti-${kid}` });
    hssUrl = hss.url;
    emsePort = await freeUdpPort();
  });

  afterAll(async () => {
    await procs.stopAll();
    await hss.close();
  });

  it('attach prints {imsi, kid, guti} and no key', async () => {
    const r = await ueClient(['attach', '--hss', hssUrl, '--sim', sim, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    attached = JSON.parse(r.stdout) as Record<string, string>;
    const v = hss.vectors.at(-1);
    expect(attached).toEqual({ imsi: IMSI, kid: v?.kid, guti: `guti-${v?.kid}` });
  });

  it('the state file is 0600 and holds the contract fields, no K and no OPc', () => {
    const path = `${sim}.state.json`;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(['attachedAt', 'e2mIntKey', 'guti', 'imsi', 'kid', 'rand', 'sqnMs']);
    expect(text).not.toContain(K.toString('hex'));
    expect(text).not.toContain(OPC.toString('hex'));
  });

  it('keys --json prints {pskIdentity, kid, e2mKey} equal to the derivation from CK and IK', async () => {
    const r = await ueClient(['keys', '--sim', sim, '--emse-id', EMSE_ID, '--json']);
    expect(r.code).toBe(0);
    keys = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(keys).sort()).toEqual(['e2mKey', 'kid', 'pskIdentity']);
    const v = hss.vectors.at(-1);
    expect(keys['kid']).toBe(attached['kid']);
    expect(keys['pskIdentity']).toBe(`e2m:${attached['kid']}:${APP_ID}`);
    expect(keys['e2mKey']).toMatch(/^[0-9a-f]{64}$/);
    expect(keys['e2mKey']).toBe(Buffer.from(deriveE2mKey(deriveE2mIntKey(v?.ck ?? new Uint8Array(), v?.ik ?? new Uint8Array()), EMSE_ID)).toString('hex'));
  });

  it('get coaps://…/hello through emse-server --psk prints the greeting with the identity', async () => {
    emse = procs.spawn(process.execPath, [
      bin('emse-server'),
      '--listen', `127.0.0.1:${emsePort}`,
      '--psk', `${keys['pskIdentity']}=${keys['e2mKey']}`,
      '--time-interval', '50',
      '--log-level', 'warn',
    ]);
    await emse.waitFor(/listening on 127\.0\.0\.1:\d+/, { stream: 'stdout' });
    const r = await ueClient(['get', `coaps://127.0.0.1:${emsePort}/hello`, '--sim', sim, '--emse-id', EMSE_ID]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Hello, ${keys['pskIdentity']}!`);
    expect(r.stdout.split('\n')[0]).toMatch(/^2\.05 Content/);
    const j = await ueClient(['get', `coaps://127.0.0.1:${emsePort}/hello`, '--sim', sim, '--emse-id', EMSE_ID, '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ code: '2.05', format: 'text/plain', payload: `Hello, ${keys['pskIdentity']}!`, encoding: 'utf-8' });
  });

  it('posts a payload from a file and observes /time for --count 2', async () => {
    const file = join(dir, 'payload.bin');
    writeFileSync(file, Buffer.alloc(2000, 'z'));
    const post = await ueClient(['post', `coaps://127.0.0.1:${emsePort}/echo`, '--sim', sim, '--emse-id', EMSE_ID, '--payload', `@${file}`, '--json']);
    expect(post.code).toBe(0);
    expect((JSON.parse(post.stdout) as { payload: string }).payload).toBe('z'.repeat(2000));
    const obs = await ueClient(['observe', `coaps://127.0.0.1:${emsePort}/time`, '--sim', sim, '--emse-id', EMSE_ID, '--count', '2', '--json']);
    expect(obs.stderr).toBe('');
    expect(obs.code).toBe(0);
    const lines = obs.stdout.trim().split('\n').map((l) => JSON.parse(l) as { code: string });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.code === '2.05')).toBe(true);
  });

  it('exits 1 naming the code for a 4.04 and naming the alert for a wrong --emse-id', async () => {
    const missing = await ueClient(['get', `coaps://127.0.0.1:${emsePort}/nothing`, '--sim', sim, '--emse-id', EMSE_ID]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('error: the server answered 4.04 Not Found');
    const wrong = await ueClient(['get', `coaps://127.0.0.1:${emsePort}/hello`, '--sim', sim, '--emse-id', 'emse-2', '--timeout', '10']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/decrypt_error \(51\)/);
  });

  it('exits 3 with a clear line when the network fails authentication (MAC failure)', async () => {
    hss.forgeMac = true;
    try {
      const r = await ueClient(['attach', '--hss', hssUrl, '--sim', sim]);
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/MAC-A .* not genuine/);
    } finally {
      hss.forgeMac = false;
    }
  });

  it.each([
    [['get', 'coap://127.0.0.1:5684/hello', '--emse-id', EMSE_ID], /^error: <url>: only coaps/],
    [['get', 'coaps://127.0.0.1:5684/hello'], /--emse-id/],
    [['get', 'coaps://127.0.0.1:5684/hello', '--emse-id', EMSE_ID, '--timeout', 'soon'], /^error: --timeout: /],
    [['observe', 'coaps://127.0.0.1:5684/time', '--emse-id', EMSE_ID, '--count', '0'], /^error: --count: /],
    [['post', 'coaps://127.0.0.1:5684/echo', '--emse-id', EMSE_ID, '--content-format', 'text/html'], /^error: --content-format: /],
    [['get', 'coaps://127.0.0.1:5684/hello', '--emse-id', EMSE_ID, '--hss', 'ftp://x'], /^error: --hss: /],
    [['get', 'coaps://127.0.0.1:5684/hello', '--emse-id', EMSE_ID, '--frobnicate'], /unknown option '--frobnicate'/],
  ])('bad input %j: one line naming the flag, exit 2', async (args, line) => {
    const r = await ueClient([...args, '--sim', sim]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(line);
  });

  it('a missing or garbled SIM file is one line naming --sim or the field, exit 2', async () => {
    const none = await ueClient(['keys', '--sim', join(dir, 'none.json'), '--emse-id', EMSE_ID]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toMatch(/^error: --sim: .*no such file$/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ imsi: IMSI, k: 'abcd', opc: OPC.toString('hex'), sqn: '000000000001', identity: APP_ID }));
    const garbled = await ueClient(['attach', '--hss', hssUrl, '--sim', bad]);
    expect(garbled.code).toBe(2);
    expect(garbled.stderr.trim().split('\n')).toHaveLength(1);
    expect(garbled.stderr).toMatch(/^error: sim\.k: /);
    const fresh = join(dir, 'fresh.json');
    writeFileSync(fresh, readFileSync(sim));
    const notAttached = await ueClient(['keys', '--sim', fresh, '--emse-id', EMSE_ID]);
    expect(notAttached.code).toBe(2);
    expect(notAttached.stderr).toMatch(/^error: --sim: no attach state/);
  });
});
