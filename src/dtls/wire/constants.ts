/**
 * Registry values used on the DTLS 1.2 wire (IANA "TLS Parameters"), each with the RFC that defines it.
 *
 *   enum { change_cipher_spec(20), alert(21), handshake(22), application_data(23), (255) } ContentType;
 *                                                               -- RFC 5246 §6.2.1, tls12_cid(25) RFC 9146 §3
 *   enum { hello_request(0), client_hello(1), server_hello(2), hello_verify_request(3), ... } HandshakeType;
 *                                                               -- RFC 5246 §7.4, RFC 6347 §4.3.2
 *   enum { warning(1), fatal(2), (255) } AlertLevel;            -- RFC 5246 §7.2
 */

/** Record content types (RFC 5246 §6.2.1; tls12_cid: RFC 9146 §3). */
export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
  tls12_cid: 25,
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/** Handshake message types (RFC 5246 §7.4; hello_verify_request: RFC 6347 §4.3.2; ticket: RFC 5077 §3.3). */
export const HandshakeType = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  hello_verify_request: 3,
  new_session_ticket: 4,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
} as const;
export type HandshakeType = (typeof HandshakeType)[keyof typeof HandshakeType];

/** Alert levels (RFC 5246 §7.2). */
export const AlertLevel = {
  warning: 1,
  fatal: 2,
} as const;
export type AlertLevel = (typeof AlertLevel)[keyof typeof AlertLevel];

/**
 * Alert descriptions: RFC 5246 §7.2 (with the historical values it reserves), unsupported_extension
 * RFC 5246 §7.2, the RFC 6066 §9 extension alerts, unknown_psk_identity RFC 4279 §2, and
 * inappropriate_fallback RFC 7507 §2.
 */
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  decryption_failed: 21,
  record_overflow: 22,
  decompression_failure: 30,
  handshake_failure: 40,
  no_certificate: 41,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  export_restriction: 60,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_canceled: 90,
  no_renegotiation: 100,
  unsupported_extension: 110,
  certificate_unobtainable: 111,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  bad_certificate_hash_value: 114,
  unknown_psk_identity: 115,
} as const;
export type AlertDescription = (typeof AlertDescription)[keyof typeof AlertDescription];

/**
 * Extension types: server_name, max_fragment_length (RFC 6066 §3-4), supported_groups and
 * ec_point_formats (RFC 8422 §5.1), signature_algorithms (RFC 5246 §7.4.1.4.1), encrypt_then_mac
 * (RFC 7366 §2), extended_master_secret (RFC 7627 §5.1), record_size_limit (RFC 8449 §4),
 * session_ticket (RFC 5077 §3.2), connection_id (RFC 9146 §3), renegotiation_info (RFC 5746 §3.2).
 */
export const ExtensionType = {
  server_name: 0,
  max_fragment_length: 1,
  supported_groups: 10,
  ec_point_formats: 11,
  signature_algorithms: 13,
  encrypt_then_mac: 22,
  extended_master_secret: 23,
  record_size_limit: 28,
  session_ticket: 35,
  connection_id: 54,
  renegotiation_info: 0xff01,
} as const;
export type ExtensionType = (typeof ExtensionType)[keyof typeof ExtensionType];

/**
 * Cipher suites: PSK with AES-CCM (RFC 6655 §3), ECDHE_PSK with AES-CCM-8 (RFC 8442 §3), and the
 * renegotiation signalling value (RFC 5746 §3.3).
 */
export const CipherSuiteId = {
  TLS_PSK_WITH_AES_128_CCM: 0xc0a4,
  TLS_PSK_WITH_AES_128_CCM_8: 0xc0a8,
  TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256: 0xd003,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV: 0x00ff,
} as const;
export type CipherSuiteId = (typeof CipherSuiteId)[keyof typeof CipherSuiteId];

/** Named groups for ECDHE_PSK (RFC 8422 §5.1.1): secp256r1 and x25519. */
export const NamedGroup = {
  secp256r1: 0x0017,
  x25519: 0x001d,
} as const;
export type NamedGroup = (typeof NamedGroup)[keyof typeof NamedGroup];

/** ECCurveType named_curve, the only one RFC 8422 §5.4 keeps. */
export const EC_CURVE_TYPE_NAMED_CURVE = 3;

/** CompressionMethod null, the only one DTLS 1.2 peers use (RFC 5246 §7.4.1.2). */
export const COMPRESSION_NULL = 0;

/** DTLS 1.2 ProtocolVersion {254, 253} (RFC 6347 §4.1). */
export const DTLS12 = 0xfefd;
/** DTLS 1.0 ProtocolVersion {254, 255}, used in records before the version is settled (RFC 6347 §4.1). */
export const DTLS10 = 0xfeff;

/** Largest DTLSPlaintext.fragment: 2^14 (RFC 6347 §4.1, RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT_LENGTH = 2 ** 14;
/** Largest DTLSCiphertext.fragment: 2^14 + 2048 (RFC 5246 §6.2.3). */
export const MAX_CIPHERTEXT_LENGTH = 2 ** 14 + 2048;

const alertNames = new Map<number, string>(Object.entries(AlertDescription).map(([k, v]) => [v, k]));

/** The RFC name of an alert description, e.g. `alertName(115) === 'unknown_psk_identity'`. */
export function alertName(code: number): string {
  return alertNames.get(code) ?? `unknown_alert(${code})`;
}
