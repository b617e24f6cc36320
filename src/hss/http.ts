/**
 * HTTP plumbing of the hss-sim API: RFC 9457 problem details, bounded JSON bodies, strict field checks.
 * Every bad input becomes a ProblemError, which the server turns into application/problem+json.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { StackError } from '../util/errors.js';

/** DESIGN.md §9: request bodies are at most 16 KiB. */
export const MAX_BODY_OCTETS = 16 * 1024;

/** An error that is answered as problem+json with `status` (RFC 9457 §3). */
export class ProblemError extends StackError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, detail: string, headers: Readonly<Record<string, string>> = {}) {
    super(`E_HTTP_${status}`, detail);
    this.status = status;
    this.headers = headers;
  }
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Writes an RFC 9457 problem: type about:blank with the status phrase as title (§4.2.1), the
 * specific reason in `detail`.
 */
export function sendProblem(res: ServerResponse, status: number, detail: string, headers: Readonly<Record<string, string>> = {}): void {
  const body = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail };
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type = '', ...params] = value.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/** Past this many octets an oversized body is not drained but the connection is dropped. */
const DRAIN_LIMIT_OCTETS = 1024 * 1024;

/**
 * Collects the body, at most `max` octets. A longer body is drained (so that the 413 answer reaches
 * a client that is still sending) unless it exceeds DRAIN_LIMIT_OCTETS, in which case the
 * connection is dropped. Resolves undefined for an oversized body.
 */
function collectBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT_OCTETS) {
        req.destroy();
        reject(new ProblemError(413, `body larger than ${max} octets`));
      } else if (size <= max) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Reads a JSON object body: 415 unless Content-Type is application/json (UTF-8), 413 beyond
 * MAX_BODY_OCTETS, 400 for anything but well-formed UTF-8 JSON of one object.
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new ProblemError(415, 'Content-Type must be application/json');
  }
  const tooLarge = new ProblemError(413, `body larger than ${MAX_BODY_OCTETS} octets`);
  if (Number(req.headers['content-length'] ?? '0') > DRAIN_LIMIT_OCTETS) {
    throw new ProblemError(413, tooLarge.message, { connection: 'close' });
  }
  const raw = await collectBody(req, MAX_BODY_OCTETS);
  if (raw === undefined) throw tooLarge;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ProblemError(400, 'body is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProblemError(400, 'body is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ProblemError(400, 'body must be a JSON object');
  return json as Record<string, unknown>;
}

/** 400 for any field of `body` outside `allowed`. */
export function rejectUnknownFields(body: Readonly<Record<string, unknown>>, allowed: readonly string[]): void {
  for (const f of Object.keys(body)) {
    if (!allowed.includes(f)) throw new ProblemError(400, `unknown field '${f.slice(0, 40)}' (allowed: ${allowed.join(', ')})`);
  }
}

/** A hex field of `min..max` octets (even count of hex digits, either case) as bytes; 400 otherwise. */
export function hexBodyField(body: Readonly<Record<string, unknown>>, field: string, min: number, max: number): Uint8Array {
  const v = body[field];
  const ok = typeof v === 'string' && /^(?:[0-9a-fA-F]{2})+$/.test(v) && v.length >= 2 * min && v.length <= 2 * max;
  if (!ok) {
    const want = min === max ? `${2 * min}` : `${2 * min}..${2 * max}`;
    throw new ProblemError(400, `'${field}' must be ${want} hex digits`);
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}
