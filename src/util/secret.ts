/**
 * Typed secrets (STYLE.md 7). A SecretBytes prints, logs and serialises as `<secret:N bytes>`;
 * its value is reached only through `expose()`, so a secret reaches a log line only by an explicit call.
 */
import { inspect } from 'node:util';

const REDACTED = (n: number): string => `<secret:${n} bytes>`;

/** Key material that never prints itself. */
export class SecretBytes {
  readonly #value: Uint8Array;
  /** Octet count (public; an own property so that copies made by log redaction still print). */
  readonly length: number;

  /** Copies `value`: the caller may wipe or reuse its buffer. */
  constructor(value: Uint8Array) {
    this.#value = new Uint8Array(value);
    this.length = value.length;
  }

  /** The raw bytes (the same array each call: do not mutate). */
  expose(): Uint8Array {
    return this.#value;
  }

  /** Overwrites the bytes with zeros. */
  wipe(): void {
    this.#value.fill(0);
  }

  toString(): string {
    return REDACTED(this.length);
  }

  toJSON(): string {
    return REDACTED(this.length);
  }

  [inspect.custom](): string {
    return REDACTED(this.length);
  }
}

/** Accepts raw bytes or a SecretBytes and returns the raw bytes. */
export function exposeSecret(s: Uint8Array | SecretBytes): Uint8Array {
  return s instanceof SecretBytes ? s.expose() : s;
}
