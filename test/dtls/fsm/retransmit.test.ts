import { describe, expect, it } from 'vitest';
import { checkRetransmitConfig, nextTimeout, RETRANSMIT_CONSTRAINED, RETRANSMIT_DEFAULT } from '../../../src/dtls/fsm/retransmit.js';

describe('retransmission timing (RFC 6347 §4.2.4.1)', () => {
  it('accepts the profiles', () => {
    expect(checkRetransmitConfig(RETRANSMIT_DEFAULT)).toBe(RETRANSMIT_DEFAULT);
    expect(checkRetransmitConfig(RETRANSMIT_CONSTRAINED)).toBe(RETRANSMIT_CONSTRAINED);
  });

  it.each(['initialMs', 'maxMs', 'handshakeTimeoutMs'] as const)('names %s when it is not a positive number', (field) => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => checkRetransmitConfig({ ...RETRANSMIT_DEFAULT, [field]: bad })).toThrow(`retransmit.${field}`);
    }
  });

  it('refuses a maximum below the initial timeout', () => {
    expect(() => checkRetransmitConfig({ initialMs: 2_000, maxMs: 1_000, handshakeTimeoutMs: 10_000 })).toThrow(RangeError);
  });

  it('doubles the timeout up to the maximum', () => {
    expect(nextTimeout(RETRANSMIT_DEFAULT, 1_000)).toBe(2_000);
    expect(nextTimeout(RETRANSMIT_DEFAULT, 40_000)).toBe(60_000);
  });
});
