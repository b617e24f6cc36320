/**
 * The `hss-sim` binary as a user runs it: a real process on 127.0.0.1 talking mutual TLS to a stub
 * EMKS (a node:https server in this test that requires client certificates from a dev PKI and
 * records what it is sent), attached to over HTTP by a simulated USIM; SIGTERM; bad flags.
 */
import { spawnSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { f2345, sqnFromBigInt, sqnToBigInt, Usim } from '../../src/aka/index.js';
import { certificateUris, createDevPki, loadTlsMaterial } from '../../src/crypto/pki.js';
import { deriveE2mIntKey, kidFromRand } from '../../src/kdf/index.js';
import { fromHex, toHex, xor } from '../../src/util/bytes.js';
import { ProcessGroup } from '../support/processes.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'hss-sim.js');

// TS 35.207 test set 2 (certs-free-test-vectors/milenage.json, ts35207-set2).
const K = '0396eb317b6d1c36f19c1c84cd6ffd16';
const OPC = '53c15671c60a4b731c55b4a441c0bde2';
const IMSI = '001010000000042';
const IDENTITIES = ['sensor-42@iot.example.com', 'gateway-42@iot.example.com'];
const h = (hex: string): Uint8Array => fromHex(hex, 'test');

/** Builds dist/ when it is missing or older than the sources of this role. */
function ensureBuilt(): void {
  const sources = [...readdirSync(join(root, 'src/hss')).map((f) => `hss/${f}`), 'cli/hss-sim/index.ts', 'cli/main.ts'].filter((f) => f.endsWith('.ts'));
  const stale = sources.some((f) => {
    const out = join(root, 'dist', f.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(root, 'src', f)).mtimeMs;
  });
  if (stale) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
}

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly uris: readonly string[];
}

/** A stub EMKS: HTTPS with required client certificates; records requests and answers as the contract says. */
class StubEmks extends EventEmitter {
  readonly seen: Seen[] = [];
  server!: Server;

  async start(dir: string): Promise<string> {
    const tls = loadTlsMaterial(dir, 'emks');
    this.server = createServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerCertificate(true);
        const text = Buffer.concat(chunks).toString('utf8');
        const s: Seen = { method: req.method ?? '', path: req.url ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, uris: certificateUris(new Uint8Array(peer.raw)) };
        this.seen.push(s);
        const status = s.path.endsWith('/int-keys') ? 201 : s.path.endsWith('/auth-results') ? 204 : s.path.startsWith('/v1/identities/') ? 201 : 404;
        const body = status === 201 && s.path.endsWith('/int-keys') ? JSON.stringify({ imsi: IMSI, kid: s.body['kid'] }) : '';
        res.writeHead(status, body ? { 'content-type': 'application/json' } : {});
        res.end(body);
        this.emit('request');
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  of(kind: 'int-keys' | 'auth-results' | 'identities'): Seen[] {
    return this.seen.filter((s) => (kind === 'identities' ? s.path.startsWith('/v1/identities/') : s.path.endsWith(`/${kind}`)));
  }

  /** Resolves once `n` requests of `kind` have been seen (bounded). */
  waitFor(kind: 'int-keys' | 'auth-results' | 'identities', n: number, timeoutMs = 10_000): Promise<Seen[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.of(kind).length < n) return false;
        clearTimeout(timer);
        this.off('request', check);
        resolve(this.of(kind));
        return true;
      };
      const timer = setTimeout(() => {
        this.off('request', check);
        reject(new Error(`stub EMKS saw ${this.of(kind).length} ${kind} requests, expected ${n}`));
      }, timeoutMs);
      if (!check()) this.on('request', check);
    });
  }
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('hss-sim binary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
  const pki = join(dir, 'pki');
  const subscribersFile = join(dir, 'subscribers.json');
  const stateFile = join(dir, 'hss-state.json');
  const badSubscribersFile = join(dir, 'bad-subscribers.json');
  const procs = new ProcessGroup();
  const emks = new StubEmks();
  let emksUrl: string;

  beforeAll(async () => {
    ensureBuilt();
    await createDevPki({ dir: pki, emseIds: ['emse-a'] });
    emksUrl = await emks.start(pki);
    writeFileSync(subscribersFile, JSON.stringify([{ imsi: IMSI, k: K, opc: OPC, amf: '8000', sqn: '000000000100', identities: IDENTITIES }]));
    writeFileSync(badSubscribersFile, JSON.stringify([{ imsi: IMSI, k: K, opc: OPC, sqn: '000000000100' }, { imsi: '00101', k: 'x', opc: OPC, sqn: '000000000100' }]));
  }, 180_000);
  afterEach(async () => procs.stopAll());
  afterAll(async () => {
    emks.server.closeAllConnections();
    emks.server.close();
  });

  it('maps identities at start, pushes a key per attach over mTLS, attaches a USIM, stops on SIGTERM', async () => {
    const p = procs.spawn(process.execPath, [bin, '--listen', '127.0.0.1:0', '--subscribers', subscribersFile, '--emks', emksUrl, '--pki', pki, '--state', stateFile]);
    const [, base] = await p.waitFor(/^hss-sim listening on (http:\/\/127\.0\.0\.1:\d+)$/m, { stream: 'stdout' });
    if (base === undefined) throw new Error('no URL');
    expect(p.stdout.trim().split('\n')).toHaveLength(1);

    const maps = await emks.waitFor('identities', 2);
    expect(maps.map((m) => [m.method, decodeURIComponent(m.path.slice('/v1/identities/'.length)), m.body])).toEqual(
      IDENTITIES.map((id) => ['PUT', id, { imsi: IMSI }]),
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(0x100n) });
    const kids: string[] = [];
    for (let i = 1; i <= 2; i++) {
      const c = await post(`${base}/v1/attach`, { imsi: IMSI });
      expect(c.status).toBe(201);
      const { txn, rand, autn } = c.body as { txn: string; rand: string; autn: string };
      // The push has already happened when the challenge arrives.
      const pushes = emks.of('int-keys');
      expect(pushes).toHaveLength(i);
      const kid = kidFromRand(h(rand));
      kids.push(kid);
      // SQN = (SQN ⊕ AK) ⊕ AK with AK = f5 (TS 33.102 §6.3.2): the HSS used SQN_HE + 1.
      expect(sqnToBigInt(xor(h(autn).subarray(0, 6), f2345(h(K), h(OPC), h(rand)).ak))).toBe(0x100n + BigInt(i));
      const r = usim.authenticate(h(rand), h(autn));
      if (r.result !== 'ok') throw new Error(`USIM said ${r.result}`);
      expect(pushes[i - 1]).toMatchObject({
        method: 'POST',
        path: `/v1/subscribers/${IMSI}/int-keys`,
        body: { kid, rand, key: toHex(deriveE2mIntKey(r.ck, r.ik)), createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      });
      const done = await post(`${base}/v1/attach/${txn}`, { res: toHex(r.res) });
      expect(done).toEqual({ status: 200, body: { result: 'success', guti: expect.stringMatching(/^00101-0001-01-[0-9a-f]{8}$/), kid } });
      for (const s of pushes) expect(p.stderr).not.toContain(String(s.body['key']));
      expect(p.stderr).not.toContain(toHex(r.res));
    }
    const results = await emks.waitFor('auth-results', 2);
    expect(results.map((s) => [s.path, s.body])).toEqual(kids.map((kid) => [`/v1/subscribers/${IMSI}/auth-results`, { kid, result: 'success' }]));
    for (const s of emks.seen) expect(s.uris).toEqual(['urn:e2m:hss:hss-sim']);
    expect(p.stderr).not.toContain(K);
    expect(p.stderr).not.toContain(OPC);

    const exit = await p.stop('SIGTERM', 5_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ version: 1, sqn: { [IMSI]: '000000000102' } });
    expect((statSync(stateFile).mode & 0o777).toString(8)).toBe('600');
  });

  const goodFlags = (): string[] => ['--subscribers', subscribersFile, '--emks', 'https://127.0.0.1:8443', '--pki', pki];
  const bad: readonly [string, () => string[], RegExp][] = [
    ['--listen nope', () => ['--listen', 'nope', ...goodFlags()], /^error: --listen: /],
    ['an unknown flag', () => ['--bogus', ...goodFlags()], /--bogus/],
    ['a bad field of the subscribers file', () => [...goodFlags(), '--subscribers', badSubscribersFile], /^error: subscribers\[1\]\.k: /],
    ['a missing --emks', () => ['--subscribers', subscribersFile, '--pki', pki], /^error: --emks: /],
    ['an http EMKS URL', () => [...goodFlags(), '--emks', 'http://127.0.0.1:8443'], /^error: --emks: /],
    ['--log-level loud', () => ['--log-level', 'loud', ...goodFlags()], /^error: --log-level: /],
    ['a PKI folder without the HSS certificate', () => [...goodFlags(), '--pki', dir], /^error: --pki: /],
    ['--txn-ttl 0', () => ['--txn-ttl', '0', ...goodFlags()], /^error: --txn-ttl: /],
  ];
  it.each(bad)('exits 2 with one line for %s', (_what, args, line) => {
    const r = spawnSync(process.execPath, [bin, ...args()], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it('--help shows an example command and an example subscribers file', () => {
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Example:\n\s+hss-sim --listen 127\.0\.0\.1:7000 --subscribers \S+ --emks https:\/\/\S+ --pki \S+/);
    const example = /\n\s+(\[\{"imsi".*\}\])\n/.exec(r.stdout)?.[1];
    expect(example).toBeDefined();
    expect(JSON.parse(example ?? '')).toEqual([expect.objectContaining({ imsi: expect.any(String), identities: expect.any(Array) })]);
  });
});
