/**
 * The real `emse-server` binary in EMKS mode (DESIGN.md §1 steps 5-7) against a stub EMKS run by the
 * test (node:https with client certificates from a dev PKI), and our DtlsClient as the UE: it
 * registers, fetches e2m_key during the handshake, and serves CoAP; bad flags exit 2 with one line.
 */
import { createServer as createTcpServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, parse } from 'coap-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDevPki, loadTlsMaterial, type TlsMaterial } from '../../src/crypto/pki.js';
import { DtlsClient, HandshakeError } from '../../src/dtls/index.js';
import { bestPskIdentity, deriveE2mKey } from '../../src/kdf/index.js';
import { freeUdpPort } from '../support/peers.js';
import { ProcessGroup, within } from '../support/processes.js';
import { problem, StubEmks } from '../support/stub-emks.js';

const bin = fileURLToPath(new URL('../../bin/emse-server.js', import.meta.url));
const EMSE_ID = 'emse-e2e';
const APP = 'sensor-17@iot.example.com';
const KID = '1a2b3c4d';
const INT_KEY = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);

/** The stub EMKS holding APP's key; a `registerStatus` other than 201 refuses the registration. */
async function startStub(tls: TlsMaterial, registerStatus = 201, port = 0): Promise<StubEmks> {
  const stub = await StubEmks.start(tls, { port, expiresInMs: 300_000 });
  stub.addKey(APP, KID, INT_KEY);
  if (registerStatus !== 201) {
    stub.answer = (s) => (s.path === '/v1/emse/register' ? problem(registerStatus, 'refused', 'not on the list') : undefined);
  }
  return stub;
}

/** A TCP port that was free a moment ago (for an EMKS that starts after the EMSE). */
async function freeTcpPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
let emksTls: TlsMaterial;
const procs = new ProcessGroup();

beforeAll(async () => {
  await createDevPki({ dir, emseIds: [EMSE_ID] });
  emksTls = loadTlsMaterial(dir, 'emks');
});

afterEach(async () => {
  await procs.stopAll();
});

describe('emse-server --emks: e2m_key from the EMKS during the handshake', () => {
  let stub: Awaited<ReturnType<typeof startStub>>;

  beforeAll(async () => {
    stub = await startStub(emksTls);
  });

  afterAll(async () => {
    await stub.close();
  });

  it('registers, prints its EMSE_Id, and serves GET /hello to a UE holding the derived key', async () => {
    const port = await freeUdpPort();
    const p = procs.spawn(process.execPath, [bin, '--listen', `127.0.0.1:${port}`, '--emse-id', EMSE_ID, '--emks', stub.url, '--pki', dir, '--lookup-timeout', '1500']);
    const [line] = await p.waitFor(/emse-server listening on .*\n/, { stream: 'stdout' });
    expect(line?.trim()).toBe(`emse-server listening on 127.0.0.1:${port} (DTLS 1.2 PSK, EMKS ${stub.url} as EMSE_Id ${EMSE_ID})`);
    expect(stub.seen[0]).toMatchObject({ path: '/v1/emse/register', clientUris: [`urn:e2m:emse:${EMSE_ID}`] });

    const psk = deriveE2mKey(INT_KEY, EMSE_ID);
    const session = await DtlsClient.connect({ host: '127.0.0.1', port, identity: bestPskIdentity(KID, APP), psk });
    const token = Buffer.of(1, 2, 3, 4);
    const reply = new Promise<string>((resolve) => session.on('data', (d) => resolve(parse(Buffer.from(d)).payload.toString())));
    session.send(generate({ code: 'GET', messageId: 1, token, confirmable: true, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] }));
    expect(await within(reply, 5_000, 'GET /hello')).toBe(`Hello, e2m:${KID}:${APP}!`);
    session.close();
    expect(stub.seen.filter((s) => s.path === '/v1/e2m-keys')).toHaveLength(1);

    const unknown = await DtlsClient.connect({ host: '127.0.0.1', port, identity: bestPskIdentity('ffffffff', APP), psk }).then(
      () => undefined,
      (err: unknown) => (err instanceof HandshakeError ? err.alert : err),
    );
    expect(unknown).toBe(115);

    await p.waitFor(/session established/, { stream: 'stderr' });
    // SIGTERM: a clean stop (the EMKS agent and the CoAP timers do not hold the process).
    expect(await p.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null });
    expect(p.stderr).toMatch(/"emseId":"emse-e2e".*"msg":"registered at the EMKS"/);
    expect(p.stderr).not.toContain(Buffer.from(psk).toString('hex'));
  });

  it('exits 1 at once when the EMKS refuses the registration (403)', async () => {
    const refusing = await startStub(emksTls, 403);
    try {
      const p = procs.spawn(process.execPath, [bin, '--listen', '127.0.0.1:0', '--emse-id', EMSE_ID, '--emks', refusing.url, '--pki', dir]);
      const exit = await p.exited;
      expect(exit.code).toBe(1);
      expect(p.stderr.trim().split('\n').at(-1)).toMatch(/^error: cannot register at the EMKS https:\/\/127\.0\.0\.1:\d+: .*403.*not on the list/);
      expect(refusing.seen).toHaveLength(1);
    } finally {
      await refusing.close();
    }
  });

  it('retries while the EMKS is not up, then exits 1 with a clear message', async () => {
    const port = await freeUdpPort();
    const t0 = performance.now();
    const p = procs.spawn(process.execPath, [bin, '--listen', `127.0.0.1:${port}`, '--emse-id', EMSE_ID, '--emks', 'https://127.0.0.1:1', '--pki', dir]);
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(p.stdout).not.toContain('listening');
    const last = p.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^error: cannot register at the EMKS https:\/\/127\.0\.0\.1:1 \(5 attempts\): /);
    expect(p.stderr.match(/EMKS not reachable yet; retrying/g)).toHaveLength(4);
    // 250 + 500 + 1000 + 2000 ms of backoff
    expect(performance.now() - t0).toBeGreaterThan(3_500);
  }, 20_000);

  it('registers once the EMKS comes up during the retries', async () => {
    const port = await freeUdpPort();
    const tcp = await freeTcpPort();
    const p = procs.spawn(process.execPath, [bin, '--listen', `127.0.0.1:${port}`, '--emse-id', EMSE_ID, '--emks', `https://127.0.0.1:${tcp}`, '--pki', dir]);
    await p.waitFor(/EMKS not reachable yet; retrying/, { stream: 'stderr' });
    const late = await startStub(emksTls, 201, tcp);
    try {
      await p.waitFor(/emse-server listening on/, { stream: 'stdout' });
      expect(late.seen[0]?.path).toBe('/v1/emse/register');
    } finally {
      await p.stop();
      await late.close();
    }
  });
});

describe('emse-server refuses bad EMKS flag combinations with one line and exit 2', () => {
  it.each([
    [['--psk', 'a=00', '--emks', 'https://127.0.0.1:8443'], '--emks'],
    [['--emks', 'https://127.0.0.1:8443', '--pki', '.'], '--emse-id'],
    [['--emks', 'https://127.0.0.1:8443', '--emse-id', EMSE_ID], '--pki'],
    [['--emks', 'http://127.0.0.1:8443', '--emse-id', EMSE_ID, '--pki', '.'], '--emks'],
    [['--emks', 'not a url', '--emse-id', EMSE_ID, '--pki', '.'], '--emks'],
    [['--emks', 'https://127.0.0.1:8443', '--emse-id', 'bad id!', '--pki', '.'], '--emse-id'],
    [['--emks', 'https://127.0.0.1:8443', '--emse-id', 'nobody', '--pki', 'PKI'], '--pki'],
    [['--emks', 'https://127.0.0.1:8443', '--emse-id', EMSE_ID, '--pki', 'PKI', '--lookup-timeout', 'soon'], '--lookup-timeout'],
    [['--emse-id', EMSE_ID, '--psk', 'a=00'], '--emse-id'],
    [['--psk', 'a=00', '--time-interval', '0'], '--time-interval'],
  ])('%j', async (args, flag) => {
    const argv = args.map((a) => (a === 'PKI' ? dir : a));
    const p = procs.spawn(process.execPath, [bin, '--listen', '127.0.0.1:0', ...argv]);
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    const lines = p.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(p.stderr).not.toMatch(/\n\s+at /);
  });
});
