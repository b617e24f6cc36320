/**
 * A flight kept for retransmission (RFC 6347 §4.2.4) in one compact string.
 *
 * A server keeps its last flight (ChangeCipherSpec, Finished) for as long as the client may send
 * flight 5 again, well after the session is established. As objects (an array, an item per message,
 * a Uint8Array and its ArrayBuffer per body) that flight costs some 360 octets per session on a
 * 64-bit Node; as one latin1 string of the items' bytes, about 40. Retransmission is rare, so the
 * items are decoded again only then, and every record gets fresh sequence numbers as before.
 *
 * Layout, per item: content type (1: change_cipher_spec 20 or handshake 22), epoch (2); for a
 * handshake message then msg_type (1), message_seq (2), body length (3) and the body.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { ContentType } from '../wire/constants.js';

/** One element of a flight: a handshake message or a ChangeCipherSpec, with the epoch it goes in. */
export type FlightItem =
  | { readonly kind: 'handshake'; readonly epoch: number; readonly msgType: number; readonly messageSeq: number; readonly body: Uint8Array }
  | { readonly kind: 'ccs'; readonly epoch: number };

/** Encodes `items` as one string (latin1: one char per octet). */
export function packFlight(items: readonly FlightItem[]): string {
  let size = 0;
  for (const item of items) size += item.kind === 'ccs' ? 3 : 9 + item.body.length;
  const w = new ByteWriter(size);
  for (const item of items) {
    if (item.kind === 'ccs') {
      w.u8(ContentType.change_cipher_spec).u16(item.epoch);
      continue;
    }
    w.u8(ContentType.handshake).u16(item.epoch).u8(item.msgType).u16(item.messageSeq).vec24(item.body);
  }
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Decodes a string made by packFlight. */
export function unpackFlight(packed: string): FlightItem[] {
  const b = Buffer.from(packed, 'latin1');
  // A plain Uint8Array view, so that the bodies read from it are copies (Buffer#slice would alias).
  const r = new ByteReader(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), 'packed flight');
  const items: FlightItem[] = [];
  while (r.remaining > 0) {
    const type = r.u8('type');
    const epoch = r.u16('epoch');
    if (type === ContentType.change_cipher_spec) {
      items.push({ kind: 'ccs', epoch });
      continue;
    }
    const msgType = r.u8('msg_type');
    const messageSeq = r.u16('message_seq');
    items.push({ kind: 'handshake', epoch, msgType, messageSeq, body: r.vec24('body') });
  }
  return items;
}
