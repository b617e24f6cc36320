/**
 * A simulated USIM: the user side of UMTS/EPS AKA (TS 33.102 §6.3.3). It holds K, OPc and SQN_MS,
 * the highest sequence number it has accepted, and answers a challenge (RAND, AUTN) with RES, CK and IK,
 * a synchronisation failure (AUTS), or a MAC failure.
 */
import { constantTimeEqual } from '../crypto/index.js';
import { ConfigError, SecretBytes, xor } from '../util/index.js';
import { buildAuts, parseAutn } from './autn.js';
import { AKA_LENGTHS as L, checkBytes, checkKey, type KeyInput } from './check.js';
import { f1, f2345 } from './milenage.js';
import { DEFAULT_SQN_DELTA, SQN_MAX, isSqnAcceptable, sqnFromBigInt, sqnToBigInt } from './sqn.js';

/** What a USIM is made of. */
export interface UsimOptions {
  /** Subscriber key K, 16 octets (copied). */
  readonly k: KeyInput;
  /** OPc, 16 octets (copied). */
  readonly opc: KeyInput;
  /** SQN_MS, the highest SQN accepted so far, 6 octets. */
  readonly sqnMs: Uint8Array;
  /** Δ, the largest accepted SQN − SQN_MS (TS 33.102 Annex C.2.2); default 2^28. */
  readonly delta?: bigint | number;
}

/** The USIM's answer to an authentication challenge (TS 33.102 §6.3.3). */
export type UsimResult =
  /** MAC-A verified and SQN fresh: RES goes back to the network, CK and IK stay in the UE. */
  | { readonly result: 'ok'; readonly res: Uint8Array; readonly ck: Uint8Array; readonly ik: Uint8Array }
  /** MAC-A verified but SQN not in range: AUTS lets the network resynchronise. */
  | { readonly result: 'sync-failure'; readonly auts: Uint8Array }
  /** XMAC ≠ MAC: "user authentication reject" with cause MAC failure. */
  | { readonly result: 'mac-failure' };

function checkDelta(delta: bigint | number | undefined): bigint {
  if (delta === undefined) return DEFAULT_SQN_DELTA;
  const ok = typeof delta === 'bigint' || (typeof delta === 'number' && Number.isSafeInteger(delta));
  const d = ok ? BigInt(delta) : -1n;
  if (d < 1n || d > SQN_MAX) throw new ConfigError('delta', `expected an integer in 1..2^48-1, got ${String(delta)}`);
  return d;
}

/** A simulated USIM holding K, OPc and SQN_MS (TS 33.102 §6.3.3, Annex C). */
export class Usim {
  readonly #k: SecretBytes;
  readonly #opc: SecretBytes;
  readonly #delta: bigint;
  #sqnMs: bigint;

  /** Checks and copies the options; throws ConfigError naming `k`, `opc`, `sqnMs` or `delta`. */
  constructor(options: UsimOptions) {
    this.#k = new SecretBytes(checkKey(options.k, L.k, 'k'));
    this.#opc = new SecretBytes(checkKey(options.opc, L.opc, 'opc'));
    this.#sqnMs = sqnToBigInt(options.sqnMs, 'sqnMs');
    this.#delta = checkDelta(options.delta);
  }

  /** SQN_MS, the highest SQN accepted so far (a fresh 6-octet copy). */
  get sqnMs(): Uint8Array {
    return sqnFromBigInt(this.#sqnMs);
  }

  /**
   * Runs the USIM side of AKA (TS 33.102 §6.3.3): computes AK and retrieves SQN = (SQN ⊕ AK) ⊕ AK,
   * checks XMAC = MAC-A in constant time (else mac-failure), then checks that SQN is fresh (else
   * sync-failure with AUTS built from the current SQN_MS); on success stores SQN as the new SQN_MS
   * and returns RES, CK and IK. Throws ConfigError if `rand` or `autn` has the wrong length.
   */
  authenticate(rand: Uint8Array, autn: Uint8Array): UsimResult {
    checkBytes(rand, L.rand, 'rand');
    const parsed = parseAutn(checkBytes(autn, L.autn, 'autn'));
    const k = this.#k.expose();
    const opc = this.#opc.expose();
    const out = f2345(k, opc, rand);
    const sqn = xor(parsed.sqnXorAk, out.ak);
    if (!constantTimeEqual(f1(k, opc, rand, sqn, parsed.amf), parsed.macA)) return { result: 'mac-failure' };
    const sqnValue = sqnToBigInt(sqn);
    if (!isSqnAcceptable(sqnValue, this.#sqnMs, this.#delta)) {
      return { result: 'sync-failure', auts: buildAuts(k, opc, rand, sqnFromBigInt(this.#sqnMs)) };
    }
    this.#sqnMs = sqnValue;
    return { result: 'ok', res: out.res, ck: out.ck, ik: out.ik };
  }
}
