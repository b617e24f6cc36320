/**
 * One request and its answer, whatever the protocol: HTTP/1.1 (node:http's request and response)
 * or HTTP/2 (a node:http2 stream, served without the compatibility layer's per-request objects,
 * which cost the EMKS about a tenth of its time per key fetch). The app sees only this.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { constants as h2, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface Exchange {
  readonly method: string;
  /** The request target: path and query, as sent. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body, as a stream ('data', 'end', 'error', 'close'). */
  readonly body: Readable;
  readonly http2: boolean;
  /** The verified TLS connection (undefined once an HTTP/2 stream lost its session), and the object its caller is cached under. */
  readonly socket: TLSSocket | undefined;
  readonly connectionKey: object;
  /** Whether the request announces a body (RFC 9112 §6.3, RFC 9113 §8.1). */
  announcesBody(): boolean;
  /** Whether an answer was started, or the exchange can no longer carry one. */
  readonly answeredOrGone: boolean;
  /** Sends the whole answer (headers in lower case, no connection-specific ones over HTTP/2). */
  send(status: number, headers: Readonly<Record<string, string>>, body: Buffer | string | undefined): void;
  /** Ends the exchange without an answer. */
  destroy(): void;
  /** Calls `fn` once the exchange is over, with the status sent, or 0 if no whole answer went out. */
  onDone(fn: (status: number) => void): void;
}

/** An HTTP/1.1 request. */
class Http1Exchange implements Exchange {
  readonly http2 = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method ?? '';
  }
  get target(): string {
    return this.req.url ?? '';
  }
  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }
  get body(): Readable {
    return this.req;
  }
  get socket(): TLSSocket {
    return this.req.socket as TLSSocket;
  }
  get connectionKey(): object {
    return this.req.socket;
  }
  announcesBody(): boolean {
    // RFC 9112 §6.3: Transfer-Encoding, or a Content-Length above 0.
    if (this.req.headers['transfer-encoding'] !== undefined) return true;
    const length = this.req.headers['content-length'];
    return length !== undefined && length !== '0';
  }
  get answeredOrGone(): boolean {
    return this.res.headersSent || this.res.destroyed;
  }
  send(status: number, headers: Readonly<Record<string, string>>, body: Buffer | string | undefined): void {
    this.res.writeHead(status, headers);
    this.res.end(body);
  }
  destroy(): void {
    this.res.destroy();
  }
  onDone(fn: (status: number) => void): void {
    this.res.once('close', () => fn(this.res.writableFinished ? this.res.statusCode : 0));
  }
}

/** A stream reset (by the peer, or by us with an error code) is reported as 'error': it only ends the exchange. */
const ignore = (): void => undefined;

/** An HTTP/2 stream (RFC 9113) of an authenticated session. */
class Http2Exchange implements Exchange {
  readonly http2 = true;
  readonly socket: TLSSocket | undefined;
  /** The session's socket proxy is one per session; each stream would otherwise look new. */
  readonly connectionKey: object;
  private sent = 0;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {
    const session = stream.session;
    this.socket = session?.socket as TLSSocket | undefined;
    this.connectionKey = session ?? stream;
    // Never an uncaught error: onDone reports 0 for such a stream.
    stream.on('error', ignore);
  }

  get method(): string {
    return String(this.headers[':method'] ?? '');
  }
  get target(): string {
    return String(this.headers[':path'] ?? '');
  }
  get body(): Readable {
    return this.stream;
  }
  announcesBody(): boolean {
    // RFC 9113 §8.1: a Content-Length above 0, or without one, HEADERS that did not end the stream.
    const length = this.headers['content-length'];
    return length !== undefined ? length !== '0' : !this.stream.endAfterHeaders;
  }
  get answeredOrGone(): boolean {
    return this.stream.headersSent || this.stream.destroyed || this.stream.closed;
  }
  send(status: number, headers: Readonly<Record<string, string>>, body: Buffer | string | undefined): void {
    if (this.stream.destroyed || this.stream.closed) return;
    this.stream.respond({ ...headers, ':status': status }, { endStream: body === undefined });
    if (body !== undefined) this.stream.end(body);
    this.sent = status;
  }
  destroy(): void {
    this.stream.close(h2.NGHTTP2_CANCEL);
  }
  onDone(fn: (status: number) => void): void {
    this.stream.once('close', () => fn(this.sent !== 0 && this.stream.rstCode === h2.NGHTTP2_NO_ERROR ? this.sent : 0));
  }
}

/** The Exchange of an HTTP/1.1 request (node:http's 'request' event). */
export function http1Exchange(req: IncomingMessage, res: ServerResponse): Exchange {
  return new Http1Exchange(req, res);
}

/** The Exchange of an HTTP/2 stream (node:http2's 'stream' event). */
export function http2Exchange(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Exchange {
  return new Http2Exchange(stream, headers);
}
