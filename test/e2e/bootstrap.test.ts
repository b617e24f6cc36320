/**
 * The whole bootstrap across real processes (emks-server, hss-sim, emse-server) with the UE as a
 * library and as the ue-client binary: the race cases of the key id, the EMKS going away, and other
 * DTLS stacks served by the EMSE after its EMKS lookup.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parse } from 'coap-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, randomSubscriber, type Stack, startStack } from '../../src/cli/e2m/stack.js';
import { DtlsClient, type DtlsClientSession, HandshakeError } from '../../src/dtls/index.js';
import { statePathFor, UeClient } from '../../src/ue/index.js';
import { peer } from '../support/peers.js';

const EMSE = 'emse-a.example.com';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], input?: string, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const raw = (err as { code?: unknown } | null)?.code;
      resolve({ code: err === null ? 0 : typeof raw === 'number' ? raw : -1, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** GET /hello as a raw CoAP frame over an established session; resolves with the payload text. */
async function coapHello(s: DtlsClientSession, mid: number): Promise<string> {
  const reply = new Promise<Uint8Array>((resolve) => s.once('data', resolve));
  s.send(generate({ code: 'GET', messageId: mid, token: Buffer.from([mid & 0xff, 1]), confirmable: true, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] }));
  return parse(Buffer.from(await reply)).payload.toString();
}

describe('the bootstrap across processes', () => {
  let stack: Stack;
  let emse: { host: string; port: number };
  let base: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2m-boot-'));
    stack = await startStack({ dir, emseIds: [EMSE, 'emse-b.example.com'], subscribers: [randomSubscriber(1), randomSubscriber(2), randomSubscriber(3)], retain: 3 });
    const e = stack.emse.get(EMSE);
    if (e === undefined) throw new Error('no EMSE');
    emse = { host: e.host, port: e.port };
    base = `coaps://${e.host}:${e.port}`;
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('(a) AKA that fails after the HSS pushed a new key leaves the UE\'s older kid working', async () => {
    const ue = new UeClient({ simPath: stack.simFile(0), hssUrl: stack.hssUrl });
    const first = await ue.attach();
    // A second AKA run: the HSS pushes a new key, then the RES is wrong.
    const challenge = await fetch(`${stack.hssUrl}/v1/attach`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imsi: ue.imsi }) });
    expect(challenge.status).toBe(201);
    const { txn } = (await challenge.json()) as { txn: string };
    const refused = await fetch(`${stack.hssUrl}/v1/attach/${txn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ res: '0000000000000000' }) });
    expect(refused.status).toBe(403);
    const r = await ue.request({ url: `${base}/hello`, emseId: EMSE });
    expect(r.code).toBe('2.05');
    expect(Buffer.from(r.payload).toString()).toBe(`Hello, e2m:${first.kid}:${ue.identity}!`);
    expect(ue.state?.kid).toBe(first.kid);
  });

  it('(b) a re-authentication racing a connection: the old and the new kid both work', async () => {
    const ue = new UeClient({ simPath: stack.simFile(1), hssUrl: stack.hssUrl });
    await ue.attach();
    const older = ue.keys(EMSE);
    await ue.attach();
    const newer = ue.keys(EMSE);
    expect(newer.kid).not.toBe(older.kid);
    for (const k of [older, newer]) {
      const s = await DtlsClient.connect({ host: emse.host, port: emse.port, identity: k.pskIdentity, psk: k.e2mKey });
      expect(await coapHello(s, 7)).toBe(`Hello, ${k.pskIdentity}!`);
      s.close();
    }
  });

  it('(c) a kid older than the last N: unknown_psk_identity, then ue-client re-attaches once and succeeds', async () => {
    const sim = stack.simFile(2);
    const ue = new UeClient({ simPath: sim, hssUrl: stack.hssUrl });
    const oldest = await ue.attach();
    const saved = join(stack.dir, 'oldest.state.json');
    copyFileSync(statePathFor(sim), saved);
    for (let i = 0; i < 3; i++) await ue.attach(); // retain = 3: the first kid is gone now
    const stale = ue.keys(EMSE);
    copyFileSync(saved, statePathFor(sim));

    // The EMSE refuses the stale kid with alert 115 ...
    const staleKeys = new UeClient({ simPath: sim }).keys(EMSE);
    expect(staleKeys.kid).toBe(oldest.kid);
    const err = await DtlsClient.connect({ host: emse.host, port: emse.port, identity: staleKeys.pskIdentity, psk: staleKeys.e2mKey }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect((err as HandshakeError).alert).toBe(115);
    // ... without --hss the binary can only report it ...
    const noHss = await run(process.execPath, [binPath('ue-client'), 'get', `${base}/hello`, '--sim', sim, '--emse-id', EMSE]);
    expect(noHss.code).toBe(1);
    expect(noHss.stderr).toMatch(/unknown_psk_identity/);
    // ... and with --hss it attaches again (resynchronising the restored, older SQN) and succeeds.
    const got = await run(process.execPath, [binPath('ue-client'), 'get', `${base}/hello`, '--sim', sim, '--emse-id', EMSE, '--hss', stack.hssUrl, '--json']);
    expect(got.code).toBe(0);
    const state = JSON.parse(readFileSync(statePathFor(sim), 'utf8')) as { kid: string };
    expect(state.kid).not.toBe(oldest.kid);
    expect(state.kid).not.toBe(stale.kid);
    const out = JSON.parse(got.stdout) as { code: string; payload: string };
    expect(out.code).toBe('2.05');
    expect(out.payload).toBe(`Hello, e2m:${state.kid}:${ue.identity}!`);
  });

  it('keys are bound to the EMSE: emse-b\'s key does not open a session at emse-a', async () => {
    const ue = new UeClient({ simPath: stack.simFile(0), hssUrl: stack.hssUrl });
    const forB = ue.keys('emse-b.example.com');
    const err = await DtlsClient.connect({ host: emse.host, port: emse.port, identity: forB.pskIdentity, psk: forB.e2mKey }).catch((e: unknown) => e);
    expect((err as HandshakeError).alert).toBe(51);
    const b = stack.emse.get('emse-b.example.com');
    if (b === undefined) throw new Error('no emse-b');
    const s = await DtlsClient.connect({ host: b.host, port: b.port, identity: forB.pskIdentity, psk: forB.e2mKey });
    expect(await coapHello(s, 9)).toBe(`Hello, ${forB.pskIdentity}!`);
    s.close();
  });

  it.skipIf(!peer('openssl'))('openssl s_client, given `ue-client keys`, is served after the EMKS lookup', async () => {
    const sim = stack.simFile(0);
    const keys = await run(process.execPath, [binPath('ue-client'), 'keys', '--sim', sim, '--emse-id', EMSE, '--json']);
    expect(keys.code).toBe(0);
    const k = JSON.parse(keys.stdout) as { pskIdentity: string; e2mKey: string; kid: string };
    expect(k.e2mKey).toMatch(/^[0-9a-f]{64}$/);
    const child = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `${emse.host}:${emse.port}`, '-psk', k.e2mKey, '-psk_identity', k.pskIdentity, '-cipher', 'PSK-AES128-CCM8:@SECLEVEL=0', '-quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const echoed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo: ${out}`)), 10_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('raw-line-from-openssl')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // The EMSE echoes application data that is not CoAP; the line goes out once the handshake is done.
    child.stdin.write('raw-line-from-openssl\n');
    await echoed;
    child.kill('SIGTERM');
  });

  it('node-dtls-client, given the same keys, is served too', async () => {
    const { dtls } = await import('node-dtls-client');
    const k = new UeClient({ simPath: stack.simFile(1) }).keys(EMSE);
    const socket = dtls.createSocket({
      type: 'udp4',
      address: emse.host,
      port: emse.port,
      psk: { [k.pskIdentity]: Buffer.from(k.e2mKey.expose()) },
      ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
      timeout: 5000,
    } as never);
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.on('connected', () => socket.send(Buffer.from('raw-from-node-dtls-client')));
      socket.on('message', (m: Buffer) => resolve(m.toString()));
      socket.on('error', reject);
    });
    socket.close();
    expect(echoed).toBe('raw-from-node-dtls-client');
  });

  it('no log line of any role carries key material', () => {
    const logs = [stack.emks.stderr, stack.hss.stderr, ...[...stack.emse.values()].map((e) => e.process.stderr)].join('\n');
    expect(logs).toContain('session established');
    for (const [i, s] of stack.subscribers.entries()) {
      expect(logs).not.toContain(s.k);
      expect(logs).not.toContain(s.opc);
      const ue = new UeClient({ simPath: join(stack.dir, `sim-${i}.json`) });
      if (ue.state === undefined) continue;
      expect(logs).not.toContain(Buffer.from(ue.state.e2mIntKey.expose()).toString('hex'));
      for (const id of [EMSE, 'emse-b.example.com']) expect(logs).not.toContain(Buffer.from(ue.keys(id).e2mKey.expose()).toString('hex'));
    }
  });

  it('with the EMKS down, a new key fails with internal_error within the bound; established sessions go on', async () => {
    const ue = new UeClient({ simPath: stack.simFile(1), hssUrl: stack.hssUrl });
    const k = ue.keys(EMSE);
    const live = await DtlsClient.connect({ host: emse.host, port: emse.port, identity: k.pskIdentity, psk: k.e2mKey });
    await stack.emks.stop();
    await ue.attach(); // the HSS cannot push this key: the EMKS is gone
    const fresh = ue.keys(EMSE);
    const t0 = Date.now();
    const err = await DtlsClient.connect({ host: emse.host, port: emse.port, identity: fresh.pskIdentity, psk: fresh.e2mKey }).catch((e: unknown) => e);
    expect((err as HandshakeError).alert).toBe(80);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(await coapHello(live, 11)).toBe(`Hello, ${k.pskIdentity}!`);
    live.close();
  }, 30_000);
});
