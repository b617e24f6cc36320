/**
 * Flight retransmission timing (RFC 6347 §4.2.4, §4.2.4.1): the timer starts at 1 s and doubles on
 * each expiry up to 60 s. RFC 7925 §11 suggests a longer initial value on constrained links; the
 * `constrained` profile starts at 9 s. The handshake gives up once `handshakeTimeoutMs` has passed
 * since it started; the last wait is cut short to end there.
 */

export interface RetransmitConfig {
  /** First retransmission timeout, ms (RFC 6347 §4.2.4.1: 1 s). */
  readonly initialMs: number;
  /** Upper bound of the doubling, ms (RFC 6347 §4.2.4.1: 60 s). */
  readonly maxMs: number;
  /** Total time a handshake may take before it fails, ms. */
  readonly handshakeTimeoutMs: number;
}

/** RFC 6347 defaults. */
export const RETRANSMIT_DEFAULT: RetransmitConfig = Object.freeze({
  initialMs: 1_000,
  maxMs: 60_000,
  handshakeTimeoutMs: 63_000,
});

/** For constrained links (RFC 7925 §11): 9 s initial timeout. */
export const RETRANSMIT_CONSTRAINED: RetransmitConfig = Object.freeze({
  initialMs: 9_000,
  maxMs: 60_000,
  handshakeTimeoutMs: 250_000,
});

/** Named profiles accepted by configuration (`--retransmit default|constrained`). */
export const RETRANSMIT_PROFILES = { default: RETRANSMIT_DEFAULT, constrained: RETRANSMIT_CONSTRAINED } as const;

function checkPositive(v: number, name: string): void {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`retransmit.${name} must be a positive number of ms`);
}

/** Checks a configuration; throws RangeError naming the bad field. */
export function checkRetransmitConfig(c: RetransmitConfig): RetransmitConfig {
  // Checked on every connect: the fields by name, without building an entries list each time.
  checkPositive(c.initialMs, 'initialMs');
  checkPositive(c.maxMs, 'maxMs');
  checkPositive(c.handshakeTimeoutMs, 'handshakeTimeoutMs');
  if (c.maxMs < c.initialMs) throw new RangeError('retransmit.maxMs must be >= retransmit.initialMs');
  return c;
}

/** The doubling timeout after `timeoutMs`, capped at the configured maximum. */
export function nextTimeout(c: RetransmitConfig, timeoutMs: number): number {
  return Math.min(timeoutMs * 2, c.maxMs);
}
