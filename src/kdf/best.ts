/**
 * The `best` profile (DESIGN.md §3, §4): e2m_int_key from CK‖IK, e2m_key bound to one EMSE,
 * the key identifier, and the psk_identity `e2m:<kid>:<application identity>`.
 */
import { sha256 } from '../crypto/primitives.js';
import { ConfigError, DecodeError, concat, toHex } from '../util/index.js';
import { checkBytes, CK_LENGTH, IK_LENGTH, kdf, kdfString, KDF_OUTPUT_LENGTH, RAND_LENGTH } from './generic.js';
import type { KeyInput } from './generic.js';
import { checkIdentityText, decodePskIdentity, encodePskIdentity, identityTextProblem } from './identity.js';
import { DEFAULT_PROFILE_CONFIG } from './profiles.js';
import type { ProfileConfig } from './profiles.js';

/** DESIGN.md §4: the psk_identity prefix of the `best` profile. */
export const BEST_PSK_IDENTITY_PREFIX = 'e2m:';

/** DESIGN.md §3: a key identifier is 8 lowercase hex digits (32 bits). */
const KID_RE = /^[0-9a-f]{8}$/;

/** The two key-identifier alternatives of DESIGN.md §3 (`--kid-mode`). */
export const KidMode = {
  /** Alternative 1 (default): the 32 least significant bits of RAND. */
  Rand: 'rand',
  /** Alternative 2: the first 4 octets of SHA-256(e2m_int_key). */
  Hash: 'hash',
} as const;
export type KidMode = (typeof KidMode)[keyof typeof KidMode];

/** True for a well-formed key identifier (8 lowercase hex digits). */
export function isKid(kid: unknown): kid is string {
  return typeof kid === 'string' && KID_RE.test(kid);
}

/** e2m_int_key = KDF(CK‖IK, FC, P0 = "e2m_CIoT") (DESIGN.md §3); CK and IK 16 octets; 32 octets out. */
export function deriveE2mIntKey(ck: KeyInput, ik: KeyInput, cfg: ProfileConfig = DEFAULT_PROFILE_CONFIG): Uint8Array {
  const key = concat(checkBytes(ck, 'ck', CK_LENGTH), checkBytes(ik, 'ik', IK_LENGTH));
  const { fc, label } = cfg.best.intKey;
  return kdf(key, fc, kdfString(label, 'best.intKey.label'));
}

/**
 * e2m_key = KDF(e2m_int_key, FC, P0 = EMSE_Id, P1 = "e2m_key") (DESIGN.md §3); the whole 32 octets
 * are the DTLS PSK. EMSE_Id is NFKC-normalised UTF-8 (TS 33.220 B.2.1.2).
 */
export function deriveE2mKey(intKey: KeyInput, emseId: string, cfg: ProfileConfig = DEFAULT_PROFILE_CONFIG): Uint8Array {
  const key = checkBytes(intKey, 'intKey', KDF_OUTPUT_LENGTH);
  checkIdentityText(emseId, 'emseId');
  const { fc, label } = cfg.best.e2mKey;
  return kdf(key, fc, kdfString(emseId, 'emseId'), kdfString(label, 'best.e2mKey.label'));
}

/** Key identifier, alternative 1 (DESIGN.md §3): the 32 LSBs of the 16-octet RAND as 8 lowercase hex digits. */
export function kidFromRand(rand: Uint8Array): string {
  const r = checkBytes(rand, 'rand', RAND_LENGTH);
  return toHex(r.subarray(RAND_LENGTH - 4));
}

/** Key identifier, alternative 2 (DESIGN.md §3): the first 4 octets of SHA-256(e2m_int_key), as hex. */
export function kidFromIntKey(intKey: KeyInput): string {
  const k = checkBytes(intKey, 'intKey', KDF_OUTPUT_LENGTH);
  return toHex(sha256(k).subarray(0, 4));
}

/** The key identifier for `mode` (a runtime string from configuration is checked: ConfigError `kidMode`). */
export function deriveKid(mode: KidMode, inputs: { readonly rand: Uint8Array; readonly intKey: KeyInput }): string {
  switch (mode) {
    case KidMode.Rand:
      return kidFromRand(inputs.rand);
    case KidMode.Hash:
      return kidFromIntKey(inputs.intKey);
    default:
      throw new ConfigError('kidMode', `unknown kid mode "${String(mode)}" (expected rand or hash)`);
  }
}

/**
 * psk_identity = "e2m:" ‖ kid ‖ ":" ‖ application identity (DESIGN.md §4), UTF-8, at most 128 octets
 * (RFC 7925). The application identity is NAI-like: non-empty, no spaces or control characters.
 */
export function bestPskIdentity(kid: string, appIdentity: string): Uint8Array {
  if (!isKid(kid)) throw new ConfigError('kid', 'expected 8 lowercase hex digits');
  checkIdentityText(appIdentity, 'appIdentity');
  return encodePskIdentity(`${BEST_PSK_IDENTITY_PREFIX}${kid}:${appIdentity}`, 'appIdentity');
}

/** A parsed `best` psk_identity. */
export interface BestPskIdentity {
  readonly kid: string;
  readonly appIdentity: string;
}

/**
 * Parses a received `best` psk_identity. Throws DecodeError (code E_DECODE, field `psk_identity`) on
 * anything but 1..128 octets of UTF-8 of the form `e2m:<8 lowercase hex>:<identity>`.
 */
export function parseBestPskIdentity(bytes: Uint8Array): BestPskIdentity {
  const field = 'psk_identity';
  const text = decodePskIdentity(bytes, field);
  const p = BEST_PSK_IDENTITY_PREFIX.length;
  if (!text.startsWith(BEST_PSK_IDENTITY_PREFIX)) throw new DecodeError(field, 0, 'prefix is not "e2m:"');
  const kid = text.slice(p, p + 8);
  if (!isKid(kid)) throw new DecodeError(field, p, 'kid is not 8 lowercase hex digits');
  if (text[p + 8] !== ':') throw new DecodeError(field, p + 8, 'expected ":" after the kid');
  const appIdentity = text.slice(p + 9);
  const problem = identityTextProblem(appIdentity);
  if (problem !== undefined) throw new DecodeError(field, p + 9, `application identity ${problem}`);
  return { kid, appIdentity };
}
