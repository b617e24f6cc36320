/**
 * DTLS record header, RFC 6347 §4.1:
 *
 *   struct {
 *     ContentType type;
 *     ProtocolVersion version;
 *     uint16 epoch;                       // New field
 *     uint48 sequence_number;             // New field
 *     uint16 length;
 *     opaque fragment[DTLSPlaintext.length];
 *   } DTLSPlaintext;                      // DTLSCiphertext has the same header
 *
 * and the Connection ID variant, RFC 9146 §4 (cid_length is not on the wire: the receiver knows it):
 *
 *   struct {
 *     ContentType outer_type = tls12_cid;
 *     ProtocolVersion version;
 *     uint16 epoch;
 *     uint48 sequence_number;
 *     opaque cid[cid_length];             // New field
 *     uint16 length;
 *     opaque enc_content[DTLSCiphertext.length];
 *   } DTLSCiphertext;
 *
 * Several records may share one datagram (RFC 6347 §4.1.1). Invalid records are silently discarded
 * (RFC 6347 §4.1.2.7), so `decodeRecords` counts them instead of throwing.
 */
import { ByteReader } from '../../util/bytes.js';
import { DecodeError } from '../../util/errors.js';
import { ContentType, MAX_CIPHERTEXT_LENGTH } from './constants.js';

/** Length of the record header without a connection ID (RFC 6347 §4.1). */
export const RECORD_HEADER_LENGTH = 13;
/** Largest sequence number, uint48 (RFC 6347 §4.1). */
const MAX_SEQUENCE = 0xffff_ffff_ffff;

/**
 * One DTLS record. A decoded record's `fragment` is a view into the datagram it came in (no copy per
 * record): valid while that datagram is left alone; whoever keeps a record beyond the call copies it.
 */
export interface DtlsRecord {
  /** ContentType (any octet; the record layer decides what it accepts). */
  readonly type: number;
  /** ProtocolVersion as a 16-bit value, e.g. DTLS12 = 0xfefd. */
  readonly version: number;
  readonly epoch: number;
  /** 48-bit sequence number, exact as a JS number. */
  readonly seq: number;
  /** Connection ID, present exactly when `type` is tls12_cid (RFC 9146 §4). */
  readonly cid?: Uint8Array;
  readonly fragment: Uint8Array;
}

/** Options of the record decoders. */
export interface RecordDecodeOptions {
  /**
   * Length of the connection ID this endpoint asked its peer to send (RFC 9146 §3). When absent,
   * a tls12_cid record is invalid.
   */
  readonly cidLength?: number;
}

/** Result of splitting a datagram: the records before the first invalid one, and how many were invalid. */
export interface DecodedRecords {
  readonly records: DtlsRecord[];
  /** 0, or 1 when decoding stopped at an invalid record (the rest of the datagram is dropped). */
  readonly malformed: number;
}

function readRecord(r: ByteReader, options: RecordDecodeOptions): DtlsRecord {
  const type = r.u8('type');
  const version = r.u16('version');
  const epoch = r.u16('epoch');
  const seq = r.u48('sequence_number');
  let cid: Uint8Array | undefined;
  if (type === ContentType.tls12_cid) {
    if (options.cidLength === undefined) throw new DecodeError('record.cid', r.offset, 'no connection ID negotiated');
    cid = r.bytes(options.cidLength, 'cid');
  }
  const lengthAt = r.offset;
  const length = r.u16('length');
  if (length > MAX_CIPHERTEXT_LENGTH) {
    throw new DecodeError('record.length', lengthAt, `length ${length} exceeds ${MAX_CIPHERTEXT_LENGTH}`);
  }
  const fragment = r.view(length, 'fragment');
  return cid === undefined ? { type, version, epoch, seq, fragment } : { type, version, epoch, seq, cid, fragment };
}

/**
 * Splits a datagram into records (RFC 6347 §4.1.1). Stops at the first invalid record (truncated,
 * length over 2^14 + 2048, or an unexpected tls12_cid) and reports it in `malformed`; never throws.
 */
export function decodeRecords(datagram: Uint8Array, options: RecordDecodeOptions = {}): DecodedRecords {
  const r = new ByteReader(datagram, 'record');
  const records: DtlsRecord[] = [];
  while (r.remaining > 0) {
    try {
      records.push(readRecord(r, options));
    } catch (e) {
      if (e instanceof DecodeError) return { records, malformed: 1 };
      throw e;
    }
  }
  return { records, malformed: 0 };
}

/** Decodes exactly one record; throws DecodeError if `bytes` is not one valid record. */
export function decodeRecord(bytes: Uint8Array, options: RecordDecodeOptions = {}): Readonly<DtlsRecord> {
  const r = new ByteReader(bytes, 'record');
  const record = readRecord(r, options);
  r.end();
  return record;
}

/**
 * Encodes one record. Throws RangeError when a field is out of range, the fragment is longer than
 * 2^14 + 2048, or `cid` is present without type tls12_cid (or the reverse).
 */
export function encodeRecord(record: DtlsRecord): Uint8Array {
  const fragment = record.fragment;
  if (fragment.length > MAX_CIPHERTEXT_LENGTH) {
    throw new RangeError(`record fragment of ${fragment.length} octets exceeds ${MAX_CIPHERTEXT_LENGTH}`);
  }
  if ((record.cid !== undefined) !== (record.type === ContentType.tls12_cid)) {
    throw new RangeError('a connection ID goes with content type tls12_cid and only with it (RFC 9146 §4)');
  }
  checkField(record.type, 0xff, 'type');
  checkField(record.version, 0xffff, 'version');
  checkField(record.epoch, 0xffff, 'epoch');
  checkField(record.seq, MAX_SEQUENCE, 'sequence_number');
  const cidLength = record.cid?.length ?? 0;
  // Written in place: one allocation, the encoded record itself.
  const out = new Uint8Array(RECORD_HEADER_LENGTH + cidLength + fragment.length);
  const hi = Math.floor(record.seq / 0x1_0000_0000);
  const lo = record.seq % 0x1_0000_0000;
  out[0] = record.type;
  out[1] = record.version >>> 8;
  out[2] = record.version & 0xff;
  out[3] = record.epoch >>> 8;
  out[4] = record.epoch & 0xff;
  out[5] = hi >>> 8;
  out[6] = hi & 0xff;
  out[7] = lo >>> 24;
  out[8] = (lo >>> 16) & 0xff;
  out[9] = (lo >>> 8) & 0xff;
  out[10] = lo & 0xff;
  let at = 11;
  if (record.cid !== undefined) {
    out.set(record.cid, at);
    at += cidLength;
  }
  out[at] = fragment.length >>> 8;
  out[at + 1] = fragment.length & 0xff;
  out.set(fragment, at + 2);
  return out;
}

function checkField(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`record ${name} ${value} out of range 0..${max}`);
}
