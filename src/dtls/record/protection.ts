/**
 * AEAD record protection for the AES-CCM suites (RFC 5246 §6.2.3.3, RFC 6655 §3, RFC 6347 §4.1.2.1):
 *
 *   nonce          = write_IV(4, the salt) ‖ nonce_explicit(8)                           RFC 6655 §3
 *   nonce_explicit = epoch(2) ‖ sequence_number(6): deterministic, never random         RFC 7925 §3.3
 *   additional_data = epoch(2) ‖ sequence_number(6) ‖ type(1) ‖ version(2) ‖ length(2)  RFC 5246 §6.2.3.3
 *                    (DTLS seq_num is epoch ‖ sequence_number, RFC 6347 §4.1.2.1; length = plaintext length)
 *   fragment        = nonce_explicit(8) ‖ ciphertext ‖ tag(8 or 16)
 *
 * The receiver takes nonce_explicit from the record, not from its own counters (RFC 6655 §3), and
 * the AAD from the record header. Anything malformed is reported as undefined, so that the caller
 * drops the record silently (RFC 6347 §4.1.2.7) and nothing throws into a socket callback.
 */
import { Ccm128, ccmDecrypt, ccmEncrypt } from '../../crypto/ccm.js';
import { pooledBytes } from '../../util/bytes.js';
import type { SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import { RECORD_HEADER_LENGTH } from '../wire/record.js';
import type { CipherState } from './cipher-state.js';

/** ProtocolVersion of DTLS 1.2, {254, 253} (RFC 6347 §4.1). */
export const DTLS12_VERSION = 0xfefd;
/** Largest TLSPlaintext.length, 2^14 (RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT_LENGTH = 0x4000;
/** Largest epoch, uint16 (RFC 6347 §4.1). */
export const MAX_EPOCH = 0xffff;
/** Largest sequence number, uint48 (RFC 6347 §4.1). */
export const MAX_SEQUENCE = 0xffff_ffff_ffff;

const SALT = 4; // fixed_iv_length of every CCM suite (RFC 6655 §3)
const EXPLICIT = 8; // record_iv_length (RFC 6655 §3)
const AAD_LENGTH = 13; // seq_num(8) + type(1) + version(2) + length(2)
const TWO_32 = 0x1_0000_0000;

// Scratch buffers for the nonce and AAD of one record. Ccm128 is synchronous and keeps no reference,
// so one pair serves every CipherState without a per-record allocation.
const nonce = new Uint8Array(SALT + EXPLICIT);
const aad = new Uint8Array(AAD_LENGTH);

/**
 * Keyed CCM contexts of the most recently used cipher states, least recently used first. A context
 * holds two native AES contexts (about 3 KB outside the JavaScript heap), so an idle session keeps
 * none (the server releases them after a quiet spell) while a busy one finds its context here instead
 * of setting up AES for every record. Bounded: the least recently used is disposed of for a new one.
 * 8,192 states cover both directions of 4,096 sessions exchanging records at once (about 32 MB with
 * the keystream each computes ahead).
 *
 * The order is kept loosely: a used context moves to the back only when a quarter of the cap has
 * been set up since it last moved, not on every record, and the one disposed of is the one that was
 * set up or moved back longest ago. A busy session's records cost one map lookup.
 *
 * The first record of an epoch (sequence number 0: the Finished) and an alert go through a one-shot
 * CCM whose context is freed at once: a session that only completes its handshake, or sends one
 * record and goes quiet, never takes a slot from the busy ones, and a session's close_notify sets up
 * no AES context only to free it.
 */
interface Context {
  readonly ccm: Ccm128;
  /** `created` when the context last moved to the back. */
  stamp: number;
}
const contexts = new Map<SecretBytes, Context>();
export const MAX_CCM_CONTEXTS = 8_192;
const REFRESH_AFTER = MAX_CCM_CONTEXTS / 4;
/** Contexts set up so far (the clock of the loose order). */
let created = 0;

/**
 * The write key of a record, copied out of the cipher state's material for the moment AES is keyed.
 * A view (subarray) would do without the copy, but V8 keeps a typed array of up to 64 octets inside
 * its object only until something takes its buffer; a view would move every session's material out
 * to a native allocation of its own, which the heap does not count (memory per idle session).
 * Zeroed again right after use.
 */
const keyScratch = new Uint8Array(32);

/** Calls `use` with a copy of the write key, zeroed again as soon as it returns or throws. */
function withKey<T>(m: Uint8Array, keyLength: number, use: (key: Uint8Array) => T): T {
  try {
    for (let i = 0; i < keyLength; i++) keyScratch[i] = m[i] as number;
    return use(keyScratch.subarray(0, keyLength));
  } finally {
    keyScratch.fill(0);
  }
}

/** ContentType alert (RFC 5246 §6.2.1). */
const ALERT = 21;

/**
 * The keyed CCM context for a record of `state`, set up if need be; undefined when the record goes
 * through one-shot CCM instead: the first of its epoch, or an alert (a session's last record, as a
 * rule: close_notify), for a state with no context. One map lookup per record either way.
 */
function contextFor(state: CipherState, contentType: number, seq: number, m: Uint8Array, keyLength: number): Ccm128 | undefined {
  const found = contexts.get(state.material);
  if (found !== undefined) {
    if (created - found.stamp >= REFRESH_AFTER) {
      contexts.delete(state.material);
      contexts.set(state.material, found);
      found.stamp = created;
    }
    return found.ccm;
  }
  if (seq === 0 || contentType === ALERT) return undefined;
  const ccm = withKey(m, keyLength, (key) => new Ccm128(key));
  if (contexts.size >= MAX_CCM_CONTEXTS) {
    const [oldest, context] = contexts.entries().next().value as [SecretBytes, Context];
    context.ccm.dispose();
    contexts.delete(oldest);
  }
  contexts.set(state.material, { ccm, stamp: ++created });
  return ccm;
}

/** How many cipher states have a keyed CCM context (diagnostics and tests). */
export function ccmContextCount(): number {
  return contexts.size;
}

/**
 * Frees the CCM context of a cipher state, if it has one: its connection ended, or it has been
 * quiet. The state stays usable; its next record sets up a new context.
 */
export function releaseCipherState(state: CipherState): void {
  const context = contexts.get(state.material);
  if (context === undefined) return;
  context.ccm.dispose();
  contexts.delete(state.material);
}

/** Octets a protected record adds to its plaintext: nonce_explicit and tag. */
export function recordOverhead(suite: CipherSuite): number {
  return suite.recordIvLength + suite.tagLength;
}

function validHeader(contentType: number, epoch: number, seq: number): boolean {
  return (
    Number.isInteger(contentType) && contentType >= 0 && contentType <= 0xff &&
    Number.isInteger(epoch) && epoch >= 0 && epoch <= MAX_EPOCH &&
    Number.isInteger(seq) && seq >= 0 && seq <= MAX_SEQUENCE
  );
}

/** Copies the 4-octet salt (material[keyLength..keyLength+4)) to the front of the nonce. */
function setSalt(material: Uint8Array, keyLength: number): void {
  for (let i = 0; i < SALT; i++) nonce[i] = material[keyLength + i] as number;
}

/** Fills `aad` with the RFC 5246 §6.2.3.3 additional data (its first 8 octets are epoch ‖ seq). */
function fillAad(contentType: number, epoch: number, seq: number, length: number): void {
  const hi = Math.floor(seq / TWO_32);
  const lo = seq % TWO_32;
  aad[0] = epoch >>> 8;
  aad[1] = epoch & 0xff;
  aad[2] = hi >>> 8;
  aad[3] = hi & 0xff;
  aad[4] = lo >>> 24;
  aad[5] = (lo >>> 16) & 0xff;
  aad[6] = (lo >>> 8) & 0xff;
  aad[7] = lo & 0xff;
  aad[8] = contentType;
  aad[9] = DTLS12_VERSION >>> 8;
  aad[10] = DTLS12_VERSION & 0xff;
  aad[11] = length >>> 8;
  aad[12] = length & 0xff;
}

/** Length of a DTLS record header (RFC 6347 §4.1): type, version, epoch, sequence_number, length. */
const HEADER = RECORD_HEADER_LENGTH;

/**
 * Encrypts one record's plaintext and returns the whole record, header and fragment
 * (nonce_explicit ‖ ciphertext ‖ tag), built in one buffer. `epoch` and `seq` are the record
 * header's; the caller never reuses a (key, epoch, seq).
 */
export function sealRecord(
  state: CipherState,
  contentType: number,
  epoch: number,
  seq: number,
  plaintext: Uint8Array,
): Uint8Array {
  if (!validHeader(contentType, epoch, seq)) {
    throw new RangeError(`bad record header: type ${contentType}, epoch ${epoch}, seq ${seq}`);
  }
  if (plaintext.length > MAX_PLAINTEXT_LENGTH) {
    throw new RangeError(`record plaintext of ${plaintext.length} octets exceeds ${MAX_PLAINTEXT_LENGTH}`);
  }
  fillAad(contentType, epoch, seq, plaintext.length);
  const m = state.material.expose();
  const keyLength = state.suite.encKeyLength;
  setSalt(m, keyLength);
  nonce.set(aad.subarray(0, EXPLICIT), SALT);
  const tagLength = state.suite.tagLength;
  const fragmentLength = EXPLICIT + plaintext.length + tagLength;
  // Pooled (every octet is written below): the socket's send costs no allocation of its own.
  const out = pooledBytes(HEADER + fragmentLength);
  // type ‖ version ‖ epoch ‖ sequence_number ‖ length: the AAD's first 11 octets are the same fields.
  out[0] = contentType;
  out[1] = DTLS12_VERSION >>> 8;
  out[2] = DTLS12_VERSION & 0xff;
  out.set(aad.subarray(0, EXPLICIT), 3);
  out[11] = fragmentLength >>> 8;
  out[12] = fragmentLength & 0xff;
  out.set(aad.subarray(0, EXPLICIT), HEADER);
  const ccm = contextFor(state, contentType, seq, m, keyLength);
  if (ccm === undefined) {
    out.set(withKey(m, keyLength, (key) => ccmEncrypt(key, nonce, plaintext, aad, tagLength)), HEADER + EXPLICIT);
  } else {
    ccm.encryptInto(out, HEADER + EXPLICIT, nonce, plaintext, aad, tagLength);
  }
  return out;
}

/**
 * Encrypts one record's plaintext and returns its fragment (nonce_explicit ‖ ciphertext ‖ tag), a
 * view into the sealed record.
 */
export function protectRecord(
  state: CipherState,
  contentType: number,
  epoch: number,
  seq: number,
  plaintext: Uint8Array,
): Uint8Array {
  return sealRecord(state, contentType, epoch, seq, plaintext).subarray(HEADER);
}

/**
 * Verifies and decrypts one record's fragment; undefined for a fragment that is too short or too
 * long, a header out of range, or a tag that does not verify. Never throws.
 */
export function unprotectRecord(
  state: CipherState,
  contentType: number,
  epoch: number,
  seq: number,
  fragment: Uint8Array,
): Uint8Array | undefined {
  const tagLength = state.suite.tagLength;
  const length = fragment.length - EXPLICIT - tagLength;
  if (length < 0 || length > MAX_PLAINTEXT_LENGTH || !validHeader(contentType, epoch, seq)) return undefined;
  fillAad(contentType, epoch, seq, length);
  const m = state.material.expose();
  const keyLength = state.suite.encKeyLength;
  setSalt(m, keyLength);
  nonce.set(fragment.subarray(0, EXPLICIT), SALT);
  try {
    const sealed = fragment.subarray(EXPLICIT);
    const ccm = contextFor(state, contentType, seq, m, keyLength);
    if (ccm === undefined) return withKey(m, keyLength, (key) => ccmDecrypt(key, nonce, sealed, aad, tagLength));
    return ccm.decrypt(nonce, sealed, aad, tagLength);
  } catch {
    return undefined;
  }
}
