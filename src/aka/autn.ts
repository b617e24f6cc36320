/**
 * The authentication token AUTN and the resynchronisation token AUTS (TS 33.102 §6.3.2, §6.3.3,
 * §6.3.5), and the network's authentication vector.
 *
 *   AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A                MAC-A = f1K(SQN ‖ RAND ‖ AMF)      (§6.3.2)
 *   AUTS = Conc(SQN_MS) ‖ MAC-S                  Conc(SQN_MS) = SQN_MS ⊕ f5*K(RAND)
 *                                                MAC-S = f1*K(SQN_MS ‖ RAND ‖ AMF*)  (§6.3.3)
 * where AMF* is the dummy value 0x0000, so that no value of AMF has to be sent in the resync message.
 */
import { constantTimeEqual } from '../crypto/index.js';
import { AuthError, ByteReader, concat, xor } from '../util/index.js';
import { AKA_LENGTHS as L, checkBytes, checkKey, type KeyInput } from './check.js';
import { f1star, f5star, milenage, type MilenageInput } from './milenage.js';

/** AMF*, the dummy AMF 0x0000 used in MAC-S of AUTS (TS 33.102 §6.3.3); never handed out, so never mutated. */
const AMF_STAR = new Uint8Array(2);

/** AUTN split into its three parts (TS 33.102 §6.3.2). */
export interface ParsedAutn {
  /** SQN ⊕ AK, 6 octets. */
  readonly sqnXorAk: Uint8Array;
  /** AMF, 2 octets. */
  readonly amf: Uint8Array;
  /** MAC-A, 8 octets. */
  readonly macA: Uint8Array;
}

/** A UMTS/EPS authentication vector as the HE/AuC generates it (TS 33.102 §6.3.2, Figure 7). */
export interface AuthVector {
  /** RAND, 16 octets (a copy of the input). */
  readonly rand: Uint8Array;
  /** XRES = f2K(RAND), 8 octets. */
  readonly xres: Uint8Array;
  /** CK = f3K(RAND), 16 octets. */
  readonly ck: Uint8Array;
  /** IK = f4K(RAND), 16 octets. */
  readonly ik: Uint8Array;
  /** AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A, 16 octets. */
  readonly autn: Uint8Array;
  /** AK = f5K(RAND), 6 octets (needed for SQN ⊕ AK in the TS 33.401 / TS 33.501 key derivations). */
  readonly ak: Uint8Array;
}

/**
 * AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2). SQN and AK are both 6 octets, but XOR commutes,
 * so their order cannot be got wrong; AK is all zero when SQN concealment is not used.
 */
export function buildAutn(sqn: Uint8Array, ak: Uint8Array, amf: Uint8Array, macA: Uint8Array): Uint8Array {
  checkBytes(sqn, L.sqn, 'sqn');
  checkBytes(ak, L.ak, 'ak');
  checkBytes(amf, L.amf, 'amf');
  checkBytes(macA, L.mac, 'macA');
  return concat(xor(sqn, ak), amf, macA);
}

/** Splits a 16-octet AUTN (TS 33.102 §6.3.2); throws DecodeError on any other length. */
export function parseAutn(autn: Uint8Array): ParsedAutn {
  const r = new ByteReader(autn, 'autn');
  const sqnXorAk = r.bytes(L.sqn, 'sqnXorAk');
  const amf = r.bytes(L.amf, 'amf');
  const macA = r.bytes(L.mac, 'macA');
  r.end();
  return { sqnXorAk, amf, macA };
}

/**
 * The USIM's AUTS for a synchronisation failure (TS 33.102 §6.3.3):
 * Conc(SQN_MS) ‖ MAC-S with Conc(SQN_MS) = SQN_MS ⊕ f5*K(RAND), MAC-S = f1*K(SQN_MS ‖ RAND ‖ AMF*).
 * `rand` is the RAND of the rejected challenge.
 */
export function buildAuts(k: KeyInput, opc: KeyInput, rand: Uint8Array, sqnMs: Uint8Array): Uint8Array {
  const sqn = checkBytes(sqnMs, L.sqn, 'sqnMs');
  const akStar = f5star(k, opc, rand);
  const macS = f1star(k, opc, rand, sqn, AMF_STAR);
  return concat(xor(sqn, akStar), macS);
}

/**
 * The HE/AuC side of resynchronisation (TS 33.102 §6.3.5): retrieves SQN_MS = Conc(SQN_MS) ⊕ f5*K(RAND)
 * and verifies MAC-S = f1*K(SQN_MS ‖ RAND ‖ AMF*) in constant time. Throws AuthError if MAC-S is wrong,
 * in which case the AuC must not reset its SQN. Returns SQN_MS (6 octets).
 */
export function recoverSqnFromAuts(k: KeyInput, opc: KeyInput, rand: Uint8Array, auts: Uint8Array): Uint8Array {
  const key = checkKey(k, L.k, 'k');
  const opcBytes = checkKey(opc, L.opc, 'opc');
  const a = checkBytes(auts, L.auts, 'auts');
  const sqnMs = xor(a.subarray(0, L.sqn), f5star(key, opcBytes, rand));
  const xmacS = f1star(key, opcBytes, rand, sqnMs, AMF_STAR);
  if (!constantTimeEqual(xmacS, a.subarray(L.sqn))) {
    throw new AuthError('AUTS rejected: MAC-S does not verify (TS 33.102 §6.3.5)');
  }
  return sqnMs;
}

/**
 * A fresh authentication vector (RAND, XRES, CK, IK, AUTN) for the given SQN and AMF
 * (TS 33.102 §6.3.2); AK is returned too. RAND is the caller's: draw it from an injected rng.
 */
export function generateVector(input: MilenageInput): AuthVector {
  const m = milenage(input);
  const autn = buildAutn(input.sqn, m.ak, input.amf, m.macA);
  return { rand: input.rand.slice(), xres: m.res, ck: m.ck, ik: m.ik, autn, ak: m.ak };
}
