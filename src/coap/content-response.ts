/**
 * The one CoAP message the EMSE's plain-GET path sends (RFC 7252 §3, §5.2): a 2.05 Content answering a
 * request, piggybacked on the ACK of a CON or sent as a NON, with the request's token, an optional
 * Content-Format option and the payload. Written straight into a caller's buffer; every other message
 * is node-coap's (coap-packet's encoder) to build.
 *
 *    0                   1                   2                   3
 *   |Ver| T |  TKL  |      Code     |          Message ID           |
 *   |   Token (TKL octets) ...  | Option (Content-Format) | 0xFF |  Payload ...
 */

/** Message types (RFC 7252 §3). */
const NON = 1;
const ACK = 2;
/** Code 2.05 Content: class 2, detail 05 (RFC 7252 §12.1.2). */
const CONTENT = (2 << 5) | 5;
/** Content-Format option number (RFC 7252 §5.10): the only option, so its delta is its number. */
const CONTENT_FORMAT = 12;
const PAYLOAD_MARKER = 0xff;
/** Longest token of RFC 7252 (TKL 0..8; the extended lengths of RFC 8974 are not written here). */
export const MAX_TOKEN_LENGTH = 8;

export interface ContentResponse {
  /** An ACK carrying the answer to a CON (true), or a NON. */
  readonly ack: boolean;
  readonly messageId: number;
  readonly token: Uint8Array;
  /** Content-Format number, 0..65535; none if undefined. */
  readonly contentFormat: number | undefined;
}

/** Octets of the message before its payload: header, token, option and the payload marker when there is a payload. */
export function contentResponseHeaderLength(r: ContentResponse, payloadLength: number): number {
  return 4 + r.token.length + optionLength(r.contentFormat) + (payloadLength > 0 ? 1 : 0);
}

/**
 * Writes the message's header, token, option and (for a payload) the marker into `out` from 0, and
 * returns where the payload goes. `out` must hold contentResponseHeaderLength() octets.
 */
export function writeContentResponseHeader(out: Uint8Array, r: ContentResponse, payloadLength: number): number {
  const tkl = r.token.length;
  if (tkl > MAX_TOKEN_LENGTH) throw new RangeError(`token of ${tkl} octets: at most ${MAX_TOKEN_LENGTH}`);
  if (!Number.isInteger(r.messageId) || r.messageId < 0 || r.messageId > 0xffff) throw new RangeError(`message ID ${r.messageId} out of range`);
  const cf = r.contentFormat;
  if (cf !== undefined && !(Number.isInteger(cf) && cf >= 0 && cf <= 0xffff)) throw new RangeError(`Content-Format ${cf} out of range`);
  out[0] = (1 << 6) | ((r.ack ? ACK : NON) << 4) | tkl;
  out[1] = CONTENT;
  out[2] = r.messageId >>> 8;
  out[3] = r.messageId & 0xff;
  out.set(r.token, 4);
  let at = 4 + tkl;
  if (cf !== undefined) {
    // A uint option value has no leading zero octets; 0 is the empty value (RFC 7252 §3.2).
    const length = optionLength(cf) - 1;
    out[at++] = (CONTENT_FORMAT << 4) | length;
    if (length === 2) out[at++] = cf >>> 8;
    if (length >= 1) out[at++] = cf & 0xff;
  }
  if (payloadLength > 0) out[at++] = PAYLOAD_MARKER;
  return at;
}

/** Octets of the Content-Format option: one for delta and length, then the value's octets. */
function optionLength(cf: number | undefined): number {
  if (cf === undefined) return 0;
  return cf === 0 ? 1 : cf < 0x100 ? 2 : 3;
}
