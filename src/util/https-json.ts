/**
 * A small JSON-over-HTTPS client for the role-to-role calls of DESIGN.md §5 (HSS → EMKS, EMSE → EMKS):
 * mutual TLS with the project CA, a keep-alive agent, a hard timeout per request, and bodies bounded
 * in size. Errors carry stable codes; response bodies are returned parsed, never logged here.
 */
import * as https from 'node:https';
import { StackError } from './errors.js';

export interface MtlsOptions {
  /** PEM of the CA that signs the server. */
  readonly ca: string;
  /** PEM of our client certificate and key. */
  readonly cert: string;
  readonly key: string;
  /** Most sockets kept open to one server (default 16). */
  readonly maxSockets?: number;
}

/** A keep-alive agent that presents our client certificate and trusts only the project CA. */
export function createMtlsAgent(o: MtlsOptions): https.Agent {
  return new https.Agent({
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    keepAlive: true,
    maxSockets: o.maxSockets ?? 16,
    rejectUnauthorized: true,
  });
}

/** A request that failed before an HTTP answer (connection refused, TLS failure, timeout). */
export class HttpTransportError extends StackError {
  constructor(code: 'E_HTTP_TIMEOUT' | 'E_HTTP_TRANSPORT' | 'E_HTTP_BODY', message: string) {
    super(code, message);
  }
}

export interface JsonResponse {
  readonly status: number;
  /** Parsed JSON body, or undefined for an empty or non-JSON body. */
  readonly body: unknown;
}

export interface JsonRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string | URL;
  readonly body?: unknown;
  readonly agent: https.Agent;
  /** Whole-request bound, ms (default 2000). */
  readonly timeoutMs?: number;
  /** Largest response body accepted, octets (default 64 KiB). */
  readonly maxBodyBytes?: number;
}

/** Sends one JSON request and resolves with the status and the parsed body. */
export function requestJson(r: JsonRequest): Promise<JsonResponse> {
  const timeoutMs = r.timeoutMs ?? 2_000;
  const maxBody = r.maxBodyBytes ?? 65_536;
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body), 'utf8');
  return new Promise<JsonResponse>((resolve, reject) => {
    const req = https.request(
      r.url,
      {
        method: r.method,
        agent: r.agent,
        headers: {
          accept: 'application/json, application/problem+json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBody) {
            req.destroy(new HttpTransportError('E_HTTP_BODY', `response body larger than ${maxBody} octets`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', (e) => reject(new HttpTransportError('E_HTTP_TRANSPORT', e.message)));
      },
    );
    // A whole-request bound: setTimeout() on the request would only catch an idle socket.
    const timer = setTimeout(() => req.destroy(new HttpTransportError('E_HTTP_TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e) => reject(e instanceof HttpTransportError ? e : new HttpTransportError('E_HTTP_TRANSPORT', e.message)));
    req.end(payload);
  });
}
