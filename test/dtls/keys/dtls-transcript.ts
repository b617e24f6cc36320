/**
 * Replays a captured DTLS 1.2 PSK handshake through e2m's key schedule and record protection, and
 * reports what our code computes next to what OpenSSL put on the wire or in its key log. The tests
 * compare the two; nothing here decides pass or fail.
 *
 * Record header (RFC 6347 §4.1): type(1) version(2) epoch(2) sequence_number(6) length(2).
 * Handshake header (RFC 6347 §4.2.2): msg_type(1) length(3) message_seq(2) fragment_offset(3)
 * fragment_length(3). The transcript starts at the ClientHello that answers the HelloVerifyRequest
 * (RFC 6347 §4.2.6) and hashes every message with its 12-octet header.
 */
import { sha256 } from '../../../src/crypto/primitives.js';
import { cipherSuiteById, type CipherSuite } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { cipherStatesFromKeyBlock, type CipherState } from '../../../src/dtls/record/cipher-state.js';
import { protectRecord, unprotectRecord } from '../../../src/dtls/record/protection.js';
import { keyBlock } from '../../../src/dtls/keys/key-block.js';
import { verifyData } from '../../../src/dtls/keys/finished.js';
import { extendedMasterSecret } from '../../../src/dtls/keys/master-secret.js';
import { pskPremaster } from '../../../src/dtls/keys/premaster.js';
import { ByteReader, fromHex, toHex } from '../../../src/util/bytes.js';
import type { CapturedDatagram } from './openssl-capture.js';

const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const HELLO_VERIFY_REQUEST = 3;
const CLIENT_KEY_EXCHANGE = 16;
const FINISHED = 20;
const EXTENDED_MASTER_SECRET_EXT = 0x0017; // RFC 7627 §5.1

interface WireRecord {
  from: 'client' | 'server';
  type: number;
  epoch: number;
  seq: number;
  fragment: Uint8Array;
}

/** One protected record: OpenSSL's fragment and ours for the same plaintext, epoch and seq. */
export interface Reprotected {
  from: 'client' | 'server';
  type: number;
  theirs: string;
  ours: string;
}

/** Everything the tests compare. */
export interface ReplayResult {
  suite: CipherSuite | undefined;
  serverHelloHasEms: boolean;
  keylogClientRandom: string;
  clientRandom: string;
  keylogMaster: string;
  ourMaster: string;
  finished: { sender: 'client' | 'server'; received: string; expected: string }[];
  reprotected: Reprotected[];
  decryptFailures: number;
  appData: string[];
}

function records(datagrams: readonly CapturedDatagram[]): WireRecord[] {
  const out: WireRecord[] = [];
  for (const d of datagrams) {
    const r = new ByteReader(fromHex(d.hex, 'datagram'));
    while (r.remaining > 0) {
      const type = r.u8('type');
      r.u16('version');
      out.push({ from: d.from, type, epoch: r.u16('epoch'), seq: r.u48('seq'), fragment: r.vec16('fragment') });
    }
  }
  return out;
}

/** Splits a handshake record body into whole messages (header included); fragments are not expected. */
function messages(body: Uint8Array): { type: number; seq: number; raw: Uint8Array; payload: Uint8Array }[] {
  const out = [];
  const r = new ByteReader(body);
  while (r.remaining > 0) {
    const start = r.offset;
    const type = r.u8('msg_type');
    const length = r.u24('length');
    const seq = r.u16('message_seq');
    if (r.u24('fragment_offset') !== 0 || r.u24('fragment_length') !== length) throw new Error('fragmented capture');
    const payload = r.bytes(length, 'body');
    out.push({ type, seq, raw: body.slice(start, r.offset), payload });
  }
  return out;
}

function serverHelloFacts(payload: Uint8Array): { random: Uint8Array; suiteId: number; ems: boolean } {
  const r = new ByteReader(payload);
  r.u16('server_version');
  const random = r.bytes(32, 'random');
  r.vec8('session_id');
  const suiteId = r.u16('cipher_suite');
  r.u8('compression_method');
  let ems = false;
  if (r.remaining > 0) {
    const ext = new ByteReader(r.vec16('extensions'));
    while (ext.remaining > 0) {
      if (ext.u16('extension_type') === EXTENDED_MASTER_SECRET_EXT) ems = true;
      ext.vec16('extension_data');
    }
  }
  return { random, suiteId, ems };
}

/** Mutable state of one replay. */
interface Replay {
  readonly pskHex: string;
  readonly result: ReplayResult;
  readonly seen: Set<string>;
  transcript: Uint8Array[];
  clientRandom?: Uint8Array;
  serverRandom?: Uint8Array;
  master?: Uint8Array;
  /** Write state of each sender (epoch 1). */
  states?: { client: CipherState; server: CipherState };
}

/** The plaintext of a record: as is in epoch 0, through unprotectRecord (and back) in epoch 1. */
function openRecord(r: Replay, rec: WireRecord): Uint8Array | undefined {
  if (rec.epoch === 0) return rec.fragment;
  if (!r.states) throw new Error('protected record before the keys are known');
  const writer = rec.from === 'client' ? r.states.client : r.states.server;
  const pt = unprotectRecord(writer, rec.type, rec.epoch, rec.seq, rec.fragment);
  if (pt === undefined) {
    r.result.decryptFailures++;
    return undefined;
  }
  const ours = protectRecord(writer, rec.type, rec.epoch, rec.seq, pt);
  r.result.reprotected.push({ from: rec.from, type: rec.type, theirs: toHex(rec.fragment), ours: toHex(ours) });
  return pt;
}

/** Derives master secret and keys once the transcript ends with ClientKeyExchange (RFC 7627 §4). */
function deriveKeys(r: Replay): void {
  const suite = r.result.suite;
  if (!r.clientRandom || !r.serverRandom || !suite) throw new Error('ClientKeyExchange before the hellos');
  const ms = extendedMasterSecret(pskPremaster(fromHex(r.pskHex, 'psk')), sha256(...r.transcript));
  r.master = new Uint8Array(ms.expose());
  r.result.ourMaster = toHex(r.master);
  const server = cipherStatesFromKeyBlock(keyBlock(ms, r.serverRandom, r.clientRandom, suite), 'server');
  r.states = { client: server.read, server: server.write };
}

function onMessage(r: Replay, from: 'client' | 'server', m: { type: number; raw: Uint8Array; payload: Uint8Array }): void {
  if (m.type === CLIENT_HELLO) {
    r.transcript = []; // the last ClientHello (with the cookie) starts the transcript
    r.clientRandom = m.payload.slice(2, 34);
    r.result.clientRandom = toHex(r.clientRandom);
  }
  if (m.type === SERVER_HELLO) {
    const sh = serverHelloFacts(m.payload);
    r.serverRandom = sh.random;
    r.result.suite = cipherSuiteById(sh.suiteId);
    r.result.serverHelloHasEms = sh.ems;
  }
  if (m.type === FINISHED) {
    if (!r.master) throw new Error('Finished before ClientKeyExchange');
    const expected = verifyData(r.master, from, sha256(...r.transcript));
    r.result.finished.push({ sender: from, received: toHex(m.payload), expected: toHex(expected) });
  }
  if (m.type === HELLO_VERIFY_REQUEST) return; // not hashed (RFC 6347 §4.2.6)
  r.transcript.push(m.raw);
  if (m.type === CLIENT_KEY_EXCHANGE) deriveKeys(r);
}

/** Replays `datagrams` with `pskHex`; `keylogLine` is OpenSSL's CLIENT_RANDOM line. */
export function replayHandshake(datagrams: readonly CapturedDatagram[], pskHex: string, keylogLine: string): ReplayResult {
  const [, keylogClientRandom = '', keylogMaster = ''] = keylogLine.trim().split(' ');
  const result: ReplayResult = {
    suite: undefined, serverHelloHasEms: false, keylogClientRandom, clientRandom: '', keylogMaster, ourMaster: '',
    finished: [], reprotected: [], decryptFailures: 0, appData: [],
  };
  const r: Replay = { pskHex, result, seen: new Set(), transcript: [] };
  for (const rec of records(datagrams)) {
    const plaintext = openRecord(r, rec);
    if (plaintext === undefined) continue;
    if (rec.type === APPLICATION_DATA) result.appData.push(new TextDecoder().decode(plaintext));
    if (rec.type !== HANDSHAKE) continue;
    for (const m of messages(plaintext)) {
      const key = `${rec.from}:${m.seq}:${m.type}`;
      if (r.seen.has(key)) continue; // a retransmission
      r.seen.add(key);
      onMessage(r, rec.from, m);
    }
  }
  return result;
}
