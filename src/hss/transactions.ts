/**
 * Pending attach transactions: one per challenge sent, consumed by the UE's answer (RES or AUTS).
 * XRES and e2m_int_key are SecretBytes, wiped when the transaction ends. The table is bounded in
 * time (TTL) and size (the oldest is dropped first), so a flood of attaches cannot grow it.
 */
import type { Clock } from '../util/clock.js';
import type { SecretBytes } from '../util/secret.js';

/** A challenge the HSS is waiting for an answer to. */
export interface Transaction {
  /** 32 lowercase hex: the id in /v1/attach/{txn}. */
  readonly id: string;
  readonly imsi: string;
  readonly rand: Uint8Array;
  readonly kid: string;
  readonly xres: SecretBytes;
  /** e2m_int_key, kept to push it again at success if the first push failed. */
  readonly intKey: SecretBytes;
  /** Whether the EMKS acknowledged the push of intKey. */
  pushed: boolean;
  /** Clock time of creation, ms. */
  readonly createdAt: number;
}

/** Why a transaction left the table. */
export type EndReason = 'answered' | 'expired' | 'evicted' | 'closed';

/** The pending transactions, in creation order. */
export class TransactionTable {
  readonly #byId = new Map<string, Transaction>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #onEnd: (t: Transaction, reason: EndReason) => void;

  constructor(o: { ttlMs: number; max: number; clock: Clock; onEnd?: (t: Transaction, reason: EndReason) => void }) {
    this.#ttlMs = o.ttlMs;
    this.#max = o.max;
    this.#clock = o.clock;
    this.#onEnd = o.onEnd ?? (() => undefined);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Adds `t`, first dropping expired entries and, if still full, the oldest ones. */
  add(t: Transaction): void {
    this.#sweep();
    for (const oldest of this.#byId.values()) {
      if (this.#byId.size < this.#max) break;
      this.#end(oldest, 'evicted');
    }
    this.#byId.set(t.id, t);
  }

  /** Removes and returns the live transaction `id` (undefined if unknown or expired). */
  take(id: string): Transaction | undefined {
    const t = this.#byId.get(id);
    if (t === undefined) return undefined;
    this.#byId.delete(id);
    if (this.#expired(t)) {
      this.#end(t, 'expired');
      return undefined;
    }
    return t;
  }

  /** Ends `t` after it was taken and answered: wipes its secrets. */
  finish(t: Transaction): void {
    this.#byId.delete(t.id);
    t.xres.wipe();
    t.intKey.wipe();
    this.#onEnd(t, 'answered');
  }

  /** Ends every transaction (server shutdown). */
  clear(): void {
    for (const t of [...this.#byId.values()]) this.#end(t, 'closed');
  }

  #expired(t: Transaction): boolean {
    return this.#clock.now() - t.createdAt >= this.#ttlMs;
  }

  #sweep(): void {
    for (const t of this.#byId.values()) {
      // Creation order is insertion order: the first live one ends the sweep.
      if (!this.#expired(t)) break;
      this.#end(t, 'expired');
    }
  }

  #end(t: Transaction, reason: EndReason): void {
    this.#byId.delete(t.id);
    t.xres.wipe();
    t.intKey.wipe();
    this.#onEnd(t, reason);
  }
}
