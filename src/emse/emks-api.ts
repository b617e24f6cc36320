/**
 * The EMKS answers the EMSE relies on (DESIGN.md §5), checked field by field: anything else is an
 * EmksError, which the DTLS layer turns into internal_error (80).
 */
import { StackError } from '../util/errors.js';
import { HttpTransportError, type JsonResponse } from '../util/https-json.js';
import { SecretBytes } from '../util/secret.js';

/** An EMKS answer the EMSE cannot use (a status other than the contract's, or a malformed body). */
export class EmksError extends StackError {
  /** The HTTP status, when the EMKS answered at all. */
  readonly status: number | undefined;
  /** Whether trying again later may succeed (5xx); 4xx and contract violations are final. */
  readonly retryable: boolean;

  constructor(code: 'E_EMKS_FORBIDDEN' | 'E_EMKS_STATUS' | 'E_EMKS_ANSWER' | 'E_EMKS_IDENTITY' | 'E_EMKS_CLOSED', message: string, status?: number) {
    super(code, message);
    this.status = status;
    this.retryable = status !== undefined && status >= 500;
  }
}

/** Whether an error from `register()` or a lookup is worth retrying (EMKS not up yet, 5xx, timeout). */
export function isRetryableEmksError(err: unknown): boolean {
  if (err instanceof HttpTransportError) return true;
  return err instanceof EmksError && err.retryable;
}

/** What `POST /v1/emse/register` answered. */
export interface EmksRegistration {
  /** The EMSE_Id the EMKS read from our certificate. */
  readonly emseId: string;
  /** Keys the EMKS keeps per subscriber. */
  readonly retain: number;
  /** Lifetime of a fetched key, seconds. */
  readonly keyTtl: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

function asObject(body: unknown): Json | undefined {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Json) : undefined;
}

/** The 201 answer of `GET /v1/e2m-keys`: `{e2mKey: 64 hex, kid, emseId, expiresAt: ISO}`. */
export function parseKeyAnswer(body: unknown, kid: string, emseId: string | undefined): { key: SecretBytes; expiresAt: number } {
  const bad = (what: string): EmksError => new EmksError('E_EMKS_ANSWER', `the EMKS answered 201 with ${what}`, 201);
  const b = asObject(body);
  if (b === undefined) throw bad('no JSON object');
  const { e2mKey, emseId: answered, expiresAt } = b;
  if (typeof e2mKey !== 'string' || !HEX64.test(e2mKey)) throw bad('an e2mKey that is not 64 lowercase hex digits');
  if (b['kid'] !== kid) throw bad(`kid '${String(b['kid']).slice(0, 16)}' instead of '${kid}'`);
  if (typeof answered !== 'string') throw bad('no emseId');
  if (emseId !== undefined && answered !== emseId) throw bad(`a key for EMSE_Id '${answered.slice(0, 40)}', not '${emseId}'`);
  const expires = typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number.NaN;
  if (!Number.isFinite(expires)) throw bad('no ISO 8601 expiresAt');
  return { key: new SecretBytes(Buffer.from(e2mKey, 'hex')), expiresAt: expires };
}

/** The 201 answer of `POST /v1/emse/register`: `{emseId, retain, keyTtl}`. */
export function parseRegistration(body: unknown): EmksRegistration {
  const bad = (what: string): EmksError => new EmksError('E_EMKS_ANSWER', `the EMKS answered the registration with ${what}`, 201);
  const b = asObject(body);
  if (b === undefined) throw bad('no JSON object');
  const { emseId, retain, keyTtl } = b;
  if (typeof emseId !== 'string' || emseId.length === 0) throw bad('no emseId');
  if (typeof retain !== 'number' || !Number.isInteger(retain) || retain < 1) throw bad('no positive integer retain');
  if (typeof keyTtl !== 'number' || !Number.isFinite(keyTtl) || keyTtl < 0) throw bad('no keyTtl in seconds');
  return { emseId, retain, keyTtl };
}

/** An error for an unexpected status, with the problem+json detail (or title) when there is one. */
export function statusError(call: string, res: JsonResponse): EmksError {
  const p = asObject(res.body);
  const text = typeof p?.['detail'] === 'string' ? p['detail'] : typeof p?.['title'] === 'string' ? p['title'] : '';
  const detail = text === '' ? '' : `: ${text.slice(0, 200)}`;
  if (res.status === 403) {
    return new EmksError('E_EMKS_FORBIDDEN', `${call} answered 403: the EMKS does not accept this certificate as an EMSE's${detail}`, 403);
  }
  return new EmksError('E_EMKS_STATUS', `${call} answered ${res.status}${detail}`, res.status);
}
