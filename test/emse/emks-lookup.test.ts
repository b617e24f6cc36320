/**
 * The EMSE's EMKS lookup (DESIGN.md §1 steps 5-7, §5) against a stub EMKS: a real node:https server
 * that demands a client certificate from a dev PKI, answers per the contract and counts requests.
 * Then the whole DTLS path: createEmseServer fetching e2m_key from the stub during the handshake.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, generate } from 'coap-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDevPki, loadTlsMaterial, type TlsMaterial } from '../../src/crypto/pki.js';
import { DtlsClient, type DtlsClientSession, HandshakeError } from '../../src/dtls/index.js';
import { createEmksServer, type EmksServer } from '../../src/emks/server.js';
import { sealIntKey } from '../../src/emks/sealing.js';
import { openSqliteStore } from '../../src/emks/sqlite-store.js';
import { createEmksPskLookup, createEmseServer, type EmksPskLookup, type EmseServer } from '../../src/emse/index.js';
import { bestPskIdentity, deriveE2mKey } from '../../src/kdf/index.js';
import { randomBytes } from '../../src/crypto/primitives.js';
import { ManualClock } from '../../src/util/clock.js';
import { SecretBytes } from '../../src/util/secret.js';
import { within } from '../support/processes.js';
import { StubEmks } from '../support/stub-emks.js';

const EMSE_ID = 'emse-1';
const APP = 'sensor+17@iot.example.com';
const OTHER_APP = 'meter-4@iot.example.com';
const KID = '1a2b3c4d';
const KID2 = '0badcafe';
const KID3 = '5eed5eed';
const INT_KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const INT_KEY2 = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
const INT_KEY3 = Uint8Array.from({ length: 32 }, (_, i) => (i * 13) & 0xff);

const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
let emksTls: TlsMaterial;
let emseTls: TlsMaterial;
let hssTls: TlsMaterial;
let stub: StubEmks;
const lookups: EmksPskLookup[] = [];

beforeAll(async () => {
  await createDevPki({ dir, emseIds: [EMSE_ID] });
  emksTls = loadTlsMaterial(dir, 'emks');
  emseTls = loadTlsMaterial(dir, { emse: EMSE_ID });
  hssTls = loadTlsMaterial(dir, 'hss');
  stub = await StubEmks.start(emksTls);
  stub.addKey(APP, KID, INT_KEY);
  stub.addKey(OTHER_APP, KID2, INT_KEY2);
  stub.addKey(APP, KID3, INT_KEY3);
});

afterEach(() => {
  stub.answer = undefined;
  stub.release();
  stub.seen.length = 0;
  for (const l of lookups.splice(0)) l.close();
});

afterAll(async () => {
  await stub.close();
});

function lookupFor(extra: Partial<Parameters<typeof createEmksPskLookup>[0]> = {}): EmksPskLookup {
  const l = createEmksPskLookup({ emksUrl: stub.url, tls: emseTls, emseId: EMSE_ID, ...extra });
  lookups.push(l);
  return l;
}

const id = (kid: string, app: string): Uint8Array => bestPskIdentity(kid, app);
const hex = (k: Uint8Array | SecretBytes | undefined): string | undefined =>
  k === undefined ? undefined : Buffer.from(k instanceof SecretBytes ? k.expose() : k).toString('hex');
const expected = (intKey: Uint8Array): string => Buffer.from(deriveE2mKey(intKey, EMSE_ID)).toString('hex');

describe('createEmksPskLookup against a stub EMKS', () => {
  it('201 → the e2m_key derived for this EMSE, as a SecretBytes; the stub sees urn:e2m:emse:<id>', async () => {
    const lookup = lookupFor();
    const key = await lookup(id(KID, APP));
    // The stub is a node:https server without h2: the lookup falls back to HTTP/1.1.
    expect(lookup.protocol).toBe('http/1.1');
    expect(key).toBeInstanceOf(SecretBytes);
    expect(hex(key)).toBe(expected(INT_KEY));
    expect(stub.seen).toHaveLength(1);
    const [req] = stub.seen;
    expect(req?.method).toBe('GET');
    expect(req?.clientUris).toEqual([`urn:e2m:emse:${EMSE_ID}`]);
    // '+' and '@' survive the query string.
    expect(req?.query.get('identity')).toBe(APP);
    expect(req?.query.get('kid')).toBe(KID);
  });

  it('404 → undefined (unknown_psk_identity)', async () => {
    const lookup = lookupFor();
    expect(await lookup(id('ffffffff', APP))).toBeUndefined();
    expect(await lookup(id(KID, 'nobody@iot.example.com'))).toBeUndefined();
    expect(stub.keyRequests).toBe(2);
  });

  it.each([
    ['no e2m: prefix', Buffer.from('sensor-17@iot.example.com')],
    ['an upper-case kid', Buffer.from('e2m:1A2B3C4D:sensor-17@iot.example.com')],
    ['a short kid', Buffer.from('e2m:1a2b3c:sensor-17@iot.example.com')],
    ['an empty application identity', Buffer.from('e2m:1a2b3c4d:')],
    ['invalid UTF-8', Buffer.concat([Buffer.from('e2m:1a2b3c4d:'), Buffer.of(0xc3, 0x28)])],
    ['a control character', Buffer.from('e2m:1a2b3c4d:a\nb')],
    ['more than 128 octets', Buffer.from(`e2m:1a2b3c4d:${'x'.repeat(120)}`)],
  ])('a psk_identity with %s → undefined without asking the EMKS', async (_what, bytes) => {
    const lookup = lookupFor();
    expect(await lookup(new Uint8Array(bytes))).toBeUndefined();
    expect(stub.seen).toHaveLength(0);
    expect(lookup.stats.malformed).toBe(1);
  });

  it('answers a second lookup of the same key from the cache (one request)', async () => {
    const lookup = lookupFor();
    const a = await lookup(id(KID, APP));
    const b = await lookup(id(KID, APP));
    expect(hex(b)).toBe(hex(a));
    expect(stub.keyRequests).toBe(1);
    expect(lookup.stats.cacheHits).toBe(1);
    // Another kid of the same identity is another key.
    expect(hex(await lookup(id(KID3, APP)))).toBe(expected(INT_KEY3));
    expect(stub.keyRequests).toBe(2);
  });

  it('hands out copies: wiping a returned key does not spoil the cache', async () => {
    const lookup = lookupFor();
    const a = await lookup(id(KID, APP));
    expect(a).toBeInstanceOf(SecretBytes);
    (a as SecretBytes).wipe();
    expect(hex(await lookup(id(KID, APP)))).toBe(expected(INT_KEY));
  });

  it('keeps a key no longer than its expiresAt, nor than cacheTtlMs', async () => {
    const clock = new ManualClock();
    stub.expiresInMs = 60_000;
    try {
      const lookup = lookupFor({ clock, cacheTtlMs: 300_000 });
      await lookup(id(KID, APP));
      clock.advance(50_000);
      await lookup(id(KID, APP));
      expect(stub.keyRequests).toBe(1);
      clock.advance(11_000);
      await lookup(id(KID, APP));
      expect(stub.keyRequests).toBe(2);
    } finally {
      stub.expiresInMs = 3_600_000;
    }
    const short = lookupFor({ clock, cacheTtlMs: 1_000 });
    await short(id(KID2, OTHER_APP));
    clock.advance(999);
    await short(id(KID2, OTHER_APP));
    expect(stub.keyRequests).toBe(3);
    clock.advance(2);
    await short(id(KID2, OTHER_APP));
    expect(stub.keyRequests).toBe(4);
  });

  it('remembers a 404 only for negativeTtlMs', async () => {
    const clock = new ManualClock();
    const lookup = lookupFor({ clock, negativeTtlMs: 2_000 });
    const unknown = id('00000001', APP);
    expect(await lookup(unknown)).toBeUndefined();
    clock.advance(1_999);
    expect(await lookup(unknown)).toBeUndefined();
    expect(stub.keyRequests).toBe(1);
    clock.advance(2);
    // The HSS pushed the key meanwhile: the next handshake finds it.
    stub.addKey(APP, '00000001', INT_KEY);
    expect(hex(await lookup(unknown))).toBe(expected(INT_KEY));
    expect(stub.keyRequests).toBe(2);
  });

  it('never caches errors: a 500 rejects, and the next lookup asks again', async () => {
    const lookup = lookupFor();
    stub.answer = () => ({ status: 500, body: { type: 'about:blank', title: 'db down', status: 500 } });
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_EMKS_STATUS', status: 500 });
    stub.answer = undefined;
    expect(hex(await lookup(id(KID, APP)))).toBe(expected(INT_KEY));
    expect(stub.keyRequests).toBe(2);
    expect(lookup.stats.errors).toBe(1);
  });

  it('403 (a certificate that is not an EMSE\'s) rejects', async () => {
    const lookup = lookupFor({ tls: hssTls });
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_EMKS_FORBIDDEN', status: 403 });
    expect(stub.seen[0]?.clientUris).toEqual(['urn:e2m:hss:hss-sim']);
  });

  it.each([
    ['an e2mKey that is not 64 hex digits', { e2mKey: 'zz'.repeat(32), kid: KID, emseId: EMSE_ID, expiresAt: '2099-01-01T00:00:00Z' }],
    ['another kid', { e2mKey: 'ab'.repeat(32), kid: KID2, emseId: EMSE_ID, expiresAt: '2099-01-01T00:00:00Z' }],
    ['another EMSE_Id', { e2mKey: 'ab'.repeat(32), kid: KID, emseId: 'emse-2', expiresAt: '2099-01-01T00:00:00Z' }],
    ['no expiresAt', { e2mKey: 'ab'.repeat(32), kid: KID, emseId: EMSE_ID }],
    ['no JSON body', undefined],
  ])('a 201 with %s rejects and is not cached', async (_what, body) => {
    const lookup = lookupFor();
    stub.answer = () => ({ status: 201, body });
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_EMKS_ANSWER' });
    expect(lookup.cacheEntries).toBe(0);
  });

  it('an answer other than 201/403/404 rejects (200 is not the contract)', async () => {
    const lookup = lookupFor();
    stub.answer = () => ({ status: 200, body: { e2mKey: 'ab'.repeat(32), kid: KID, emseId: EMSE_ID, expiresAt: '2099-01-01T00:00:00Z' } });
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_EMKS_STATUS', status: 200 });
  });

  it('concurrent lookups of one key share one request', async () => {
    const lookup = lookupFor();
    stub.answer = () => 'hold';
    const all = Promise.all([lookup(id(KID, APP)), lookup(id(KID, APP)), lookup(id(KID, APP))]);
    await stub.requestsSeen(1);
    stub.release();
    const keys = await all;
    expect(keys.map(hex)).toEqual([expected(INT_KEY), expected(INT_KEY), expected(INT_KEY)]);
    expect(stub.keyRequests).toBe(1);
    expect(lookup.stats.shared).toBe(2);
  });

  it('an EMKS that does not answer makes the lookup reject within its timeout', async () => {
    const lookup = lookupFor({ timeoutMs: 300 });
    stub.answer = () => 'hang';
    const t0 = performance.now();
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_HTTP_TIMEOUT' });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_500);
    // Not cached: once the EMKS answers again, so does the lookup.
    stub.answer = undefined;
    expect(hex(await lookup(id(KID, APP)))).toBe(expected(INT_KEY));
  });

  it('an EMKS that is not there makes the lookup reject with a transport error', async () => {
    const lookup = createEmksPskLookup({ emksUrl: 'https://127.0.0.1:1', tls: emseTls, timeoutMs: 2_000 });
    lookups.push(lookup);
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
  });

  it('register() answers the EMSE_Id the EMKS read from the certificate', async () => {
    const plain = createEmksPskLookup({ emksUrl: stub.url, tls: emseTls });
    lookups.push(plain);
    expect(plain.emseId).toBeUndefined();
    await expect(plain.register()).resolves.toEqual({ emseId: EMSE_ID, retain: 3, keyTtl: 300 });
    expect(plain.emseId).toBe(EMSE_ID);
    expect(stub.seen).toHaveLength(1);
    expect(stub.seen[0]).toMatchObject({ method: 'POST', path: '/v1/emse/register', clientUris: [`urn:e2m:emse:${EMSE_ID}`] });
  });

  it('register() refuses an EMKS that knows the certificate under another EMSE_Id, and a 403', async () => {
    const wrong = lookupFor({ emseId: 'emse-9' });
    await expect(wrong.register()).rejects.toMatchObject({ code: 'E_EMKS_IDENTITY' });
    const hss = createEmksPskLookup({ emksUrl: stub.url, tls: hssTls });
    lookups.push(hss);
    await expect(hss.register()).rejects.toMatchObject({ code: 'E_EMKS_FORBIDDEN' });
  });

  it('rejects a URL that is not https, and lookups after close()', async () => {
    expect(() => createEmksPskLookup({ emksUrl: 'http://127.0.0.1:8443', tls: emseTls })).toThrow(/https/);
    const lookup = lookupFor();
    lookup.close();
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_EMKS_CLOSED' });
    expect(stub.seen).toHaveLength(0);
  });
});

describe('createEmksPskLookup against the EMKS over HTTP/2', () => {
  const kek = randomBytes(32);
  const store = openSqliteStore(':memory:');
  const servers: EmksServer[] = [];
  const start = async (port = 0): Promise<EmksServer> => {
    const s = await createEmksServer({ host: '127.0.0.1', port, pki: emksTls, store, kek });
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    const imsi = '001010000000017';
    await store.mapIdentity(APP, imsi, Date.now());
    for (const [kid, key] of [[KID, INT_KEY], [KID3, INT_KEY3], ['00000001', INT_KEY2], ['00000002', INT_KEY2]] as const) {
      await store.putIntKey({ imsi, kid, sealedKey: sealIntKey(kek, imsi, kid, key), rand: randomBytes(16), createdAtMs: Date.now() }, 10);
    }
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await store.close();
  });

  it('registers and fetches over one HTTP/2 connection, concurrent lookups of different keys included', async () => {
    const emks = await start();
    const lookup = createEmksPskLookup({ emksUrl: `https://127.0.0.1:${emks.address.port}`, tls: emseTls, emseId: EMSE_ID });
    lookups.push(lookup);
    await expect(lookup.register()).resolves.toMatchObject({ emseId: EMSE_ID });
    const keys = await Promise.all([lookup(id(KID, APP)), lookup(id(KID3, APP)), lookup(id('ffffffff', APP))]);
    expect(keys.map(hex)).toEqual([expected(INT_KEY), expected(INT_KEY3), undefined]);
    expect(lookup.protocol).toBe('h2');
    expect(lookup.connections).toBe(1);
    expect(lookup.stats.requests).toBe(4);
  });

  it('an EMKS restarted on the same port: the next fetch reconnects; while it is down, fetches fail fast', async () => {
    const first = await start();
    const url = `https://127.0.0.1:${first.address.port}`;
    const lookup = createEmksPskLookup({ emksUrl: url, tls: emseTls, emseId: EMSE_ID, timeoutMs: 2_000 });
    lookups.push(lookup);
    expect(hex(await lookup(id(KID, APP)))).toBe(expected(INT_KEY));
    await first.close();
    await expect(lookup(id('00000001', APP))).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
    await start(first.address.port);
    expect(hex(await lookup(id('00000002', APP)))).toBe(expected(INT_KEY2));
    expect(lookup.connections).toBe(3);
    expect(lookup.stats.errors).toBe(1);
  });
});

/** GET /hello over a DTLS session with one CoAP frame (coap-packet). */
async function getHello(session: DtlsClientSession): Promise<string> {
  const token = Buffer.of(0x68, 0x65, 0x6c, 0x6f);
  const reply = new Promise<string>((resolve) =>
    session.on('data', (d) => {
      const p = parse(Buffer.from(d));
      if (p.token.equals(token)) resolve(`${p.code} ${p.payload.toString()}`);
    }),
  );
  session.send(generate({ code: 'GET', messageId: 7, token, confirmable: true, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] }));
  return within(reply, 5_000, 'GET /hello');
}

const e2mKey = (intKey: Uint8Array): Uint8Array => deriveE2mKey(intKey, EMSE_ID);

async function handshakeAlert(p: Promise<DtlsClientSession>): Promise<number | undefined> {
  try {
    const s = await p;
    s.close();
    return undefined;
  } catch (err) {
    if (err instanceof HandshakeError) return err.alert;
    throw err;
  }
}

describe('createEmseServer with the EMKS lookup: the DTLS handshake fetches e2m_key (steps 5-7)', () => {
  let emse: EmseServer;
  let lookup: EmksPskLookup;
  const sessions: DtlsClientSession[] = [];

  beforeAll(async () => {
    lookup = createEmksPskLookup({ emksUrl: stub.url, tls: emseTls, emseId: EMSE_ID, timeoutMs: 500 });
    emse = await createEmseServer({ host: '127.0.0.1', port: 0, pskLookup: lookup });
  });

  afterEach(() => {
    for (const s of sessions.splice(0)) if (!s.closed) s.close();
  });

  afterAll(async () => {
    await emse.close();
  });

  const connect = (kid: string, app: string, key: Uint8Array): Promise<DtlsClientSession> =>
    DtlsClient.connect({ host: '127.0.0.1', port: emse.address.port, identity: id(kid, app), psk: key }).then((s) => {
      sessions.push(s);
      return s;
    });

  it('completes with the matching key and greets the identity over CoAP', async () => {
    const session = await connect(KID, APP, e2mKey(INT_KEY));
    expect(session.cipherSuite).toBe('TLS_PSK_WITH_AES_128_CCM_8');
    expect(await getHello(session)).toBe(`2.05 Hello, e2m:${KID}:${APP}!`);
    expect(stub.seen.find((s) => s.path === '/v1/e2m-keys')?.query.get('kid')).toBe(KID);
  });

  it('an unknown kid ends the handshake with unknown_psk_identity (115)', async () => {
    expect(await handshakeAlert(connect('deadbeef', APP, e2mKey(INT_KEY)))).toBe(115);
  });

  it('a malformed psk_identity gets 115 and never reaches the EMKS', async () => {
    const p = DtlsClient.connect({ host: '127.0.0.1', port: emse.address.port, identity: 'sensor-17@iot.example.com', psk: e2mKey(INT_KEY) });
    expect(await handshakeAlert(p)).toBe(115);
    expect(stub.seen).toHaveLength(0);
  });

  it('a key derived for another EMSE_Id fails the Finished check (decrypt_error 51)', async () => {
    expect(await handshakeAlert(connect(KID, APP, deriveE2mKey(INT_KEY, 'emse-2')))).toBe(51);
  });

  it('a slow EMKS fails only the handshakes that need it (80 within the bound); cached keys keep working', async () => {
    // Cache APP's key first.
    (await connect(KID, APP, e2mKey(INT_KEY))).close();
    stub.answer = (s) => (s.path === '/v1/e2m-keys' ? 'hang' : undefined);
    const t0 = performance.now();
    const failing = handshakeAlert(connect(KID2, OTHER_APP, e2mKey(INT_KEY2))).then((alert) => ({ alert, ms: performance.now() - t0 }));
    let failedFirst = false;
    void failing.then(() => (failedFirst = true));
    const other = await connect(KID, APP, e2mKey(INT_KEY));
    expect(failedFirst).toBe(false);
    expect(await getHello(other)).toBe(`2.05 Hello, e2m:${KID}:${APP}!`);
    const { alert, ms } = await failing;
    expect(alert).toBe(80);
    // lookup timeout 500 ms (+ the DTLS margin of 1 s as a backstop)
    expect(ms).toBeLessThan(1_800);
    // It recovers by itself once the EMKS answers again.
    stub.answer = undefined;
    const back = await connect(KID2, OTHER_APP, e2mKey(INT_KEY2));
    expect(await getHello(back)).toBe(`2.05 Hello, e2m:${KID2}:${OTHER_APP}!`);
  });
});

describe('createEmseServer when the EMKS is down', () => {
  it('answers internal_error (80) at once while a client with a cached key still completes', async () => {
    const own = await StubEmks.start(emksTls);
    own.addKey(APP, KID, INT_KEY);
    own.addKey(OTHER_APP, KID2, INT_KEY2);
    const lookup = createEmksPskLookup({ emksUrl: own.url, tls: emseTls, emseId: EMSE_ID, timeoutMs: 1_000 });
    const emse = await createEmseServer({ host: '127.0.0.1', port: 0, pskLookup: lookup });
    try {
      const connect = (kid: string, app: string, intKey: Uint8Array): Promise<DtlsClientSession> =>
        DtlsClient.connect({ host: '127.0.0.1', port: emse.address.port, identity: id(kid, app), psk: e2mKey(intKey) });
      (await connect(KID, APP, INT_KEY)).close();
      await own.close();
      const t0 = performance.now();
      const [down, cached] = await Promise.all([handshakeAlert(connect(KID2, OTHER_APP, INT_KEY2)), connect(KID, APP, INT_KEY)]);
      expect(down).toBe(80);
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(await getHello(cached)).toBe(`2.05 Hello, e2m:${KID}:${APP}!`);
      cached.close();
      expect(emse.dtls.stats.handshakesFailed).toBeGreaterThanOrEqual(1);
    } finally {
      await emse.close();
    }
    // close() closed the lookup's agent too.
    await expect(lookup(id(KID, APP))).rejects.toMatchObject({ code: 'E_EMKS_CLOSED' });
  });
});
