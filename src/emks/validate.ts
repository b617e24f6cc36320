/**
 * Validation of every field of the EMKS API (DESIGN.md §5, §9). Each check throws a 400 HttpProblem
 * whose detail names the field and never echoes the value (it may be a key).
 */
import { identityTextProblem } from '../kdf/identity.js';
import { fromHex } from '../util/bytes.js';
import { HttpProblem } from './http.js';

/** IMSI: 5..15 digits (contract; TS 23.003 §2.2 allows at most 15). */
export const IMSI_PATTERN = /^[0-9]{5,15}$/;
/** kid: 8 lowercase hex digits (DESIGN.md §3). */
export const KID_PATTERN = /^[0-9a-f]{8}$/;
/** The contract's bound: `e2m:<kid>:` (13 octets) plus 114 stays within the 128 octets of a psk_identity (RFC 7925). */
export const APP_IDENTITY_MAX_OCTETS = 114;

const bad = (field: string, why: string): HttpProblem => new HttpProblem(400, 'invalid-field', `${field}: ${why}`);

/** A printable field name for a message (a client-chosen key, so bounded and quoted). */
const shown = (name: string): string => JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);

/**
 * The body as an object with exactly the allowed members: unknown members, missing required ones
 * and anything but a JSON object are 400.
 */
export function bodyObject(
  body: unknown,
  required: readonly string[],
  optional: readonly string[] = [],
): Readonly<Record<string, unknown>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpProblem(400, 'invalid-body', 'the body must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!required.includes(name) && !optional.includes(name)) {
      throw new HttpProblem(400, 'unknown-field', `unknown field ${shown(name)} (allowed: ${[...required, ...optional].join(', ') || 'none'})`);
    }
  }
  for (const name of required) {
    if (!Object.hasOwn(record, name)) throw new HttpProblem(400, 'missing-field', `missing field "${name}"`);
  }
  return record;
}

/** IMSI: 5..15 decimal digits. */
export function imsiValue(v: unknown, field: string): string {
  if (typeof v !== 'string' || !IMSI_PATTERN.test(v)) throw bad(field, 'expected an IMSI of 5..15 digits');
  return v;
}

/** kid: 8 lowercase hex digits. */
export function kidValue(v: unknown, field: string): string {
  if (typeof v !== 'string' || !KID_PATTERN.test(v)) throw bad(field, 'expected a kid of 8 lowercase hex digits');
  return v;
}

/** Exactly `octets` octets as lowercase hex. */
export function hexValue(v: unknown, field: string, octets: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== octets * 2 || !/^[0-9a-f]*$/.test(v)) {
    throw bad(field, `expected ${octets * 2} lowercase hex digits`);
  }
  return fromHex(v, field, octets);
}

/** One of a fixed set of strings. */
export function choiceValue<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw bad(field, `expected one of ${choices.join(', ')}`);
  return v as T;
}

/** Application identity: non-empty NAI-like UTF-8 (RFC 7542 §2.2), at most 114 octets. */
export function appIdentityValue(v: unknown, field: string): string {
  const problem = identityTextProblem(v);
  if (problem !== undefined) throw bad(field, `application identity ${problem}`);
  const s = v as string;
  if (Buffer.byteLength(s, 'utf8') > APP_IDENTITY_MAX_OCTETS) {
    throw bad(field, `application identity longer than ${APP_IDENTITY_MAX_OCTETS} octets (psk_identity limit of RFC 7925)`);
  }
  return s;
}

// RFC 3339 §5.6 date-time (the ISO 8601 profile of the API): full date, full time, Z or an offset.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/i;

/** An RFC 3339 date-time, as milliseconds since the Unix epoch (sub-millisecond digits dropped). */
export function dateTimeValue(v: unknown, field: string): number {
  const m = typeof v === 'string' ? DATE_TIME.exec(v) : null;
  if (m === null) throw bad(field, 'expected an ISO 8601 date-time such as 2025-01-31T12:00:00Z');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetMin = m[8] !== undefined ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const dayOk = day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[8] !== undefined || (Number(m[10]) <= 23 && Number(m[11]) <= 59);
  if (year < 1970 || month < 1 || month > 12 || !dayOk || hour > 23 || minute > 59 || second > 59 || !offsetOk) {
    throw bad(field, 'not a valid date-time');
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMin * 60_000;
}
