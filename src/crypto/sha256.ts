/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104) for the many short inputs of the DTLS key
 * schedule, on @noble/hashes.
 *
 * The TLS 1.2 PRF makes two HMACs per 32 octets of output, all under one key (RFC 5246 §5), and a
 * full handshake needs a dozen of them plus the transcript hashes. Through node:crypto each costs a
 * native handle, Buffer views and a digest Buffer, several times what the three or four compression
 * calls of the HMAC cost. Here a keyed HMAC keeps its inner and outer states (the "precomputed"
 * intermediate results of RFC 2104 §4) and every MAC starts from a copy of them into one reusable
 * instance, so the key blocks are compressed once per key and a MAC allocates nothing. Long inputs
 * belong to node:crypto (primitives.ts).
 */
import { hmac, type _HMAC } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** Octets of a digest. */
export const SHA256_LENGTH = 32;

type Hash = ReturnType<typeof sha256.create>;
type Mac = _HMAC<Hash>;

/** An incremental SHA-256. */
export class Sha256 {
  private h: Hash = sha256.create();

  /** Starts a new message. */
  reset(): this {
    this.h.destroy();
    this.h = sha256.create();
    return this;
  }

  update(data: Uint8Array): this {
    this.h.update(data);
    return this;
  }

  /** Makes `target` a copy of this hasher (to take a digest and go on hashing). */
  copyInto(target: Sha256): Sha256 {
    target.h = this.h._cloneInto(target.h);
    return target;
  }

  /** Writes the digest to out[at..at+32). The hasher must be reset() before it takes another message. */
  digestInto(out: Uint8Array, at = 0): void {
    this.h.digestInto(out.subarray(at, at + SHA256_LENGTH));
  }

  digest(): Uint8Array {
    const out = new Uint8Array(SHA256_LENGTH);
    this.digestInto(out, 0);
    return out;
  }

  /** Overwrites the state and any buffered input with zeros; the hasher then starts a new message. */
  wipe(): void {
    this.reset();
  }
}

const NO_DATA = new Uint8Array(0);

/**
 * HMAC-SHA-256 under one key (RFC 2104 §2): H(K ⊕ opad ‖ H(K ⊕ ipad ‖ text)). The states after the
 * K ⊕ ipad and K ⊕ opad blocks are computed once, by rekey(); they are as secret as the key, so
 * wipe() them when done.
 */
export class HmacSha256 {
  private keyed: Mac;
  /** Where each MAC runs, from a copy of `keyed`: no allocation per MAC. */
  private readonly work: Mac;

  constructor(key: Uint8Array) {
    this.keyed = hmac.create(sha256, key);
    this.work = this.keyed._cloneInto();
  }

  /** Switches to another key (the previous key's states are destroyed). */
  rekey(key: Uint8Array): void {
    this.keyed.destroy();
    this.keyed = hmac.create(sha256, key);
  }

  /** HMAC(K, a ‖ b ‖ c) into out[at..at+32). `out` may overlap the inputs: they are read first. */
  macInto(out: Uint8Array, at: number, a: Uint8Array, b: Uint8Array = NO_DATA, c: Uint8Array = NO_DATA): void {
    const w = this.keyed._cloneInto(this.work);
    w.update(a);
    if (b.length > 0) w.update(b);
    if (c.length > 0) w.update(c);
    w.digestInto(out.subarray(at, at + SHA256_LENGTH));
  }

  /** HMAC(K, a ‖ b ‖ c) as a new array. */
  mac(a: Uint8Array, b?: Uint8Array, c?: Uint8Array): Uint8Array {
    const out = new Uint8Array(SHA256_LENGTH);
    this.macInto(out, 0, a, b, c);
    return out;
  }

  /** Overwrites the keyed states and the last MAC's intermediate values. */
  wipe(): void {
    this.keyed.destroy();
    this.work.destroy();
  }
}
