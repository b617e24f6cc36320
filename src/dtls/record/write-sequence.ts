/**
 * The sending side's record counter rules (RFC 6347 §4.1): sequence numbers start at 0 in each epoch,
 * increase by one per record and must never wrap (RFC 5246 §6.1); at 2^48 - 1 the epoch is exhausted
 * and the connection has to be closed (e2m refuses renegotiation).
 *
 * The counters themselves are plain numbers in the record layer that owns them: one object per
 * epoch and connection would cost every idle session tens of bytes (memory per idle session).
 */
import { StackError } from '../../util/errors.js';

/** Largest sequence number, uint48 (RFC 6347 §4.1). */
export const MAX_SEQUENCE = 0xffff_ffff_ffff;

/** Thrown when an epoch has used all its sequence numbers. */
export class SequenceExhaustedError extends StackError {
  constructor(message: string) {
    super('E_SEQUENCE_EXHAUSTED', message);
  }
}

/** Whether `seq` is a sequence number a counter may start at (0 .. 2^48 - 1). */
export function isSequenceNumber(seq: number): boolean {
  return Number.isInteger(seq) && seq >= 0 && seq <= MAX_SEQUENCE;
}

/**
 * The sequence number the next record of `epoch` carries when its counter stands at `next`
 * (the caller then sets the counter to the result + 1). Throws SequenceExhaustedError once
 * 2^48 - 1 has been used.
 */
export function takeSequence(epoch: number, next: number): number {
  if (next > MAX_SEQUENCE) throw new SequenceExhaustedError(`epoch ${epoch}: sequence numbers exhausted`);
  return next;
}
