/**
 * A stub EMKS for the EMSE tests: a real node:https server that demands a client certificate from a
 * dev PKI, answers the EMKS API contract (POST /v1/emse/register, GET /v1/e2m-keys) and records every
 * request. A test can replace the contract's answer, leave a request unanswered, or hold it until
 * `release()`.
 */
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { certificateUris, type TlsMaterial } from '../../src/crypto/pki.js';
import { deriveE2mKey } from '../../src/kdf/index.js';
import { within } from './processes.js';

/** One request as the stub saw it. */
export interface Seen {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly clientUris: string[];
}

/** Status and JSON body; 'hang' never answers; 'hold' answers on `release()`. */
export type Answer = { status: number; body?: unknown } | 'hang' | 'hold';

export interface StubEmksOptions {
  /** TCP port on 127.0.0.1; default 0 (any free port). */
  readonly port?: number;
  /** Lifetime of the e2m keys it hands out (expiresAt); default one hour. */
  readonly expiresInMs?: number;
}

/** An RFC 9457 problem answer. */
export function problem(status: number, title: string, detail = title): Answer {
  return { status, body: { type: 'about:blank', title, status, detail } };
}

/** A stub EMKS: mTLS with the dev CA, the contract's register and e2m-keys calls. */
export class StubEmks {
  readonly seen: Seen[] = [];
  /** (appIdentity, kid) → e2m_int_key. */
  readonly keys = new Map<string, Uint8Array>();
  /** Replaces the contract's answer (status and body, never answer, or answer on release()). */
  answer: ((s: Seen) => Answer | undefined) | undefined;
  expiresInMs: number;
  private readonly hanging: ServerResponse[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly held: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    options: StubEmksOptions,
  ) {
    this.expiresInMs = options.expiresInMs ?? 3_600_000;
  }

  static async start(tls: TlsMaterial, options: StubEmksOptions = {}): Promise<StubEmks> {
    const server = createServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true });
    const stub = new StubEmks(server, options);
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'https://stub');
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const seen: Seen = { method: req.method ?? '', path: url.pathname, query: url.searchParams, clientUris: certificateUris(peer.raw) };
      stub.seen.push(seen);
      for (const w of stub.waiters.splice(0)) w();
      req.resume();
      req.on('end', () => stub.respond(seen, res));
    });
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
    return stub;
  }

  get url(): string {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('not listening');
    return `https://127.0.0.1:${a.port}`;
  }

  /** Requests for e2m keys seen so far. */
  get keyRequests(): number {
    return this.seen.filter((s) => s.path === '/v1/e2m-keys').length;
  }

  addKey(appIdentity: string, kid: string, intKey: Uint8Array): void {
    this.keys.set(`${appIdentity}|${kid}`, intKey);
  }

  /** Resolves once the stub has seen `n` requests. */
  async requestsSeen(n: number): Promise<void> {
    while (this.seen.length < n) await within(new Promise<void>((resolve) => this.waiters.push(resolve)), 5_000, `request ${n}`);
  }

  release(): void {
    for (const f of this.held.splice(0)) f();
  }

  async close(): Promise<void> {
    for (const r of this.hanging.splice(0)) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private respond(seen: Seen, res: ServerResponse): void {
    const answer = this.answer?.(seen) ?? this.contract(seen);
    if (answer === 'hang') {
      this.hanging.push(res);
      return;
    }
    if (answer === 'hold') {
      this.held.push(() => {
        this.answer = undefined;
        this.respond(seen, res);
      });
      return;
    }
    const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
    const type = answer.status >= 400 ? 'application/problem+json' : 'application/json';
    res.writeHead(answer.status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private contract(seen: Seen): Answer {
    const emse = seen.clientUris.find((u) => u.startsWith('urn:e2m:emse:'))?.slice('urn:e2m:emse:'.length);
    if (emse === undefined) return problem(403, 'not an EMSE certificate');
    if (seen.method === 'POST' && seen.path === '/v1/emse/register') return { status: 201, body: { emseId: emse, retain: 3, keyTtl: 300 } };
    if (seen.method === 'GET' && seen.path === '/v1/e2m-keys') {
      const identity = seen.query.get('identity') ?? '';
      const kid = seen.query.get('kid') ?? '';
      const intKey = this.keys.get(`${identity}|${kid}`);
      if (intKey === undefined) return problem(404, 'unknown identity or kid');
      const e2mKey = Buffer.from(deriveE2mKey(intKey, emse)).toString('hex');
      return { status: 201, body: { e2mKey, kid, emseId: emse, expiresAt: new Date(Date.now() + this.expiresInMs).toISOString() } };
    }
    return problem(404, 'no such route');
  }
}
