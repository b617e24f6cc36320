/**
 * The project's only door to node:crypto (DESIGN.md §10): AES block, HMAC-SHA-256, SHA-256,
 * randomness and constant-time comparison. Every function takes and returns Uint8Array.
 */
import * as nodeCrypto from 'node:crypto';

function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function checkLength(b: Uint8Array, n: number, name: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new RangeError(`${name} must be ${n} octets, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
}

/** AES-128 encryption of one 16-octet block (the Milenage kernel, TS 35.206 §3). */
export function aes128EncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  checkLength(key, 16, 'AES-128 key');
  checkLength(block, 16, 'AES block');
  const c = nodeCrypto.createCipheriv('aes-128-ecb', buf(key), null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(buf(block)));
}

/**
 * A keyed AES-128 block function, for callers that encrypt many blocks under one key
 * (Milenage runs five or more blocks per vector).
 */
export function aes128Keyed(key: Uint8Array): (block: Uint8Array) => Uint8Array {
  checkLength(key, 16, 'AES-128 key');
  const c = nodeCrypto.createCipheriv('aes-128-ecb', buf(key), null);
  c.setAutoPadding(false);
  return (block) => {
    checkLength(block, 16, 'AES block');
    return new Uint8Array(c.update(buf(block)));
  };
}

/** HMAC-SHA-256(key, data…) (RFC 2104, FIPS 180-4). */
export function hmacSha256(key: Uint8Array, ...data: readonly Uint8Array[]): Uint8Array {
  const h = nodeCrypto.createHmac('sha256', buf(key));
  for (const d of data) h.update(buf(d));
  return new Uint8Array(h.digest());
}

/** SHA-256(data…). */
export function sha256(...data: readonly Uint8Array[]): Uint8Array {
  const h = nodeCrypto.createHash('sha256');
  for (const d of data) h.update(buf(d));
  return new Uint8Array(h.digest());
}

/**
 * Random octets are drawn from OpenSSL's CSPRNG a pool at a time: a handshake asks for 32 at a time
 * (a hello random), and one call per request costs more than the octets. Handed-out octets are
 * zeroed in the pool, so each is given once and then only the caller has it.
 */
const POOL_SIZE = 4096;
/** Requests above this size bypass the pool. */
const POOL_MAX_REQUEST = 256;
const pool = new Uint8Array(POOL_SIZE);
let poolAt = POOL_SIZE;

/** Cryptographically secure random octets. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`random octet count must be a non-negative integer, got ${n}`);
  if (n > POOL_MAX_REQUEST) return nodeCrypto.randomFillSync(new Uint8Array(n));
  if (poolAt + n > POOL_SIZE) {
    nodeCrypto.randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** The random source injected where tests need determinism (STYLE.md 5). */
export type Rng = (n: number) => Uint8Array;

/** Constant-time equality of two byte strings; unequal lengths compare false (length is public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return nodeCrypto.timingSafeEqual(buf(a), buf(b));
}
