/**
 * ServerHello, RFC 5246 §7.4.1.3 (unchanged in DTLS 1.2, RFC 6347 §4.2.1):
 *
 *   struct {
 *     ProtocolVersion server_version;
 *     Random random;                                    // 32 octets
 *     SessionID session_id;                             // opaque SessionID<0..32>
 *     CipherSuite cipher_suite;
 *     CompressionMethod compression_method;
 *     select (extensions_present) {
 *       case false: struct {};
 *       case true:  Extension extensions<0..2^16-1>;
 *     };
 *   } ServerHello;
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { MAX_SESSION_ID_LENGTH, RANDOM_LENGTH } from './client-hello.js';
import { type Extension, readExtensions, writeExtensions } from './extensions.js';

/** A ServerHello. `extensions` is absent when the message has no extensions block at all. */
export interface ServerHello {
  readonly serverVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions?: readonly Extension[];
}

/** Decodes a ServerHello body. Throws DecodeError on any length violation or trailing byte. */
export function decodeServerHello(body: Uint8Array): Readonly<ServerHello> {
  const r = new ByteReader(body, 'server_hello');
  const serverVersion = r.u16('server_version');
  const random = r.bytes(RANDOM_LENGTH, 'random');
  const sessionId = r.vec8('session_id', 0, MAX_SESSION_ID_LENGTH);
  const cipherSuite = r.u16('cipher_suite');
  const compressionMethod = r.u8('compression_method');
  if (r.remaining === 0) return { serverVersion, random, sessionId, cipherSuite, compressionMethod };
  const extensions = readExtensions(r);
  r.end();
  return { serverVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
}

/** Encodes a ServerHello body. Throws RangeError if a field is out of its RFC range. */
export function encodeServerHello(hello: ServerHello): Uint8Array {
  if (hello.random.length !== RANDOM_LENGTH) throw new RangeError(`random must be ${RANDOM_LENGTH} octets`);
  if (hello.sessionId.length > MAX_SESSION_ID_LENGTH) throw new RangeError('session_id longer than 32 octets');
  const w = new ByteWriter(96);
  w.u16(hello.serverVersion).bytes(hello.random).vec8(hello.sessionId);
  w.u16(hello.cipherSuite).u8(hello.compressionMethod);
  if (hello.extensions !== undefined) writeExtensions(w, hello.extensions);
  return w.finish();
}
