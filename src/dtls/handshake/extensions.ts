/**
 * Hello extensions, RFC 5246 §7.4.1.4:
 *
 *   struct {
 *     ExtensionType extension_type;
 *     opaque extension_data<0..2^16-1>;
 *   } Extension;
 *
 *   Extension extensions<0..2^16-1>;      -- in ClientHello and ServerHello
 *
 * "There MUST NOT be more than one extension of the same type" (RFC 5246 §7.4.1.4): duplicates are a
 * decode error. Unknown extensions are kept raw. The typed helpers below encode and decode the
 * extension_data of the extensions this stack negotiates:
 *
 *   extended_master_secret, RFC 7627 §5.1:  extension_data is empty
 *   renegotiation_info, RFC 5746 §3.2:      struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo;
 *   record_size_limit, RFC 8449 §4:         uint16 RecordSizeLimit;
 *   connection_id, RFC 9146 §3:             struct { opaque cid<0..2^8-1>; } ConnectionId;
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { DecodeError } from '../../util/errors.js';
import { MAX_PLAINTEXT_LENGTH } from '../wire/constants.js';

/** One extension, `data` being the raw extension_data (a copy). */
export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Smallest record_size_limit a peer may send (RFC 8449 §4). */
export const MIN_RECORD_SIZE_LIMIT = 64;
/** Largest record_size_limit the encoder accepts: 2^14 + 1 (RFC 8449 §4; for (D)TLS 1.2 send at most 2^14). */
export const MAX_RECORD_SIZE_LIMIT = MAX_PLAINTEXT_LENGTH + 1;

/** The extension_data of every empty extension (a zero-length array holds nothing to share). */
const NO_DATA = new Uint8Array(0);
/** Up to this many extensions, duplicates are found by a scan. */
const SCAN_LIMIT = 16;

/**
 * Reads an `extensions<0..2^16-1>` vector at the reader's position (for the hello decoders, so that
 * error offsets are those of the whole message). Rejects duplicates and extensions that overrun it.
 */
export function readExtensions(r: ByteReader): Extension[] {
  const at = r.offset;
  const length = r.u16('extensions.length');
  if (length > r.remaining) {
    throw new DecodeError('extensions', at, `length ${length} exceeds the ${r.remaining} octets left`);
  }
  const end = r.offset + length;
  // Hellos carry a handful of extensions: a scan finds duplicates among the first few, and a Set
  // takes over for a long list, so that a hostile one still costs linear time.
  let seen: Set<number> | undefined;
  const out: Extension[] = [];
  while (r.offset < end) {
    const typeAt = r.offset;
    const type = r.u16('extension_type');
    const dataLength = r.u16('extension_data');
    const data = dataLength === 0 ? NO_DATA : r.bytes(dataLength, 'extension_data');
    if (r.offset > end) throw new DecodeError('extensions', typeAt, 'extension runs past the extensions vector');
    if (seen === undefined && out.length >= SCAN_LIMIT) seen = new Set(out.map((e) => e.type));
    if (seen !== undefined ? seen.has(type) : out.some((e) => e.type === type)) {
      throw new DecodeError('extensions', typeAt, `duplicate extension type ${type}`);
    }
    seen?.add(type);
    out.push({ type, data });
  }
  return out;
}

/** Whether one of list[0..i) has `type`. */
function typeBefore(list: readonly Extension[], i: number, type: number): boolean {
  for (let j = 0; j < i; j++) if ((list[j] as Extension).type === type) return true;
  return false;
}

/** Writes an `extensions<0..2^16-1>` vector. Throws RangeError on a duplicate type or an overflow. */
export function writeExtensions(w: ByteWriter, list: readonly Extension[]): void {
  const seen = list.length > SCAN_LIMIT ? new Set<number>() : undefined;
  let length = 0;
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as Extension;
    const duplicate = seen !== undefined ? seen.has(e.type) : typeBefore(list, i, e.type);
    if (duplicate) throw new RangeError(`duplicate extension type ${e.type} (RFC 5246 §7.4.1.4)`);
    seen?.add(e.type);
    if (e.data.length > 0xffff) throw new RangeError(`extension_data of ${e.data.length} octets exceeds 65535`);
    length += 4 + e.data.length;
  }
  // The vector's length is known up front: written straight into `w`, without an inner buffer.
  w.u16(length);
  for (const e of list) w.u16(e.type).vec16(e.data);
}

/** Decodes a whole `extensions<0..2^16-1>` vector, its two length octets included. */
export function decodeExtensions(bytes: Uint8Array): readonly Readonly<Extension>[] {
  const r = new ByteReader(bytes, 'extensions');
  const list = readExtensions(r);
  r.end();
  return list;
}

/** Encodes a whole `extensions<0..2^16-1>` vector, its two length octets included. */
export function encodeExtensions(list: readonly Extension[]): Uint8Array {
  const w = new ByteWriter();
  writeExtensions(w, list);
  return w.finish();
}

/** The extension of the given type, if present. */
export function findExtension(list: readonly Extension[] | undefined, type: number): Extension | undefined {
  return list?.find((e) => e.type === type);
}

/** extension_data of extended_master_secret: empty (RFC 7627 §5.1). */
export function encodeExtendedMasterSecret(): Uint8Array {
  return new Uint8Array(0);
}

/** Checks the extension_data of extended_master_secret is empty (RFC 7627 §5.1). */
export function decodeExtendedMasterSecret(data: Uint8Array): void {
  new ByteReader(data, 'extended_master_secret').end();
}

/** extension_data of renegotiation_info (RFC 5746 §3.2); empty `renegotiatedConnection` on a first handshake. */
export function encodeRenegotiationInfo(renegotiatedConnection: Uint8Array): Uint8Array {
  return new ByteWriter(1 + renegotiatedConnection.length).vec8(renegotiatedConnection).finish();
}

/** The renegotiated_connection of a renegotiation_info extension_data (RFC 5746 §3.2). */
export function decodeRenegotiationInfo(data: Uint8Array): Uint8Array {
  const r = new ByteReader(data, 'renegotiation_info');
  const renegotiatedConnection = r.vec8('renegotiated_connection');
  r.end();
  return renegotiatedConnection;
}

/** extension_data of record_size_limit; RangeError outside 64..2^14+1 (RFC 8449 §4). */
export function encodeRecordSizeLimit(limit: number): Uint8Array {
  if (!Number.isInteger(limit) || limit < MIN_RECORD_SIZE_LIMIT || limit > MAX_RECORD_SIZE_LIMIT) {
    throw new RangeError(`record_size_limit ${limit} outside ${MIN_RECORD_SIZE_LIMIT}..${MAX_RECORD_SIZE_LIMIT}`);
  }
  return new ByteWriter(2).u16(limit).finish();
}

/**
 * The RecordSizeLimit of a record_size_limit extension_data. Values below 64 are an error (RFC 8449 §4:
 * illegal_parameter). Larger values than the protocol maximum (2^14 for DTLS 1.2) are returned as sent:
 * "A server MUST NOT enforce this restriction" (RFC 8449 §4), so the caller clamps to what it may send.
 */
export function decodeRecordSizeLimit(data: Uint8Array): number {
  const r = new ByteReader(data, 'record_size_limit');
  const limit = r.u16('value');
  if (limit < MIN_RECORD_SIZE_LIMIT) {
    throw new DecodeError('record_size_limit.value', 0, `limit ${limit} below ${MIN_RECORD_SIZE_LIMIT}`);
  }
  r.end();
  return limit;
}

/** extension_data of connection_id (RFC 9146 §3); an empty `cid` means "send me no CID". */
export function encodeConnectionId(cid: Uint8Array): Uint8Array {
  return new ByteWriter(1 + cid.length).vec8(cid).finish();
}

/** The cid of a connection_id extension_data (RFC 9146 §3). */
export function decodeConnectionId(data: Uint8Array): Uint8Array {
  const r = new ByteReader(data, 'connection_id');
  const cid = r.vec8('cid');
  r.end();
  return cid;
}
