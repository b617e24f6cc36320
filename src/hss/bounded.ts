/**
 * Bounded waits on the EMKS: every call the HSS makes is raced against a timer of the injected
 * clock, so a hung EMKS can delay an attach answer by at most the bound, never block it.
 */
import type { Clock } from '../util/clock.js';
import { StackError } from '../util/errors.js';

/** The outcome of a bounded call: its value, or the error code and message (never a secret). */
export type Bounded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly error: unknown };

/** Runs `call`, settling after at most `ms` of `clock` time with code E_EMKS_TIMEOUT. */
export function bounded<T>(clock: Clock, ms: number, call: () => Promise<T>): Promise<Bounded<T>> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: Bounded<T>): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(r);
    };
    const timer = clock.setTimer(ms, () => {
      const error = new StackError('E_EMKS_TIMEOUT', `no answer from the EMKS within ${ms} ms`);
      settle({ ok: false, code: error.code, message: error.message, error });
    });
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => settle({ ok: true, value }),
      (error: unknown) =>
        settle({
          ok: false,
          code: error instanceof StackError ? error.code : 'E_EMKS',
          message: error instanceof Error ? error.message : String(error),
          error,
        }),
    );
  });
}

/** Resolves after `ms` of `clock` time, or at once when `signal` fires. */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
