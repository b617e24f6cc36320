/**
 * The HSS's HTTPS client of the EMKS against a real node:https server that requires client
 * certificates from a dev PKI: paths, bodies, the HSS certificate URI, status mapping to error codes,
 * and transport failures (refused, timeout), including an hss-sim whose EMKS is down.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateUris, createDevPki, loadTlsMaterial } from '../../src/crypto/pki.js';
import { createHttpsEmksClient, EmksError, type HttpsEmksClient, parseEmksUrl } from '../../src/hss/emks-client.js';
import { createHssSim } from '../../src/hss/server.js';
import { parseSubscribers } from '../../src/hss/subscribers.js';
import { ConfigError } from '../../src/util/errors.js';
import { SecretBytes } from '../../src/util/secret.js';

interface Seen {
  method: string;
  path: string;
  body: unknown;
  uris: string[];
}

const KEY_HEX = '5a'.repeat(32);
const RAND_HEX = '00112233445566778899aabbccddeeff';

describe('createHttpsEmksClient', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
  const seen: Seen[] = [];
  /** Status (and body) the stub answers next, by path suffix. */
  let answer: (path: string) => { status: number; body?: unknown } | 'hang' = () => ({ status: 201 });
  let server: Server;
  let client: HttpsEmksClient;
  let url: string;

  beforeAll(async () => {
    await createDevPki({ dir, emseIds: ['emse-a'] });
    const emks = loadTlsMaterial(dir, 'emks');
    server = createServer({ ca: emks.ca, cert: emks.cert, key: emks.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const peer = (req.socket as TLSSocket).getPeerCertificate(true);
        seen.push({ method: req.method ?? '', path: req.url ?? '', body: text ? JSON.parse(text) : undefined, uris: certificateUris(new Uint8Array(peer.raw)) });
        const a = answer(req.url ?? '');
        if (a === 'hang') return;
        const out = a.body === undefined ? '' : JSON.stringify(a.body);
        res.writeHead(a.status, out ? { 'content-type': 'application/problem+json' } : {});
        res.end(out);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = createHttpsEmksClient({ url, tls: loadTlsMaterial(dir, 'hss'), timeoutMs: 300 });
  });
  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    server.close();
  });

  const push = (): Promise<void> =>
    client.pushIntKey('001010000000001', { kid: 'ccddeeff', key: new SecretBytes(Buffer.from(KEY_HEX, 'hex')), rand: Buffer.from(RAND_HEX, 'hex'), createdAt: new Date('2025-01-02T03:04:05.006Z') });

  it('pushes e2m_int_key as JSON with the HSS certificate', async () => {
    answer = () => ({ status: 201, body: { imsi: '001010000000001', kid: 'ccddeeff' } });
    await push();
    expect(seen.at(-1)).toEqual({
      method: 'POST',
      path: '/v1/subscribers/001010000000001/int-keys',
      body: { kid: 'ccddeeff', key: KEY_HEX, rand: RAND_HEX, createdAt: '2025-01-02T03:04:05.006Z' },
      uris: ['urn:e2m:hss:hss-sim'],
    });
  });

  it('reports auth results and maps identities (path-encoded)', async () => {
    answer = (p) => (p.includes('auth-results') ? { status: 204 } : p.includes('identities') ? { status: 200 } : { status: 500 });
    await client.reportAuthResult('001010000000001', 'ccddeeff', 'failure');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', path: '/v1/subscribers/001010000000001/auth-results', body: { kid: 'ccddeeff', result: 'failure' } });
    await expect(client.mapIdentity('sensor 17/ä@iot.example.com', '001010000000001')).resolves.toBe('updated');
    expect(seen.at(-1)).toMatchObject({ method: 'PUT', path: '/v1/identities/sensor%2017%2F%C3%A4%40iot.example.com', body: { imsi: '001010000000001' } });
    answer = () => ({ status: 201 });
    await expect(client.mapIdentity('a@b', '00101')).resolves.toBe('created');
  });

  it.each([
    [409, 'E_EMKS_CONFLICT'],
    [400, 'E_EMKS_REJECTED'],
    [404, 'E_EMKS_REJECTED'],
    [500, 'E_EMKS_STATUS'],
    [200, 'E_EMKS_STATUS'],
  ])('maps status %i of a push to %s without the key in the message', async (status, code) => {
    answer = () => ({ status, body: { type: 'about:blank', title: 'x', status, detail: 'the detail' } });
    const err = await push().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EmksError);
    expect((err as EmksError).code).toBe(code);
    expect((err as EmksError).status).toBe(status);
    expect((err as EmksError).message).toContain('the detail');
    expect((err as EmksError).message).not.toContain(KEY_HEX);
  });

  it('times out with E_HTTP_TIMEOUT', async () => {
    answer = () => 'hang';
    await expect(push()).rejects.toMatchObject({ code: 'E_HTTP_TIMEOUT' });
  });

  it('fails with E_HTTP_TRANSPORT when nothing listens, and hss-sim still answers the challenge', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const down = createHttpsEmksClient({ url: `https://127.0.0.1:${port}`, tls: loadTlsMaterial(dir, 'hss') });
    try {
      await expect(down.mapIdentity('a@b', '00101')).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
      const subscribers = parseSubscribers([{ imsi: '001010000000001', k: '00'.repeat(16), opc: '11'.repeat(16), sqn: '000000000001', identities: ['a@b'] }]);
      const hss = await createHssSim({ host: '127.0.0.1', port: 0, subscribers, emks: down, identitySync: { attempts: 1 } });
      try {
        const r = await fetch(`${hss.url}/v1/attach`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"imsi":"001010000000001"}' });
        expect(r.status).toBe(201);
        await expect(hss.identitiesMapped).resolves.toEqual({ mapped: 0, rejected: 0, unmapped: 1 });
      } finally {
        await hss.close();
      }
    } finally {
      down.close();
    }
  });
});

describe('parseEmksUrl', () => {
  it('keeps a base path and adds the trailing slash', () => {
    expect(parseEmksUrl('https://127.0.0.1:8443').toString()).toBe('https://127.0.0.1:8443/');
    expect(new URL('v1/x', parseEmksUrl('https://emks.example/base')).pathname).toBe('/base/v1/x');
  });

  it.each(['http://127.0.0.1:8443', 'not a url', 'https://h/?q=1', 'https://u:p@h/', 'https://h/#f'])('rejects %s naming --emks', (v) => {
    expect(() => parseEmksUrl(v)).toThrow(ConfigError);
    try {
      parseEmksUrl(v);
    } catch (e) {
      expect((e as ConfigError).option).toBe('--emks');
    }
  });
});
