/**
 * The `akma` profile (5G): K_AUSF (TS 33.501 Annex A.2), K_AKMA, A-TID and K_AF (TS 33.535 Annex A),
 * the A-KID and the psk_identity `3GPP-AKMA` ‖ A-KID (DESIGN.md §4).
 */
import { ConfigError, DecodeError, concat } from '../util/index.js';
import { checkBytes, CK_LENGTH, IK_LENGTH, kdf, kdfString, KDF_OUTPUT_LENGTH } from './generic.js';
import type { KeyInput } from './generic.js';
import { checkIdentityText, decodePskIdentity, encodePskIdentity } from './identity.js';
import { PROFILES } from './profiles.js';

/** TS 33.102 §6.3.2: SQN and AK are 48 bits, so SQN⊕AK is 6 octets (TS 33.501 A.2: L1 = 0x00 0x06). */
export const SQN_XOR_AK_LENGTH = 6;

/** TS 33.220 Annex H.1: a Ua security protocol identifier is five octets. */
export const UA_PROTOCOL_ID_LENGTH = 5;

/** TS 33.501 §6.1.1.4: serving network name = "5G" ‖ ":" ‖ SN Id. */
export const SERVING_NETWORK_NAME_PREFIX = '5G:';

/** DESIGN.md §4 (TS 24.109 K.3.2): the psk_identity_hint and the psk_identity prefix of AKMA. */
export const AKMA_PSK_IDENTITY_HINT = '3GPP-AKMA';

/**
 * TS 33.220 Annex H.3: (0x01,0x00,0x01,yy,zz) = shared-key TLS per TS 33.222 §5.3/5.4, where yy,zz is
 * the TLS cipher suite. This returns the identifier for `cipherSuite` (e.g. 0xC0A8).
 */
export function uaProtocolIdForTlsSuite(cipherSuite: number): Uint8Array {
  if (!Number.isInteger(cipherSuite) || cipherSuite < 0 || cipherSuite > 0xffff) {
    throw new ConfigError('cipherSuite', 'expected a 16-bit TLS cipher suite number');
  }
  return Uint8Array.of(0x01, 0x00, 0x01, cipherSuite >> 8, cipherSuite & 0xff);
}

/** TLS_PSK_WITH_AES_128_CCM_8 = {0xC0,0xA8} (RFC 6655 §6), the e2m cipher suite. */
export const TLS_PSK_WITH_AES_128_CCM_8 = 0xc0a8;

/** K_AUSF = KDF(CK‖IK, 0x6A, serving network name, SQN⊕AK) (TS 33.501 A.2); 32 octets. */
export function deriveKausf(ck: KeyInput, ik: KeyInput, servingNetworkName: string, sqnXorAk: Uint8Array): Uint8Array {
  const key = concat(checkBytes(ck, 'ck', CK_LENGTH), checkBytes(ik, 'ik', IK_LENGTH));
  checkIdentityText(servingNetworkName, 'servingNetworkName');
  if (!servingNetworkName.startsWith(SERVING_NETWORK_NAME_PREFIX)) {
    throw new ConfigError('servingNetworkName', 'must start with "5G:" (TS 33.501 §6.1.1.4)');
  }
  const p1 = checkBytes(sqnXorAk, 'sqnXorAk', SQN_XOR_AK_LENGTH);
  return kdf(key, PROFILES.akma.kausf.fc, kdfString(servingNetworkName, 'servingNetworkName'), p1);
}

/** TS 33.501 A.7.0: SUPI is the IMSI (digits) or an NAI as a character string, not the "imsi-" form. */
function supiParam(supi: string): Uint8Array {
  checkIdentityText(supi, 'supi');
  if (/^(imsi|nai)-/i.test(supi)) {
    throw new ConfigError('supi', 'give the IMSI digits or the NAI itself, without the "imsi-"/"nai-" type prefix (TS 33.501 A.7.0)');
  }
  return kdfString(supi, 'supi');
}

/** K_AKMA = KDF(K_AUSF, 0x80, "AKMA", SUPI) (TS 33.535 A.2); 32 octets. */
export function deriveKakma(kausf: KeyInput, supi: string): Uint8Array {
  const key = checkBytes(kausf, 'kausf', KDF_OUTPUT_LENGTH);
  const { fc, label } = PROFILES.akma.kakma;
  return kdf(key, fc, kdfString(label), supiParam(supi));
}

/** A-TID = KDF(K_AUSF, 0x81, "A-TID", SUPI) (TS 33.535 A.3); 32 octets. */
export function deriveAtid(kausf: KeyInput, supi: string): Uint8Array {
  const key = checkBytes(kausf, 'kausf', KDF_OUTPUT_LENGTH);
  const { fc, label } = PROFILES.akma.aTid;
  return kdf(key, fc, kdfString(label), supiParam(supi));
}

/**
 * K_AF = KDF(K_AKMA, 0x82, AF_ID) with AF_ID = FQDN of the AF ‖ Ua* security protocol identifier
 * (TS 33.535 A.4; the identifier is five octets, TS 33.220 Annex H). 32 octets.
 */
export function deriveKaf(kakma: KeyInput, afFqdn: string, uaProtocolId: Uint8Array): Uint8Array {
  const key = checkBytes(kakma, 'kakma', KDF_OUTPUT_LENGTH);
  checkIdentityText(afFqdn, 'afFqdn');
  const ua = checkBytes(uaProtocolId, 'uaProtocolId', UA_PROTOCOL_ID_LENGTH);
  return kdf(key, PROFILES.akma.kaf.fc, concat(kdfString(afFqdn, 'afFqdn'), ua));
}

/** TS 23.003 §2.2B: the Routing Indicator is 1 to 4 decimal digits. */
const RID_RE = /^[0-9]{1,4}$/;
/** RFC 4648 §5 alphabet, unpadded. */
const B64URL_RE = /^[A-Za-z0-9_-]+$/;
/** A DNS realm (RFC 7542 §2.2 realm = DNS labels): LDH labels of 1..63, at most 253 characters. */
const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function realmProblem(realm: string): string | undefined {
  if (realm.length === 0 || realm.length > 253) return 'realm must be 1..253 characters';
  if (!realm.split('.').every((l) => LABEL_RE.test(l))) return 'realm is not a DNS name';
  return undefined;
}

/**
 * A-KID = `<RID>.<A-TID in base64url>@<realm>` (TS 33.535 §6.1: username = RID and A-TID, realm =
 * home network identifier). The separator and the base64url encoding are this project's rendering
 * (DESIGN.md §4), not a 3GPP-mandated text form.
 */
export function renderAkid(rid: string, aTid: Uint8Array, realm: string): string {
  if (typeof rid !== 'string' || !RID_RE.test(rid)) throw new ConfigError('rid', 'expected 1 to 4 decimal digits (TS 23.003 §2.2B)');
  const t = checkBytes(aTid, 'aTid');
  if (t.length === 0) throw new ConfigError('aTid', 'empty');
  const problem = typeof realm === 'string' ? realmProblem(realm) : 'expected a string';
  if (problem !== undefined) throw new ConfigError('realm', problem);
  return `${rid}.${Buffer.from(t).toString('base64url')}@${realm}`;
}

/** The parts of an A-KID. */
export interface Akid {
  readonly rid: string;
  readonly aTid: Uint8Array;
  readonly realm: string;
}

/** Parses an A-KID in the rendering of `renderAkid`; DecodeError (field `field`) otherwise. */
export function parseAkid(akid: string, field = 'A-KID', base = 0): Akid {
  const at = akid.indexOf('@');
  const dot = akid.indexOf('.');
  if (dot < 0 || at < 0 || dot > at) throw new DecodeError(field, base, 'expected <RID>.<A-TID>@<realm>');
  const rid = akid.slice(0, dot);
  if (!RID_RE.test(rid)) throw new DecodeError(field, base, 'RID is not 1 to 4 decimal digits');
  const tidText = akid.slice(dot + 1, at);
  const aTid = new Uint8Array(Buffer.from(tidText, 'base64url'));
  if (!B64URL_RE.test(tidText) || Buffer.from(aTid).toString('base64url') !== tidText) {
    throw new DecodeError(field, base + dot + 1, 'A-TID is not canonical unpadded base64url');
  }
  const realm = akid.slice(at + 1);
  const problem = realmProblem(realm);
  if (problem !== undefined) throw new DecodeError(field, base + at + 1, problem);
  return { rid, aTid, realm };
}

/** psk_identity = "3GPP-AKMA" ‖ A-KID (DESIGN.md §4), UTF-8, at most 128 octets (RFC 7925). */
export function akmaPskIdentity(akid: string): Uint8Array {
  try {
    parseAkid(typeof akid === 'string' ? akid : '');
  } catch (e) {
    throw new ConfigError('akid', e instanceof Error ? e.message : 'malformed A-KID');
  }
  return encodePskIdentity(`${AKMA_PSK_IDENTITY_HINT}${akid}`, 'akid');
}

/** Parses a received AKMA psk_identity; DecodeError (field `psk_identity`) otherwise. */
export function parseAkmaPskIdentity(bytes: Uint8Array): Akid & { readonly akid: string } {
  const field = 'psk_identity';
  const text = decodePskIdentity(bytes, field);
  if (!text.startsWith(AKMA_PSK_IDENTITY_HINT)) throw new DecodeError(field, 0, 'prefix is not "3GPP-AKMA"');
  const akid = text.slice(AKMA_PSK_IDENTITY_HINT.length);
  return { akid, ...parseAkid(akid, field, AKMA_PSK_IDENTITY_HINT.length) };
}
