/**
 * The HSS's subscriber file (contract: hss-sim): a JSON array of
 *   {"imsi","k","opc","amf","sqn","identities":["sensor-17@iot.example.com"]}
 * with hex values; `sqn` is the last SQN the HSS used (12 hex digits, TS 33.102 §6.3.7: 48 bits).
 * Every field is checked and a bad one raises a ConfigError naming it, e.g. `subscribers[2].opc`.
 */
import { readFileSync } from 'node:fs';
import { sqnToBigInt } from '../aka/index.js';
import { identityTextProblem } from '../kdf/index.js';
import { ConfigError, fromHex, SecretBytes } from '../util/index.js';

/** IMSI: 5..15 decimal digits (TS 23.003 §2.2 caps it at 15; the contract's lower bound is 5). */
export const IMSI_RE = /^[0-9]{5,15}$/;

/**
 * An application identity is at most 114 octets, so that `e2m:<8 hex kid>:<identity>` fits the
 * 128 octets of a psk_identity (RFC 7925 §4.2; DESIGN.md §4).
 */
export const APP_IDENTITY_MAX_OCTETS = 114;

/** AMF used when a subscriber entry has none: the "separation bit" set, as E-UTRAN requires (TS 33.401 §6.1.1). */
export const DEFAULT_AMF = Uint8Array.of(0x80, 0x00);

/** One subscriber of the HSS/AuC. */
export interface Subscriber {
  readonly imsi: string;
  /** Subscriber key K, 16 octets. */
  readonly k: SecretBytes;
  /** OPc, 16 octets. */
  readonly opc: SecretBytes;
  /** AMF, 2 octets, or undefined for the HSS's default. */
  readonly amf: Uint8Array | undefined;
  /** The last SQN used for this subscriber (SQN_HE). */
  readonly sqn: bigint;
  /** Application identities mapped to this IMSI at the EMKS. */
  readonly identities: readonly string[];
}

const FIELDS = new Set(['imsi', 'k', 'opc', 'amf', 'sqn', 'identities']);

/** Why `s` is not an acceptable application identity, or undefined. */
export function appIdentityProblem(s: unknown): string | undefined {
  const problem = identityTextProblem(s);
  if (problem !== undefined) return problem;
  const octets = Buffer.byteLength(s as string, 'utf8');
  if (octets > APP_IDENTITY_MAX_OCTETS) return `${octets} octets, over ${APP_IDENTITY_MAX_OCTETS}`;
  return undefined;
}

function hexField(value: unknown, name: string, octets: number): Uint8Array {
  const re = new RegExp(`^[0-9a-fA-F]{${octets * 2}}$`);
  if (typeof value !== 'string' || !re.test(value)) throw new ConfigError(name, `expected ${octets * 2} hex digits`);
  return fromHex(value, name, octets);
}

function parseImsi(value: unknown, name: string): string {
  if (typeof value !== 'string' || !IMSI_RE.test(value)) throw new ConfigError(name, 'expected a string of 5..15 digits');
  return value;
}

function parseIdentities(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) throw new ConfigError(name, 'expected an array of application identities');
  const seen = new Set<string>();
  return value.map((id: unknown, j) => {
    const problem = appIdentityProblem(id);
    if (problem !== undefined) throw new ConfigError(`${name}[${j}]`, `not a valid application identity: ${problem}`);
    const text = id as string;
    if (seen.has(text)) throw new ConfigError(`${name}[${j}]`, 'listed twice');
    seen.add(text);
    return text;
  });
}

function parseEntry(entry: unknown, at: string): Subscriber {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(at, 'expected an object');
  const e = entry as Record<string, unknown>;
  for (const f of Object.keys(e)) {
    if (!FIELDS.has(f)) throw new ConfigError(`${at}.${f}`, `unknown field (expected ${[...FIELDS].join(', ')})`);
  }
  const imsi = parseImsi(e['imsi'], `${at}.imsi`);
  const k = new SecretBytes(hexField(e['k'], `${at}.k`, 16));
  const opc = new SecretBytes(hexField(e['opc'], `${at}.opc`, 16));
  const amf = e['amf'] === undefined ? undefined : hexField(e['amf'], `${at}.amf`, 2);
  const sqn = sqnToBigInt(hexField(e['sqn'], `${at}.sqn`, 6), `${at}.sqn`);
  const identities = parseIdentities(e['identities'] ?? [], `${at}.identities`);
  return { imsi, k, opc, amf, sqn, identities };
}

/**
 * Checks a parsed subscriber file. Rejects a non-array, an empty list, unknown fields, bad values,
 * a repeated IMSI and an identity given to two subscribers. `name` prefixes the field paths.
 */
export function parseSubscribers(json: unknown, name = 'subscribers'): Subscriber[] {
  if (!Array.isArray(json)) throw new ConfigError(name, 'expected a JSON array of subscribers');
  if (json.length === 0) throw new ConfigError(name, 'the list is empty');
  const imsis = new Map<string, number>();
  const identities = new Map<string, string>();
  return json.map((entry: unknown, i) => {
    const at = `${name}[${i}]`;
    const s = parseEntry(entry, at);
    const first = imsis.get(s.imsi);
    if (first !== undefined) throw new ConfigError(`${at}.imsi`, `duplicate of ${name}[${first}].imsi`);
    imsis.set(s.imsi, i);
    s.identities.forEach((id, j) => {
      const owner = identities.get(id);
      if (owner !== undefined) throw new ConfigError(`${at}.identities[${j}]`, `already given to ${owner}`);
      identities.set(id, `${name}[${i}]`);
    });
    return s;
  });
}

/** Reads and checks the subscriber file `path`; `option` names the flag for read and JSON errors. */
export function loadSubscribers(path: string, option = '--subscribers'): Subscriber[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(option, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(option, `${path} is not valid JSON (${(err as Error).message})`);
  }
  return parseSubscribers(json);
}
