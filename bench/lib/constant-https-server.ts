/**
 * The ceiling of the EMKS benchmark, run as a process of its own:
 * `node constant-https-server.js --pki DIR [--listen-port 0]`. A plain node:https server with the
 * EMKS's TLS material and settings (mutual TLS with the project CA, keep-alive 65 s) that answers
 * every request with the same 201 JSON body, of the size and shape of a key-fetch answer
 * (`{e2mKey, kid, emseId, expiresAt}`) and with the same headers. Prints
 * `constant server listening on https://HOST:PORT` once it listens; SIGTERM ends it.
 */
import { createServer } from 'node:https';
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
  const length = String(body.length);
  const server = createServer(
    {
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      // Drain whatever the request carries, then answer like the EMKS does (sendJson in src/emks/http.ts).
      req.resume();
      res.statusCode = 201;
      res.setHeader('cache-control', 'no-store');
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-length', length);
      res.end(body);
    },
  );
  server.listen(Number(arg('--listen-port') ?? '0'), '127.0.0.1', () => {
    const a = server.address() as AddressInfo;
    process.stdout.write(`constant server listening on https://${a.address}:${a.port}\n`);
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

if (process.argv.includes('--pki')) main();
