/**
 * The per-connection record layer (RFC 6347 §4.1): write epochs with their sequence counters and
 * ciphers, read epochs with their ciphers and the 64-record replay window, and packing of records
 * into datagrams no larger than the path MTU. Records that fail any check are reported as undefined
 * and counted by the caller; nothing here throws on peer input.
 *
 * DTLS 1.2 without renegotiation has two epochs: 0 (no protection) and 1 (the negotiated keys).
 * Their state is held in plain fields rather than one object per epoch, since every established
 * session keeps a record layer (memory per idle session).
 */
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import type { CipherState } from '../record/cipher-state.js';
import { recordOverhead, releaseCipherState, sealRecord, unprotectRecord } from '../record/protection.js';
import { ReplayWindow } from '../record/replay-window.js';
import { isSequenceNumber, takeSequence } from '../record/write-sequence.js';
import { DTLS12 } from '../wire/constants.js';
import { type DtlsRecord, encodeRecord, RECORD_HEADER_LENGTH } from '../wire/record.js';

/** A write counter with no write state behind it (the epoch is not set up, or was forgotten). */
const NO_WRITE = -1;

export class RecordLayer {
  /** The epoch new records are sent in. */
  writeEpoch = 0;
  /** Why the last record given to open() was dropped ('auth' = its tag did not verify). */
  lastDrop: 'version' | 'epoch' | 'replay' | 'auth' | undefined = undefined;
  /** Whether epoch-0 records are still read. */
  private read0 = true;
  /** Epoch 1 for reading: its cipher and replay window, both set once the keys are known. */
  private readCipher: CipherState | undefined = undefined;
  private window: ReplayWindow | undefined = undefined;
  /** Next sequence number of write epochs 0 and 1, NO_WRITE where there is no write state. */
  private writeSeq0 = 0;
  private writeSeq1 = NO_WRITE;
  private writeCipher: CipherState | undefined = undefined;

  constructor(readonly mtu: number) {}

  /**
   * Starts our epoch-0 sequence numbers at `seq`. A server uses the sequence number of the
   * ClientHello that carried the cookie: its HelloVerifyRequest echoed the first ClientHello's
   * (RFC 6347 §4.2.1), and a peer's replay window would drop a later record that reused it.
   */
  startEpoch0At(seq: number): void {
    if (!isSequenceNumber(seq)) throw new RangeError(`sequence number ${seq} out of range`);
    // A decoded 48-bit number may be a boxed double even when small; an integer keeps the field unboxed.
    this.writeSeq0 = seq <= 0x3fff_ffff ? seq | 0 : seq;
  }

  /** Installs the cipher of `epoch` (1) for reading: records of that epoch can then be opened. */
  setReadCipher(epoch: number, cipher: CipherState): void {
    checkCipherEpoch(epoch);
    this.readCipher = cipher;
    this.window = new ReplayWindow();
  }

  /** Installs the cipher of `epoch` (1) for writing; its sequence numbers start at 0. */
  setWriteCipher(epoch: number, cipher: CipherState): void {
    checkCipherEpoch(epoch);
    this.writeCipher = cipher;
    this.writeSeq1 = 0;
  }

  /** The suite protecting epoch 1, once its write keys are installed. */
  get suite(): CipherSuite | undefined {
    return this.writeCipher?.suite;
  }

  hasReadEpoch(epoch: number): boolean {
    return epoch === 0 ? this.read0 : epoch === 1 && this.readCipher !== undefined;
  }

  /** Lets go of the keyed CCM contexts of both directions (the connection ended or went quiet). */
  release(): void {
    if (this.readCipher !== undefined) releaseCipherState(this.readCipher);
    if (this.writeCipher !== undefined) releaseCipherState(this.writeCipher);
  }

  /** Drops the epoch-0 read state (the peer's epoch-0 records are then dropped as 'epoch'). */
  forgetRead0(): void {
    if (this.readCipher !== undefined) this.read0 = false;
  }

  /** Drops epoch-0 state once the handshake is over and no epoch-0 record is needed any more. */
  forgetEpoch0(): void {
    this.forgetRead0();
    if (this.writeCipher !== undefined) this.writeSeq0 = NO_WRITE;
  }

  /** Octets a record of `epoch` adds to its payload (header plus AEAD overhead). */
  overhead(epoch: number): number {
    const cipher = epoch === 1 ? this.writeCipher : undefined;
    return RECORD_HEADER_LENGTH + (cipher ? recordOverhead(cipher.suite) : 0);
  }

  /** Builds one encoded record of `type` carrying `payload` in `epoch` (default: the current write epoch). */
  seal(type: number, payload: Uint8Array, epoch = this.writeEpoch): Uint8Array {
    const next = epoch === 0 ? this.writeSeq0 : epoch === 1 ? this.writeSeq1 : NO_WRITE;
    if (next === NO_WRITE) throw new RangeError(`no write state for epoch ${epoch}`);
    const seq = takeSequence(epoch, next);
    if (epoch === 0) this.writeSeq0 = seq + 1;
    else this.writeSeq1 = seq + 1;
    const cipher = epoch === 1 ? this.writeCipher : undefined;
    if (cipher !== undefined) return sealRecord(cipher, type, epoch, seq, payload);
    return encodeRecord({ type, version: DTLS12, epoch, seq, fragment: payload });
  }

  /**
   * Opens a received record: checks version, epoch, replay window and AEAD tag, and returns the
   * plaintext, or undefined when the record must be dropped. The window moves only after the tag
   * verified (RFC 6347 §4.1.2.6).
   */
  open(record: DtlsRecord): Uint8Array | undefined {
    // RFC 6347 §4.1: the first ClientHello may carry {254,255}; later records must be DTLS 1.2.
    if (record.version !== DTLS12 && !(record.epoch === 0 && record.version === 0xfeff)) return this.drop('version');
    if (record.epoch === 0) {
      if (!this.read0) return this.drop('epoch');
      // An epoch-0 record proves nothing, so it has no replay window: a forged one with a far
      // sequence number would make every real one look replayed. Duplicate handshake messages in
      // epoch 0 are the reassembler's to drop.
      this.lastDrop = undefined;
      return record.fragment;
    }
    const cipher = this.readCipher;
    const window = this.window;
    if (record.epoch !== 1 || cipher === undefined || window === undefined) return this.drop('epoch');
    if (!window.check(record.seq)) return this.drop('replay');
    const plain = unprotectRecord(cipher, record.type, record.epoch, record.seq, record.fragment);
    if (plain === undefined) return this.drop('auth');
    // Only an authenticated record moves the window (RFC 6347 §4.1.2.6).
    window.accept(record.seq);
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

/** Keys exist for epoch 1 only: e2m never renegotiates, so no later epoch is ever set up. */
function checkCipherEpoch(epoch: number): void {
  if (epoch !== 1) throw new RangeError(`epoch ${epoch}: only epoch 1 carries keys (no renegotiation)`);
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
