/**
 * ServerHelloDone, RFC 5246 §7.4.5:
 *
 *   struct { } ServerHelloDone;
 */
import { ByteReader } from '../../util/bytes.js';

/** Checks a ServerHelloDone body is empty. Throws DecodeError otherwise. */
export function decodeServerHelloDone(body: Uint8Array): void {
  new ByteReader(body, 'server_hello_done').end();
}

/** The (empty) ServerHelloDone body. */
export function encodeServerHelloDone(): Uint8Array {
  return new Uint8Array(0);
}
