/**
 * The cipher suites e2m speaks, behind one interface (STYLE.md: suites plug in like pion/dtls).
 * All are AES-128-CCM AEAD suites with the TLS 1.2 PRF over SHA-256 (RFC 6655 §6, RFC 8442 §3):
 *
 *   GenericAEADCipher (RFC 5246 §6.2.3.3)  key: 16 octets   fixed_iv (salt): 4 octets (RFC 6655 §3)
 *                                          record_iv (nonce_explicit): 8 octets   no MAC key
 */

/** A negotiable AEAD cipher suite. */
export interface CipherSuite {
  /** CipherSuite code point (IANA TLS Cipher Suites registry). */
  readonly id: number;
  /** IANA name. */
  readonly name: string;
  /** Key exchange: plain PSK (RFC 4279 §2) or ECDHE_PSK (RFC 5489 §2). */
  readonly keyExchange: 'psk' | 'ecdhe_psk';
  /** enc_key_length (RFC 5246 §6.3): AES-128. */
  readonly encKeyLength: 16;
  /** fixed_iv_length, the implicit nonce salt (RFC 6655 §3). */
  readonly fixedIvLength: 4;
  /** record_iv_length, the explicit nonce carried in each record (RFC 6655 §3). */
  readonly recordIvLength: 8;
  /** CCM tag length M: 8 for the _CCM_8 suites, 16 for _CCM (RFC 6655 §3). */
  readonly tagLength: 8 | 16;
}

/** TLS_PSK_WITH_AES_128_CCM_8 {0xC0,0xA8} (RFC 6655 §4): the suite of DESIGN.md §1 and RFC 7925 §4.2. */
export const TLS_PSK_WITH_AES_128_CCM_8: CipherSuite = Object.freeze({
  id: 0xc0a8,
  name: 'TLS_PSK_WITH_AES_128_CCM_8',
  keyExchange: 'psk',
  encKeyLength: 16,
  fixedIvLength: 4,
  recordIvLength: 8,
  tagLength: 8,
});

/** TLS_PSK_WITH_AES_128_CCM {0xC0,0xA4} (RFC 6655 §4): 16-octet tag. */
export const TLS_PSK_WITH_AES_128_CCM: CipherSuite = Object.freeze({
  id: 0xc0a4,
  name: 'TLS_PSK_WITH_AES_128_CCM',
  keyExchange: 'psk',
  encKeyLength: 16,
  fixedIvLength: 4,
  recordIvLength: 8,
  tagLength: 16,
});

/** TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 {0xD0,0x03} (RFC 8442 §3): registered, key exchange not yet built. */
export const TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256: CipherSuite = Object.freeze({
  id: 0xd003,
  name: 'TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256',
  keyExchange: 'ecdhe_psk',
  encKeyLength: 16,
  fixedIvLength: 4,
  recordIvLength: 8,
  tagLength: 8,
});

/** Every suite e2m knows, in default preference order. */
export const CIPHER_SUITES: readonly CipherSuite[] = Object.freeze([
  TLS_PSK_WITH_AES_128_CCM_8,
  TLS_PSK_WITH_AES_128_CCM,
  TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256,
]);

const BY_ID: ReadonlyMap<number, CipherSuite> = new Map(CIPHER_SUITES.map((s) => [s.id, s]));

/** The suite with code point `id`, or undefined for a suite e2m does not implement. */
export function cipherSuiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}
