/**
 * HelloVerifyRequest, RFC 6347 §4.2.1:
 *
 *   struct {
 *     ProtocolVersion server_version;
 *     opaque cookie<0..2^8-1>;
 *   } HelloVerifyRequest;
 *
 * server_version is normally DTLS 1.0 {254, 255} whatever version the server will negotiate
 * (RFC 6347 §4.2.1); the codec keeps whatever it finds.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';

/** Largest cookie (RFC 6347 §4.2.1). */
export const MAX_COOKIE_LENGTH = 255;

/** A HelloVerifyRequest. */
export interface HelloVerifyRequest {
  readonly serverVersion: number;
  readonly cookie: Uint8Array;
}

/** Decodes a HelloVerifyRequest body. Throws DecodeError if truncated or followed by trailing bytes. */
export function decodeHelloVerifyRequest(body: Uint8Array): Readonly<HelloVerifyRequest> {
  const r = new ByteReader(body, 'hello_verify_request');
  const serverVersion = r.u16('server_version');
  const cookie = r.vec8('cookie', 0, MAX_COOKIE_LENGTH);
  r.end();
  return { serverVersion, cookie };
}

/** Encodes a HelloVerifyRequest body. Throws RangeError if the cookie is longer than 255 octets. */
export function encodeHelloVerifyRequest(hvr: HelloVerifyRequest): Uint8Array {
  return new ByteWriter(3 + hvr.cookie.length).u16(hvr.serverVersion).vec8(hvr.cookie).finish();
}
