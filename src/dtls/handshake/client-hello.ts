/**
 * ClientHello, RFC 6347 §4.2.1 (RFC 5246 §7.4.1.2 with a cookie):
 *
 *   struct {
 *     ProtocolVersion client_version;
 *     Random random;                                    // 32 octets
 *     SessionID session_id;                             // opaque SessionID<0..32>
 *     opaque cookie<0..2^8-1>;                          // New field
 *     CipherSuite cipher_suites<2..2^16-2>;             // uint8 CipherSuite[2]
 *     CompressionMethod compression_methods<1..2^8-1>;
 *     select (extensions_present) {
 *       case false: struct {};
 *       case true:  Extension extensions<0..2^16-1>;
 *     };
 *   } ClientHello;
 *
 * The codec is structural: whether null compression is offered or the version acceptable is decided
 * by the handshake, not here.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { DecodeError } from '../../util/errors.js';
import { type Extension, readExtensions, writeExtensions } from './extensions.js';

/** Length of Random (RFC 5246 §7.4.1.2). */
export const RANDOM_LENGTH = 32;
/** Largest SessionID (RFC 5246 §7.4.1.2). */
export const MAX_SESSION_ID_LENGTH = 32;

/** A ClientHello. `extensions` is absent when the message has no extensions block at all. */
export interface ClientHello {
  readonly clientVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cookie: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: readonly number[];
  readonly extensions?: readonly Extension[];
}

/** An empty session_id or cookie (a zero-length array holds nothing to share). */
const EMPTY = new Uint8Array(0);

/** opaque<min..max> with a one-octet length, copied (the shared EMPTY when empty). */
function opaque8(r: ByteReader, field: string, max: number): Uint8Array {
  const at = r.offset;
  const len = r.u8(field);
  if (len > max) throw new DecodeError(field, at, `length ${len} outside 0..${max}`);
  return len === 0 ? EMPTY : r.bytes(len, field);
}

function readCipherSuites(r: ByteReader): number[] {
  const at = r.offset;
  const len = r.u16('cipher_suites');
  if (len < 2 || len > 0xfffe) throw new DecodeError('cipher_suites', at, `length ${len} outside 2..65534`);
  if (len % 2 !== 0) throw new DecodeError('cipher_suites', at, `odd length ${len}`);
  // Read in place: only the numbers are kept.
  const list = r.view(len, 'cipher_suites');
  const out = new Array<number>(len / 2);
  for (let i = 0; i < len; i += 2) out[i / 2] = ((list[i] as number) << 8) | (list[i + 1] as number);
  return out;
}

function readCompressionMethods(r: ByteReader): number[] {
  const at = r.offset;
  const len = r.u8('compression_methods');
  if (len < 1) throw new DecodeError('compression_methods', at, `length ${len} outside 1..255`);
  const list = r.view(len, 'compression_methods');
  const out = new Array<number>(len);
  for (let i = 0; i < len; i++) out[i] = list[i] as number;
  return out;
}

/** Decodes a ClientHello body. Throws DecodeError on any length violation or trailing byte. */
export function decodeClientHello(body: Uint8Array): Readonly<ClientHello> {
  const r = new ByteReader(body, 'client_hello');
  const clientVersion = r.u16('client_version');
  const random = r.bytes(RANDOM_LENGTH, 'random');
  const sessionId = opaque8(r, 'session_id', MAX_SESSION_ID_LENGTH);
  const cookie = opaque8(r, 'cookie', 0xff);
  const cipherSuites = readCipherSuites(r);
  const compressionMethods = readCompressionMethods(r);
  if (r.remaining === 0) return { clientVersion, random, sessionId, cookie, cipherSuites, compressionMethods };
  const extensions = readExtensions(r);
  r.end();
  return { clientVersion, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
}

/** Encodes a ClientHello body. Throws RangeError if a field is out of its RFC range. */
export function encodeClientHello(hello: ClientHello): Uint8Array {
  if (hello.random.length !== RANDOM_LENGTH) throw new RangeError(`random must be ${RANDOM_LENGTH} octets`);
  if (hello.sessionId.length > MAX_SESSION_ID_LENGTH) throw new RangeError('session_id longer than 32 octets');
  const n = hello.cipherSuites.length;
  if (n < 1 || n > 0x7fff) throw new RangeError(`cipher_suites must hold 1..32767 suites, got ${n}`);
  const m = hello.compressionMethods.length;
  if (m < 1 || m > 0xff) throw new RangeError(`compression_methods must hold 1..255 methods, got ${m}`);
  const w = new ByteWriter(128);
  w.u16(hello.clientVersion).bytes(hello.random).vec8(hello.sessionId).vec8(hello.cookie);
  w.u16(2 * n);
  for (const suite of hello.cipherSuites) w.u16(suite);
  w.u8(m);
  for (const method of hello.compressionMethods) w.u8(method);
  if (hello.extensions !== undefined) writeExtensions(w, hello.extensions);
  return w.finish();
}
