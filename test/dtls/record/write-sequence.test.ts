import { describe, expect, it } from 'vitest';
import { isSequenceNumber, MAX_SEQUENCE, SequenceExhaustedError, takeSequence } from '../../../src/dtls/record/write-sequence.js';

const MAX = 2 ** 48 - 1;

describe('write sequence numbers (RFC 6347 §4.1)', () => {
  it('the largest sequence number is 2^48 - 1', () => {
    expect(MAX_SEQUENCE).toBe(MAX);
  });

  it('hands out the counter as it stands, up to 2^48 - 1', () => {
    expect(takeSequence(0, 0)).toBe(0);
    expect(takeSequence(1, 17)).toBe(17);
    expect(takeSequence(1, MAX)).toBe(MAX);
  });

  it('refuses past 2^48 - 1 with E_SEQUENCE_EXHAUSTED, naming the epoch', () => {
    expect(() => takeSequence(1, MAX + 1)).toThrow(SequenceExhaustedError);
    try {
      takeSequence(1, MAX + 1);
      expect.unreachable();
    } catch (e) {
      expect((e as SequenceExhaustedError).code).toBe('E_SEQUENCE_EXHAUSTED');
      expect((e as Error).message).toContain('epoch 1');
    }
  });

  it('accepts as a start value exactly the integers 0 .. 2^48 - 1', () => {
    expect([0, 1, MAX].map(isSequenceNumber)).toEqual([true, true, true]);
    expect([-1, MAX + 1, 0.5, Number.NaN, Infinity].map(isSequenceNumber)).toEqual([false, false, false, false, false]);
  });
});
