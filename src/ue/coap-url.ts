/**
 * coaps URIs (RFC 7252 §6.2, §6.4), Content-Format names (RFC 7252 §12.3, IANA CoAP
 * Content-Formats registry) and response code names (RFC 7252 §12.1.2) as the UE uses them.
 */
import { ConfigError } from '../util/errors.js';

/** RFC 7252 §6.2: the default port of coaps. */
export const COAPS_DEFAULT_PORT = 5684;

/** A coaps URI decomposed into the options of a request (RFC 7252 §6.4). */
export interface CoapsTarget {
  /** Host name or address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Uri-Path segments, percent-decoded. */
  readonly path: readonly string[];
  /** Uri-Query arguments, percent-decoded. */
  readonly query: readonly string[];
}

/**
 * Parses `coaps://HOST[:PORT]/PATH[?QUERY]` (RFC 7252 §6.4). Only coaps: the UE talks to an EMSE
 * over DTLS and never in the clear. A fragment is refused (§6.4 step 4). ConfigError names `option`.
 */
export function parseCoapsUrl(value: string, option = 'url'): CoapsTarget {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(option, `not a URL: '${value}' (expected coaps://HOST:PORT/PATH)`);
  }
  if (url.protocol !== 'coaps:') throw new ConfigError(option, `only coaps:// is supported, got ${url.protocol}//`);
  if (url.hash !== '' || value.includes('#')) throw new ConfigError(option, 'must not have a fragment (RFC 7252 §6.4)');
  if (url.username !== '' || url.password !== '') throw new ConfigError(option, 'must not carry user information');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ConfigError(option, 'has no host');
  const port = url.port === '' ? COAPS_DEFAULT_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(option, `port must be 1..65535`);
  return { host, port, path: segments(url.pathname, '/', option), query: segments(url.search.replace(/^\?/, ''), '&', option) };
}

/** Splits on `sep` and percent-decodes each non-empty part (RFC 7252 §6.5 steps 8-9). */
function segments(text: string, sep: string, option: string): string[] {
  const out: string[] = [];
  for (const part of text.split(sep)) {
    if (part === '') continue;
    try {
      out.push(decodeURIComponent(part));
    } catch {
      throw new ConfigError(option, `bad percent-encoding in '${part}'`);
    }
    if (Buffer.byteLength(out[out.length - 1] as string, 'utf8') > 255) throw new ConfigError(option, `'${part}' is longer than 255 octets (RFC 7252 §5.10)`);
  }
  return out;
}

/** Content-Format numbers by name (IANA "CoAP Content-Formats"). */
export const CONTENT_FORMATS: Readonly<Record<string, number>> = Object.freeze({
  'text/plain': 0,
  'application/link-format': 40,
  'application/xml': 41,
  'application/octet-stream': 42,
  'application/exi': 47,
  'application/json': 50,
  'application/cbor': 60,
  'application/senml+json': 110,
  'application/senml+cbor': 112,
});

/** A Content-Format given by name or number (0..65535, RFC 7252 §12.3); ConfigError names `option`. */
export function parseContentFormat(value: string | number, option = 'contentFormat'): number {
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(option, 'must be 0..65535');
    return n;
  }
  const n = CONTENT_FORMATS[value.trim().toLowerCase()];
  if (n === undefined) throw new ConfigError(option, `unknown format '${value}' (use a number or one of ${Object.keys(CONTENT_FORMATS).join(', ')})`);
  return n;
}

/** Formats whose payload is text (printed as such; anything else is printed as hex). */
const TEXT_FORMATS = new Set([0, 40, 41, 50, 110]);

/** Whether a payload of Content-Format `format` (a number, node-coap's name, or none) is text. */
export function isTextFormat(format: string | number | undefined, payload: Uint8Array): boolean {
  if (format === undefined) return isPrintableUtf8(payload);
  const n = typeof format === 'number' ? format : CONTENT_FORMATS[format.split(';')[0]?.trim() ?? ''];
  return n !== undefined && TEXT_FORMATS.has(n) && isPrintableUtf8(payload);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isPrintableUtf8(b: Uint8Array): boolean {
  try {
    // Control characters other than tab, LF and CR make a payload binary for display purposes.
    return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(strictUtf8.decode(b));
  } catch {
    return false;
  }
}

/** RFC 7252 §12.1.2 (and RFC 7959 §2.9 for 2.31, 4.08, 4.13) response code names. */
const CODE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  '2.01': 'Created',
  '2.02': 'Deleted',
  '2.03': 'Valid',
  '2.04': 'Changed',
  '2.05': 'Content',
  '2.31': 'Continue',
  '4.00': 'Bad Request',
  '4.01': 'Unauthorized',
  '4.02': 'Bad Option',
  '4.03': 'Forbidden',
  '4.04': 'Not Found',
  '4.05': 'Method Not Allowed',
  '4.06': 'Not Acceptable',
  '4.08': 'Request Entity Incomplete',
  '4.12': 'Precondition Failed',
  '4.13': 'Request Entity Too Large',
  '4.15': 'Unsupported Content-Format',
  '5.00': 'Internal Server Error',
  '5.01': 'Not Implemented',
  '5.02': 'Bad Gateway',
  '5.03': 'Service Unavailable',
  '5.04': 'Gateway Timeout',
  '5.05': 'Proxying Not Supported',
});

/** "2.05 Content", or just the code when it has no registered name. */
export function describeCoapCode(code: string): string {
  const name = CODE_NAMES[code];
  return name === undefined ? code : `${code} ${name}`;
}
