/**
 * The EMSE's small cache of EMKS answers: least recently used first out, every entry with its own
 * deadline on a monotonic clock. An entry holds a key, or undefined for a remembered 404.
 */
import type { Clock } from '../util/clock.js';
import type { SecretBytes } from '../util/secret.js';

interface Entry {
  /** undefined = the EMKS answered 404. */
  readonly key: SecretBytes | undefined;
  readonly until: number;
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The live entry for `id` (refreshing its recency), or undefined when absent or expired. */
  get(id: string): { key: SecretBytes | undefined } | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.entries.delete(id);
    if (entry.until <= this.clock.now()) return undefined;
    this.entries.set(id, entry);
    return entry;
  }

  /** Keeps `key` for `ttlMs` (nothing when ttlMs ≤ 0 or the capacity is 0), evicting the oldest. */
  set(id: string, key: SecretBytes | undefined, ttlMs: number): void {
    if (this.capacity === 0 || ttlMs <= 0) return;
    this.entries.delete(id);
    this.entries.set(id, { key, until: this.clock.now() + ttlMs });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
