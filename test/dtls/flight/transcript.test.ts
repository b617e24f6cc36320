/**
 * The running handshake hash (RFC 5246 §7.4.9, RFC 6347 §4.2.6): the same digest as node:crypto's
 * SHA-256 over the messages encoded as single fragments, taken at any point without ending it.
 */
import * as nodeCrypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Transcript } from '../../../src/dtls/flight/transcript.js';
import { fullMessageBytes } from '../../../src/dtls/handshake/header.js';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';
import { toHex } from '../../../src/util/bytes.js';

const messages = [
  { type: HandshakeType.client_hello, seq: 1, body: Uint8Array.from({ length: 101 }, (_, i) => i) },
  { type: HandshakeType.server_hello, seq: 1, body: Uint8Array.from({ length: 70 }, (_, i) => 255 - i) },
  { type: HandshakeType.server_hello_done, seq: 2, body: new Uint8Array(0) },
  { type: HandshakeType.client_key_exchange, seq: 2, body: Uint8Array.from({ length: 26 }, (_, i) => 0x41 + i) },
  { type: HandshakeType.finished, seq: 3, body: new Uint8Array(12).fill(0x5a) },
];

function expected(upTo: number): string {
  const h = nodeCrypto.createHash('sha256');
  for (const m of messages.slice(0, upTo)) h.update(fullMessageBytes(m.type, m.seq, m.body));
  return h.digest('hex');
}

describe('Transcript', () => {
  it('hashes each message with its 12-octet header, as one fragment, and stays open after a digest', () => {
    const t = new Transcript();
    expect(toHex(t.digest())).toBe(expected(0));
    messages.forEach((m, i) => {
      t.add(m.type, m.seq, m.body);
      expect(toHex(t.digest()), `after message ${i}`).toBe(expected(i + 1));
    });
  });

  it('gives a fresh copy on every call (a caller may overwrite its digest)', () => {
    const t = new Transcript();
    t.add(messages[0]?.type ?? 0, 1, messages[0]?.body ?? new Uint8Array(0));
    const first = t.digest();
    first.fill(0);
    expect(toHex(t.digest())).toBe(expected(1));
  });

  it('reset() starts an empty transcript (a client at the ClientHello the server answered)', () => {
    const t = new Transcript();
    t.add(HandshakeType.client_hello, 0, new Uint8Array(40));
    t.digest();
    t.reset();
    for (const m of messages.slice(0, 2)) t.add(m.type, m.seq, m.body);
    expect(toHex(t.digest())).toBe(expected(2));
  });
});
