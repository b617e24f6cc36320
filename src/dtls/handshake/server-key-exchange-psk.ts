/**
 * ServerKeyExchange for PSK, RFC 4279 §2:
 *
 *   struct {
 *     select (KeyExchangeAlgorithm) {
 *       case psk:                                -- NEW
 *         opaque psk_identity_hint<0..2^16-1>;
 *     };
 *   } ServerKeyExchange;
 *
 * and for ECDHE_PSK, RFC 5489 §2 with ServerECDHParams of RFC 8422 §5.4 (named curves only):
 *
 *   struct {
 *     select (KeyExchangeAlgorithm) {
 *       case ec_diffie_hellman_psk:
 *         opaque psk_identity_hint<0..2^16-1>;
 *         ServerECDHParams params;   -- ECCurveType curve_type = named_curve(3); NamedCurve namedcurve;
 *                                    -- ECPoint public;  (opaque point<1..2^8-1>)
 *     };
 *   } ServerKeyExchange;
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { DecodeError } from '../../util/errors.js';
import { EC_CURVE_TYPE_NAMED_CURVE } from '../wire/constants.js';

/** A PSK ServerKeyExchange. */
export interface ServerKeyExchangePsk {
  readonly pskIdentityHint: Uint8Array;
}

/** An ECDHE_PSK ServerKeyExchange. */
export interface ServerKeyExchangeEcdhePsk {
  readonly pskIdentityHint: Uint8Array;
  /** NamedGroup of the server's ephemeral key, e.g. x25519 0x001d. */
  readonly namedCurve: number;
  /** The server's ephemeral public key (ECPoint, 1..255 octets). */
  readonly publicKey: Uint8Array;
}

/** Decodes a PSK ServerKeyExchange body. Throws DecodeError if malformed. */
export function decodeServerKeyExchangePsk(body: Uint8Array): Readonly<ServerKeyExchangePsk> {
  const r = new ByteReader(body, 'server_key_exchange');
  const pskIdentityHint = r.vec16('psk_identity_hint');
  r.end();
  return { pskIdentityHint };
}

/** Encodes a PSK ServerKeyExchange body. Throws RangeError if the hint exceeds 2^16-1 octets. */
export function encodeServerKeyExchangePsk(ske: ServerKeyExchangePsk): Uint8Array {
  return new ByteWriter(2 + ske.pskIdentityHint.length).vec16(ske.pskIdentityHint).finish();
}

/** Decodes an ECDHE_PSK ServerKeyExchange body (named curves only). Throws DecodeError if malformed. */
export function decodeServerKeyExchangeEcdhePsk(body: Uint8Array): Readonly<ServerKeyExchangeEcdhePsk> {
  const r = new ByteReader(body, 'server_key_exchange');
  const pskIdentityHint = r.vec16('psk_identity_hint');
  const typeAt = r.offset;
  const curveType = r.u8('curve_type');
  if (curveType !== EC_CURVE_TYPE_NAMED_CURVE) {
    throw new DecodeError('server_key_exchange.curve_type', typeAt, `curve type ${curveType} is not named_curve(3)`);
  }
  const namedCurve = r.u16('namedcurve');
  const publicKey = r.vec8('public', 1);
  r.end();
  return { pskIdentityHint, namedCurve, publicKey };
}

/** Encodes an ECDHE_PSK ServerKeyExchange body. Throws RangeError if a vector is out of range. */
export function encodeServerKeyExchangeEcdhePsk(ske: ServerKeyExchangeEcdhePsk): Uint8Array {
  if (ske.publicKey.length < 1) throw new RangeError('ECPoint must hold 1..255 octets');
  return new ByteWriter(6 + ske.pskIdentityHint.length + ske.publicKey.length)
    .vec16(ske.pskIdentityHint)
    .u8(EC_CURVE_TYPE_NAMED_CURVE)
    .u16(ske.namedCurve)
    .vec8(ske.publicKey)
    .finish();
}
