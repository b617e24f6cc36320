/**
 * A JSON-over-HTTPS client for one server (the EMSE's EMKS), mutual TLS with the project CA, that
 * speaks HTTP/2 when the server offers it (ALPN `h2`, RFC 9113 §3.2) and HTTP/1.1 keep-alive
 * otherwise. Over HTTP/2 every request is a stream of one TLS connection: the requests made in one
 * turn of the event loop leave in one write and their answers come back the same way, which costs
 * both sides far less per request than a connection per request in flight.
 *
 * Connection handling: the session is opened by the first request; a session that closes, fails or
 * receives GOAWAY is dropped and the next request opens a new one. A request is sent once more, on
 * the then current session, when the server provably did not process it (REFUSED_STREAM, or a
 * GOAWAY that came first; RFC 9113 §8.7), or when it was idempotent, went out on a session opened
 * earlier and failed before any answer (the server went away meanwhile, e.g. restarted). A session
 * with nothing in flight for `idleMs` is closed by us, before the server's keep-alive limit, so that
 * no request races a close by the server.
 *
 * Coalescing: while requests sent in an earlier turn of the event loop are in flight, a new request
 * waits for the next answer (at most `coalesceMs`) and leaves together with the others that waited,
 * in one write. Under load the requests thus travel in batches of what arrived during one round
 * trip, which the server also reads, answers and writes back together; alone, or together with
 * others of the same turn, a request leaves at once.
 */
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { createMtlsAgent, HttpTransportError, type JsonResponse, type MtlsOptions, requestJson } from './https-json.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
const ACCEPT = 'application/json, application/problem+json';
const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

export interface MtlsJsonClientOptions extends MtlsOptions {
  /** https://host:port[/base/] of the server; request paths are resolved against it. */
  readonly origin: string | URL;
  /** 'auto' (default): HTTP/2 if the server selects h2 in ALPN, else HTTP/1.1; 'http/1.1': never HTTP/2. */
  readonly protocol?: 'auto' | 'http/1.1';
  /** An HTTP/2 session idle this long is closed, ms (default 60 000; the EMKS closes at 65 s). */
  readonly idleMs?: number;
  /**
   * While requests are in flight, a new request waits for the next answer, or at most this long, ms,
   * and then leaves with the others that waited (default 2; 0 = every request leaves at once).
   */
  readonly coalesceMs?: number;
}

export interface ClientJsonRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query relative to the origin's path, e.g. `v1/e2m-keys?identity=…&kid=…` (percent-encoded). */
  readonly path: string;
  readonly body?: unknown;
  /** Whole-request bound, connecting included, ms (default 2000). */
  readonly timeoutMs?: number;
  /** Largest response body accepted, octets (default 64 KiB). */
  readonly maxBodyBytes?: number;
}

/** What a client did, for statistics and tests. */
export interface MtlsJsonClientStats {
  /** TLS connections opened (HTTP/2 sessions, and the one that found an HTTP/1.1-only server). */
  connections: number;
  /** Requests sent a second time (see the file comment). */
  retried: number;
  /** Requests that waited to leave together with others (see coalesceMs). */
  coalesced: number;
}

export interface MtlsJsonClient {
  request(r: ClientJsonRequest): Promise<JsonResponse>;
  /** 'h2' or 'http/1.1' once the first connection told; undefined before. */
  readonly protocol: 'h2' | 'http/1.1' | undefined;
  readonly stats: Readonly<MtlsJsonClientStats>;
  /** Closes the connections; later requests reject with E_HTTP_TRANSPORT. */
  close(): void;
}

/** A request that failed before any answer; `refused`: the server provably did not process it. */
class Unanswered extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
  }
}

/** Parses a JSON answer body; anything else is undefined (the caller checks status and shape). */
function parseBody(chunks: Buffer[], size: number): unknown {
  if (size === 0) return undefined;
  try {
    // A small answer arrives in one DATA frame: no copy then.
    const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    return JSON.parse(all.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

class Client implements MtlsJsonClient {
  readonly stats: MtlsJsonClientStats = { connections: 0, retried: 0, coalesced: 0 };
  protocol: 'h2' | 'http/1.1' | undefined;
  private readonly base: URL;
  /** The origin's path, ending in '/'. */
  private readonly basePath: string;
  private readonly idleMs: number;
  private session: http2.ClientHttp2Session | undefined;
  private connecting: Promise<http2.ClientHttp2Session | undefined> | undefined;
  private agent: ReturnType<typeof createMtlsAgent> | undefined;
  private inFlight = 0;
  private closed = false;
  private readonly coalesceMs: number;
  /** Requests waiting to leave together, and the timer that bounds their wait. */
  private waiting: (() => void)[] = [];
  private waitTimer: NodeJS.Timeout | undefined;
  /** Answers received in this turn of the event loop, handed over together (see deliver). */
  private answers: (() => void)[] = [];
  /** Requests went out in this turn of the event loop: more join them (HTTP/2 writes them together). */
  private assembling = false;
  private readonly turnEnded = (): void => {
    this.assembling = false;
  };

  constructor(private readonly o: MtlsJsonClientOptions) {
    this.base = new URL(o.origin);
    if (this.base.protocol !== 'https:') throw new TypeError(`expected an https:// origin, got ${this.base.protocol}`);
    this.basePath = this.base.pathname.endsWith('/') ? this.base.pathname : `${this.base.pathname}/`;
    this.idleMs = o.idleMs ?? 60_000;
    this.coalesceMs = o.coalesceMs ?? 2;
    if (o.protocol === 'http/1.1') this.protocol = 'http/1.1';
  }

  async request(r: ClientJsonRequest): Promise<JsonResponse> {
    if (this.closed) throw new HttpTransportError('E_HTTP_TRANSPORT', 'the client is closed');
    const timeoutMs = r.timeoutMs ?? 2_000;
    const deadline = performance.now() + timeoutMs;
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body), 'utf8');
    for (let attempt = 0; ; attempt++) {
      if (this.coalesceMs > 0 && this.inFlight > 0 && !this.assembling) {
        await this.nextRelease();
        if (this.closed) throw new HttpTransportError('E_HTTP_TRANSPORT', 'the client is closed');
      }
      let session = this.session;
      const reused = session !== undefined;
      if (session === undefined && this.protocol !== 'http/1.1') session = await this.connect(deadline);
      if (session === undefined) return this.requestHttp1(r, deadline);
      try {
        return await this.requestH2(session, r, payload, deadline);
      } catch (err) {
        if (!(err instanceof Unanswered)) throw err;
        const again = !this.closed && attempt === 0 && (err.refused || (reused && IDEMPOTENT.has(r.method)));
        if (!again) throw new HttpTransportError('E_HTTP_TRANSPORT', err.message);
        this.stats.retried++;
      }
    }
  }

  /**
   * Hands an answer to its caller together with the others of this turn of the event loop. Node
   * reports each stream in a callback of its own and runs the caller's continuation (for the EMSE:
   * the rest of a DTLS handshake) before the next one; delivered together after the reads, the
   * continuations run back to back instead of alternating with HTTP/2's code, which keeps both warm
   * in the CPU's caches.
   */
  private deliver(answer: () => void): void {
    if (this.answers.push(answer) === 1) setImmediate(this.deliverAll);
  }

  private readonly deliverAll = (): void => {
    const now = this.answers;
    this.answers = [];
    for (const f of now) f();
  };

  /** Resolves when the requests waiting to leave together are released. */
  private nextRelease(): Promise<void> {
    this.stats.coalesced++;
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.waitTimer ??= setTimeout(() => this.release(), this.coalesceMs);
    });
  }

  /** Lets every waiting request go: they reach the session in this turn, so in one write. */
  private release(): void {
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    const go = this.waiting;
    this.waiting = [];
    for (const f of go) f();
  }

  close(): void {
    this.closed = true;
    this.release();
    this.session?.destroy();
    this.session = undefined;
    this.agent?.destroy();
  }

  /** HTTP/1.1 keep-alive, for a server that does not speak HTTP/2. */
  private requestHttp1(r: ClientJsonRequest, deadline: number): Promise<JsonResponse> {
    this.agent ??= createMtlsAgent(this.o);
    const timeoutMs = Math.max(1, Math.ceil(deadline - performance.now()));
    const body = r.body === undefined ? {} : { body: r.body };
    const maxBodyBytes = r.maxBodyBytes === undefined ? {} : { maxBodyBytes: r.maxBodyBytes };
    return requestJson({ method: r.method, url: `${this.base.origin}${this.basePath}${r.path}`, agent: this.agent, timeoutMs, ...body, ...maxBodyBytes });
  }

  /** A new session (undefined: the server does not speak HTTP/2), shared by the callers waiting for it. */
  private connect(deadline: number): Promise<http2.ClientHttp2Session | undefined> {
    this.connecting ??= this.open(deadline).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private open(deadline: number): Promise<http2.ClientHttp2Session | undefined> {
    const host = this.base.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.base.port || 443);
    this.stats.connections++;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host, port, ca: this.o.ca, cert: this.o.cert, key: this.o.key, ALPNProtocols: ['h2', 'http/1.1'], minVersion: 'TLSv1.2' });
      const fail = (err: Error): void => reject(err instanceof HttpTransportError ? err : new HttpTransportError('E_HTTP_TRANSPORT', err.message));
      // Connecting is bounded by the deadline of the request that started it.
      const timer = setTimeout(() => socket.destroy(new HttpTransportError('E_HTTP_TIMEOUT', 'no TLS connection within the request bound')), Math.max(1, deadline - performance.now()));
      socket.once('error', fail);
      socket.once('close', () => clearTimeout(timer));
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        if (this.closed) {
          socket.destroy();
          fail(new Error('the client is closed'));
          return;
        }
        if (socket.alpnProtocol !== 'h2') {
          // An HTTP/1.1-only server: this client uses keep-alive HTTP/1.1 from now on.
          socket.destroy();
          this.protocol = 'http/1.1';
          resolve(undefined);
          return;
        }
        socket.setNoDelay(true);
        this.protocol = 'h2';
        resolve(this.adopt(http2.connect(this.base.origin, { createConnection: () => socket, settings: { enablePush: false } })));
      });
    });
  }

  /** Tracks a new session: dropped when it closes, fails or is told to go away; closed when idle. */
  private adopt(session: http2.ClientHttp2Session): http2.ClientHttp2Session {
    const drop = (): void => {
      if (this.session === session) this.session = undefined;
    };
    // Errors reach the streams in flight; the session itself is only dropped.
    session.on('error', drop);
    session.once('goaway', drop);
    session.once('close', drop);
    session.setTimeout(this.idleMs, () => {
      if (this.inFlight === 0 || this.session !== session) {
        drop();
        session.close();
      }
    });
    // A request in flight holds the process with its timer; an idle session does not.
    session.unref();
    this.session = session;
    return session;
  }

  private requestH2(session: http2.ClientHttp2Session, r: ClientJsonRequest, payload: Buffer | undefined, deadline: number): Promise<JsonResponse> {
    const maxBody = r.maxBodyBytes ?? 65_536;
    const headers: http2.OutgoingHttpHeaders = { ':method': r.method, ':path': `${this.basePath}${r.path}`, accept: ACCEPT };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<JsonResponse>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(headers, { endStream: payload === undefined });
      } catch (err) {
        // The session closed or received GOAWAY since it was picked: nothing was sent.
        if (this.session === session) this.session = undefined;
        reject(new Unanswered(err instanceof Error ? err.message : String(err), true));
        return;
      }
      this.inFlight++;
      if (!this.assembling) {
        this.assembling = true;
        setImmediate(this.turnEnded);
      }
      let done = false;
      let status = 0;
      let size = 0;
      const chunks: Buffer[] = [];
      const settle = (err: Error | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.inFlight--;
        // An answer came: the server is keeping up, the requests that waited go now.
        if (this.waiting.length > 0) this.release();
        if (err === undefined) this.deliver(() => resolve({ status, body: parseBody(chunks, size) }));
        else reject(err);
      };
      /** A failure before any answer: refused (safe to send again) or not known to be. */
      const unanswered = (message: string, code?: string): Unanswered =>
        new Unanswered(message, stream.rstCode === NGHTTP2_REFUSED_STREAM || code === 'ERR_HTTP2_GOAWAY_SESSION');
      const timer = setTimeout(() => {
        settle(new HttpTransportError('E_HTTP_TIMEOUT', `no answer within ${r.timeoutMs ?? 2_000} ms`));
        stream.close(NGHTTP2_CANCEL);
      }, Math.max(1, deadline - performance.now()));
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          settle(new HttpTransportError('E_HTTP_BODY', `response body larger than ${maxBody} octets`));
          stream.close(NGHTTP2_CANCEL);
          return;
        }
        chunks.push(c);
      });
      // An end without response headers: the session went away (e.g. the server refused our certificate).
      stream.on('end', () => settle(status === 0 ? unanswered('the stream ended without an answer') : undefined));
      // 'close' follows 'end' or 'error' (nothing is left to settle then); alone, the stream was reset
      // or its session went away. Errors are built only when they are the outcome.
      stream.on('close', () => {
        if (done) return;
        const message = `the stream closed without an answer (code ${stream.rstCode ?? '?'})`;
        settle(status === 0 ? unanswered(message) : new HttpTransportError('E_HTTP_TRANSPORT', message));
      });
      stream.on('error', (e: Error & { code?: string }) => {
        if (done) return;
        settle(status === 0 ? unanswered(e.message, e.code) : new HttpTransportError('E_HTTP_TRANSPORT', e.message));
      });
      if (payload !== undefined) stream.end(payload);
    });
  }
}

/** A client for `origin` (see the file comment). */
export function createMtlsJsonClient(o: MtlsJsonClientOptions): MtlsJsonClient {
  return new Client(o);
}
