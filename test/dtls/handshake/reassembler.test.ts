import { describe, expect, it } from 'vitest';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';
import { HandshakeReassembler } from '../../../src/dtls/handshake/reassembler.js';
import {
  type HandshakeFragmentFields,
  decodeHandshakeFragments,
  fragmentHandshake,
} from '../../../src/dtls/handshake/header.js';
import { handshakeFragments } from '../fixtures/helpers.js';
import { pskCcm8 } from '../fixtures/openssl-dtls12.js';

const message = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** The fragments of a message cut into pieces of `size` octets. */
function pieces(msgType: number, seq: number, body: Uint8Array, size: number): HandshakeFragmentFields[] {
  return fragmentHandshake(msgType, seq, body, size).flatMap((b) => decodeHandshakeFragments(b));
}

function drain(r: HandshakeReassembler): { msgType: number; messageSeq: number; body: Uint8Array }[] {
  const out = [];
  for (let m = r.next(); m !== undefined; m = r.next()) out.push(m);
  return out;
}

describe('HandshakeReassembler (RFC 6347 §4.2.3)', () => {
  it('passes unfragmented OpenSSL messages through in order', () => {
    const r = new HandshakeReassembler({ initialSeq: 1 });
    for (const f of handshakeFragments(pskCcm8.serverFlight)) expect(r.push(f)).toBe('buffered');
    expect(drain(r).map((m) => [m.msgType, m.messageSeq, m.body.length])).toEqual([
      [HandshakeType.server_hello, 1, 0x35],
      [HandshakeType.server_key_exchange, 2, 0x0a],
      [HandshakeType.server_hello_done, 3, 0],
    ]);
    expect(r.expectedSeq).toBe(4);
    expect(r.bufferedBytes).toBe(0);
  });

  it('reassembles a message split into 10 fragments delivered in reverse order', () => {
    const body = message(100);
    const r = new HandshakeReassembler();
    const frags = pieces(HandshakeType.client_hello, 0, body, 10);
    expect(frags).toHaveLength(10);
    for (const f of frags.reverse()) {
      expect(r.next()).toBeUndefined();
      r.push(f);
    }
    expect(r.next()).toEqual({ msgType: HandshakeType.client_hello, messageSeq: 0, body });
    expect(r.next()).toBeUndefined();
  });

  it('handles duplicates and overlapping ranges', () => {
    const body = message(50);
    const r = new HandshakeReassembler();
    const at = (offset: number, end: number): HandshakeFragmentFields => ({
      msgType: 1, length: 50, messageSeq: 0, fragmentOffset: offset, body: body.subarray(offset, end),
    });
    expect(r.push(at(10, 30))).toBe('buffered');
    expect(r.push(at(10, 30))).toBe('duplicate');
    expect(r.push(at(15, 20))).toBe('duplicate');
    expect(r.push(at(0, 12))).toBe('buffered');
    expect(r.push(at(25, 45))).toBe('buffered');
    expect(r.next()).toBeUndefined();
    expect(r.push(at(40, 50))).toBe('buffered');
    expect(r.push(at(0, 50))).toBe('duplicate');
    expect(r.next()?.body).toEqual(body);
  });

  it('takes a message that arrives whole at once; later pieces of it are duplicates or conflicts', () => {
    const body = message(40);
    const r = new HandshakeReassembler();
    const whole: HandshakeFragmentFields = { msgType: 1, length: 40, messageSeq: 0, fragmentOffset: 0, body };
    expect(r.push(whole)).toBe('buffered');
    expect(r.push({ ...whole, fragmentOffset: 10, body: new Uint8Array(5) })).toBe('duplicate');
    expect(r.push(whole)).toBe('duplicate');
    expect(r.push({ ...whole, msgType: 2 })).toBe('conflict');
    expect(r.bufferedBytes).toBe(40);
    expect(r.next()).toEqual({ msgType: 1, messageSeq: 0, body });
    expect(r.bufferedBytes).toBe(0);
    // An empty message is whole too.
    expect(r.push({ msgType: 14, length: 0, messageSeq: 1, fragmentOffset: 0, body: new Uint8Array(0) })).toBe('buffered');
    expect(r.next()).toEqual({ msgType: 14, messageSeq: 1, body: new Uint8Array(0) });
  });

  it('drops fragments that contradict the msg_type or length of earlier ones', () => {
    const body = message(20);
    const r = new HandshakeReassembler();
    const [first, second] = pieces(HandshakeType.client_hello, 0, body, 10);
    if (first === undefined || second === undefined) throw new Error('two fragments expected');
    r.push(first);
    expect(r.push({ ...second, msgType: HandshakeType.server_hello })).toBe('conflict');
    expect(r.push({ ...second, length: 30 })).toBe('conflict');
    expect(r.next()).toBeUndefined();
    r.push(second);
    expect(r.next()).toEqual({ msgType: HandshakeType.client_hello, messageSeq: 0, body });
  });

  it('drops fragments that end past their message length', () => {
    const r = new HandshakeReassembler();
    expect(r.push({ msgType: 1, length: 4, messageSeq: 0, fragmentOffset: 2, body: message(3) })).toBe('invalid');
    expect(r.bufferedBytes).toBe(0);
  });

  it('returns messages in message_seq order even if a later one completes first', () => {
    const r = new HandshakeReassembler({ initialSeq: 1 });
    const a = message(30, 1);
    const b = message(8, 2);
    const [a1, a2] = pieces(HandshakeType.server_hello, 1, a, 15);
    if (a1 === undefined || a2 === undefined) throw new Error('two fragments expected');
    r.push(a1);
    for (const f of pieces(HandshakeType.server_hello_done, 2, b, 4)) r.push(f);
    expect(r.next()).toBeUndefined();
    r.push(a2);
    expect(drain(r).map((m) => m.messageSeq)).toEqual([1, 2]);
  });

  it('reports retransmissions of delivered messages as old, and seq beyond the window as too-far', () => {
    const r = new HandshakeReassembler({ maxSeqAhead: 4 });
    const [f] = pieces(1, 0, message(5), 100);
    if (f === undefined) throw new Error('one fragment expected');
    r.push(f);
    r.next();
    expect(r.push(f)).toBe('old');
    expect(r.push({ ...f, messageSeq: 4 })).toBe('buffered');
    expect(r.push({ ...f, messageSeq: 5 })).toBe('too-far');
  });

  it('starts at a settable message_seq (server after a cookie exchange, RFC 6347 §4.2.2)', () => {
    const r = new HandshakeReassembler();
    r.push({ msgType: 1, length: 3, messageSeq: 0, fragmentOffset: 0, body: message(3) });
    r.expectedSeq = 1;
    expect(r.expectedSeq).toBe(1);
    expect(r.bufferedBytes).toBe(0);
    expect(r.next()).toBeUndefined();
    r.push({ msgType: 1, length: 3, messageSeq: 1, fragmentOffset: 0, body: message(3) });
    expect(r.next()?.messageSeq).toBe(1);
    expect(() => {
      r.expectedSeq = 0x10000;
    }).toThrow(RangeError);
  });

  it('holds the memory cap', () => {
    const r = new HandshakeReassembler({ maxBufferedBytes: 1000 });
    const frag = (seq: number, length: number): HandshakeFragmentFields => ({
      msgType: 1, length, messageSeq: seq, fragmentOffset: 0, body: message(1),
    });
    expect(r.push(frag(0, 1001))).toBe('over-cap');
    expect(r.push(frag(1, 600))).toBe('buffered');
    expect(r.push(frag(2, 600))).toBe('over-cap');
    expect(r.bufferedBytes).toBe(600);
    // the message expected next evicts a later one, which the peer will retransmit
    expect(r.push(frag(0, 500))).toBe('buffered');
    expect(r.bufferedBytes).toBe(500);
    for (let seq = 0; seq < 8; seq++) r.push(frag(seq, 300));
    expect(r.bufferedBytes).toBeLessThanOrEqual(1000);
  });

  it('defaults to a 64 KiB cap', () => {
    const r = new HandshakeReassembler();
    const first = (length: number): HandshakeFragmentFields => ({
      msgType: 1,
      length,
      messageSeq: 0,
      fragmentOffset: 0,
      body: message(1),
    });
    expect(r.push(first(64 * 1024 + 1))).toBe('over-cap');
    expect(r.push(first(64 * 1024))).toBe('buffered');
  });

  it('copies fragment bodies and frees memory on delivery', () => {
    const r = new HandshakeReassembler();
    const body = message(16);
    const input = body.slice();
    r.push({ msgType: 20, length: 16, messageSeq: 0, fragmentOffset: 0, body: input });
    input.fill(0);
    expect(r.bufferedBytes).toBe(16);
    expect(r.next()?.body).toEqual(body);
    expect(r.bufferedBytes).toBe(0);
  });

  it('clear() drops partial messages but keeps expectedSeq', () => {
    const r = new HandshakeReassembler({ initialSeq: 3 });
    r.push({ msgType: 1, length: 10, messageSeq: 3, fragmentOffset: 0, body: message(5) });
    r.clear();
    expect(r.bufferedBytes).toBe(0);
    expect(r.expectedSeq).toBe(3);
  });

  it('refuses nonsensical options', () => {
    expect(() => new HandshakeReassembler({ maxSeqAhead: 0 })).toThrow(RangeError);
    expect(() => new HandshakeReassembler({ maxBufferedBytes: -1 })).toThrow(RangeError);
    expect(() => new HandshakeReassembler({ initialSeq: 1.5 })).toThrow(RangeError);
  });
});
