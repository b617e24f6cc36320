/**
 * Byte handling (STYLE.md 1): one bounds-checked reader, one growable writer, hex helpers.
 * All wire codecs read through ByteReader so that a short or malformed input throws DecodeError
 * and nothing else.
 */
import { ConfigError, DecodeError } from './errors.js';

/**
 * `n` uninitialised octets from Node's buffer pool, as a plain Uint8Array (so that slice() copies, as
 * callers of a Uint8Array expect; Buffer's slice() is a view). A small `new Uint8Array(n)` lives in the
 * JavaScript heap until something takes its `.buffer`, as every Buffer view of it and every socket
 * send does; it then moves out to a native allocation of its own. A pooled one shares an allocation
 * with its neighbours from the start. Every octet must be written before it is read. Only for data
 * that is soon dropped (a record on its way to the socket): anything kept pins its whole pool (8 KiB).
 */
export function pooledBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** Bounds-checked big-endian reader over a Uint8Array. */
export class ByteReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what = 'input',
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): number {
    if (n > this.buf.length - this.pos) throw new DecodeError(`${this.what}.${field}`, this.pos);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number {
    const at = this.need(1, field);
    return this.buf[at] as number;
  }

  u16(field: string): number {
    const at = this.need(2, field);
    return ((this.buf[at] as number) << 8) | (this.buf[at + 1] as number);
  }

  u24(field: string): number {
    const at = this.need(3, field);
    return ((this.buf[at] as number) << 16) | ((this.buf[at + 1] as number) << 8) | (this.buf[at + 2] as number);
  }

  u32(field: string): number {
    const at = this.need(4, field);
    return (
      (this.buf[at] as number) * 0x1000000 +
      (((this.buf[at + 1] as number) << 16) | ((this.buf[at + 2] as number) << 8) | (this.buf[at + 3] as number))
    );
  }

  /** 48-bit unsigned integer (DTLS record sequence number), exact as a JS number. */
  u48(field: string): number {
    const hi = this.u16(field);
    const lo = this.u32(field);
    return hi * 0x1_0000_0000 + lo;
  }

  /** `n` bytes, copied (a view of the input must not outlive it: STYLE.md 7), also out of a Buffer. */
  bytes(n: number, field: string): Uint8Array {
    const at = this.need(n, field);
    return Uint8Array.prototype.slice.call(this.buf, at, at + n);
  }

  /** `n` bytes as a view into the input (no copy): only for data consumed at once. */
  view(n: number, field: string): Uint8Array {
    const at = this.need(n, field);
    return this.buf.subarray(at, at + n);
  }

  /** opaque<0..2^8-1>: one length octet then that many bytes (copied). */
  vec8(field: string, min = 0, max = 0xff): Uint8Array {
    const start = this.pos;
    const len = this.u8(field);
    if (len < min || len > max) throw new DecodeError(field, start, `length ${len} outside ${min}..${max}`);
    return this.bytes(len, field);
  }

  /** opaque<0..2^16-1>: two length octets then that many bytes (copied). */
  vec16(field: string, min = 0, max = 0xffff): Uint8Array {
    const start = this.pos;
    const len = this.u16(field);
    if (len < min || len > max) throw new DecodeError(field, start, `length ${len} outside ${min}..${max}`);
    return this.bytes(len, field);
  }

  /** opaque<0..2^24-1>: three length octets then that many bytes (copied). */
  vec24(field: string, min = 0, max = 0xffffff): Uint8Array {
    const start = this.pos;
    const len = this.u24(field);
    if (len < min || len > max) throw new DecodeError(field, start, `length ${len} outside ${min}..${max}`);
    return this.bytes(len, field);
  }

  /** The rest of the input (copied). */
  rest(field: string): Uint8Array {
    return this.bytes(this.remaining, field);
  }

  /** Rejects trailing bytes. */
  end(): void {
    if (this.pos !== this.buf.length) throw new DecodeError(`${this.what}.end`, this.pos, 'trailing bytes');
  }
}

/** Growable big-endian writer. */
export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private checkRange(value: number, max: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`${what} value ${value} out of range 0..${max}`);
    }
  }

  u8(v: number): this {
    this.checkRange(v, 0xff, 'u8');
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.checkRange(v, 0xffff, 'u16');
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u24(v: number): this {
    this.checkRange(v, 0xffffff, 'u24');
    this.ensure(3);
    this.buf[this.pos++] = v >>> 16;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.checkRange(v, 0xffffffff, 'u32');
    this.ensure(4);
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u48(v: number): this {
    this.checkRange(v, 0xffff_ffff_ffff, 'u48');
    this.u16(Math.floor(v / 0x1_0000_0000));
    return this.u32(v % 0x1_0000_0000);
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  vec8(b: Uint8Array): this {
    return this.u8(b.length).bytes(b);
  }

  vec16(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }

  vec24(b: Uint8Array): this {
    return this.u24(b.length).bytes(b);
  }

  /** The bytes written so far (a fresh copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Lowercase hex of `b`. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Parses hex, strictly: even length, hex digits only, and (if given) exactly `length` octets.
 * `name` is the flag or field reported in the ConfigError.
 */
export function fromHex(hex: string, name: string, length?: number): Uint8Array {
  if (typeof hex !== 'string') throw new ConfigError(name, 'expected a hex string');
  const s = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (s.length % 2 !== 0) throw new ConfigError(name, `odd number of hex digits (${s.length})`);
  if (!HEX_RE.test(s)) throw new ConfigError(name, 'not a hex string');
  const out = new Uint8Array(Buffer.from(s, 'hex'));
  if (length !== undefined && out.length !== length) {
    throw new ConfigError(name, `expected ${length} octets (${length * 2} hex digits), got ${out.length}`);
  }
  return out;
}

/** Concatenation of byte strings into a new array. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytewise XOR of two equal-length arrays. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xor of unequal lengths ${a.length} and ${b.length}`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** UTF-8 encoding of a string. */
export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** Non-constant-time equality, for public values only (secrets: crypto's timingSafeEqual). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
