/**
 * The HSS/AuC and MME side of EPS AKA (TS 33.401 §6.1.1, TS 33.102 §6.3) for the simulated access
 * network, plus the e2m push (DESIGN.md §1, §5):
 *   attach   → SQN_HE + 1, fresh RAND, Milenage vector; e2m_int_key = KDF(CK‖IK) pushed to the EMKS
 *              with kid = kidFromRand(RAND) BEFORE the challenge is answered; transaction kept.
 *   RES      → compared with XRES in constant time; the result is reported to the EMKS.
 *   AUTS     → SQN_MS recovered and MAC-S checked (TS 33.102 §6.3.5); SQN_HE := SQN_MS; new challenge.
 * Radio access does not depend on e2m: an EMKS that is down or slow (bounded wait) is logged and
 * the attach goes on.
 */
import { generateVector, recoverSqnFromAuts, SQN_MAX, sqnFromBigInt } from '../aka/index.js';
import { constantTimeEqual, type Rng } from '../crypto/primitives.js';
import { deriveE2mIntKey, kidFromRand } from '../kdf/index.js';
import { toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { AuthError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { SecretBytes } from '../util/secret.js';
import { bounded } from './bounded.js';
import type { AuthResult, EmksClient } from './emks-client.js';
import { ProblemError } from './http.js';
import type { SqnStore } from './sqn-store.js';
import type { Subscriber } from './subscribers.js';
import { type Transaction, TransactionTable } from './transactions.js';

/** A challenge as sent to the UE (hex). */
export interface Challenge {
  readonly txn: string;
  readonly rand: string;
  readonly autn: string;
}

/** A successful attach. */
export interface Attached {
  readonly guti: string;
  readonly kid: string;
}

export interface AttachDeps {
  readonly subscribers: readonly Subscriber[];
  readonly sqn: SqnStore;
  readonly emks: EmksClient;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly rng: Rng;
  /** AMF for subscribers whose entry has none. */
  readonly amf: Uint8Array;
  readonly emksTimeoutMs: number;
  readonly txnTtlMs: number;
  readonly maxTransactions: number;
}

/** RAND draws when the EMKS already holds the kid with another key (409): kid collisions are 2^-32 rare. */
const KID_CONFLICT_RETRIES = 3;

/**
 * GUTI rendering (TS 23.003 §2.8.1: GUTI = MCC ‖ MNC ‖ MMEGI ‖ MMEC ‖ M-TMSI), ours:
 * `<MCC MNC: the IMSI's first 5 digits>-<MMEGI 4 hex>-<MMEC 2 hex>-<M-TMSI 8 hex>`, a fresh M-TMSI per attach.
 */
export function makeGuti(imsi: string, mTmsi: Uint8Array): string {
  return `${imsi.slice(0, 5)}-0001-01-${toHex(mTmsi)}`;
}

/** The attach procedure's state: subscribers, SQN_HE and the pending transactions. */
export class AttachService {
  readonly #subs: ReadonlyMap<string, Subscriber>;
  readonly #d: AttachDeps;
  readonly #txns: TransactionTable;

  constructor(deps: AttachDeps) {
    this.#d = deps;
    this.#subs = new Map(deps.subscribers.map((s) => [s.imsi, s]));
    this.#txns = new TransactionTable({
      ttlMs: deps.txnTtlMs,
      max: deps.maxTransactions,
      clock: deps.clock,
      onEnd: (t, reason) => {
        if (reason === 'expired' || reason === 'evicted') deps.logger.debug({ txn: t.id, imsi: t.imsi, kid: t.kid, reason }, 'attach transaction dropped');
      },
    });
  }

  /** Pending transactions. */
  get pending(): number {
    return this.#txns.size;
  }

  /** POST /v1/attach: a new challenge for `imsi` (404 if unknown). */
  async attach(imsi: string): Promise<Challenge> {
    const sub = this.#subs.get(imsi);
    if (sub === undefined) throw new ProblemError(404, 'unknown IMSI');
    return this.#challenge(sub, 'attach');
  }

  /** POST /v1/attach/{txn} {res}: success or 403; the outcome is reported to the EMKS. */
  async answerRes(txnId: string, res: Uint8Array): Promise<Attached> {
    const t = this.#take(txnId);
    try {
      const { logger } = this.#d;
      if (!constantTimeEqual(res, t.xres.expose())) {
        await this.#report(t, 'failure');
        logger.warn({ txn: t.id, imsi: t.imsi, kid: t.kid }, 'attach rejected: RES does not match XRES');
        throw new ProblemError(403, 'authentication failed: RES does not match');
      }
      if (!t.pushed) t.pushed = await this.#push(t.imsi, t.kid, t.intKey, t.rand);
      await this.#report(t, 'success');
      const guti = makeGuti(t.imsi, this.#d.rng(4));
      logger.info({ txn: t.id, imsi: t.imsi, kid: t.kid, guti, keyAtEmks: t.pushed }, 'attached');
      return { guti, kid: t.kid };
    } finally {
      this.#txns.finish(t);
    }
  }

  /** POST /v1/attach/{txn} {auts}: resynchronise (TS 33.102 §6.3.5) and send a new challenge; 403 on a bad MAC-S. */
  async answerAuts(txnId: string, auts: Uint8Array): Promise<Challenge> {
    const t = this.#take(txnId);
    try {
      const sub = this.#subs.get(t.imsi);
      if (sub === undefined) throw new ProblemError(404, 'unknown IMSI');
      let sqnMs: Uint8Array;
      try {
        sqnMs = recoverSqnFromAuts(sub.k, sub.opc, t.rand, auts);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        await this.#report(t, 'failure');
        this.#d.logger.warn({ txn: t.id, imsi: t.imsi }, 'resynchronisation refused: MAC-S does not verify');
        throw new ProblemError(403, 'AUTS rejected: MAC-S does not verify');
      }
      // The USIM rejected this challenge, so its key will never be used.
      await this.#report(t, 'failure');
      const value = BigInt(`0x${toHex(sqnMs)}`);
      this.#d.logger.info({ txn: t.id, imsi: t.imsi, sqnHe: this.#d.sqn.get(t.imsi)?.toString(16), sqnMs: toHex(sqnMs) }, 'resynchronising SQN from AUTS');
      this.#d.sqn.set(t.imsi, value);
      return await this.#challenge(sub, 'resync');
    } finally {
      this.#txns.finish(t);
    }
  }

  /** Ends every pending transaction. */
  close(): void {
    this.#txns.clear();
  }

  #take(txnId: string): Transaction {
    const t = /^[0-9a-f]{32}$/.test(txnId) ? this.#txns.take(txnId) : undefined;
    if (t === undefined) throw new ProblemError(404, 'unknown or expired transaction');
    return t;
  }

  /** SQN_HE + 1 (persisted first), a vector, the push, a transaction. */
  async #challenge(sub: Subscriber, why: 'attach' | 'resync'): Promise<Challenge> {
    const d = this.#d;
    const last = d.sqn.get(sub.imsi) ?? sub.sqn;
    if (last >= SQN_MAX) throw new ProblemError(503, 'SQN space of this subscriber is exhausted');
    const sqn = last + 1n;
    d.sqn.set(sub.imsi, sqn);
    let made: { rand: Uint8Array; autn: Uint8Array; xres: SecretBytes; intKey: SecretBytes; kid: string } | undefined;
    let pushed = false;
    for (let attempt = 0; attempt < KID_CONFLICT_RETRIES && !pushed; attempt++) {
      made?.xres.wipe();
      made?.intKey.wipe();
      const v = generateVector({ k: sub.k, opc: sub.opc, rand: d.rng(16), sqn: sqnFromBigInt(sqn), amf: sub.amf ?? d.amf });
      made = { rand: v.rand, autn: v.autn, xres: new SecretBytes(v.xres), intKey: new SecretBytes(deriveE2mIntKey(v.ck, v.ik)), kid: kidFromRand(v.rand) };
      for (const b of [v.xres, v.ck, v.ik, v.ak]) b.fill(0);
      const outcome = await this.#pushOutcome(sub.imsi, made.kid, made.intKey, made.rand);
      pushed = outcome === 'ok';
      if (outcome !== 'conflict') break;
    }
    if (made === undefined) throw new Error('unreachable: no vector made');
    const id = toHex(d.rng(16));
    this.#txns.add({ id, imsi: sub.imsi, rand: made.rand, kid: made.kid, xres: made.xres, intKey: made.intKey, pushed, createdAt: d.clock.now() });
    d.logger.info({ txn: id, imsi: sub.imsi, kid: made.kid, sqn: sqn.toString(16), why, keyAtEmks: pushed }, 'challenge sent');
    return { txn: id, rand: toHex(made.rand), autn: toHex(made.autn) };
  }

  async #push(imsi: string, kid: string, intKey: SecretBytes, rand: Uint8Array): Promise<boolean> {
    return (await this.#pushOutcome(imsi, kid, intKey, rand)) === 'ok';
  }

  async #pushOutcome(imsi: string, kid: string, key: SecretBytes, rand: Uint8Array): Promise<'ok' | 'conflict' | 'failed'> {
    const d = this.#d;
    const r = await bounded(d.clock, d.emksTimeoutMs, () => d.emks.pushIntKey(imsi, { kid, key, rand, createdAt: new Date() }));
    if (r.ok) return 'ok';
    const conflict = r.code === 'E_EMKS_CONFLICT';
    d.logger.warn({ imsi, kid, code: r.code, reason: r.message }, conflict ? 'EMKS holds this kid with another key: new RAND' : 'e2m_int_key push failed; attach goes on');
    return conflict ? 'conflict' : 'failed';
  }

  /** Reports the outcome for a key the EMKS holds (a key it never got has nothing to report). */
  async #report(t: Transaction, result: AuthResult): Promise<void> {
    const d = this.#d;
    if (!t.pushed) return;
    const r = await bounded(d.clock, d.emksTimeoutMs, () => d.emks.reportAuthResult(t.imsi, t.kid, result));
    if (!r.ok) d.logger.warn({ imsi: t.imsi, kid: t.kid, result, code: r.code, reason: r.message }, 'auth result not delivered to the EMKS');
  }
}
