/**
 * Attach (DESIGN.md §1, §5): the UE side of EPS AKA against hss-sim playing the MME.
 *
 *   POST /v1/attach {imsi}              → 201 {txn, rand, autn}
 *   USIM(rand, autn) (TS 33.102 §6.3.3) → ok: POST /v1/attach/{txn} {res} → 200 {result: success, guti, kid}
 *                                         sync-failure: POST /v1/attach/{txn} {auts} → 200 {result: challenge, txn, rand, autn}
 *                                         mac-failure: stop (the network is not genuine)
 *
 * On success the UE derives e2m_int_key = KDF(CK‖IK) and kid (DESIGN.md §3) and writes its state file.
 */
import { Usim } from '../aka/index.js';
import { deriveE2mIntKey, isKid, kidFromIntKey, kidFromRand } from '../kdf/index.js';
import { fromHex, toHex } from '../util/bytes.js';
import { StackError } from '../util/errors.js';
import { SecretBytes } from '../util/secret.js';
import { HssHttpError, parseHssUrl, postJson, problemDetail } from './hss-http.js';
import { readState, type Sim, type UeState, writeState } from './sim.js';

/** Why an attach ended without keys. */
export type AttachErrorCode =
  /** MAC-A did not verify: the challenge does not come from the subscriber's home network. */
  | 'E_ATTACH_MAC_FAILURE'
  /** The SQN was still not fresh after the network resynchronised. */
  | 'E_ATTACH_SYNC_FAILURE'
  /** The network refused RES (403). */
  | 'E_ATTACH_REJECTED'
  /** hss-sim answered something that is not the protocol. */
  | 'E_ATTACH_PROTOCOL';

export class AttachError extends StackError {
  declare readonly code: AttachErrorCode;

  constructor(code: AttachErrorCode, message: string) {
    super(code, message);
  }
}

export interface AttachOptions {
  /** Base URL of hss-sim, e.g. http://127.0.0.1:7000. */
  readonly hssUrl: string | URL;
  readonly sim: Sim;
  /** The SIM file: its state file `<simPath>.state.json` supplies SQN_MS and receives the result. */
  readonly simPath: string;
  /** Bound on each HTTP exchange, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Time source for attachedAt (default Date.now). */
  readonly now?: () => number;
}

export interface AttachResult {
  readonly imsi: string;
  readonly kid: string;
  readonly guti: string;
  /** How many resynchronisations the attach needed (0 or 1). */
  readonly resyncs: number;
  /** What was written to the state file. */
  readonly state: UeState;
}

/** Challenges answered in one attach: the first and, after a resynchronisation, one more. */
const MAX_ROUNDS = 2;

interface Challenge {
  readonly txn: string;
  readonly rand: Uint8Array;
  readonly autn: Uint8Array;
}

/**
 * Runs one attach. Throws AttachError (MAC failure, persistent sync failure, RES rejected, protocol),
 * HssHttpError (an unexpected status, with the problem+json detail) or HssTransportError; the state
 * file is written only on success.
 */
export async function attach(options: AttachOptions): Promise<AttachResult> {
  const base = options.hssUrl instanceof URL ? options.hssUrl : parseHssUrl(options.hssUrl);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const { sim, simPath } = options;
  const sqnMs = readState(simPath, sim)?.sqnMs ?? sim.sqn;
  const usim = new Usim({ k: sim.k, opc: sim.opc, sqnMs });

  let challenge = await start(base, sim.imsi, timeoutMs);
  for (let round = 1; ; round++) {
    const answer = usim.authenticate(challenge.rand, challenge.autn);
    if (answer.result === 'mac-failure') {
      throw new AttachError(
        'E_ATTACH_MAC_FAILURE',
        'network authentication failed: MAC-A of the challenge does not verify (TS 33.102 §6.3.3), so the network is ' +
          'not genuine or the SIM file holds the wrong K/OPc; nothing was sent back and no key was derived',
      );
    }
    if (answer.result === 'sync-failure') {
      if (round >= MAX_ROUNDS) {
        throw new AttachError('E_ATTACH_SYNC_FAILURE', 'the SQN of the challenge is still not fresh after resynchronisation (TS 33.102 §6.3.5)');
      }
      challenge = await resync(base, challenge.txn, answer.auts, timeoutMs);
      continue;
    }
    const success = await respond(base, challenge.txn, answer.res, timeoutMs);
    const e2mIntKey = deriveE2mIntKey(answer.ck, answer.ik);
    const kid = checkKid(success.kid, challenge.rand, e2mIntKey);
    const state: UeState = {
      imsi: sim.imsi,
      kid,
      rand: challenge.rand,
      e2mIntKey: new SecretBytes(e2mIntKey),
      sqnMs: usim.sqnMs,
      guti: success.guti,
      attachedAt: new Date((options.now ?? Date.now)()).toISOString(),
    };
    e2mIntKey.fill(0);
    answer.ck.fill(0);
    answer.ik.fill(0);
    writeState(simPath, state);
    return { imsi: sim.imsi, kid, guti: success.guti, resyncs: round - 1, state };
  }
}

async function start(base: URL, imsi: string, timeoutMs: number): Promise<Challenge> {
  const r = await postJson(base, 'v1/attach', { imsi }, timeoutMs);
  if (r.status !== 201) throw new HssHttpError(r.status, problemDetail(r.body), `attach of IMSI ${imsi}`);
  return parseChallenge(r.body, 'POST /v1/attach');
}

async function resync(base: URL, txn: string, auts: Uint8Array, timeoutMs: number): Promise<Challenge> {
  const r = await postJson(base, `v1/attach/${encodeURIComponent(txn)}`, { auts: toHex(auts) }, timeoutMs);
  if (r.status !== 200) throw new HssHttpError(r.status, problemDetail(r.body), 'resynchronisation (AUTS)');
  const body = r.body as Record<string, unknown> | undefined;
  if (body?.['result'] !== 'challenge') throw protocolError('POST /v1/attach/{txn} {auts}', 'result is not "challenge"');
  return parseChallenge(body, 'POST /v1/attach/{txn} {auts}');
}

async function respond(base: URL, txn: string, res: Uint8Array, timeoutMs: number): Promise<{ guti: string; kid: string }> {
  const r = await postJson(base, `v1/attach/${encodeURIComponent(txn)}`, { res: toHex(res) }, timeoutMs);
  if (r.status === 403) {
    throw new AttachError('E_ATTACH_REJECTED', `the network rejected RES${detailSuffix(problemDetail(r.body))}`);
  }
  if (r.status !== 200) throw new HssHttpError(r.status, problemDetail(r.body), 'authentication response (RES)');
  const where = 'POST /v1/attach/{txn} {res}';
  const body = asObject(r.body, where);
  if (body['result'] !== 'success') throw protocolError(where, 'result is not "success"');
  const guti = body['guti'];
  if (typeof guti !== 'string' || guti.length === 0 || guti.length > 256) throw protocolError(where, 'guti is not a non-empty string');
  const kid = body['kid'];
  if (!isKid(kid)) throw protocolError(where, 'kid is not 8 lowercase hex digits');
  return { guti, kid };
}

/**
 * The kid the network announced must be one the UE can compute itself (DESIGN.md §3: alternative 1
 * from RAND, alternative 2 from e2m_int_key); otherwise the UE would present an identity that names
 * a key it does not hold.
 */
function checkKid(announced: string, rand: Uint8Array, intKey: Uint8Array): string {
  if (announced === kidFromRand(rand) || announced === kidFromIntKey(intKey)) return announced;
  throw protocolError('POST /v1/attach/{txn} {res}', `kid ${announced} matches neither RAND nor e2m_int_key`);
}

function parseChallenge(body: unknown, where: string): Challenge {
  const b = asObject(body, where);
  const txn = b['txn'];
  if (typeof txn !== 'string' || txn.length === 0 || txn.length > 256) throw protocolError(where, 'txn is not a non-empty string');
  return { txn, rand: hexOf(b['rand'], 'rand', 16, where), autn: hexOf(b['autn'], 'autn', 16, where) };
}

function asObject(body: unknown, where: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw protocolError(where, 'the answer is not a JSON object');
  return body as Record<string, unknown>;
}

function hexOf(v: unknown, field: string, length: number, where: string): Uint8Array {
  if (typeof v !== 'string') throw protocolError(where, `${field} is not a hex string`);
  try {
    return fromHex(v, field, length);
  } catch {
    throw protocolError(where, `${field} is not ${length * 2} hex digits`);
  }
}

function protocolError(where: string, what: string): AttachError {
  return new AttachError('E_ATTACH_PROTOCOL', `unexpected answer from hss-sim to ${where}: ${what}`);
}

function detailSuffix(detail: string | undefined): string {
  return detail === undefined ? '' : `: ${detail}`;
}
