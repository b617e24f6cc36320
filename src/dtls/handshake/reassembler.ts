/**
 * Handshake message reassembly, RFC 6347 §4.2.3 (fragmentation) and §4.2.2 (message_seq order):
 *
 *   "When a DTLS implementation receives a handshake message fragment, it MUST buffer it until it
 *    has the entire handshake message. DTLS implementations MUST be able to handle overlapping
 *    fragment ranges."
 *
 * Fragments may arrive in any order, duplicated or overlapping, for any message_seq in the window
 * [expectedSeq, expectedSeq + maxSeqAhead). Messages leave in message_seq order only, so a later
 * message that completes first waits for the earlier ones. Fragments that contradict what earlier
 * fragments of the same message said (msg_type or length) are dropped, and the buffered body bytes are
 * capped: a message that does not fit evicts buffered messages of higher message_seq (the peer will
 * retransmit them), or is dropped.
 */
import type { HandshakeFragmentFields } from './header.js';

/** Options of a HandshakeReassembler. */
export interface ReassemblerOptions {
  /** Most body bytes buffered across messages (default 64 KiB). */
  readonly maxBufferedBytes?: number;
  /** How far ahead of `expectedSeq` a message_seq may be: seq < expectedSeq + maxSeqAhead (default 8). */
  readonly maxSeqAhead?: number;
  /** The first message_seq expected (default 0). */
  readonly initialSeq?: number;
}

/** A complete handshake message, body owned by the caller. */
export interface HandshakeMessage {
  readonly msgType: number;
  readonly messageSeq: number;
  readonly body: Uint8Array;
}

/**
 * What became of a pushed fragment. `old` means a message already delivered (RFC 6347 §4.2.4: the
 * peer is retransmitting, which may call for retransmitting our last flight).
 */
export type PushResult = 'buffered' | 'duplicate' | 'old' | 'too-far' | 'conflict' | 'over-cap' | 'invalid';

interface Pending {
  readonly msgType: number;
  readonly length: number;
  readonly body: Uint8Array;
  /** One bit per body octet received; empty for a message that arrived whole. */
  readonly seen: Uint8Array;
  covered: number;
}

/** The `seen` of every message that arrived in one fragment (nothing is ever marked in it). */
const WHOLE = new Uint8Array(0);

const DEFAULT_MAX_BUFFERED = 64 * 1024;
const DEFAULT_SEQ_AHEAD = 8;
const MAX_SEQ = 0xffff;
const MAX_LENGTH = 0xffffff;

function checkCount(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** Marks [from, to) as received; returns how many octets were new. */
function cover(p: Pending, from: number, to: number): number {
  let added = 0;
  for (let i = from; i < to; i++) {
    const bit = 1 << (i & 7);
    const at = i >>> 3;
    const byte = p.seen[at] as number;
    if ((byte & bit) === 0) {
      p.seen[at] = byte | bit;
      added++;
    }
  }
  p.covered += added;
  return added;
}

/** Buffers handshake fragments of one direction of one handshake and hands out complete messages in order. */
export class HandshakeReassembler {
  private readonly maxBuffered: number;
  private readonly maxAhead: number;
  private readonly pending = new Map<number, Pending>();
  private nextSeq: number;
  private buffered = 0;

  constructor(options: ReassemblerOptions = {}) {
    this.maxBuffered = checkCount(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED, 'maxBufferedBytes', 0, 2 ** 31);
    this.maxAhead = checkCount(options.maxSeqAhead ?? DEFAULT_SEQ_AHEAD, 'maxSeqAhead', 1, MAX_SEQ + 1);
    this.nextSeq = checkCount(options.initialSeq ?? 0, 'initialSeq', 0, MAX_SEQ);
  }

  /** The message_seq of the next message `next()` will return. */
  get expectedSeq(): number {
    return this.nextSeq;
  }

  /**
   * Moves the expected message_seq (e.g. to 1 on a server after a cookie exchange, RFC 6347 §4.2.2),
   * dropping buffered messages that fall outside the new window.
   */
  set expectedSeq(seq: number) {
    this.nextSeq = checkCount(seq, 'expectedSeq', 0, MAX_SEQ);
    for (const s of [...this.pending.keys()]) {
      if (s < seq || s >= seq + this.maxAhead) this.evict(s);
    }
  }

  /** Body octets currently buffered (the quantity the memory cap bounds). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Drops every buffered fragment (expectedSeq is unchanged). */
  clear(): void {
    this.pending.clear();
    this.buffered = 0;
  }

  /** Accepts one fragment (its body is copied). Invalid or unwanted fragments are dropped, never thrown. */
  push(fragment: HandshakeFragmentFields): PushResult {
    const { msgType, length, messageSeq: seq, fragmentOffset: offset, body } = fragment;
    if (!Number.isInteger(seq) || !Number.isInteger(length) || !Number.isInteger(offset)) return 'invalid';
    if (length < 0 || length > MAX_LENGTH || offset < 0 || offset + body.length > length) return 'invalid';
    if (seq < this.nextSeq) return 'old';
    if (seq >= this.nextSeq + this.maxAhead) return 'too-far';
    let p = this.pending.get(seq);
    if (p === undefined) {
      if (!this.makeRoom(seq, length)) return 'over-cap';
      if (offset === 0 && body.length === length) {
        // The usual case, a message in one fragment: complete at once, no coverage map needed.
        this.pending.set(seq, { msgType, length, body: body.slice(), seen: WHOLE, covered: length });
        this.buffered += length;
        return 'buffered';
      }
      const seen = new Uint8Array(Math.ceil(length / 8));
      p = { msgType, length, body: new Uint8Array(length), seen, covered: 0 };
      this.pending.set(seq, p);
      this.buffered += length;
      p.body.set(body, offset);
      cover(p, offset, offset + body.length);
      return 'buffered';
    }
    if (p.msgType !== msgType || p.length !== length) return 'conflict';
    if (p.covered === p.length) return 'duplicate';
    p.body.set(body, offset);
    return cover(p, offset, offset + body.length) > 0 ? 'buffered' : 'duplicate';
  }

  /** The next message in message_seq order if it is complete (and advances expectedSeq), else undefined. */
  next(): HandshakeMessage | undefined {
    const p = this.pending.get(this.nextSeq);
    if (p === undefined || p.covered !== p.length) return undefined;
    const messageSeq = this.nextSeq;
    this.evict(messageSeq);
    this.nextSeq++;
    return { msgType: p.msgType, messageSeq, body: p.body };
  }

  private evict(seq: number): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.pending.delete(seq);
    this.buffered -= p.length;
  }

  /** Frees room for `length` octets by evicting messages of higher seq, farthest first. */
  private makeRoom(seq: number, length: number): boolean {
    if (length > this.maxBuffered) return false;
    if (this.buffered + length <= this.maxBuffered) return true;
    const later = [...this.pending.keys()].filter((s) => s > seq).sort((a, b) => b - a);
    for (const s of later) {
      if (this.buffered + length <= this.maxBuffered) break;
      this.evict(s);
    }
    return this.buffered + length <= this.maxBuffered;
  }
}
