/**
 * The EMKS API of DESIGN.md §5 through real HTTPS with mutual TLS on 127.0.0.1, using a dev PKI:
 * the HSS pushes keys and maps identities, EMSEs register and fetch keys bound to the EMSE_Id of
 * their own certificate, every other caller and every malformed request is refused with the right
 * status, and no log line ever carries key material.
 */
import Database from 'better-sqlite3';
import { type Agent, request } from 'node:https';
import { connect, constants, type IncomingHttpHeaders } from 'node:http2';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevPki, loadTlsMaterial } from '../../src/crypto/pki.js';
import { randomBytes } from '../../src/crypto/primitives.js';
import { openSqliteStore } from '../../src/emks/sqlite-store.js';
import { createEmksServer, type EmksServer } from '../../src/emks/server.js';
import type { EmksStore } from '../../src/emks/store.js';
import { deriveE2mKey } from '../../src/kdf/best.js';
import { toHex } from '../../src/util/bytes.js';
import { createMtlsAgent, HttpTransportError, requestJson } from '../../src/util/https-json.js';
import { createMtlsJsonClient, type MtlsJsonClient } from '../../src/util/mtls-json-client.js';
import { within } from '../support/processes.js';
import { createLogger } from '../../src/util/log.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
}

/** One request with full control of headers and body (a whole buffer, or chunks without Content-Length). */
function rawRequest(o: { agent: Agent; url: string; method: string; headers?: Record<string, string>; body?: Buffer | string; chunks?: Buffer[] }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
    const headers = { ...o.headers, ...(body !== undefined ? { 'content-length': String(body.length) } : {}) };
    const req = request(o.url, { method: o.method, agent: o.agent, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    for (const c of o.chunks ?? []) req.write(c);
    req.end(body);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
const pkiDir = join(dir, 'pki');
const dbFile = join(dir, 'emks.db');
const kek = randomBytes(32);
const logLines: string[] = [];
/** Every key value the test handled: none may show up in a log line. */
const secrets: Uint8Array[] = [kek];

let store: EmksStore;
let server: EmksServer;
let base: string;
const agents: Record<'hss' | 'emseA' | 'emseB' | 'noCert' | 'foreign', Agent> = {} as never;

const IMSI = '001010000000017';
const IDENTITY = 'sensor-17@iot.example.com';

beforeAll(async () => {
  await createDevPki({ dir: pkiDir, emseIds: ['emse-a', 'emse-b'] });
  await createDevPki({ dir: join(dir, 'other-ca'), emseIds: ['emse-a'] });
  store = openSqliteStore(dbFile);
  const logger = createLogger({ name: 'emks', level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });
  server = await createEmksServer({ host: '127.0.0.1', port: 0, pki: pkiDir, store, kek, logger });
  base = `https://127.0.0.1:${server.address.port}`;
  const ca = loadTlsMaterial(pkiDir, 'hss').ca;
  agents.hss = createMtlsAgent(loadTlsMaterial(pkiDir, 'hss'));
  agents.emseA = createMtlsAgent(loadTlsMaterial(pkiDir, { emse: 'emse-a' }));
  agents.emseB = createMtlsAgent(loadTlsMaterial(pkiDir, { emse: 'emse-b' }));
  agents.noCert = createMtlsAgent({ ca, cert: undefined as never, key: undefined as never });
  // A certificate for emse-a from another CA, presented to a client that trusts the EMKS.
  agents.foreign = createMtlsAgent({ ...loadTlsMaterial(join(dir, 'other-ca'), { emse: 'emse-a' }), ca });
});

afterAll(async () => {
  for (const a of Object.values(agents)) a.destroy();
  await server?.close();
  await store?.close();
});

type Who = keyof typeof agents;

function call(who: Who, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return requestJson({ method, url: `${base}${path}`, agent: agents[who], ...(body === undefined ? {} : { body }) });
}

function raw(who: Who, method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | string; chunks?: Buffer[] } = {}): Promise<RawAnswer> {
  return rawRequest({ agent: agents[who], url: `${base}${path}`, method, ...options });
}

let kidCounter = 0x10000000;
interface Pushed {
  kid: string;
  key: Uint8Array;
  createdAt: string;
}
async function push(imsi = IMSI, createdAt = new Date().toISOString()): Promise<Pushed> {
  const kid = (kidCounter++).toString(16);
  const key = randomBytes(32);
  secrets.push(key);
  const r = await call('hss', 'POST', `/v1/subscribers/${imsi}/int-keys`, { kid, key: toHex(key), rand: toHex(randomBytes(16)), createdAt });
  expect(r).toEqual({ status: 201, body: { imsi, kid } });
  return { kid, key, createdAt };
}

function fetchPath(kid: string, identity = IDENTITY, extra = ''): string {
  return `/v1/e2m-keys?identity=${encodeURIComponent(identity)}&kid=${kid}${extra}`;
}

function expectProblem(r: { status: number; body: unknown }, status: number, type?: string): void {
  expect(r.status).toBe(status);
  const body = r.body as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
  expect(body['status']).toBe(status);
  if (type !== undefined) expect(body['type']).toBe(`urn:e2m:problem:${type}`);
}

describe('the bootstrap flow', () => {
  it('HSS pushes and maps; EMSE registers and fetches e2m_key = KDF(e2m_int_key, EMSE_Id)', async () => {
    expect(await call('hss', 'PUT', `/v1/identities/${encodeURIComponent(IDENTITY)}`, { imsi: IMSI })).toEqual({
      status: 201,
      body: { appIdentity: IDENTITY, imsi: IMSI },
    });
    expect((await call('hss', 'PUT', `/v1/identities/${encodeURIComponent(IDENTITY)}`, { imsi: IMSI })).status).toBe(200);
    const k = await push();
    expect(await call('emseA', 'POST', '/v1/emse/register')).toEqual({ status: 201, body: { emseId: 'emse-a', retain: 3, keyTtl: 86400 } });
    expect((await call('emseA', 'POST', '/v1/emse/register', {})).status).toBe(201);
    expect(await store.listEmses()).toEqual([expect.objectContaining({ emseId: 'emse-a' })]);

    const r = await call('emseA', 'GET', fetchPath(k.kid));
    const expected = deriveE2mKey(k.key, 'emse-a');
    secrets.push(expected);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      e2mKey: toHex(expected),
      kid: k.kid,
      emseId: 'emse-a',
      expiresAt: new Date(Date.parse(k.createdAt) + 86_400_000).toISOString(),
    });
  });

  it('binds the key to the certificate: emse-a never obtains emse-b’s key, whatever the query says', async () => {
    const k = await push();
    const forA = deriveE2mKey(k.key, 'emse-a');
    const forB = deriveE2mKey(k.key, 'emse-b');
    secrets.push(forA, forB);
    expect(toHex(forA)).not.toBe(toHex(forB));
    const a = (await call('emseA', 'GET', fetchPath(k.kid))).body as Record<string, unknown>;
    const b = (await call('emseB', 'GET', fetchPath(k.kid))).body as Record<string, unknown>;
    const aAsB = await call('emseA', 'GET', fetchPath(k.kid, IDENTITY, '&emseId=emse-b'));
    expect(a['e2mKey']).toBe(toHex(forA));
    expect(b['e2mKey']).toBe(toHex(forB));
    expect(b['emseId']).toBe('emse-b');
    expect(aAsB.status).toBe(201);
    expect(aAsB.body).toEqual(a);
    expect((aAsB.body as Record<string, unknown>)['e2mKey']).not.toBe(toHex(forB));
  });

  it('a push of the same kid and key is idempotent; another key under that kid is 409', async () => {
    const k = await push();
    const body = { kid: k.kid, key: toHex(k.key), rand: toHex(randomBytes(16)), createdAt: k.createdAt };
    expect(await call('hss', 'POST', `/v1/subscribers/${IMSI}/int-keys`, body)).toEqual({ status: 201, body: { imsi: IMSI, kid: k.kid } });
    const other = randomBytes(32);
    secrets.push(other);
    expectProblem(await call('hss', 'POST', `/v1/subscribers/${IMSI}/int-keys`, { ...body, key: toHex(other) }), 409, 'kid-conflict');
    const served = (await call('emseA', 'GET', fetchPath(k.kid))).body as Record<string, unknown>;
    expect(served['e2mKey']).toBe(toHex(deriveE2mKey(k.key, 'emse-a')));
  });

  it('keeps the last 3 per subscriber: an older kid is 404', async () => {
    const imsi = '00101000000099';
    const identity = 'meter-99@iot.example.com';
    await call('hss', 'PUT', `/v1/identities/${identity}`, { imsi });
    const t = Date.now();
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(await push(imsi, new Date(t + i * 1000).toISOString()));
    expectProblem(await call('emseA', 'GET', fetchPath(keys[0]?.kid ?? '', identity)), 404, 'unknown-kid');
    for (const k of keys.slice(1)) expect((await call('emseA', 'GET', fetchPath(k.kid, identity))).status).toBe(201);
  });

  it('404 for an unknown identity or kid; an auth failure or an expired key is not served', async () => {
    expectProblem(await call('emseA', 'GET', fetchPath('10000000', 'nobody@iot.example.com')), 404, 'unknown-identity');
    expectProblem(await call('emseA', 'GET', fetchPath('ffffffff')), 404, 'unknown-kid');

    const failed = await push();
    expect(await call('hss', 'POST', `/v1/subscribers/${IMSI}/auth-results`, { kid: failed.kid, result: 'failure' })).toEqual({ status: 204, body: undefined });
    expectProblem(await call('emseA', 'GET', fetchPath(failed.kid)), 404, 'key-unusable');
    const ok = await push();
    expect((await call('hss', 'POST', `/v1/subscribers/${IMSI}/auth-results`, { kid: ok.kid, result: 'success' })).status).toBe(204);
    expect((await call('emseA', 'GET', fetchPath(ok.kid))).status).toBe(201);
    expectProblem(await call('hss', 'POST', `/v1/subscribers/${IMSI}/auth-results`, { kid: 'ffffffff', result: 'success' }), 404, 'unknown-kid');

    // A key past its lifetime (createdAt + keyTtl), for a subscriber of its own so that it is retained.
    const imsi = '00101000000042';
    await call('hss', 'PUT', '/v1/identities/meter-42@iot.example.com', { imsi });
    const old = await push(imsi, new Date(Date.now() - 2 * 86_400_000).toISOString());
    expect(await store.getIntKey(imsi, old.kid)).toBeDefined();
    expectProblem(await call('emseA', 'GET', fetchPath(old.kid, 'meter-42@iot.example.com')), 404, 'key-unusable');
  });

  it('a stored row altered in the database is treated as absent, and logged without values', async () => {
    const k = await push();
    const db = new Database(dbFile);
    db.prepare('UPDATE int_keys SET sealed_key = randomblob(60) WHERE kid = ?').run(k.kid);
    db.close();
    expectProblem(await call('emseA', 'GET', fetchPath(k.kid)), 404, 'unknown-kid');
    expect(logLines.some((l) => l.includes('does not open') && l.includes(k.kid))).toBe(true);
    // The HSS may push that kid again: the unreadable row is replaced.
    const again = { kid: k.kid, key: toHex(k.key), rand: toHex(randomBytes(16)), createdAt: k.createdAt };
    expect((await call('hss', 'POST', `/v1/subscribers/${IMSI}/int-keys`, again)).status).toBe(201);
    expect((await call('emseA', 'GET', fetchPath(k.kid))).status).toBe(201);
  });
});

describe('who may call what', () => {
  it('an EMSE cannot push keys, map identities or report results; the HSS cannot fetch or register (403)', async () => {
    const body = { kid: '1a2b3c4d', key: toHex(randomBytes(32)), rand: toHex(randomBytes(16)), createdAt: new Date().toISOString() };
    expectProblem(await call('emseA', 'POST', `/v1/subscribers/${IMSI}/int-keys`, body), 403, 'forbidden');
    expectProblem(await call('emseA', 'PUT', `/v1/identities/${IDENTITY}`, { imsi: '00101000000666' }), 403, 'forbidden');
    expectProblem(await call('emseA', 'POST', `/v1/subscribers/${IMSI}/auth-results`, { kid: '1a2b3c4d', result: 'failure' }), 403);
    expectProblem(await call('hss', 'GET', fetchPath('10000000')), 403, 'forbidden');
    expectProblem(await call('hss', 'POST', '/v1/emse/register'), 403, 'forbidden');
    expect(await store.imsiForIdentity(IDENTITY)).toBe(IMSI);
    expect(await store.getIntKey(IMSI, '1a2b3c4d')).toBeUndefined();
  });

  it('a client without a certificate is refused by TLS, before any HTTP', async () => {
    const before = logLines.length;
    const err = await call('noCert', 'GET', '/healthz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpTransportError);
    expect((err as HttpTransportError).code).toBe('E_HTTP_TRANSPORT');
    expect((err as Error).message).toMatch(/alert certificate required/);
    const refusal = logLines.slice(before).find((l) => l.includes('TLS handshake refused'));
    expect(refusal).toMatch(/"reason":"[A-Z_]*CERTIFICATE/);
    // (Lines of earlier tests' requests may still be written meanwhile: none of those asked for /healthz.)
    expect(logLines.slice(before).some((l) => l.includes('"msg":"request"') && l.includes('"path":"/healthz"'))).toBe(false);
  });

  it('a certificate from another CA is refused by TLS', async () => {
    const before = logLines.length;
    const err = await call('foreign', 'GET', '/healthz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpTransportError);
    expect((err as Error).message).toMatch(/unknown ca|socket hang up|ECONNRESET/i);
    const refusal = logLines.slice(before).find((l) => l.includes('TLS handshake refused'));
    expect(refusal).toMatch(/"reason":"[A-Z_]*(VERIFY|CERT|SIGNATURE|ISSUER)/);
    // (Lines of earlier tests' requests may still be written meanwhile: none of those asked for /healthz.)
    expect(logLines.slice(before).some((l) => l.includes('"msg":"request"') && l.includes('"path":"/healthz"'))).toBe(false);
  });
});

describe('bad requests', () => {
  const pushPath = `/v1/subscribers/${IMSI}/int-keys`;
  const good = (): Record<string, unknown> => ({ kid: 'abcdef01', key: toHex(randomBytes(32)), rand: toHex(randomBytes(16)), createdAt: new Date().toISOString() });
  const json = { 'content-type': 'application/json' };

  it.each([
    ['bad JSON', '{"kid":', 'malformed-json'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'malformed-json'],
    ['an array', '[]', 'invalid-body'],
    ['an empty body', '', 'invalid-body'],
  ])('%s → 400', async (_what, body, type) => {
    const r = await raw('hss', 'POST', pushPath, { headers: json, body });
    expectProblem(r, 400, type);
    expect(r.headers['content-type']).toBe('application/problem+json');
  });

  it.each([
    ['an unknown field', { ...good(), extra: true }, 'unknown-field'],
    ['a missing field', { kid: 'abcdef01' }, 'missing-field'],
    ['a number for kid', { ...good(), kid: 12345678 }, 'invalid-field'],
    ['an uppercase kid', { ...good(), kid: 'ABCDEF01' }, 'invalid-field'],
    ['a short key', { ...good(), key: 'ab'.repeat(16) }, 'invalid-field'],
    ['a short rand', { ...good(), rand: 'ab'.repeat(8) }, 'invalid-field'],
    ['a date without zone', { ...good(), createdAt: '2025-01-01T00:00:00' }, 'invalid-field'],
  ])('%s → 400 naming the field', async (_what, body: Record<string, unknown>, type) => {
    const r = await call('hss', 'POST', pushPath, body);
    expectProblem(r, 400, type);
    expect(JSON.stringify(r.body)).toMatch(/kid|key|rand|createdAt|extra/);
    if (typeof body['key'] === 'string') expect(JSON.stringify(r.body)).not.toContain(body['key']);
  });

  it.each([
    ['a short IMSI', '/v1/subscribers/0010/int-keys'],
    ['letters in the IMSI', '/v1/subscribers/00101abc/int-keys'],
    ['a 16-digit IMSI', '/v1/subscribers/0010100000000001/int-keys'],
  ])('%s in the path → 400', async (_what, path) => {
    expectProblem(await call('hss', 'POST', path, good()), 400, 'invalid-field');
  });

  it.each([
    ['a bad kid', fetchPath('1A2B3C4D'), 'invalid-field'],
    ['no kid', `/v1/e2m-keys?identity=${IDENTITY}`, 'invalid-field'],
    ['no identity', '/v1/e2m-keys?kid=1a2b3c4d', 'invalid-field'],
    ['a control character in the identity', fetchPath('1a2b3c4d', 'a\u0001b'), 'invalid-field'],
    ['an identity over 114 octets', fetchPath('1a2b3c4d', 'x'.repeat(115)), 'invalid-field'],
    ['an unknown parameter', fetchPath('1a2b3c4d', IDENTITY, '&debug=1'), 'unknown-parameter'],
    ['kid twice', fetchPath('1a2b3c4d', IDENTITY, '&kid=1a2b3c4d'), 'invalid-field'],
  ])('fetch with %s → 400', async (_what, path, type) => {
    expectProblem(await call('emseA', 'GET', path), 400, type);
  });

  it('identity paths: malformed escapes, spaces and over-long identities → 400', async () => {
    expectProblem(await call('hss', 'PUT', '/v1/identities/bad%E0%A4%A', { imsi: IMSI }), 400, 'invalid-field');
    expectProblem(await call('hss', 'PUT', '/v1/identities/a%20b', { imsi: IMSI }), 400, 'invalid-field');
    expectProblem(await call('hss', 'PUT', `/v1/identities/${'x'.repeat(115)}`, { imsi: IMSI }), 400, 'invalid-field');
    expectProblem(await call('hss', 'PUT', '/v1/identities/ok@x', { imsi: 17 }), 400, 'invalid-field');
    expectProblem(await call('emseA', 'POST', '/v1/emse/register', { emseId: 'emse-b' }), 400, 'unknown-field');
  });

  it('a body over 16 KiB → 413, declared or streamed', async () => {
    const big = Buffer.alloc(17 * 1024, 0x20);
    expectProblem(await raw('hss', 'POST', pushPath, { headers: json, body: big }), 413, 'body-too-large');
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(1024, 0x20));
    expectProblem(await raw('hss', 'POST', pushPath, { headers: json, chunks }), 413, 'body-too-large');
    expectProblem(await raw('hss', 'POST', pushPath, { headers: json, body: Buffer.alloc(1 << 20, 0x20) }), 413);
    // The server goes on serving.
    expect((await call('hss', 'GET', '/healthz')).status).toBe(200);
  });

  it('a body that is not application/json → 415', async () => {
    const body = JSON.stringify(good());
    expectProblem(await raw('hss', 'POST', pushPath, { headers: { 'content-type': 'text/plain' }, body }), 415, 'unsupported-media-type');
    expectProblem(await raw('hss', 'POST', pushPath, { body }), 415);
    expectProblem(await raw('hss', 'POST', pushPath, { headers: { 'content-type': 'application/json; charset=latin1' }, body }), 415);
    const ok = await raw('hss', 'POST', pushPath, { headers: { 'content-type': 'application/json; charset=utf-8' }, body });
    expect(ok.status).toBe(201);
  });

  it('a wrong method → 405 with Allow; an unknown path → 404; a body on GET → 400', async () => {
    const r = await raw('emseA', 'DELETE', fetchPath('1a2b3c4d'));
    expectProblem(r, 405, 'method-not-allowed');
    expect(r.headers['allow']).toBe('GET');
    expectProblem(await raw('hss', 'GET', pushPath), 405);
    expectProblem(await call('hss', 'GET', '/v1/nothing-here'), 404, 'not-found');
    expectProblem(await call('hss', 'GET', '/healthz/'), 404);
    expectProblem(await raw('emseA', 'GET', fetchPath('1a2b3c4d'), { headers: json, body: '{}' }), 400, 'invalid-body');
  });
});

/** One HTTP/2 request with full control: `end: false` leaves the request body open. */
function h2Request(
  tls: { ca: string; cert?: string; key?: string },
  url: string,
  headers: Record<string, string>,
  o: { body?: string; end?: boolean } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: unknown; rstCode: number | undefined }> {
  return new Promise((resolve, reject) => {
    const session = connect(url, tls);
    session.on('error', reject);
    const stream = session.request(headers, { endStream: o.body === undefined && o.end !== false });
    let answer: IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    stream.on('response', (h) => (answer = h));
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      const text = Buffer.concat(parts).toString();
      session.close();
      resolve({ status: Number(answer[':status'] ?? 0), headers: answer, body: text ? (JSON.parse(text) as unknown) : undefined, rstCode: stream.rstCode });
    });
    if (o.body !== undefined) {
      if (o.end === false) stream.write(o.body);
      else stream.end(o.body);
    }
  });
}

describe('over HTTP/2 (what the EMSEs speak)', () => {
  const h2: Record<'hss' | 'emseA', MtlsJsonClient> = {} as never;
  beforeAll(() => {
    h2.hss = createMtlsJsonClient({ ...loadTlsMaterial(pkiDir, 'hss'), origin: base });
    h2.emseA = createMtlsJsonClient({ ...loadTlsMaterial(pkiDir, { emse: 'emse-a' }), origin: base });
  });
  afterAll(() => {
    for (const c of Object.values(h2)) c.close();
  });

  it('the same API: the HSS pushes, the EMSE fetches its own key; streams of one connection', async () => {
    const key = randomBytes(32);
    secrets.push(key);
    const kid = (kidCounter++).toString(16);
    const createdAt = new Date().toISOString();
    const body = { kid, key: toHex(key), rand: toHex(randomBytes(16)), createdAt };
    expect(await h2.hss.request({ method: 'PUT', path: `v1/identities/${encodeURIComponent(IDENTITY)}`, body: { imsi: IMSI } })).toMatchObject({ status: 200 });
    expect(await h2.hss.request({ method: 'POST', path: `v1/subscribers/${IMSI}/int-keys`, body })).toEqual({ status: 201, body: { imsi: IMSI, kid } });
    const fetches = await Promise.all([1, 2, 3].map(() => h2.emseA.request({ method: 'GET', path: fetchPath(kid).slice(1) })));
    const expected = deriveE2mKey(key, 'emse-a');
    secrets.push(expected);
    for (const r of fetches) expect(r).toEqual({ status: 201, body: { e2mKey: toHex(expected), kid, emseId: 'emse-a', expiresAt: new Date(Date.parse(createdAt) + 86_400_000).toISOString() } });
    expect(h2.emseA.protocol).toBe('h2');
    expect(h2.emseA.stats.connections).toBe(1);
    expectProblem(await h2.emseA.request({ method: 'GET', path: fetchPath('ffffffff').slice(1) }), 404, 'unknown-kid');
    expectProblem(await h2.hss.request({ method: 'GET', path: fetchPath(kid).slice(1) }), 403, 'forbidden');
    expect(await h2.emseA.request({ method: 'POST', path: 'v1/emse/register' })).toEqual({ status: 201, body: { emseId: 'emse-a', retain: 3, keyTtl: 86400 } });
  });

  it('the same checks: a body on GET without Content-Length → 400, over 16 KiB → 413 (no connection header), 405 with Allow', async () => {
    const tls = loadTlsMaterial(pkiDir, 'hss');
    const onGet = await h2Request(loadTlsMaterial(pkiDir, { emse: 'emse-a' }), base, { ':method': 'GET', ':path': fetchPath('1a2b3c4d') }, { body: '{}' });
    expectProblem(onGet, 400, 'invalid-body');
    const big = await h2Request(tls, base, { ':method': 'POST', ':path': `/v1/subscribers/${IMSI}/int-keys`, 'content-type': 'application/json' }, { body: ' '.repeat(17 * 1024) });
    expectProblem(big, 413, 'body-too-large');
    expect(big.headers['connection']).toBeUndefined();
    const wrong = await h2Request(tls, base, { ':method': 'DELETE', ':path': '/healthz' });
    expectProblem(wrong, 405, 'method-not-allowed');
    expect(wrong.headers['allow']).toBe('GET');
    expect(await h2.hss.request({ method: 'GET', path: 'healthz' })).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('a client without a certificate is refused by TLS (ALPN h2 too), before any HTTP', async () => {
    const before = logLines.length;
    const { ca } = loadTlsMaterial(pkiDir, 'hss');
    // TLS 1.3: the client may finish its side of the handshake before the server refuses it.
    const status = await h2Request({ ca }, base, { ':method': 'GET', ':path': '/v1/without-certificate' }).then((r) => r.status, () => 0);
    expect(status).toBe(0);
    expect(logLines.slice(before).find((l) => l.includes('TLS handshake refused'))).toMatch(/"reason":"[A-Z_]*CERTIFICATE/);
    expect(logLines.some((l) => l.includes('/v1/without-certificate'))).toBe(false);
  });

  it('a request body that does not arrive within the bound: the stream is cancelled, the server goes on', async () => {
    const s2 = await createEmksServer({ host: '127.0.0.1', port: 0, pki: pkiDir, store, kek, requestTimeoutMs: 300 });
    try {
      const url = `https://127.0.0.1:${s2.address.port}`;
      const t0 = performance.now();
      const stalled = await h2Request(loadTlsMaterial(pkiDir, 'hss'), url, { ':method': 'PUT', ':path': '/v1/identities/slow%40x', 'content-type': 'application/json' }, { body: '{"ims', end: false });
      expect(stalled.status).toBe(0);
      expect(stalled.rstCode).toBe(constants.NGHTTP2_CANCEL);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect((await requestJson({ method: 'GET', url: `${url}/healthz`, agent: agents.hss })).status).toBe(200);
    } finally {
      await s2.close();
    }
  });

  it('streams reset by the client, before or while their body arrives, leave the server serving', async () => {
    const session = connect(base, loadTlsMaterial(pkiDir, 'hss'));
    try {
      const closed: Promise<void>[] = [];
      for (const code of [constants.NGHTTP2_CANCEL, constants.NGHTTP2_INTERNAL_ERROR, constants.NGHTTP2_PROTOCOL_ERROR]) {
        for (const [method, path] of [['PUT', '/v1/identities/reset%40x'], ['GET', '/metrics'], ['GET', fetchPath('1a2b3c4d')]] as const) {
          const stream = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' }, { endStream: method === 'GET' });
          stream.on('error', () => undefined);
          if (method === 'PUT') stream.write('{"im');
          closed.push(new Promise((resolve) => stream.on('close', resolve)));
          setImmediate(() => stream.close(code));
        }
      }
      await within(Promise.all(closed), 5_000, 'reset streams closed');
      expect(await h2.hss.request({ method: 'GET', path: 'healthz' })).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      session.close();
    }
  });

  it('counts HTTP/2 requests in /metrics like the others, each once', async () => {
    // Requests to /healthz, whatever their status.
    const count = async (): Promise<number> => {
      const text = (await raw('hss', 'GET', '/metrics')).text;
      return [...text.matchAll(/emks_http_requests_total\{route="\/healthz",method="GET",status="\d+"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await count();
    expect((await h2.hss.request({ method: 'GET', path: 'healthz' })).status).toBe(200);
    // Each stream is served by one handler only (not also by node:http2's compatibility layer).
    expect((await count()) - before).toBe(1);
    const r = await h2.hss.request({ method: 'GET', path: 'metrics', maxBodyBytes: 1 << 20 });
    expect(r.status).toBe(200);
    // HTTP/2 carries any token as the method: an unknown one is counted as `other`, not by its name.
    expectProblem(await h2Request(loadTlsMaterial(pkiDir, 'hss'), base, { ':method': 'BREW-COFFEE', ':path': '/healthz' }), 405);
    const text = await raw('hss', 'GET', '/metrics');
    expect(text.text).toMatch(/emks_http_requests_total\{route="\/healthz",method="other",status="405"\} 1/);
    expect(text.text).not.toContain('BREW');
    expect(text.text).toMatch(/emks_http_requests_total\{route="\/v1\/e2m-keys",method="GET",status="404"\} [1-9]/);
    expect(text.text).toMatch(/emks_http_requests_total\{route="\/healthz",method="DELETE",status="405"\} [1-9]/);
  });
});

describe('operations', () => {
  it('/healthz answers 200 to any authenticated caller', async () => {
    expect(await call('emseB', 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await call('hss', 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('/metrics counts requests by route and status, times key fetches, and gauges stored keys', async () => {
    const r = await raw('hss', 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/emks_http_requests_total\{route="\/v1\/subscribers\/:imsi\/int-keys",method="POST",status="201"\} \d+/);
    expect(r.text).toMatch(/emks_http_requests_total\{route="\/v1\/e2m-keys",method="GET",status="403"\} [1-9]/);
    expect(r.text).toMatch(/emks_key_fetch_duration_seconds_count\{outcome="served"\} [1-9]/);
    expect(r.text).toMatch(/emks_key_fetch_duration_seconds_count\{outcome="unknown_identity"\} [1-9]/);
    expect(r.text).toMatch(/emks_tls_handshakes_refused_total [1-9]/);
    const stored = /emks_stored_int_keys (\d+)/.exec(r.text);
    expect(Number(stored?.[1])).toBe(await store.countIntKeys());
    expect(Number(stored?.[1])).toBeGreaterThan(0);
  });

  it('logs each request with its route, status and the caller from the certificate', () => {
    const requests = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');
    expect(requests.length).toBeGreaterThan(20);
    const fetches = requests.filter((l) => l['route'] === '/v1/e2m-keys' && l['status'] === 201);
    expect(fetches.some((l) => JSON.stringify(l['caller']) === '{"role":"emse","name":"emse-b"}')).toBe(true);
    expect(requests.some((l) => l['route'] === '/v1/subscribers/:imsi/int-keys' && JSON.stringify(l['caller']) === '{"role":"hss","name":"hss-sim"}')).toBe(true);
    for (const l of requests) expect(String(l['path'])).not.toContain('?');
  });

  it('no log line carries key material (KEK, e2m_int_key, e2m_key), as hex or base64', () => {
    expect(secrets.length).toBeGreaterThan(10);
    const all = logLines.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const s of secrets) {
      const hex = toHex(s);
      expect(all).not.toContain(hex);
      expect(all.toLowerCase()).not.toContain(hex.slice(0, 16));
      expect(all).not.toContain(Buffer.from(s).toString('base64').slice(0, 16));
    }
  });
});

describe('faults', () => {
  it('a handler that throws answers 500 problem+json and the server keeps serving', async () => {
    const failing = openSqliteStore(':memory:');
    const broken = new Proxy(failing, {
      get(target, name) {
        if (name === 'intKeyForIdentity') {
          return async () => {
            throw new Error('disk on fire');
          };
        }
        const v: unknown = Reflect.get(target, name, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as EmksStore;
    const lines: string[] = [];
    const logger = createLogger({ name: 'emks', level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const s2 = await createEmksServer({ host: '127.0.0.1', port: 0, pki: pkiDir, store: broken, kek, logger });
    try {
      const url = `https://127.0.0.1:${s2.address.port}`;
      const r = await requestJson({ method: 'GET', url: `${url}${fetchPath('1a2b3c4d')}`, agent: agents.emseA });
      expectProblem(r, 500, 'internal-error');
      expect(JSON.stringify(r.body)).not.toContain('disk on fire');
      expect(lines.some((l) => l.includes('request failed') && l.includes('disk on fire'))).toBe(true);
      expect((await requestJson({ method: 'GET', url: `${url}/healthz`, agent: agents.emseA })).status).toBe(200);
      expect((await requestJson({ method: 'POST', url: `${url}/v1/emse/register`, agent: agents.emseA })).status).toBe(201);
    } finally {
      await s2.close();
      await failing.close();
    }
  });

  it('refuses bad options: a KEK that is not 32 octets, retain 0', async () => {
    await expect(createEmksServer({ host: '127.0.0.1', port: 0, pki: pkiDir, store, kek: randomBytes(16) })).rejects.toThrow(/32 octets/);
    await expect(createEmksServer({ host: '127.0.0.1', port: 0, pki: pkiDir, store, kek, retain: 0 })).rejects.toThrow(/retain/);
  });
});
