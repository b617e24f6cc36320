import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SIZE, ReplayWindow } from '../../../src/dtls/record/replay-window.js';

const MAX = 2 ** 48 - 1;

/** check-then-accept, as the record layer does after a tag verified. */
function receive(w: ReplayWindow, seq: number): boolean {
  if (!w.check(seq)) return false;
  w.accept(seq);
  return true;
}

describe('ReplayWindow (RFC 6347 §4.1.2.6)', () => {
  it('is 64 records wide', () => expect(REPLAY_WINDOW_SIZE).toBe(64));

  it('accepts the first record whatever its number, including 0 and 2^48-1', () => {
    expect(receive(new ReplayWindow(), 0)).toBe(true);
    expect(receive(new ReplayWindow(), 12345)).toBe(true);
    expect(receive(new ReplayWindow(), MAX)).toBe(true);
  });

  it('accepts in-order records and rejects each one a second time', () => {
    const w = new ReplayWindow();
    for (let s = 0; s < 200; s++) expect(receive(w, s), `seq ${s}`).toBe(true);
    for (let s = 136; s < 200; s++) expect(w.check(s), `dup ${s}`).toBe(false);
    expect(w.highest).toBe(199);
  });

  it('check does not move the window; only accept does', () => {
    const w = new ReplayWindow();
    expect(w.check(5)).toBe(true);
    expect(w.check(5)).toBe(true);
    expect(w.highest).toBeUndefined();
    w.accept(5);
    expect(w.check(5)).toBe(false);
  });

  it('accepts out-of-order records inside the window, once', () => {
    const w = new ReplayWindow();
    expect(receive(w, 100)).toBe(true);
    for (const s of [99, 37, 60, 80, 98, 64]) expect(receive(w, s), `seq ${s}`).toBe(true);
    for (const s of [99, 37, 60, 80, 98, 64, 100]) expect(w.check(s), `dup ${s}`).toBe(false);
    for (const s of [38, 63, 65, 97]) expect(w.check(s), `unseen ${s}`).toBe(true);
  });

  it('rejects records older than the window', () => {
    const w = new ReplayWindow();
    receive(w, 100);
    expect(w.check(37)).toBe(true); // 100 - 63: last slot of the window
    expect(w.check(36)).toBe(false); // 100 - 64: just outside
    expect(w.check(0)).toBe(false);
  });

  it('keeps the bits of both 32-bit halves across shifts of every size', () => {
    for (let shift = 1; shift <= 70; shift++) {
      const w = new ReplayWindow();
      for (let s = 1000; s < 1064; s++) receive(w, s);
      receive(w, 1063 + shift);
      // Every old number is now either a duplicate inside the window or older than it.
      for (let s = 1000; s < 1064; s++) expect(w.check(s), `shift ${shift} seq ${s}`).toBe(false);
      // Unseen numbers between the old top and the new one are acceptable while inside the window.
      for (let s = 1064; s < 1063 + shift; s++) {
        expect(w.check(s), `shift ${shift} gap ${s}`).toBe(1063 + shift - s < 64);
      }
    }
  });

  it('after a shift, only the received numbers still in the window are duplicates', () => {
    const w = new ReplayWindow();
    const got = [0, 1, 2, 31, 32, 33, 62, 63];
    for (const s of got) receive(w, s);
    receive(w, 40 + 63); // top = 103: window is 40..103
    for (let s = 0; s <= 103; s++) {
      const expected = s >= 40 && s !== 103 && !got.includes(s);
      expect(w.check(s), `seq ${s}`).toBe(expected);
    }
  });

  it('handles a huge jump: the old window is forgotten', () => {
    const w = new ReplayWindow();
    for (let s = 0; s < 64; s++) receive(w, s);
    expect(receive(w, 2 ** 40)).toBe(true);
    expect(w.check(63)).toBe(false);
    expect(w.check(2 ** 40 - 1)).toBe(true);
    expect(w.check(2 ** 40 - 63)).toBe(true);
    expect(w.check(2 ** 40 - 64)).toBe(false);
  });

  it('is exact near 2^48', () => {
    const w = new ReplayWindow();
    receive(w, MAX - 100);
    expect(receive(w, MAX - 1)).toBe(true);
    expect(receive(w, MAX - 3)).toBe(true);
    expect(w.check(MAX - 1)).toBe(false);
    expect(w.check(MAX - 2)).toBe(true);
    expect(w.check(MAX - 3)).toBe(false);
    expect(w.check(MAX - 64)).toBe(true); // offset 63 from MAX-1
    expect(w.check(MAX - 65)).toBe(false); // offset 64
    expect(receive(w, MAX)).toBe(true);
    expect(w.check(MAX)).toBe(false);
    expect(w.check(MAX - 1)).toBe(false);
    expect(w.check(MAX - 2)).toBe(true);
    expect(w.check(MAX - 64)).toBe(false); // offset 64 from MAX
  });

  it('rejects numbers that are not uint48', () => {
    const w = new ReplayWindow();
    for (const s of [-1, 2 ** 48, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(w.check(s), String(s)).toBe(false);
    w.accept(-1);
    w.accept(2 ** 48);
    expect(w.highest).toBeUndefined();
  });

  it('reset empties the window', () => {
    const w = new ReplayWindow();
    receive(w, 10);
    w.reset();
    expect(w.highest).toBeUndefined();
    expect(w.check(10)).toBe(true);
    expect(w.check(0)).toBe(true);
  });

  it('agrees with a set-based model on a pseudo-random sequence', () => {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = -1;
    let x = 0x12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const s = Math.max(0, top + (x % 90) - 70);
      const model = !seen.has(s) && (top < 0 || s > top || top - s < 64);
      expect(w.check(s), `step ${i} seq ${s}`).toBe(model);
      if (model) {
        w.accept(s);
        seen.add(s);
        top = Math.max(top, s);
      }
    }
  });
});
