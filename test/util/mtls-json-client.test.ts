/**
 * The mutual-TLS JSON client against real servers on 127.0.0.1 with a dev PKI: HTTP/2 when the
 * server offers h2 (one connection for many requests), HTTP/1.1 keep-alive when it does not, the
 * whole-request bound, lost and refused sessions, and the certificate checks on both sides.
 */
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { constants, createSecureServer, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { certificateUris, createDevPki, loadTlsMaterial, type TlsMaterial } from '../../src/crypto/pki.js';
import { createMtlsJsonClient, type MtlsJsonClient, type MtlsJsonClientOptions } from '../../src/util/mtls-json-client.js';
import { within } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'e2m-'));
let serverTls: TlsMaterial;
let clientTls: TlsMaterial;
let foreign: TlsMaterial;

beforeAll(async () => {
  await createDevPki({ dir: join(dir, 'pki'), emseIds: ['emse-a'] });
  await createDevPki({ dir: join(dir, 'other'), emseIds: ['emse-a'] });
  serverTls = loadTlsMaterial(join(dir, 'pki'), 'emks');
  clientTls = loadTlsMaterial(join(dir, 'pki'), { emse: 'emse-a' });
  foreign = loadTlsMaterial(join(dir, 'other'), { emse: 'emse-a' });
});

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/** An HTTP/2 server (mutual TLS) that records what it sees and answers with `handler`. */
class H2Server {
  readonly paths: string[] = [];
  readonly sessions: ServerHttp2Session[] = [];
  connections = 0;
  handler: Handler = (stream, headers) => answer(stream, 200, { path: headers[':path'], method: headers[':method'] });
  private readonly server: Http2SecureServer;

  constructor() {
    this.server = createSecureServer({ ...serverTls, requestCert: true, rejectUnauthorized: true });
    this.server.on('secureConnection', () => this.connections++);
    this.server.on('session', (s) => this.sessions.push(s));
    this.server.on('stream', (stream, headers) => {
      // A stream the test resets reports it as an error.
      stream.on('error', () => undefined);
      this.paths.push(String(headers[':path']));
      this.handler(stream, headers);
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function answer(stream: ServerHttp2Stream, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  stream.respond({ ':status': status, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  stream.end(text);
}

const clients: MtlsJsonClient[] = [];
const servers: { close(): Promise<void> }[] = [];

function client(origin: string, extra: Partial<MtlsJsonClientOptions> = {}): MtlsJsonClient {
  const c = createMtlsJsonClient({ ...clientTls, origin, ...extra });
  clients.push(c);
  return c;
}

async function h2(): Promise<{ server: H2Server; url: string }> {
  const server = new H2Server();
  servers.push(server);
  return { server, url: await server.listen() };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('createMtlsJsonClient over HTTP/2', () => {
  it('sends concurrent requests as streams of one connection, paths resolved against the origin', async () => {
    const { server, url } = await h2();
    const c = client(`${url}/base/`);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request({ method: 'GET', path: `v1/x?i=${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers[7]?.body).toEqual({ path: '/base/v1/x?i=7', method: 'GET' });
    expect(c.protocol).toBe('h2');
    expect(c.stats.connections).toBe(1);
    expect(server.connections).toBe(1);
    expect(server.sessions).toHaveLength(1);
  });

  it('presents the client certificate and sends a JSON body; a non-JSON answer body is undefined', async () => {
    const { server, url } = await h2();
    let seen: { uris: string[]; type: unknown; body: string } | undefined;
    server.handler = (stream, headers) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        const socket = stream.session?.socket as TLSSocket;
        seen = { uris: certificateUris(socket.getPeerCertificate().raw), type: headers['content-type'], body: Buffer.concat(parts).toString() };
        stream.respond({ ':status': 201, 'content-type': 'text/plain' });
        stream.end('not json');
      });
    };
    const r = await client(url).request({ method: 'POST', path: 'v1/emse/register', body: { a: 1 } });
    expect(r).toEqual({ status: 201, body: undefined });
    expect(seen).toEqual({ uris: ['urn:e2m:emse:emse-a'], type: 'application/json', body: '{"a":1}' });
  });

  it('a server that does not answer: E_HTTP_TIMEOUT within the bound, and the stream is cancelled', async () => {
    const { server, url } = await h2();
    const reset = new Promise<number>((resolve) => {
      server.handler = (stream) => stream.on('close', () => resolve(stream.rstCode));
    });
    const t0 = performance.now();
    await expect(client(url).request({ method: 'GET', path: 'slow', timeoutMs: 300 })).rejects.toMatchObject({ code: 'E_HTTP_TIMEOUT' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(await within(reset, 5_000, 'stream reset')).toBe(constants.NGHTTP2_CANCEL);
  });

  it('refuses an answer body over maxBodyBytes (E_HTTP_BODY)', async () => {
    const { server, url } = await h2();
    server.handler = (stream) => answer(stream, 200, { big: 'x'.repeat(5_000) });
    await expect(client(url).request({ method: 'GET', path: 'big', maxBodyBytes: 1_000 })).rejects.toMatchObject({ code: 'E_HTTP_BODY' });
  });

  it('a refused stream (REFUSED_STREAM) is sent once more; refused twice, it fails', async () => {
    const { server, url } = await h2();
    let refuse = 1;
    server.handler = (stream, headers) => {
      if (refuse-- > 0) stream.close(constants.NGHTTP2_REFUSED_STREAM);
      else answer(stream, 200, { path: headers[':path'] });
    };
    const c = client(url);
    expect(await c.request({ method: 'POST', path: 'once', body: {} })).toEqual({ status: 200, body: { path: '/once' } });
    expect(c.stats.retried).toBe(1);
    refuse = 2;
    await expect(c.request({ method: 'POST', path: 'twice', body: {} })).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
    expect(server.paths).toEqual(['/once', '/once', '/twice', '/twice']);
  });

  it('GOAWAY: the request in flight is answered, the next one goes out on a new connection', async () => {
    const { server, url } = await h2();
    const held = new Promise<ServerHttp2Stream>((resolve) => {
      server.handler = (stream, headers) => {
        if (headers[':path'] === '/held') resolve(stream);
        else answer(stream, 200, { path: headers[':path'] });
      };
    });
    const c = client(url);
    const first = c.request({ method: 'GET', path: 'held' });
    const stream = await within(held, 5_000, 'held request');
    (server.sessions[0] as ServerHttp2Session).close();
    const second = c.request({ method: 'GET', path: 'after' });
    answer(stream, 200, { path: '/held' });
    expect(await first).toEqual({ status: 200, body: { path: '/held' } });
    expect(await second).toEqual({ status: 200, body: { path: '/after' } });
    expect(server.connections).toBe(2);
  });

  it('a server restarted on the same port is reached again (a GET is retried once on the new connection)', async () => {
    const { server, url } = await h2();
    const c = client(url);
    expect((await c.request({ method: 'GET', path: 'before' })).status).toBe(200);
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const again = new H2Server();
    servers.push(again);
    await again.listen(Number(new URL(url).port));
    expect(await c.request({ method: 'GET', path: 'after' })).toEqual({ status: 200, body: { path: '/after', method: 'GET' } });
    expect(c.stats.connections).toBe(2);
  });

  it('closes an idle session itself; the next request opens a new one', async () => {
    const { server, url } = await h2();
    const c = client(url, { idleMs: 100 });
    await c.request({ method: 'GET', path: 'a' });
    const closed = new Promise<void>((resolve) => (server.sessions[0] as ServerHttp2Session).once('close', resolve));
    await within(closed, 5_000, 'idle session closed');
    await c.request({ method: 'GET', path: 'b' });
    expect(server.connections).toBe(2);
  });

  it('while a request is in flight, new ones wait for its answer and then leave together', async () => {
    const { server, url } = await h2();
    const held = new Promise<ServerHttp2Stream>((resolve) => {
      server.handler = (stream, headers) => {
        if (headers[':path'] === '/first') resolve(stream);
        else answer(stream, 200, { path: headers[':path'] });
      };
    });
    const c = client(url, { coalesceMs: 10_000 });
    const first = c.request({ method: 'GET', path: 'first' });
    const stream = await within(held, 5_000, 'first request');
    const later = [1, 2, 3].map((i) => c.request({ method: 'GET', path: `later/${i}` }));
    expect(c.stats.coalesced).toBe(3);
    // A PING round trip on the connection: anything the client had sent before its ACK is in by now.
    const session = server.sessions[0] as ServerHttp2Session;
    await within(new Promise((resolve) => session.ping(resolve)), 5_000, 'PING');
    expect(server.paths).toEqual(['/first']);
    answer(stream, 200, { path: '/first' });
    expect((await first).status).toBe(200);
    expect((await Promise.all(later)).map((r) => r.body)).toEqual([1, 2, 3].map((i) => ({ path: `/later/${i}` })));
    expect(server.paths).toEqual(['/first', '/later/1', '/later/2', '/later/3']);
  });

  it('waits at most coalesceMs for an answer that does not come; alone or in the same turn, no wait at all', async () => {
    const { server, url } = await h2();
    const unanswered = new Promise<void>((resolve) => {
      server.handler = (stream, headers) => {
        if (headers[':path'] === '/never') resolve();
        else answer(stream, 200, { path: headers[':path'] });
      };
    });
    const c = client(url, { coalesceMs: 100 });
    expect((await c.request({ method: 'GET', path: 'alone' })).status).toBe(200);
    // Requests made in one turn of the event loop leave together without waiting.
    expect((await Promise.all([c.request({ method: 'GET', path: 'a' }), c.request({ method: 'GET', path: 'b' })])).map((r) => r.status)).toEqual([200, 200]);
    expect(c.stats.coalesced).toBe(0);
    const never = c.request({ method: 'GET', path: 'never', timeoutMs: 5_000 }).catch((e: unknown) => e);
    await within(unanswered, 5_000, 'the request that is never answered');
    const t0 = performance.now();
    expect((await c.request({ method: 'GET', path: 'next' })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(c.stats.coalesced).toBe(1);
    c.close();
    expect(await never).toMatchObject({ code: 'E_HTTP_TRANSPORT' });
  });

  it('a server that is not there: E_HTTP_TRANSPORT; after close(), requests reject', async () => {
    await expect(client('https://127.0.0.1:1').request({ method: 'GET', path: 'x' })).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
    const { url } = await h2();
    const c = client(url);
    await c.request({ method: 'GET', path: 'x' });
    c.close();
    await expect(c.request({ method: 'GET', path: 'x' })).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
  });
});

describe('createMtlsJsonClient certificate checks', () => {
  it('a server certificate from another CA is refused', async () => {
    const { server, url } = await h2();
    const c = createMtlsJsonClient({ ...clientTls, ca: foreign.ca, origin: url });
    clients.push(c);
    await expect(c.request({ method: 'GET', path: 'x' })).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
    expect(server.paths).toEqual([]);
  });

  it('a client certificate from another CA is refused by the server', async () => {
    const { server, url } = await h2();
    const c = createMtlsJsonClient({ ...foreign, ca: clientTls.ca, origin: url });
    clients.push(c);
    await expect(c.request({ method: 'GET', path: 'x' })).rejects.toMatchObject({ code: 'E_HTTP_TRANSPORT' });
    expect(server.paths).toEqual([]);
  });
});

describe('createMtlsJsonClient against an HTTP/1.1-only server', () => {
  it('falls back to HTTP/1.1 keep-alive and keeps using it', async () => {
    const seen: string[] = [];
    const server = createHttpsServer({ ...serverTls, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seen.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
      });
    });
    servers.push({ close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const c = client(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expect(await c.request({ method: 'POST', path: 'v1/emse/register', body: {} })).toEqual({ status: 201, body: { ok: true } });
    expect(await c.request({ method: 'GET', path: 'v1/e2m-keys?kid=1' })).toEqual({ status: 201, body: { ok: true } });
    expect(c.protocol).toBe('http/1.1');
    expect(c.stats.connections).toBe(1);
    expect(seen).toEqual(['POST /v1/emse/register HTTP/1.1', 'GET /v1/e2m-keys?kid=1 HTTP/1.1']);
  });
});
