import { describe, expect, it } from 'vitest';
import { type FlightItem, packFlight, unpackFlight } from '../../../src/dtls/endpoint/packed-flight.js';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';

describe('packed flights (kept for retransmission, RFC 6347 §4.2.4)', () => {
  it('gives back flight 6 (ChangeCipherSpec, epoch-1 Finished) item for item', () => {
    const verifyData = Uint8Array.from({ length: 12 }, (_, i) => 0xf0 + i);
    const flight6: FlightItem[] = [
      { kind: 'ccs', epoch: 0 },
      { kind: 'handshake', epoch: 1, msgType: HandshakeType.finished, messageSeq: 4, body: verifyData },
    ];
    const packed = packFlight(flight6);
    // 3 octets for the ChangeCipherSpec, 9 + 12 for the Finished: one char per octet.
    expect(packed.length).toBe(24);
    expect(unpackFlight(packed)).toEqual(flight6);
  });

  it('keeps every octet value, empty bodies, large message_seq and bodies beyond 64 KiB', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const big = new Uint8Array(70_000).fill(0xab);
    const items: FlightItem[] = [
      { kind: 'handshake', epoch: 0, msgType: HandshakeType.server_hello, messageSeq: 1, body: all },
      { kind: 'handshake', epoch: 0, msgType: HandshakeType.server_hello_done, messageSeq: 0xffff, body: new Uint8Array(0) },
      { kind: 'handshake', epoch: 0, msgType: HandshakeType.certificate, messageSeq: 2, body: big },
      { kind: 'ccs', epoch: 0xffff },
    ];
    expect(unpackFlight(packFlight(items))).toEqual(items);
  });

  it('packs an empty flight as an empty string', () => {
    expect(packFlight([])).toBe('');
    expect(unpackFlight('')).toEqual([]);
  });
});
