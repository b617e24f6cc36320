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
import { constantTimeEqual, hmacSha256, randomBytes, type Rng } from '../crypto/primitives.js';
import { ByteWriter, utf8 } from '../util/bytes.js';
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
  const w = new ByteWriter(64 + 2 * hello.cipherSuites.length);
  w.u16(hello.clientVersion).bytes(hello.random).vec8(hello.sessionId);
  w.u16(2 * hello.cipherSuites.length);
  for (let i = 0; i < hello.cipherSuites.length; i++) w.u16(hello.cipherSuites[i] as number);
  w.u8(hello.compressionMethods.length);
  for (let i = 0; i < hello.compressionMethods.length; i++) w.u8(hello.compressionMethods[i] as number);
  return w.finish();
}

/** Makes and verifies HelloVerifyRequest cookies without per-peer state. */
export class CookieFactory {
  private readonly rng: Rng;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly rotateMs: number;
  private readonly cookieLength: number;
  private current: Uint8Array;
  private previous: Uint8Array | undefined;
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
    return this.mac(this.current, clientAddress, clientHelloParams);
  }

  /** Whether `cookie` was made for this address and parameters under the current or previous secret. */
  verify(clientAddress: string, clientHelloParams: Uint8Array, cookie: Uint8Array): boolean {
    this.rotate();
    if (cookie.length !== this.cookieLength) return false;
    const okCurrent = constantTimeEqual(this.mac(this.current, clientAddress, clientHelloParams), cookie);
    const okPrevious =
      this.previous !== undefined &&
      constantTimeEqual(this.mac(this.previous, clientAddress, clientHelloParams), cookie);
    return okCurrent || okPrevious;
  }

  private mac(secret: Uint8Array, clientAddress: string, params: Uint8Array): Uint8Array {
    const address = utf8(clientAddress);
    const header = new Uint8Array([COOKIE_VERSION, address.length >>> 8, address.length & 0xff]);
    return hmacSha256(secret, header, address, params).slice(0, this.cookieLength);
  }

  /** Lazy rotation: one period later the current secret becomes the previous; two, both are gone. */
  private rotate(): void {
    const periods = Math.floor((this.clock.now() - this.since) / this.rotateMs);
    if (periods < 1) return;
    this.previous = periods === 1 ? this.current : undefined;
    this.current = this.freshSecret();
    this.since += periods * this.rotateMs;
  }

  private freshSecret(): Uint8Array {
    const s = this.rng(SECRET_LENGTH);
    if (s.length !== SECRET_LENGTH) throw new RangeError(`rng returned ${s.length} octets, expected ${SECRET_LENGTH}`);
    return new Uint8Array(s);
  }
}
