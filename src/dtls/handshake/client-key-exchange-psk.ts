/**
 * ClientKeyExchange for PSK, RFC 4279 §2:
 *
 *   struct {
 *     select (KeyExchangeAlgorithm) {
 *       case psk:                                -- NEW
 *         opaque psk_identity<0..2^16-1>;
 *     } exchange_keys;
 *   } ClientKeyExchange;
 *
 * and for ECDHE_PSK, RFC 5489 §2 (ClientECDiffieHellmanPublic of RFC 8422 §5.7):
 *
 *   struct {
 *     select (KeyExchangeAlgorithm) {
 *       case ec_diffie_hellman_psk:
 *         opaque psk_identity<0..2^16-1>;
 *         ClientECDiffieHellmanPublic public;   -- ECPoint ecdh_Yc: opaque point<1..2^8-1>
 *     } exchange_keys;
 *   } ClientKeyExchange;
 *
 * The identity is kept as octets: RFC 4279 §5.1 says UTF-8, but an identity that is not is simply
 * unknown (unknown_psk_identity), which the key lookup decides.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';

/** A PSK ClientKeyExchange. */
export interface ClientKeyExchangePsk {
  readonly pskIdentity: Uint8Array;
}

/** An ECDHE_PSK ClientKeyExchange. */
export interface ClientKeyExchangeEcdhePsk {
  readonly pskIdentity: Uint8Array;
  /** The client's ephemeral public key (ECPoint, 1..255 octets). */
  readonly publicKey: Uint8Array;
}

/** Decodes a PSK ClientKeyExchange body. Throws DecodeError if malformed. */
export function decodeClientKeyExchangePsk(body: Uint8Array): Readonly<ClientKeyExchangePsk> {
  const r = new ByteReader(body, 'client_key_exchange');
  const pskIdentity = r.vec16('psk_identity');
  r.end();
  return { pskIdentity };
}

/** Encodes a PSK ClientKeyExchange body. Throws RangeError if the identity exceeds 2^16-1 octets. */
export function encodeClientKeyExchangePsk(cke: ClientKeyExchangePsk): Uint8Array {
  return new ByteWriter(2 + cke.pskIdentity.length).vec16(cke.pskIdentity).finish();
}

/** Decodes an ECDHE_PSK ClientKeyExchange body. Throws DecodeError if malformed. */
export function decodeClientKeyExchangeEcdhePsk(body: Uint8Array): Readonly<ClientKeyExchangeEcdhePsk> {
  const r = new ByteReader(body, 'client_key_exchange');
  const pskIdentity = r.vec16('psk_identity');
  const publicKey = r.vec8('ecdh_Yc', 1);
  r.end();
  return { pskIdentity, publicKey };
}

/** Encodes an ECDHE_PSK ClientKeyExchange body. Throws RangeError if a vector is out of range. */
export function encodeClientKeyExchangeEcdhePsk(cke: ClientKeyExchangeEcdhePsk): Uint8Array {
  if (cke.publicKey.length < 1) throw new RangeError('ECPoint must hold 1..255 octets');
  return new ByteWriter(3 + cke.pskIdentity.length + cke.publicKey.length)
    .vec16(cke.pskIdentity)
    .vec8(cke.publicKey)
    .finish();
}
