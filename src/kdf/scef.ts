/**
 * The `scef` profile (DESIGN.md §3, §4): Ks from CK‖IK, Ks_AS bound to one application server,
 * and the psk_identity `guti:<GUTI>`.
 */
import { DecodeError, concat } from '../util/index.js';
import { checkBytes, CK_LENGTH, IK_LENGTH, kdf, kdfString, KDF_OUTPUT_LENGTH } from './generic.js';
import type { KeyInput } from './generic.js';
import { checkIdentityText, decodePskIdentity, encodePskIdentity, identityTextProblem } from './identity.js';
import { DEFAULT_PROFILE_CONFIG } from './profiles.js';
import type { ProfileConfig } from './profiles.js';

/** DESIGN.md §4: the psk_identity prefix of the `scef` profile. */
export const SCEF_PSK_IDENTITY_PREFIX = 'guti:';

/** Ks = KDF(CK‖IK, FC, P0 = "End-to-End_IOT") (DESIGN.md §3); CK and IK 16 octets; 32 octets out. */
export function deriveKs(ck: KeyInput, ik: KeyInput, cfg: ProfileConfig = DEFAULT_PROFILE_CONFIG): Uint8Array {
  const key = concat(checkBytes(ck, 'ck', CK_LENGTH), checkBytes(ik, 'ik', IK_LENGTH));
  const { fc, label } = cfg.scef.ks;
  return kdf(key, fc, kdfString(label, 'scef.ks.label'));
}

/** Ks_AS = KDF(Ks, FC, P0 = AS_ID) (DESIGN.md §3); Ks 32 octets; AS_ID NFKC-normalised UTF-8. */
export function deriveKsAs(ks: KeyInput, asId: string, cfg: ProfileConfig = DEFAULT_PROFILE_CONFIG): Uint8Array {
  const key = checkBytes(ks, 'ks', KDF_OUTPUT_LENGTH);
  checkIdentityText(asId, 'asId');
  return kdf(key, cfg.scef.ksAs.fc, kdfString(asId, 'asId'));
}

/** psk_identity = "guti:" ‖ GUTI (DESIGN.md §4), UTF-8, at most 128 octets (RFC 7925). */
export function scefPskIdentity(guti: string): Uint8Array {
  checkIdentityText(guti, 'guti');
  return encodePskIdentity(`${SCEF_PSK_IDENTITY_PREFIX}${guti}`, 'guti');
}

/** Parses a received `scef` psk_identity into its GUTI; DecodeError (field `psk_identity`) otherwise. */
export function parseScefPskIdentity(bytes: Uint8Array): { readonly guti: string } {
  const field = 'psk_identity';
  const text = decodePskIdentity(bytes, field);
  if (!text.startsWith(SCEF_PSK_IDENTITY_PREFIX)) throw new DecodeError(field, 0, 'prefix is not "guti:"');
  const guti = text.slice(SCEF_PSK_IDENTITY_PREFIX.length);
  const problem = identityTextProblem(guti);
  if (problem !== undefined) throw new DecodeError(field, SCEF_PSK_IDENTITY_PREFIX.length, `GUTI ${problem}`);
  return { guti };
}
