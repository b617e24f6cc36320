/**
 * Handshake message header, RFC 6347 §4.2.2:
 *
 *   struct {
 *     HandshakeType msg_type;
 *     uint24 length;
 *     uint16 message_seq;                               // New field
 *     uint24 fragment_offset;                           // New field
 *     uint24 fragment_length;                           // New field
 *     select (HandshakeType) { ... } body;              // the fragment's bytes
 *   } Handshake;
 *
 * A record may carry several handshake fragments (RFC 6347 §4.2.3). The transcript hash covers each
 * message as if it had been sent as one fragment (RFC 6347 §4.2.6): see `fullMessageBytes`.
 */
import { ByteReader } from '../../util/bytes.js';
import { DecodeError } from '../../util/errors.js';

/** Length of the DTLS handshake header (RFC 6347 §4.2.2). */
export const HANDSHAKE_HEADER_LENGTH = 12;

/** Largest value of a uint24 length field. */
const MAX_U24 = 0xffffff;

/** What an encoder needs: `fragment_length` is taken from `body.length`. */
export interface HandshakeFragmentFields {
  readonly msgType: number;
  /** Length of the whole message body. */
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  /** This fragment's bytes of the message body. */
  readonly body: Uint8Array;
}

/** One decoded handshake fragment. `body` is a copy and `fragmentLength === body.length`. */
export interface HandshakeFragment extends HandshakeFragmentFields {
  readonly fragmentLength: number;
}

function readFragment(r: ByteReader): HandshakeFragment {
  const msgType = r.u8('msg_type');
  const length = r.u24('length');
  const messageSeq = r.u16('message_seq');
  const offsetAt = r.offset;
  const fragmentOffset = r.u24('fragment_offset');
  const fragmentLength = r.u24('fragment_length');
  if (fragmentOffset + fragmentLength > length) {
    throw new DecodeError(
      'handshake.fragment_offset',
      offsetAt,
      `fragment ${fragmentOffset}+${fragmentLength} ends past message length ${length}`,
    );
  }
  const body = r.bytes(fragmentLength, 'body');
  return { msgType, length, messageSeq, fragmentOffset, fragmentLength, body };
}

/**
 * Decodes the handshake fragments of one record (at least one; RFC 5246 §6.2.1 forbids empty
 * handshake records). Throws DecodeError if any fragment is truncated or ends past its message.
 */
export function decodeHandshakeFragments(recordFragment: Uint8Array): Readonly<HandshakeFragment>[] {
  const r = new ByteReader(recordFragment, 'handshake');
  if (r.remaining === 0) throw new DecodeError('handshake.msg_type', 0, 'empty handshake record');
  const out: HandshakeFragment[] = [];
  while (r.remaining > 0) out.push(readFragment(r));
  return out;
}

function checkField(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} out of range 0..${max}`);
}

/** Encodes one handshake fragment. Throws RangeError if it ends past `length` or a field overflows. */
export function encodeHandshakeFragment(f: HandshakeFragmentFields): Uint8Array {
  const n = f.body.length;
  if (f.length > MAX_U24 || f.fragmentOffset + n > f.length) {
    throw new RangeError(`fragment ${f.fragmentOffset}+${n} does not fit message length ${f.length}`);
  }
  checkField(f.msgType, 0xff, 'msg_type');
  checkField(f.length, MAX_U24, 'length');
  checkField(f.messageSeq, 0xffff, 'message_seq');
  checkField(f.fragmentOffset, MAX_U24, 'fragment_offset');
  // Written in place: one allocation, the encoded fragment itself.
  const out = new Uint8Array(HANDSHAKE_HEADER_LENGTH + n);
  out[0] = f.msgType;
  out[1] = f.length >>> 16;
  out[2] = (f.length >>> 8) & 0xff;
  out[3] = f.length & 0xff;
  out[4] = f.messageSeq >>> 8;
  out[5] = f.messageSeq & 0xff;
  out[6] = f.fragmentOffset >>> 16;
  out[7] = (f.fragmentOffset >>> 8) & 0xff;
  out[8] = f.fragmentOffset & 0xff;
  out[9] = n >>> 16;
  out[10] = (n >>> 8) & 0xff;
  out[11] = n & 0xff;
  out.set(f.body, HANDSHAKE_HEADER_LENGTH);
  return out;
}

/**
 * The message encoded as a single fragment (fragment_offset 0, fragment_length = length): the bytes
 * that enter the transcript hash (RFC 6347 §4.2.6).
 */
export function fullMessageBytes(msgType: number, messageSeq: number, body: Uint8Array): Uint8Array {
  return encodeHandshakeFragment({ msgType, length: body.length, messageSeq, fragmentOffset: 0, body });
}

/**
 * Splits a message into encoded fragments whose bodies hold at most `maxFragmentBody` octets
 * (RFC 6347 §4.2.3). An empty body gives one empty fragment. Each fragment is encoded separately,
 * so the caller can pack them into records as the PMTU allows.
 */
export function fragmentHandshake(
  msgType: number,
  messageSeq: number,
  body: Uint8Array,
  maxFragmentBody: number,
): Uint8Array[] {
  if (!Number.isInteger(maxFragmentBody) || maxFragmentBody < 1) {
    throw new RangeError(`maxFragmentBody must be a positive integer, got ${maxFragmentBody}`);
  }
  const out: Uint8Array[] = [];
  let offset = 0;
  do {
    const end = Math.min(offset + maxFragmentBody, body.length);
    out.push(
      encodeHandshakeFragment({
        msgType,
        length: body.length,
        messageSeq,
        fragmentOffset: offset,
        body: offset === 0 && end === body.length ? body : body.subarray(offset, end),
      }),
    );
    offset = end;
  } while (offset < body.length);
  return out;
}
