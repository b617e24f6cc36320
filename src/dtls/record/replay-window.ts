/**
 * Anti-replay window (RFC 6347 §4.1.2.6, after RFC 4303 §3.4.3): a 64-record sliding window over the
 * 48-bit sequence numbers of one epoch. A record is acceptable when it is newer than the highest
 * sequence number seen or falls inside the window unseen; the window moves only after the record's
 * AEAD tag has verified, so forged records cannot advance it.
 *
 * The bitmap is two 32-bit words (bit i = "top - i received"), exact for every sequence number up to
 * 2^48 - 1 since differences of such numbers are exact in a double.
 */

/** Window width in records (RFC 6347 §4.1.2.6 suggests at least 32; RFC 4303 recommends 64). */
export const REPLAY_WINDOW_SIZE = 64;

const MAX_SEQUENCE = 0xffff_ffff_ffff; // uint48 (RFC 6347 §4.1)
/** Below this, `seq | 0` is the same number as an unboxed small integer. */
const SMALL_INTEGER_MAX = 0x3fff_ffff;

/** The receive window of one epoch. */
export class ReplayWindow {
  /** Highest accepted sequence number, -1 before the first. */
  private top = -1;
  /** Bits 0..31 of the window (offsets 0..31 below top). */
  private lo = 0;
  /** Bits 32..63 of the window (offsets 32..63 below top). */
  private hi = 0;

  /** The highest sequence number accepted so far, or undefined. */
  get highest(): number | undefined {
    return this.top < 0 ? undefined : this.top;
  }

  /** Whether a record with sequence number `seq` would be accepted: not a duplicate, not too old. */
  check(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) return false;
    if (seq > this.top) return true;
    const offset = this.top - seq;
    if (offset >= REPLAY_WINDOW_SIZE) return false;
    return !this.isSet(offset);
  }

  /** Marks `seq` received; call only after check(seq) and after the record's tag verified. */
  accept(seq: number): void {
    if (!this.check(seq)) return;
    if (seq > this.top) {
      this.shift(this.top < 0 ? REPLAY_WINDOW_SIZE : seq - this.top);
      // A 48-bit number decoded from the wire is a boxed double even when small; stored as it is,
      // it would give `top` a heap box of its own in every window (memory per idle session).
      this.top = seq <= SMALL_INTEGER_MAX ? seq | 0 : seq;
      this.lo |= 1;
      return;
    }
    const offset = this.top - seq;
    if (offset < 32) this.lo |= 1 << offset;
    else this.hi |= 1 << (offset - 32);
  }

  /** Forgets everything (a new epoch starts with an empty window). */
  reset(): void {
    this.top = -1;
    this.lo = 0;
    this.hi = 0;
  }

  private isSet(offset: number): boolean {
    return offset < 32 ? (this.lo & (1 << offset)) !== 0 : (this.hi & (1 << (offset - 32))) !== 0;
  }

  /** Moves the window up by `n` ≥ 1 positions. */
  private shift(n: number): void {
    if (n >= REPLAY_WINDOW_SIZE) {
      this.lo = 0;
      this.hi = 0;
    } else if (n >= 32) {
      this.hi = this.lo << (n - 32);
      this.lo = 0;
    } else {
      this.hi = (this.hi << n) | (this.lo >>> (32 - n));
      this.lo = this.lo << n;
    }
  }
}
