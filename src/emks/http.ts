/**
 * HTTP plumbing of the EMKS API: RFC 9457 problem details, JSON answers, and request bodies read
 * with a hard size bound (DESIGN.md §9: 413 beyond 16 KiB, 415 for anything but application/json).
 * Requests come over HTTP/1.1 or HTTP/2 (src/emks/exchange.ts), handled alike.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { StackError } from '../util/errors.js';
import type { Exchange } from './exchange.js';

/** Largest request body accepted, octets (DESIGN.md §5: 413 beyond 16 KiB). */
export const MAX_BODY_OCTETS = 16 * 1024;

/** Problem type URIs: `urn:e2m:problem:<slug>` (RFC 9457 §3.1.1). */
export const PROBLEM_TYPE_PREFIX = 'urn:e2m:problem:';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};

/** RFC 9457 problem details body. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

/**
 * An answer other than success, thrown by validation and handlers and turned into problem+json by
 * the app. `detail` is shown to the client: it names fields, never echoes secret values.
 */
export class HttpProblem extends StackError {
  readonly status: number;
  readonly slug: string;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, slug: string, detail: string, headers: Readonly<Record<string, string>> = {}) {
    super('E_HTTP_PROBLEM', `${status} ${slug}: ${detail}`);
    this.status = status;
    this.slug = slug;
    this.detail = detail;
    this.headers = headers;
  }

  toProblem(): ProblemDetails {
    return { type: `${PROBLEM_TYPE_PREFIX}${this.slug}`, title: TITLES[this.status] ?? 'Error', status: this.status, detail: this.detail };
  }
}

/** Writes a JSON answer; bodies may hold keys, so nothing is cached anywhere on the way. */
export function sendJson(ex: Exchange, status: number, body: unknown, contentType = 'application/json', extra: Readonly<Record<string, string>> = {}): void {
  if (body === undefined) {
    ex.send(status, { ...extra, 'cache-control': 'no-store' }, undefined);
    return;
  }
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  ex.send(status, { ...extra, 'cache-control': 'no-store', 'content-type': contentType, 'content-length': String(payload.length) }, payload);
}

/** Writes a problem+json answer. */
export function sendProblem(ex: Exchange, p: HttpProblem): void {
  // Connection-specific header fields do not exist in HTTP/2 (RFC 9113 §8.2.2).
  const { connection, ...headers } = p.headers;
  sendJson(ex, p.status, p.toProblem(), 'application/problem+json', ex.http2 || connection === undefined ? headers : { ...headers, connection });
}

/** True for `application/json`, with at most a UTF-8 charset parameter (RFC 8259 §8.1). */
export function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/** The client went away before its body arrived, or did not send it in time: nothing to answer. */
export class RequestAbortedError extends StackError {
  constructor(message = 'the client closed the request before its body arrived') {
    super('E_HTTP_ABORTED', message);
  }
}

const tooLarge = (): HttpProblem =>
  new HttpProblem(413, 'body-too-large', `the request body exceeds ${MAX_BODY_OCTETS} octets`, { connection: 'close' });

/**
 * Reads the body, at most `max` octets. A declared Content-Length over the bound is refused before
 * reading anything; a streamed body is refused as soon as it crosses the bound (the rest is
 * discarded, never buffered, and an HTTP/1.1 connection is closed after the answer). A body not
 * complete within `timeoutMs` (when given) is abandoned.
 */
export function readBody(req: Readable, headers: IncomingHttpHeaders, max = MAX_BODY_OCTETS, timeoutMs?: number): Promise<Buffer> {
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return Promise.reject(tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            cleanup();
            reject(new RequestAbortedError(`the request body did not arrive within ${timeoutMs} ms`));
          }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        // Keep the stream flowing into nothing until the connection closes.
        req.on('data', () => undefined);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onAbort = (): void => {
      cleanup();
      reject(new RequestAbortedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a JSON body; an empty body is undefined. Malformed UTF-8 or JSON is a 400. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new HttpProblem(400, 'malformed-json', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpProblem(400, 'malformed-json', 'the body is not valid JSON');
  }
}
