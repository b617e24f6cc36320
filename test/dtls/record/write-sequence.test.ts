import { describe, expect, it } from 'vitest';
import { SequenceExhaustedError, WriteSequence } from '../../../src/dtls/record/write-sequence.js';

const MAX = 2 ** 48 - 1;

describe('WriteSequence (RFC 6347 §4.1)', () => {
  it('starts at 0 and counts up by one', () => {
    const s = new WriteSequence(0);
    expect(s.epoch).toBe(0);
    expect(s.peek()).toBe(0);
    expect([s.next(), s.next(), s.next()]).toEqual([0, 1, 2]);
    expect(s.peek()).toBe(3);
  });

  it('hands out 2^48-1 as the last number, then refuses', () => {
    const s = new WriteSequence(1, MAX - 1);
    expect(s.next()).toBe(MAX - 1);
    expect(s.exhausted).toBe(false);
    expect(s.next()).toBe(MAX);
    expect(s.exhausted).toBe(true);
    expect(s.peek()).toBeUndefined();
    expect(() => s.next()).toThrow(SequenceExhaustedError);
    try {
      s.next();
    } catch (e) {
      expect((e as SequenceExhaustedError).code).toBe('E_SEQUENCE_EXHAUSTED');
    }
  });

  it('nextEpoch starts the following epoch at 0', () => {
    const s = new WriteSequence(0, 17);
    const t = s.nextEpoch();
    expect(t.epoch).toBe(1);
    expect(t.next()).toBe(0);
    expect(s.next()).toBe(17);
    expect(() => new WriteSequence(0xffff).nextEpoch()).toThrow(SequenceExhaustedError);
  });

  it('rejects epochs and start values out of range', () => {
    expect(() => new WriteSequence(-1)).toThrow(RangeError);
    expect(() => new WriteSequence(0x10000)).toThrow(RangeError);
    expect(() => new WriteSequence(0, -1)).toThrow(RangeError);
    expect(() => new WriteSequence(0, 2 ** 48 + 1)).toThrow(RangeError);
    expect(() => new WriteSequence(0, 0.5)).toThrow(RangeError);
  });
});
