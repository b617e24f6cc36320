/**
 * The sending side's record counter for one epoch (RFC 6347 §4.1): sequence numbers start at 0 in
 * each epoch, increase by one per record and must never wrap (RFC 5246 §6.1); at 2^48 - 1 the epoch
 * is exhausted and the connection has to be closed (e2m refuses renegotiation).
 */
import { StackError } from '../../util/errors.js';

/** Largest epoch, uint16 (RFC 6347 §4.1). */
const MAX_EPOCH = 0xffff;
/** Largest sequence number, uint48 (RFC 6347 §4.1). */
const MAX_SEQUENCE = 0xffff_ffff_ffff;

/** Thrown when an epoch has used all its sequence numbers or no further epoch exists. */
export class SequenceExhaustedError extends StackError {
  constructor(message: string) {
    super('E_SEQUENCE_EXHAUSTED', message);
  }
}

/** Next sequence number to send in one epoch. */
export class WriteSequence {
  readonly epoch: number;
  private nextSeq: number;

  /** `start` is for tests and resumed state; a new epoch starts at 0. */
  constructor(epoch: number, start = 0) {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new RangeError(`epoch ${epoch} out of range`);
    if (!Number.isInteger(start) || start < 0 || start > MAX_SEQUENCE + 1) {
      throw new RangeError(`sequence number ${start} out of range`);
    }
    this.epoch = epoch;
    this.nextSeq = start;
  }

  /** The sequence number the next record will carry (not consumed). */
  peek(): number | undefined {
    return this.nextSeq > MAX_SEQUENCE ? undefined : this.nextSeq;
  }

  /** Whether every sequence number of this epoch has been used. */
  get exhausted(): boolean {
    return this.nextSeq > MAX_SEQUENCE;
  }

  /** Consumes and returns the next sequence number; throws SequenceExhaustedError after 2^48 - 1. */
  next(): number {
    if (this.nextSeq > MAX_SEQUENCE) {
      throw new SequenceExhaustedError(`epoch ${this.epoch}: sequence numbers exhausted`);
    }
    return this.nextSeq++;
  }

  /** A fresh counter for the following epoch (after ChangeCipherSpec, RFC 6347 §4.1). */
  nextEpoch(): WriteSequence {
    if (this.epoch >= MAX_EPOCH) throw new SequenceExhaustedError('epoch numbers exhausted');
    return new WriteSequence(this.epoch + 1);
  }
}
