/**
 * Flight retransmission, RFC 6347 §4.2.4: each flight lost once and twice, recovered by the timer
 * (1 s, then 2 s: §4.2.4.1) or by the peer's retransmitted previous flight; the 9 s profile of
 * RFC 7925 §11; the handshake timeout; and the single PSK lookup while flight 5 is retransmitted.
 */
import { describe, expect, it } from 'vitest';
import { RETRANSMIT_CONSTRAINED, type RetransmitConfig } from '../../../src/dtls/fsm/retransmit.js';
import { ContentType, HandshakeType } from '../../../src/dtls/wire/constants.js';
import { DEFAULT_PSK, flight, index, LossyNetwork, text, toServer, withHandshake } from '../../support/lossy-network.js';

/** A timer so slow that the side using it never drives recovery within these tests. */
const SLOW: RetransmitConfig = { initialMs: 30_000, maxMs: 60_000, handshakeTimeoutMs: 200_000 };

/**
 * Which side must not retransmit on its own, so that the recovery the test times is the one
 * RFC 6347 §4.2.4 assigns: the client's timer for flights 1, 2, 3, 5 and 6 (the server keeps no
 * state for flight 2 and arms no timer after flight 6), the server's timer for flight 4.
 */
const cases = [
  { n: 1, slow: 'server' },
  { n: 2, slow: 'server' },
  { n: 3, slow: 'server' },
  { n: 4, slow: 'client' },
  { n: 5, slow: 'server' },
  { n: 6, slow: 'server' },
] as const;

function network(slow: 'client' | 'server'): { net: LossyNetwork; retransmit: RetransmitConfig | undefined } {
  const net = new LossyNetwork({ server: slow === 'server' ? { retransmit: SLOW } : {} });
  return { net, retransmit: slow === 'client' ? SLOW : undefined };
}

/** A pskLookup whose answer the test gives later; counts its calls. */
function deferredLookup(): { lookup: () => Promise<Uint8Array | undefined>; resolve: (psk: Uint8Array) => void } {
  let resolve: (psk: Uint8Array) => void = () => undefined;
  const pending = new Promise<Uint8Array | undefined>((r) => {
    resolve = r;
  });
  return { lookup: () => pending, resolve: (psk) => resolve(psk) };
}

describe('flight retransmission (RFC 6347 §4.2.4)', () => {
  for (const { n, slow } of cases) {
    it(`flight ${n} lost once: the handshake completes at 1 s, not before`, async () => {
      const { net, retransmit } = network(slow);
      const lost = net.drop(flight(n), 1);
      const client = net.client(retransmit ? { retransmit } : {});
      await net.flush();
      expect(lost.hits).toHaveLength(1);
      expect(client.established).toBe(false);

      await net.advanceTo(999);
      expect(client.established).toBe(false);
      await net.advance(1);
      expect(client.established).toBe(true);
      expect(net.sent(flight(n))).toHaveLength(2);
      expect(net.sent(flight(n))[1]?.sentAt).toBe(1_000);
      expect(net.events.sessions).toHaveLength(1);
      expect(net.server.stats.handshakesStarted).toBe(1);
    });

    it(`flight ${n} lost twice: the handshake completes at 1 s + 2 s, not before`, async () => {
      const { net, retransmit } = network(slow);
      const lost = net.drop(flight(n), 2);
      const client = net.client(retransmit ? { retransmit } : {});
      await net.advanceTo(2_999);
      expect(lost.hits.map((d) => d.sentAt)).toEqual([0, 1_000]);
      expect(client.established).toBe(false);
      await net.advance(1);
      expect(client.established).toBe(true);
      expect(net.sent(flight(n)).map((d) => d.sentAt)).toEqual([0, 1_000, 3_000]);
      expect(net.events.sessions).toHaveLength(1);
      expect(net.server.stats.handshakesStarted).toBe(1);
      expect(net.lookups).toHaveLength(1);
    });
  }

  it('drops chosen datagrams by index and by handshake type', async () => {
    const net = new LossyNetwork();
    net.drop(index(0)); // the first ClientHello
    net.drop(withHandshake(HandshakeType.server_hello_done)); // the first flight 4
    const client = net.client();
    await net.advanceTo(1_999);
    expect(client.established).toBe(false);
    expect(net.sent(flight(4)).map((d) => d.sentAt)).toEqual([1_000]);
    await net.advance(1);
    expect(client.established).toBe(true);
  });

  it('honours a custom retransmit configuration: the 9 s constrained profile (RFC 7925 §11)', async () => {
    const net = new LossyNetwork();
    net.drop(flight(1), 2);
    const client = net.client({ retransmit: RETRANSMIT_CONSTRAINED });
    await net.advanceTo(8_999);
    expect(net.sent(flight(1))).toHaveLength(1);
    await net.advance(1);
    expect(net.sent(flight(1)).map((d) => d.sentAt)).toEqual([0, 9_000]);
    await net.advanceTo(26_999);
    expect(client.established).toBe(false);
    await net.advance(1);
    expect(net.sent(flight(1)).map((d) => d.sentAt)).toEqual([0, 9_000, 27_000]);
    expect(client.established).toBe(true);
  });

  it('doubles the timeout up to maxMs and gives up after handshakeTimeoutMs (63 s) with a timeout error', async () => {
    const net = new LossyNetwork();
    net.drop(flight(1), Infinity);
    const client = net.client();
    await net.advanceTo(62_999);
    expect(client.error).toBeUndefined();
    // RFC 6347 §4.2.4.1: 1 s, doubled at each expiry
    expect(net.sent(flight(1)).map((d) => d.sentAt)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    await net.advance(1);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
    expect(client.error?.reason).toBe('timeout');
    expect(client.transportClosed).toBe(true);
    await net.advance(120_000);
    expect(net.sent(flight(1))).toHaveLength(6);
  });

  it('caps the doubling at maxMs', async () => {
    const net = new LossyNetwork();
    net.drop(flight(1), Infinity);
    const client = net.client({ retransmit: { initialMs: 1_000, maxMs: 4_000, handshakeTimeoutMs: 20_000 } });
    await net.advanceTo(19_999);
    expect(net.sent(flight(1)).map((d) => d.sentAt)).toEqual([0, 1_000, 3_000, 7_000, 11_000, 15_000, 19_000]);
    expect(client.error).toBeUndefined();
    await net.advance(1);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
  });

  it('gives up exactly at handshakeTimeoutMs when it does not fall on a retransmission', async () => {
    const net = new LossyNetwork();
    net.drop(flight(3), Infinity);
    const client = net.client({ retransmit: { initialMs: 1_000, maxMs: 60_000, handshakeTimeoutMs: 10_000 } });
    await net.advanceTo(9_999);
    expect(client.error).toBeUndefined();
    await net.advance(1);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
  });

  it('gives up at the constrained profile handshake timeout (250 s), not before', async () => {
    const net = new LossyNetwork();
    net.drop(flight(1), Infinity);
    const client = net.client({ retransmit: RETRANSMIT_CONSTRAINED });
    await net.advanceTo(249_999);
    expect(client.error).toBeUndefined();
    expect(net.sent(flight(1)).map((d) => d.sentAt)).toEqual([0, 9_000, 27_000, 63_000, 123_000, 183_000, 243_000]);
    await net.advance(1);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
  });

  it('the server gives up on a client that vanished after flight 3, and its table forgets it', async () => {
    const net = new LossyNetwork();
    net.drop(flight(5), Infinity);
    net.client({ retransmit: SLOW });
    await net.flush();
    expect(net.server.size).toBe(1);
    await net.advanceTo(62_999);
    expect(net.events.handshakeErrors).toHaveLength(0);
    expect(net.sent(flight(4)).map((d) => d.sentAt)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    await net.advance(1);
    expect(net.events.handshakeErrors).toHaveLength(1);
    expect(net.server.size).toBe(0);
  });
});

describe('answering a retransmitted previous flight (RFC 6347 §4.2.4)', () => {
  it('flight 4 lost: the client retransmits flight 3 and the server resends flight 4, without a second handshake', async () => {
    const net = new LossyNetwork({ server: { retransmit: SLOW } });
    net.drop(flight(4), 1);
    const client = net.client();
    await net.advanceTo(999);
    expect(client.established).toBe(false);
    await net.advance(1);
    expect(client.established).toBe(true);
    expect(net.sent(flight(3)).map((d) => d.sentAt)).toEqual([0, 1_000]);
    expect(net.sent(flight(4)).map((d) => d.sentAt)).toEqual([0, 1_000]);
    expect(net.sent(flight(2))).toHaveLength(1);
    expect(net.server.stats.handshakesStarted).toBe(1);
    expect(net.server.stats.helloVerifyRequests).toBe(1);
    expect(net.lookups).toHaveLength(1);
    expect(net.events.sessions).toHaveLength(1);
  });

  it('flight 6 lost: the client retransmits flight 5 and the server resends flight 6, still one session', async () => {
    const net = new LossyNetwork({ server: { retransmit: SLOW } });
    net.drop(flight(6), 1);
    const client = net.client();
    await net.flush();
    expect(net.events.sessions).toHaveLength(1);
    expect(client.established).toBe(false);
    await net.advanceTo(999);
    expect(client.established).toBe(false);
    await net.advance(1);
    expect(client.established).toBe(true);
    expect(net.sent(flight(5)).map((d) => d.sentAt)).toEqual([0, 1_000]);
    expect(net.sent(flight(6)).map((d) => d.sentAt)).toEqual([0, 1_000]);
    expect(net.events.sessions).toHaveLength(1);
    expect(net.server.stats.handshakesStarted).toBe(1);
    expect(net.lookups).toHaveLength(1);

    client.session?.send(text('after recovery'));
    net.events.sessions[0]?.send(text('reply'));
    await net.flush();
    expect(net.events.data).toHaveLength(1);
    expect(client.texts).toEqual(['reply']);
  });

  it('flight 5 retransmitted while the pskLookup is pending: exactly one lookup, then the handshake completes', async () => {
    const deferred = deferredLookup();
    let calls = 0;
    const net = new LossyNetwork({
      server: {
        lookupTimeoutMs: 10_000,
        pskLookup: () => {
          calls++;
          return deferred.lookup();
        },
      },
    });
    const client = net.client();
    await net.advanceTo(3_500);
    expect(net.sent(flight(5)).map((d) => d.sentAt)).toEqual([0, 1_000, 3_000]);
    expect(calls).toBe(1);
    expect(client.established).toBe(false);
    expect(net.sent(flight(6))).toHaveLength(0);
    expect(net.server.stats.handshakesStarted).toBe(1);

    deferred.resolve(DEFAULT_PSK);
    await net.flush();
    expect(client.established).toBe(true);
    expect(calls).toBe(1);
    expect(net.events.sessions).toHaveLength(1);
    await net.advance(60_000);
    expect(net.sent(toServer).filter((d) => d.flight === 5)).toHaveLength(3);
  });
});

describe('flight 6 kept after the handshake (RFC 6347 §4.2.4)', () => {
  it('flight 6 lost twice: each retransmitted flight 5 gets it again, under fresh record sequence numbers', async () => {
    const net = new LossyNetwork({ server: { retransmit: SLOW } });
    net.drop(flight(6), 2);
    const client = net.client();
    await net.advanceTo(2_999);
    expect(client.established).toBe(false);
    await net.advance(1);
    expect(client.established).toBe(true);
    const sent = net.sent(flight(6));
    expect(sent.map((d) => d.sentAt)).toEqual([0, 1_000, 3_000]);
    // Each copy is the ChangeCipherSpec (epoch 0) and the Finished (epoch 1), sealed anew.
    const ccs = sent.map((d) => d.records.find((r) => r.type === ContentType.change_cipher_spec && r.epoch === 0)?.seq);
    const fin = sent.map((d) => d.records.find((r) => r.type === ContentType.handshake && r.epoch === 1)?.seq);
    const first = ccs[0] as number;
    expect(ccs).toEqual([first, first + 1, first + 2]);
    expect(fin).toEqual([0, 1, 2]);

    client.session?.send(text('after two losses'));
    await net.flush();
    expect(net.events.data).toHaveLength(1);
  });

  it.each([
    { lateMs: 50_000, answered: true },
    { lateMs: 70_000, answered: false },
  ])('a flight 5 retransmitted $lateMs ms on is answered: $answered (the server keeps flight 6 for maxMs = 60 s)', async ({ lateMs, answered }) => {
    const net = new LossyNetwork();
    net.drop(flight(6), Infinity);
    net.client({ retransmit: { initialMs: lateMs, maxMs: lateMs, handshakeTimeoutMs: 200_000 } });
    await net.advanceTo(lateMs - 1);
    expect(net.events.sessions).toHaveLength(1);
    expect(net.sent(flight(6))).toHaveLength(1);
    await net.advance(1);
    expect(net.sent(flight(5)).map((d) => d.sentAt)).toEqual([0, lateMs]);
    expect(net.sent(flight(6)).map((d) => d.sentAt)).toEqual(answered ? [0, lateMs] : [0]);
  });
});
