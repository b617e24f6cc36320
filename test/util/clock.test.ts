import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';

describe('ManualClock', () => {
  it('fires timers in due order, including timers set by timers, and skips cancelled ones', () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(10, () => {
      fired.push(`a@${clock.now()}`);
      clock.setTimer(5, () => fired.push(`a2@${clock.now()}`));
    });
    const c = clock.setTimer(20, () => fired.push('c'));
    c.cancel();
    clock.advance(25);
    expect(fired).toEqual(['a@110', 'a2@115']);
    expect(clock.now()).toBe(125);
    clock.advance(5);
    expect(fired).toEqual(['a@110', 'a2@115', 'b@130']);
    expect(clock.pending).toBe(0);
  });
});
