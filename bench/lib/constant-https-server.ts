/**
 * The ceiling of the EMKS benchmark, run as a process of its own:
 * `node constant-https-server.js --pki DIR [--listen-port 0]`. A plain node:http2 secure server
 * with the EMKS's TLS material and settings (mutual TLS with the project CA, HTTP/2 with HTTP/1.1
 * beside it, no Nagle delay, 256 streams per session, keep-alive 65 s) that answers every request
 * with the same 201 JSON body, of the size and shape of a key-fetch answer
 * (`{e2mKey, kid, emseId, expiresAt}`) and with the same headers, HTTP/2 streams answered directly as
 * the EMKS does (src/emks/exchange.ts). Prints `constant server listening on https://HOST:PORT` once
 * it listens; SIGTERM ends it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { loadTlsMaterial } from '../../src/crypto/pki.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A body of the shape of GET /v1/e2m-keys's 201 (DESIGN.md §5) for EMSE `emseId`. */
export function constantKeyBody(emseId: string): Buffer {
  return Buffer.from(
    JSON.stringify({ e2mKey: 'ab'.repeat(32), kid: '1a2b3c4d', emseId, expiresAt: new Date(Date.UTC(2030, 0, 1)).toISOString() }),
    'utf8',
  );
}

function main(): void {
  const pki = arg('--pki');
  if (pki === undefined) throw new Error('--pki DIR is required');
  const emseId = arg('--emse-id') ?? 'emse-a.example.com';
  const tls = loadTlsMaterial(pki, 'emks');
  const body = constantKeyBody(emseId);
  // The headers the EMKS sends with a key (sendJson in src/emks/http.ts).
  const headers = { 'cache-control': 'no-store', 'content-type': 'application/json', 'content-length': String(body.length) };
  const server = createSecureServer({
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    allowHTTP1: true,
    noDelay: true,
    settings: { maxConcurrentStreams: 256 },
  });
  Object.assign(server, { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 65_000 });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // Drain whatever the request carries, then answer.
    req.resume();
    res.writeHead(201, headers);
    res.end(body);
  });
  server.removeAllListeners('stream');
  server.on('stream', (stream) => {
    stream.resume();
    stream.respond({ ...headers, ':status': 201 });
    stream.end(body);
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    s.setTimeout(65_000, () => s.close());
  });
  server.listen(Number(arg('--listen-port') ?? '0'), '127.0.0.1', () => {
    const a = server.address() as AddressInfo;
    process.stdout.write(`constant server listening on https://${a.address}:${a.port}\n`);
  });
  process.once('SIGTERM', () => {
    for (const s of sessions) s.destroy();
    server.close(() => process.exit(0));
  });
}

if (process.argv.includes('--pki')) main();
