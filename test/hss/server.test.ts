/**
 * The hss-sim attach API over real HTTP on 127.0.0.1, with a fake EmksClient that records every call:
 * AKA with a simulated USIM (src/aka), the e2m_int_key push before the challenge is answered, the
 * auth-result reports, resynchronisation from AUTS, bad input, expiry, and logs without secrets.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f1, f2345, sqnFromBigInt, sqnToBigInt, Usim } from '../../src/aka/index.js';
import { deriveE2mIntKey, kidFromRand } from '../../src/kdf/index.js';
import { EmksError, type AuthResult, type EmksClient, type IntKeyPush } from '../../src/hss/emks-client.js';
import { createHssSim, type HssSim, type HssSimOptions } from '../../src/hss/server.js';
import { parseSubscribers } from '../../src/hss/subscribers.js';
import { ManualClock } from '../../src/util/clock.js';
import { fromHex, toHex, xor } from '../../src/util/bytes.js';
import { createLogger } from '../../src/util/log.js';
import { HttpTransportError } from '../../src/util/https-json.js';

// TS 35.207 test set 1 (certs-free-test-vectors/milenage.json, ts35207-set1).
const K = '465b5ce8b199b49faa5f0a2ee238a6bc';
const OPC = 'cd63cb71954a9f4e48a5994e37a02baf';
const IMSI = '001010000000001';
const IMSI2 = '001010000000002';
const SQN0 = 0x20n;
const subscribers = parseSubscribers([
  { imsi: IMSI, k: K, opc: OPC, amf: '8000', sqn: '000000000020', identities: ['sensor-17@iot.example.com', 'meter-9@iot.example.com'] },
  { imsi: IMSI2, k: K, opc: OPC, sqn: '000000000100', identities: ['sensor-18@iot.example.com'] },
]);
const h = (hex: string): Uint8Array => fromHex(hex, 'test');

/** An EmksClient that records calls in order; behaviour per call can be replaced. */
class FakeEmks extends EventEmitter implements EmksClient {
  readonly events: string[] = [];
  readonly pushes: { imsi: string; kid: string; key: string; rand: string; createdAt: Date }[] = [];
  readonly results: { imsi: string; kid: string; result: AuthResult }[] = [];
  readonly maps: { identity: string; imsi: string }[] = [];
  onPush: (n: number) => Promise<void> = async () => undefined;
  onMap: (n: number) => Promise<'created' | 'updated'> = async () => 'created';

  async pushIntKey(imsi: string, p: IntKeyPush): Promise<void> {
    const n = this.pushes.push({ imsi, kid: p.kid, key: toHex(p.key.expose()), rand: toHex(p.rand), createdAt: p.createdAt });
    this.events.push(`push:${p.kid}`);
    this.emit('push', n);
    await this.onPush(n);
    this.events.push(`pushed:${p.kid}`);
  }

  async reportAuthResult(imsi: string, kid: string, result: AuthResult): Promise<void> {
    this.results.push({ imsi, kid, result });
    this.events.push(`result:${kid}:${result}`);
  }

  async mapIdentity(identity: string, imsi: string): Promise<'created' | 'updated'> {
    const n = this.maps.push({ identity, imsi });
    this.emit('map', n);
    return this.onMap(n);
  }

  /** Resolves when the `n`th call of `event` has happened (at once if it has). */
  nth(event: 'push' | 'map', n: number): Promise<void> {
    const count = (): number => (event === 'push' ? this.pushes.length : this.maps.length);
    return new Promise((resolve, reject) => {
      if (count() >= n) return resolve();
      const timer = setTimeout(() => reject(new Error(`no ${event} #${n}`)), 5_000);
      const on = (): void => {
        if (count() < n) return;
        clearTimeout(timer);
        this.off(event, on);
        resolve();
      };
      this.on(event, on);
    });
  }
}

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: Record<string, unknown>;
}

async function call(base: string, path: string, body?: unknown, o: { method?: string; contentType?: string | null; raw?: string | Uint8Array } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
  const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const r = await fetch(`${base}${path}`, { method: o.method ?? (payload === undefined ? 'GET' : 'POST'), headers, ...(payload === undefined ? {} : { body: payload }) });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Every log line; every secret value seen in the tests, to look for in them at the end. */
const logLines: string[] = [];
const secrets = new Set<string>([K, OPC]);
const logger = createLogger({ name: 'hss', level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });

async function start(emks: FakeEmks, extra: Partial<HssSimOptions> = {}): Promise<HssSim> {
  return createHssSim({ host: '127.0.0.1', port: 0, subscribers, emks, logger, ...extra });
}

/** Waits (turn by turn of the event loop, at most 5 s) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  const limit = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > limit) throw new Error('condition not reached within 5 s');
    await new Promise<void>((r) => setImmediate(r));
  }
}

const attachBody = (imsi = IMSI): { imsi: string } => ({ imsi });

/** The USIM's view of a challenge, checked with the Milenage functions of src/aka (TS 35.206). */
function sqnInAutn(rand: Uint8Array, autn: Uint8Array): bigint {
  const { ak } = f2345(h(K), h(OPC), rand);
  const sqn = xor(autn.subarray(0, 6), ak);
  expect(toHex(f1(h(K), h(OPC), rand, sqn, autn.subarray(6, 8)))).toBe(toHex(autn.subarray(8)));
  return sqnToBigInt(sqn);
}

function rememberSecrets(r: { res: Uint8Array; ck: Uint8Array; ik: Uint8Array }): void {
  for (const b of [r.res, r.ck, r.ik, deriveE2mIntKey(r.ck, r.ik)]) secrets.add(toHex(b));
}

describe('hss-sim attach flow', () => {
  const emks = new FakeEmks();
  let hss: HssSim;
  beforeAll(async () => {
    hss = await start(emks);
  });
  afterAll(async () => hss.close());

  it('maps every identity at the EMKS at start and answers /healthz', async () => {
    await expect(hss.identitiesMapped).resolves.toEqual({ mapped: 3, rejected: 0, unmapped: 0 });
    expect(emks.maps).toEqual([
      { identity: 'sensor-17@iot.example.com', imsi: IMSI },
      { identity: 'meter-9@iot.example.com', imsi: IMSI },
      { identity: 'sensor-18@iot.example.com', imsi: IMSI2 },
    ]);
    const r = await call(hss.url, '/healthz');
    expect(r).toEqual({ status: 200, type: 'application/json', body: { status: 'ok' } });
  });

  it('pushes e2m_int_key before answering; the USIM RES then gives success and auth-result success', async () => {
    let release!: () => void;
    emks.onPush = () => new Promise<void>((resolve) => (release = resolve));
    let answered = false;
    const pending = call(hss.url, '/v1/attach', attachBody()).then((r) => {
      emks.events.push('answer');
      answered = true;
      return r;
    });
    await emks.nth('push', 1);
    await call(hss.url, '/healthz'); // a full round trip meanwhile: the challenge is still held back
    expect(answered).toBe(false);
    emks.events.push('release');
    release();
    const challenge = await pending;
    emks.onPush = async () => undefined;
    expect(challenge.status).toBe(201);
    expect(challenge.type).toBe('application/json');
    expect(Object.keys(challenge.body).sort()).toEqual(['autn', 'rand', 'txn']);
    const { txn, rand, autn } = challenge.body as { txn: string; rand: string; autn: string };
    expect(txn).toMatch(/^[0-9a-f]{32}$/);
    const kid = kidFromRand(h(rand));
    expect(emks.events).toEqual([`push:${kid}`, 'release', `pushed:${kid}`, 'answer']);

    const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(SQN0) });
    expect(sqnInAutn(h(rand), h(autn))).toBe(SQN0 + 1n);
    const r = usim.authenticate(h(rand), h(autn));
    if (r.result !== 'ok') throw new Error(`USIM said ${r.result}`);
    rememberSecrets(r);
    const push = emks.pushes[0];
    expect(push).toMatchObject({ imsi: IMSI, kid, rand, key: toHex(deriveE2mIntKey(r.ck, r.ik)) });
    expect(Math.abs((push?.createdAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    const done = await call(hss.url, `/v1/attach/${txn}`, { res: toHex(r.res) });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ result: 'success', guti: expect.stringMatching(/^00101-0001-01-[0-9a-f]{8}$/), kid });
    expect(emks.results).toEqual([{ imsi: IMSI, kid, result: 'success' }]);
    // The transaction is consumed.
    expect((await call(hss.url, `/v1/attach/${txn}`, { res: toHex(r.res) })).status).toBe(404);
  });

  it('a wrong RES gives 403 problem+json and auth-result failure', async () => {
    const c = await call(hss.url, '/v1/attach', attachBody());
    const { txn, rand, autn } = c.body as { txn: string; rand: string; autn: string };
    const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(SQN0 + 1n) });
    const r = usim.authenticate(h(rand), h(autn));
    if (r.result !== 'ok') throw new Error(`USIM said ${r.result}`);
    rememberSecrets(r);
    const wrong = r.res.slice();
    wrong[7] = (wrong[7] as number) ^ 1;
    const a = await call(hss.url, `/v1/attach/${txn}`, { res: toHex(wrong) });
    expect(a.status).toBe(403);
    expect(a.type).toBe('application/problem+json');
    expect(a.body).toMatchObject({ type: 'about:blank', title: 'Forbidden', status: 403 });
    expect(emks.results.at(-1)).toEqual({ imsi: IMSI, kid: kidFromRand(h(rand)), result: 'failure' });
    expect((await call(hss.url, `/v1/attach/${txn}`, { res: toHex(r.res) })).status).toBe(404);
  });

  it('resynchronises from the AUTS of a USIM whose SQN_MS is ahead; the next challenge is accepted', async () => {
    const ahead = SQN0 + 1000n;
    const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(ahead) });
    const first = (await call(hss.url, '/v1/attach', attachBody())).body as { txn: string; rand: string; autn: string };
    expect(sqnInAutn(h(first.rand), h(first.autn))).toBeLessThanOrEqual(ahead);
    const s = usim.authenticate(h(first.rand), h(first.autn));
    if (s.result !== 'sync-failure') throw new Error(`USIM said ${s.result}`);
    const pushesBefore = emks.pushes.length;

    const again = await call(hss.url, `/v1/attach/${first.txn}`, { auts: toHex(s.auts) });
    expect(again.status).toBe(200);
    const next = again.body as { result: string; txn: string; rand: string; autn: string };
    expect(Object.keys(next).sort()).toEqual(['autn', 'rand', 'result', 'txn']);
    expect(next.result).toBe('challenge');
    expect(next.txn).not.toBe(first.txn);
    expect(next.rand).not.toBe(first.rand);
    const sqn = sqnInAutn(h(next.rand), h(next.autn));
    expect(sqn).toBeGreaterThan(sqnToBigInt(usim.sqnMs));
    expect(sqn).toBe(ahead + 1n);
    // The new vector was pushed; the rejected one is reported as failed.
    expect(emks.pushes.length).toBe(pushesBefore + 1);
    expect(emks.pushes.at(-1)).toMatchObject({ imsi: IMSI, kid: kidFromRand(h(next.rand)), rand: next.rand });
    expect(emks.results.at(-1)).toEqual({ imsi: IMSI, kid: kidFromRand(h(first.rand)), result: 'failure' });

    const r = usim.authenticate(h(next.rand), h(next.autn));
    if (r.result !== 'ok') throw new Error(`USIM said ${r.result}`);
    rememberSecrets(r);
    expect(emks.pushes.at(-1)?.key).toBe(toHex(deriveE2mIntKey(r.ck, r.ik)));
    const done = await call(hss.url, `/v1/attach/${next.txn}`, { res: toHex(r.res) });
    expect(done.body).toMatchObject({ result: 'success', kid: kidFromRand(h(next.rand)) });
    // SQN_HE continues from there.
    const later = (await call(hss.url, '/v1/attach', attachBody())).body as { rand: string; autn: string };
    expect(sqnInAutn(h(later.rand), h(later.autn))).toBe(ahead + 2n);
  });

  it('refuses an AUTS whose MAC-S does not verify (403) and keeps SQN_HE', async () => {
    const c = (await call(hss.url, '/v1/attach', attachBody(IMSI2))).body as { txn: string; rand: string; autn: string };
    const before = sqnInAutn(h(c.rand), h(c.autn));
    const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(0xffffn) });
    const s = usim.authenticate(h(c.rand), h(c.autn));
    if (s.result !== 'sync-failure') throw new Error(`USIM said ${s.result}`);
    const forged = s.auts.slice();
    forged[13] = (forged[13] as number) ^ 0x80;
    const a = await call(hss.url, `/v1/attach/${c.txn}`, { auts: toHex(forged) });
    expect(a.status).toBe(403);
    expect(a.type).toBe('application/problem+json');
    const n = (await call(hss.url, '/v1/attach', attachBody(IMSI2))).body as { rand: string; autn: string };
    expect(sqnInAutn(h(n.rand), h(n.autn))).toBe(before + 1n);
  });

  const longBody = JSON.stringify({ imsi: IMSI, pad: 'x'.repeat(17 * 1024) });
  const badInput: readonly [string, string, { body?: unknown; raw?: string | Uint8Array; contentType?: string | null; method?: string }, number][] = [
    ['text/plain', '/v1/attach', { raw: JSON.stringify(attachBody()), contentType: 'text/plain' }, 415],
    ['no content-type', '/v1/attach', { raw: JSON.stringify(attachBody()), contentType: null }, 415],
    ['bad JSON', '/v1/attach', { raw: '{"imsi": "0010', contentType: 'application/json' }, 400],
    ['a JSON array', '/v1/attach', { body: [IMSI] }, 400],
    ['not UTF-8', '/v1/attach', { raw: Uint8Array.from([...Buffer.from('{"imsi":"'), 0xff, ...Buffer.from('"}')]) }, 400],
    ['an unknown field', '/v1/attach', { body: { imsi: IMSI, extra: 1 } }, 400],
    ['imsi missing', '/v1/attach', { body: {} }, 400],
    ['imsi malformed', '/v1/attach', { body: { imsi: '0010x' } }, 400],
    ['imsi a number', '/v1/attach', { body: { imsi: 1010000000001 } }, 400],
    ['unknown imsi', '/v1/attach', { body: { imsi: '999990000000001' } }, 404],
    ['a body over 16 KiB', '/v1/attach', { raw: longBody }, 413],
    ['GET on /v1/attach', '/v1/attach', { method: 'GET' }, 405],
    ['an unknown path', '/v1/nothing', { body: attachBody() }, 404],
    ['an unknown txn', `/v1/attach/${'0'.repeat(32)}`, { body: { res: '00'.repeat(8) } }, 404],
    ['a malformed txn', '/v1/attach/..%2f', { body: { res: '00'.repeat(8) } }, 404],
    ['res and auts', `/v1/attach/${'0'.repeat(32)}`, { body: { res: '00'.repeat(8), auts: '00'.repeat(14) } }, 400],
    ['neither res nor auts', `/v1/attach/${'0'.repeat(32)}`, { body: {} }, 400],
    ['res not hex', `/v1/attach/${'0'.repeat(32)}`, { body: { res: 'zz'.repeat(8) } }, 400],
    ['res of 3 octets', `/v1/attach/${'0'.repeat(32)}`, { body: { res: '00'.repeat(3) } }, 400],
    ['auts of 13 octets', `/v1/attach/${'0'.repeat(32)}`, { body: { auts: '00'.repeat(13) } }, 400],
    ['an unknown field in the answer', `/v1/attach/${'0'.repeat(32)}`, { body: { res: '00'.repeat(8), x: 1 } }, 400],
  ];
  it.each(badInput)('answers %s with problem+json', async (_what, path, o, status) => {
    const r = await call(hss.url, path, o.body, { ...(o.raw === undefined ? {} : { raw: o.raw }), ...(o.contentType === undefined ? {} : { contentType: o.contentType }), ...(o.method === undefined ? {} : { method: o.method }) });
    expect(r.status).toBe(status);
    expect(r.type).toBe('application/problem+json');
    expect(r.body).toEqual({ type: 'about:blank', title: expect.any(String), status, detail: expect.any(String) });
  });

  it('answers 413 to a chunked body over 16 KiB, and keeps serving', async () => {
    const url = new URL('/v1/attach', hss.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(' '.repeat(1024));
      req.end('{}');
    });
    expect(status).toBe(413);
    expect((await call(hss.url, '/healthz')).status).toBe(200);
    expect((await call(hss.url, '/v1/attach', attachBody())).status).toBe(201);
  });

  it('never writes K, OPc, RES, CK, IK or e2m_int_key to the log', () => {
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.some((l) => l.includes('challenge sent'))).toBe(true);
    expect(secrets.size).toBeGreaterThanOrEqual(2 + 4 * 3);
    for (const line of logLines) {
      for (const s of secrets) expect(line.toLowerCase()).not.toContain(s);
    }
  });
});

describe('hss-sim when the EMKS is unreachable, slow or in conflict', () => {
  it('still answers the challenge, and pushes the key again at success', async () => {
    const emks = new FakeEmks();
    emks.onPush = async (n) => {
      if (n === 1) throw new HttpTransportError('E_HTTP_TRANSPORT', 'connect ECONNREFUSED 127.0.0.1:1');
    };
    const lines: string[] = [];
    const hss = await start(emks, { logger: createLogger({ name: 'hss', level: 'info', destination: { write: (s: string) => void lines.push(s) } }) });
    try {
      const c = await call(hss.url, '/v1/attach', attachBody());
      expect(c.status).toBe(201);
      expect(lines.some((l) => JSON.parse(l).level === 40 && l.includes('E_HTTP_TRANSPORT'))).toBe(true);
      const { txn, rand, autn } = c.body as { txn: string; rand: string; autn: string };
      const r = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(SQN0) }).authenticate(h(rand), h(autn));
      if (r.result !== 'ok') throw new Error(`USIM said ${r.result}`);
      const done = await call(hss.url, `/v1/attach/${txn}`, { res: toHex(r.res) });
      expect(done.body).toMatchObject({ result: 'success', kid: kidFromRand(h(rand)) });
      expect(emks.pushes.map((p) => p.kid)).toEqual([kidFromRand(h(rand)), kidFromRand(h(rand))]);
      expect(emks.pushes[1]?.key).toBe(toHex(deriveE2mIntKey(r.ck, r.ik)));
      expect(emks.results).toEqual([{ imsi: IMSI, kid: kidFromRand(h(rand)), result: 'success' }]);
    } finally {
      await hss.close();
    }
  });

  it('answers after the bound when the EMKS does not answer at all', async () => {
    const clock = new ManualClock();
    const emks = new FakeEmks();
    emks.onPush = () => new Promise<void>(() => undefined);
    const hss = await start(emks, { clock, emksTimeoutMs: 2_500 });
    try {
      let answered = false;
      const pending = call(hss.url, '/v1/attach', attachBody()).then((r) => {
        answered = true;
        return r;
      });
      await emks.nth('push', 1);
      clock.advance(2_499);
      await call(hss.url, '/healthz');
      expect(answered).toBe(false);
      clock.advance(1);
      const c = await pending;
      expect(c.status).toBe(201);
      expect(kidFromRand(h((c.body as { rand: string }).rand))).toBe(emks.pushes[0]?.kid);
    } finally {
      await hss.close();
    }
  });

  it('draws a new RAND when the EMKS holds the kid with another key (409)', async () => {
    const emks = new FakeEmks();
    emks.onPush = async (n) => {
      if (n === 1) throw new EmksError('E_EMKS_CONFLICT', 409, 'kid held with another key');
    };
    const hss = await start(emks);
    try {
      const c = await call(hss.url, '/v1/attach', attachBody());
      const { rand, autn } = c.body as { rand: string; autn: string };
      expect(emks.pushes.length).toBe(2);
      expect(emks.pushes[0]?.rand).not.toBe(rand);
      expect(emks.pushes[1]?.rand).toBe(rand);
      expect(sqnInAutn(h(rand), h(autn))).toBe(SQN0 + 1n);
    } finally {
      await hss.close();
    }
  });
});

describe('hss-sim transactions and state', () => {
  it('forgets a transaction after txnTtlMs (404)', async () => {
    const clock = new ManualClock();
    const emks = new FakeEmks();
    const hss = await start(emks, { clock, txnTtlMs: 1_000 });
    try {
      const a = (await call(hss.url, '/v1/attach', attachBody())).body as { txn: string; rand: string; autn: string };
      const b = (await call(hss.url, '/v1/attach', attachBody())).body as { txn: string; rand: string; autn: string };
      const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(SQN0) });
      const ra = usim.authenticate(h(a.rand), h(a.autn));
      const rb = usim.authenticate(h(b.rand), h(b.autn));
      if (ra.result !== 'ok' || rb.result !== 'ok') throw new Error('USIM refused');
      clock.advance(999);
      expect((await call(hss.url, `/v1/attach/${a.txn}`, { res: toHex(ra.res) })).status).toBe(200);
      clock.advance(1);
      const late = await call(hss.url, `/v1/attach/${b.txn}`, { res: toHex(rb.res) });
      expect(late.status).toBe(404);
      expect(late.type).toBe('application/problem+json');
    } finally {
      await hss.close();
    }
  });

  it('keeps at most maxTransactions pending, dropping the oldest', async () => {
    const emks = new FakeEmks();
    const hss = await start(emks, { maxTransactions: 2 });
    try {
      const txns: { txn: string; rand: string; autn: string }[] = [];
      for (let i = 0; i < 3; i++) txns.push((await call(hss.url, '/v1/attach', attachBody())).body as { txn: string; rand: string; autn: string });
      const usim = new Usim({ k: h(K), opc: h(OPC), sqnMs: sqnFromBigInt(SQN0) });
      const answers = txns.map((t) => usim.authenticate(h(t.rand), h(t.autn)));
      const res = answers.map((r) => (r.result === 'ok' ? toHex(r.res) : ''));
      expect((await call(hss.url, `/v1/attach/${txns[0]?.txn}`, { res: res[0] })).status).toBe(404);
      expect((await call(hss.url, `/v1/attach/${txns[1]?.txn}`, { res: res[1] })).status).toBe(200);
      expect((await call(hss.url, `/v1/attach/${txns[2]?.txn}`, { res: res[2] })).status).toBe(200);
    } finally {
      await hss.close();
    }
  });

  it('persists SQN_HE in the state file and continues from it after a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'e2m-')), 'hss-state.json');
    const emks = new FakeEmks();
    let hss = await start(emks, { stateFile: file });
    const a = (await call(hss.url, '/v1/attach', attachBody())).body as { rand: string; autn: string };
    expect(sqnInAutn(h(a.rand), h(a.autn))).toBe(SQN0 + 1n);
    await hss.close();
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(readFileSync(file, 'utf8')).sqn[IMSI]).toBe('000000000021');
    hss = await start(emks, { stateFile: file });
    try {
      const b = (await call(hss.url, '/v1/attach', attachBody())).body as { rand: string; autn: string };
      expect(sqnInAutn(h(b.rand), h(b.autn))).toBe(SQN0 + 2n);
    } finally {
      await hss.close();
    }
  });
});

describe('hss-sim identity mapping at start', () => {
  it('retries with backoff while the EMKS is unreachable, then maps everything', async () => {
    const clock = new ManualClock();
    const emks = new FakeEmks();
    emks.onMap = async (n) => {
      if (n <= 2) throw new HttpTransportError('E_HTTP_TRANSPORT', 'connect ECONNREFUSED');
      return 'created';
    };
    const lines: string[] = [];
    const retries = (): number => lines.filter((l) => l.includes('retrying identity mapping')).length;
    const log = createLogger({ name: 'hss', level: 'info', destination: { write: (t: string) => void lines.push(t) } });
    const hss = await start(emks, { clock, logger: log, identitySync: { initialDelayMs: 500, maxDelayMs: 800 } });
    try {
      await until(() => retries() === 1);
      clock.advance(499);
      expect(emks.maps.length).toBe(1);
      clock.advance(1);
      await until(() => retries() === 2);
      expect(emks.maps.length).toBe(2);
      clock.advance(799); // 500 doubled is capped at 800
      expect(emks.maps.length).toBe(2);
      clock.advance(1);
      await expect(hss.identitiesMapped).resolves.toEqual({ mapped: 3, rejected: 0, unmapped: 0 });
      expect(emks.maps.map((m) => m.identity)).toEqual([
        'sensor-17@iot.example.com',
        'sensor-17@iot.example.com',
        'sensor-17@iot.example.com',
        'meter-9@iot.example.com',
        'sensor-18@iot.example.com',
      ]);
      expect(lines.some((l) => l.includes('identities mapped at the EMKS'))).toBe(true);
    } finally {
      await hss.close();
    }
  });

  it('does not retry an identity the EMKS refuses, and gives up after the last attempt', async () => {
    const emks = new FakeEmks();
    emks.onMap = async (n) => {
      if (n === 1) throw new EmksError('E_EMKS_REJECTED', 400, 'bad identity');
      throw new HttpTransportError('E_HTTP_TIMEOUT', 'no answer');
    };
    const hss = await start(emks, { identitySync: { attempts: 2, initialDelayMs: 1 } });
    try {
      await expect(hss.identitiesMapped).resolves.toEqual({ mapped: 0, rejected: 1, unmapped: 2 });
      expect(emks.maps.map((m) => m.identity)).toEqual(['sensor-17@iot.example.com', 'meter-9@iot.example.com', 'meter-9@iot.example.com']);
      // Attaches are served all the same.
      expect((await call(hss.url, '/v1/attach', attachBody())).status).toBe(201);
    } finally {
      await hss.close();
    }
  });
});
