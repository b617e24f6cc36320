/**
 * The per-connection record layer (RFC 6347 §4.1): write epochs with their sequence counters and
 * ciphers, read epochs with their ciphers and 64-record replay windows, and packing of records into
 * datagrams no larger than the path MTU. Records that fail any check are reported as undefined and
 * counted by the caller; nothing here throws on peer input.
 */
import type { CipherState } from '../record/cipher-state.js';
import { protectRecord, recordOverhead, unprotectRecord } from '../record/protection.js';
import { ReplayWindow } from '../record/replay-window.js';
import { WriteSequence } from '../record/write-sequence.js';
import { DTLS12 } from '../wire/constants.js';
import { type DtlsRecord, encodeRecord, RECORD_HEADER_LENGTH } from '../wire/record.js';

interface ReadEpoch {
  readonly cipher: CipherState | undefined;
  readonly window: ReplayWindow;
}

interface WriteEpoch {
  readonly cipher: CipherState | undefined;
  readonly seq: WriteSequence;
}

export class RecordLayer {
  /** Index = epoch. DTLS 1.2 without renegotiation uses epochs 0 and 1 only. */
  // Two slots from the start: growing a one-element array to index 1 reserves 17 (memory per session).
  private readonly reads: (ReadEpoch | undefined)[] = [{ cipher: undefined, window: new ReplayWindow() }, undefined];
  private readonly writes: (WriteEpoch | undefined)[] = [{ cipher: undefined, seq: new WriteSequence(0) }, undefined];
  /** The epoch new records are sent in. */
  writeEpoch = 0;
  /** Why the last record given to open() was dropped ('auth' = its tag did not verify). */
  lastDrop: 'version' | 'epoch' | 'replay' | 'auth' | undefined;

  constructor(readonly mtu: number) {}

  /**
   * Starts our epoch-0 sequence numbers at `seq`. A server uses the sequence number of the
   * ClientHello that carried the cookie: its HelloVerifyRequest echoed the first ClientHello's
   * (RFC 6347 §4.2.1), and a peer's replay window would drop a later record that reused it.
   */
  startEpoch0At(seq: number): void {
    this.writes[0] = { cipher: undefined, seq: new WriteSequence(0, seq) };
  }

  /** Installs the cipher of `epoch` for reading (keys known: the record of that epoch can be opened). */
  setReadCipher(epoch: number, cipher: CipherState): void {
    this.reads[epoch] = { cipher, window: new ReplayWindow() };
  }

  /** Installs the cipher of `epoch` for writing. */
  setWriteCipher(epoch: number, cipher: CipherState): void {
    this.writes[epoch] = { cipher, seq: new WriteSequence(epoch) };
  }

  hasReadEpoch(epoch: number): boolean {
    return this.reads[epoch] !== undefined;
  }

  /** Drops the epoch-0 read state (the peer's epoch-0 records are then dropped as 'epoch'). */
  forgetRead0(): void {
    if (this.reads[1] !== undefined) this.reads[0] = undefined;
  }

  /** Drops epoch-0 state once the handshake is over and no epoch-0 record is needed any more. */
  forgetEpoch0(): void {
    if (this.reads[1] !== undefined) this.reads[0] = undefined;
    if (this.writes[1] !== undefined) this.writes[0] = undefined;
  }

  /** Octets a record of `epoch` adds to its payload (header plus AEAD overhead). */
  overhead(epoch: number): number {
    const w = this.writes[epoch];
    return RECORD_HEADER_LENGTH + (w?.cipher ? recordOverhead(w.cipher.suite) : 0);
  }

  /** Builds one encoded record of `type` carrying `payload` in `epoch` (default: the current write epoch). */
  seal(type: number, payload: Uint8Array, epoch = this.writeEpoch): Uint8Array {
    const w = this.writes[epoch];
    if (w === undefined) throw new RangeError(`no write state for epoch ${epoch}`);
    const seq = w.seq.next();
    const fragment = w.cipher ? protectRecord(w.cipher, type, epoch, seq, payload) : payload;
    return encodeRecord({ type, version: DTLS12, epoch, seq, fragment });
  }

  /**
   * Opens a received record: checks version, epoch, replay window and AEAD tag, and returns the
   * plaintext, or undefined when the record must be dropped. The window moves only after the tag
   * verified (RFC 6347 §4.1.2.6).
   */
  open(record: DtlsRecord): Uint8Array | undefined {
    // RFC 6347 §4.1: the first ClientHello may carry {254,255}; later records must be DTLS 1.2.
    if (record.version !== DTLS12 && !(record.epoch === 0 && record.version === 0xfeff)) return this.drop('version');
    const r = this.reads[record.epoch];
    if (r === undefined) return this.drop('epoch');
    if (!r.window.check(record.seq)) return this.drop('replay');
    const plain = r.cipher ? unprotectRecord(r.cipher, record.type, record.epoch, record.seq, record.fragment) : record.fragment;
    if (plain === undefined) return this.drop('auth');
    // Only an authenticated record moves the window (RFC 6347 §4.1.2.6). An epoch-0 record proves
    // nothing: a forged one with a far sequence number would make every real one look replayed.
    // Duplicate handshake messages in epoch 0 are the reassembler's to drop.
    if (r.cipher) r.window.accept(record.seq);
    this.lastDrop = undefined;
    return plain;
  }

  private drop(reason: NonNullable<RecordLayer['lastDrop']>): undefined {
    this.lastDrop = reason;
    return undefined;
  }

  /** Groups encoded records into datagrams of at most `mtu` octets, keeping their order. */
  pack(records: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    let current: Uint8Array[] = [];
    let size = 0;
    for (const rec of records) {
      if (size > 0 && size + rec.length > this.mtu) {
        out.push(joinRecords(current, size));
        current = [];
        size = 0;
      }
      current.push(rec);
      size += rec.length;
    }
    if (size > 0) out.push(joinRecords(current, size));
    return out;
  }
}

function joinRecords(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
