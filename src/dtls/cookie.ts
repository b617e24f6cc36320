/**
 * Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1):
 *
 *   Cookie = HMAC(Secret, Client-IP, Client-Parameters)
 *
 * Here HMAC-SHA-256 over COOKIE_VERSION ‖ uint16 len ‖ client address (UTF-8) ‖ ClientHello
 * parameters, truncated. The parameters are the ClientHello fields that must be the same in the
 * second ClientHello (client_version, random, session_id, cipher_suites, compression_methods); see
 * cookieParams. The server keeps no per-peer state: the secret rotates every `rotateMs`, and a
 * cookie made under the current or the previous secret verifies, as RFC 6347 §4.2.1 suggests.
 */
import { constantTimeEqual, randomBytes, type Rng } from '../crypto/primitives.js';
import { HmacSha256, SHA256_LENGTH } from '../crypto/sha256.js';
import { utf8 } from '../util/bytes.js';
import { systemClock, type Clock } from '../util/clock.js';

/** Domain-separation octet, changed if the cookie input format ever changes. */
const COOKIE_VERSION = 1;
/** HMAC key length: SHA-256 block-size-safe, full strength (RFC 2104 §3). */
const SECRET_LENGTH = 32;
/** Default cookie length: 128 bits of truncated HMAC-SHA-256 (RFC 2104 §5 allows truncation). */
export const DEFAULT_COOKIE_LENGTH = 16;
/** Default secret lifetime. */
export const DEFAULT_COOKIE_ROTATE_MS = 5 * 60_000;

/** Options of a CookieFactory. */
export interface CookieFactoryOptions {
  /** Source of the secrets (default: crypto randomBytes). */
  rng?: Rng;
  /** Time source; only now() is used (default: systemClock). */
  clock?: Pick<Clock, 'now'>;
  /** Secret lifetime in milliseconds (default 5 minutes). */
  rotateMs?: number;
  /** Cookie length in octets, 16..32 (default 16); DTLS 1.2 allows up to 255 (RFC 6347 §4.2.1). */
  cookieLength?: number;
}

/** The ClientHello fields that a cookie binds (RFC 6347 §4.2.1 "Client-Parameters"). */
export interface CookieHelloFields {
  readonly clientVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: ArrayLike<number>;
  readonly compressionMethods: ArrayLike<number>;
}

/** An unambiguous encoding of the ClientHello fields a cookie binds, as they appear on the wire. */
export function cookieParams(hello: CookieHelloFields): Uint8Array {
  const suites = hello.cipherSuites;
  const methods = hello.compressionMethods;
  const out = new Uint8Array(2 + hello.random.length + 1 + hello.sessionId.length + 2 + 2 * suites.length + 1 + methods.length);
  let at = 0;
  out[at++] = hello.clientVersion >>> 8;
  out[at++] = hello.clientVersion & 0xff;
  out.set(hello.random, at);
  at += hello.random.length;
  out[at++] = hello.sessionId.length;
  out.set(hello.sessionId, at);
  at += hello.sessionId.length;
  out[at++] = (2 * suites.length) >>> 8;
  out[at++] = (2 * suites.length) & 0xff;
  for (let i = 0; i < suites.length; i++) {
    const s = suites[i] as number;
    out[at++] = s >>> 8;
    out[at++] = s & 0xff;
  }
  out[at++] = methods.length;
  for (let i = 0; i < methods.length; i++) out[at++] = methods[i] as number;
  return out;
}

/** COOKIE_VERSION ‖ uint16 length ‖ address, for ASCII addresses of up to 128 characters. */
const prefix = new Uint8Array(3 + 128);
/** The full HMAC of the cookie being made or checked (all calls run to completion). */
const fullMac = new Uint8Array(SHA256_LENGTH);

/** Writes an ASCII `s` after the 3-octet header in `prefix`; false if it is longer or not ASCII. */
function asciiIntoPrefix(s: string): boolean {
  if (s.length > prefix.length - 3) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return false;
    prefix[3 + i] = c;
  }
  return true;
}

/** Makes and verifies HelloVerifyRequest cookies without per-peer state. */
export class CookieFactory {
  private readonly rng: Rng;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly rotateMs: number;
  private readonly cookieLength: number;
  /** The current and previous secrets, as HMAC keys (only their keyed states are kept). */
  private current: HmacSha256;
  private previous: HmacSha256 | undefined;
  /** When the current secret's period started. */
  private since: number;

  constructor(options: CookieFactoryOptions = {}) {
    this.rng = options.rng ?? randomBytes;
    this.clock = options.clock ?? systemClock;
    this.rotateMs = options.rotateMs ?? DEFAULT_COOKIE_ROTATE_MS;
    this.cookieLength = options.cookieLength ?? DEFAULT_COOKIE_LENGTH;
    if (!(this.rotateMs > 0) || !Number.isFinite(this.rotateMs)) throw new RangeError('rotateMs must be positive');
    if (!Number.isInteger(this.cookieLength) || this.cookieLength < 16 || this.cookieLength > 32) {
      throw new RangeError('cookieLength must be 16..32 octets');
    }
    this.current = this.freshSecret();
    this.since = this.clock.now();
  }

  /** The cookie for a ClientHello from `clientAddress` (e.g. "192.0.2.1:5684") with these parameters. */
  make(clientAddress: string, clientHelloParams: Uint8Array): Uint8Array {
    this.rotate();
    this.mac(this.current, clientAddress, clientHelloParams);
    return fullMac.slice(0, this.cookieLength);
  }

  /** Whether `cookie` was made for this address and parameters under the current or previous secret. */
  verify(clientAddress: string, clientHelloParams: Uint8Array, cookie: Uint8Array): boolean {
    this.rotate();
    if (cookie.length !== this.cookieLength) return false;
    this.mac(this.current, clientAddress, clientHelloParams);
    if (constantTimeEqual(fullMac.subarray(0, this.cookieLength), cookie)) return true;
    // The previous secret is tried only when the current one fails: the time taken then tells
    // which secret made a cookie, nothing about the MACs (each compared in constant time).
    if (this.previous === undefined) return false;
    this.mac(this.previous, clientAddress, clientHelloParams);
    return constantTimeEqual(fullMac.subarray(0, this.cookieLength), cookie);
  }

  /** HMAC(secret, COOKIE_VERSION ‖ uint16 len ‖ address ‖ params) into fullMac. */
  private mac(secret: HmacSha256, clientAddress: string, params: Uint8Array): void {
    // Addresses ("192.0.2.1|5684") are short ASCII, written in place; anything else as UTF-8.
    const address = asciiIntoPrefix(clientAddress) ? undefined : utf8(clientAddress);
    const length = address?.length ?? clientAddress.length;
    prefix[0] = COOKIE_VERSION;
    prefix[1] = length >>> 8;
    prefix[2] = length & 0xff;
    if (address === undefined) secret.macInto(fullMac, 0, prefix.subarray(0, 3 + length), params);
    else secret.macInto(fullMac, 0, prefix.subarray(0, 3), address, params);
  }

  /** Lazy rotation: one period later the current secret becomes the previous; two, both are gone. */
  private rotate(): void {
    const periods = Math.floor((this.clock.now() - this.since) / this.rotateMs);
    if (periods < 1) return;
    if (periods > 1) this.current.wipe();
    this.previous?.wipe();
    this.previous = periods === 1 ? this.current : undefined;
    this.current = this.freshSecret();
    this.since += periods * this.rotateMs;
  }

  private freshSecret(): HmacSha256 {
    const s = this.rng(SECRET_LENGTH);
    if (s.length !== SECRET_LENGTH) throw new RangeError(`rng returned ${s.length} octets, expected ${SECRET_LENGTH}`);
    const key = new HmacSha256(s);
    s.fill(0);
    return key;
  }
}
