/**
 * The UE's side of the simulated access network: JSON POSTs to hss-sim over plain HTTP on loopback
 * (or HTTPS), each bounded by a timeout and a body size. An error answer surfaces the `detail` of
 * its RFC 9457 problem+json body.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { ConfigError, StackError } from '../util/errors.js';

/** hss-sim could not be reached or did not answer in time (E_HSS_UNREACHABLE, E_HSS_TIMEOUT). */
export class HssTransportError extends StackError {
  constructor(code: 'E_HSS_UNREACHABLE' | 'E_HSS_TIMEOUT' | 'E_HSS_BODY', message: string) {
    super(code, message);
  }
}

/** hss-sim answered with an unexpected status; `detail` is its problem+json detail, if any. */
export class HssHttpError extends StackError {
  readonly status: number;
  readonly detail: string | undefined;

  constructor(status: number, detail: string | undefined, what: string) {
    super('E_HSS_HTTP', `${what}: hss-sim answered ${status} ${http.STATUS_CODES[status] ?? ''}`.trimEnd() + (detail ? `: ${detail}` : ''));
    this.status = status;
    this.detail = detail;
  }
}

export interface HssReply {
  readonly status: number;
  /** The parsed JSON body (undefined when empty or not JSON). */
  readonly body: unknown;
}

const MAX_BODY_OCTETS = 64 * 1024;

/** Checks an hss-sim base URL (http or https, no query or fragment); ConfigError naming `option`. */
export function parseHssUrl(value: string, option = 'hssUrl'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(option, `not a URL: '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(option, `must be http:// or https://, got ${url.protocol}//`);
  if (url.search !== '' || url.hash !== '') throw new ConfigError(option, 'must not have a query or fragment');
  if (url.username !== '' || url.password !== '') throw new ConfigError(option, 'must not carry credentials');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** POSTs `body` as JSON to `path` under `base` and resolves with the status and parsed answer. */
export function postJson(base: URL, path: string, body: unknown, timeoutMs: number): Promise<HssReply> {
  const url = new URL(path.replace(/^\/+/, ''), base);
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<HssReply>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          accept: 'application/json, application/problem+json',
          'content-type': 'application/json',
          'content-length': String(payload.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_OCTETS) {
            req.destroy(new HssTransportError('E_HSS_BODY', `answer from ${url.origin} larger than ${MAX_BODY_OCTETS} octets`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', (e) => reject(new HssTransportError('E_HSS_UNREACHABLE', `${url.origin}: ${e.message}`)));
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new HssTransportError('E_HSS_TIMEOUT', `hss-sim at ${url.origin} did not answer within ${timeoutMs} ms`)),
    );
    req.on('error', (e) =>
      reject(e instanceof HssTransportError ? e : new HssTransportError('E_HSS_UNREACHABLE', `cannot reach hss-sim at ${url.origin}: ${e.message}`)),
    );
    req.end(payload);
  });
}

/** The `detail` (else `title`) of a problem+json body, shortened to one line. */
export function problemDetail(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const text = typeof b['detail'] === 'string' ? b['detail'] : typeof b['title'] === 'string' ? b['title'] : undefined;
  return text?.replace(/\s+/g, ' ').slice(0, 300);
}
