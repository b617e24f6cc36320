/**
 * Datagrams duplicated, reordered, delayed and replayed (RFC 6347 §4.1.2.6 replay detection,
 * §4.2.3 fragmentation and reassembly in any order, §4.2.4 retransmission).
 */
import { describe, expect, it } from 'vitest';
import { AlertDescription, ContentType, HandshakeType } from '../../../src/dtls/wire/constants.js';
import { all, carries, flight, LossyNetwork, text, toClient, toServer } from '../../support/lossy-network.js';

const LONG_IDENTITY = `device-${'x'.repeat(2_193)}`; // a ClientKeyExchange body of 2 202 octets
const LONG_PSK = Uint8Array.from({ length: 16 }, (_, i) => i);

describe('duplicated datagrams', () => {
  it('every datagram delivered twice: one handshake, one lookup, each message delivered once', async () => {
    const net = new LossyNetwork();
    net.duplicate(() => true, Infinity);
    const { client, clientSession, serverSession } = await net.connect();
    expect(net.clock.now()).toBe(0);
    expect(net.events.sessions).toHaveLength(1);
    expect(net.server.stats.handshakesStarted).toBe(1);
    expect(net.lookups).toHaveLength(1);

    for (const m of ['a', 'b', 'c']) {
      clientSession.send(text(`up ${m}`));
      serverSession.send(text(`down ${m}`));
    }
    await net.flush();
    expect(net.events.data.map((e) => Buffer.from(e.data).toString('utf8'))).toEqual(['up a', 'up b', 'up c']);
    expect(client.texts).toEqual(['down a', 'down b', 'down c']);
    // the retransmission storm settles: nothing is left to send a second later
    await net.advance(1_000);
    const quiet = net.log.length;
    await net.advance(120_000);
    expect(net.log.length).toBe(quiet);
  });
});

describe('reordered datagrams', () => {
  it('application records delivered in reverse arrive once each, in the order received', async () => {
    const net = new LossyNetwork();
    const { clientSession } = await net.connect();
    net.hold(all(toServer, carries(ContentType.application_data)), 5);
    for (let i = 1; i <= 5; i++) clientSession.send(text(`m${i}`));
    await net.flush();
    expect(net.events.data).toHaveLength(0);
    net.release('reverse');
    await net.flush();
    expect(net.events.data.map((e) => Buffer.from(e.data).toString('utf8'))).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
  });

  it('a ClientKeyExchange fragmented into 10 pieces (mtu 256) delivered in reverse completes without a retransmission', async () => {
    const net = new LossyNetwork({ keys: new Map([[LONG_IDENTITY, LONG_PSK]]) });
    const held = net.hold(flight(5), Infinity);
    const client = net.client({ identity: LONG_IDENTITY, psk: LONG_PSK, mtu: 256 });
    await net.flush();
    held.remaining = 0;

    expect(net.held).toHaveLength(10);
    expect(net.held.every((d) => d.bytes.length <= 256)).toBe(true);
    const pieces = net.held.flatMap((d) => d.records.flatMap((r) => r.fragments)).filter((f) => f.msgType === HandshakeType.client_key_exchange);
    expect(pieces).toHaveLength(10);
    expect(pieces[0]?.length).toBe(2 + LONG_IDENTITY.length);

    net.release('reverse');
    await net.flush();
    expect(net.clock.now()).toBe(0);
    expect(client.established).toBe(true);
    expect(net.sent(flight(5))).toHaveLength(10);
    expect(net.events.sessions[0]?.identityText).toBe(LONG_IDENTITY);
    expect(net.lookups).toEqual([LONG_IDENTITY]);
  });

  it('a fragmented flight 4 (long psk_identity_hint, server mtu 256) delivered in reverse completes', async () => {
    const hint = 'h'.repeat(900);
    const net = new LossyNetwork({ server: { mtu: 256, pskIdentityHint: hint } });
    const held = net.hold(flight(4), Infinity);
    const client = net.client();
    await net.flush();
    held.remaining = 0;
    expect(net.held.length).toBeGreaterThanOrEqual(4);
    net.release('reverse');
    await net.flush();
    expect(net.clock.now()).toBe(0);
    expect(client.established).toBe(true);
    expect(Buffer.from(client.session?.pskIdentityHint ?? []).toString('utf8')).toBe(hint);
  });

  it('flight 6 (ChangeCipherSpec and Finished) in reverse order: the Finished waits for the ChangeCipherSpec', async () => {
    const net = new LossyNetwork({ server: { mtu: 256 } });
    // split the server's flight 6 into one datagram per record, then deliver them reversed
    net.tamper(flight(6), (b) => {
      const out: Uint8Array[] = [];
      for (let at = 0; at < b.length; ) {
        const length = ((b[at + 11] as number) << 8) | (b[at + 12] as number);
        out.push(b.subarray(at, at + 13 + length));
        at += 13 + length;
      }
      return out.reverse();
    });
    const client = net.client();
    await net.flush();
    expect(client.established).toBe(true);
    expect(net.clock.now()).toBe(0);
  });

  it('flight 4 delayed by less than the timeout completes then, without any retransmission', async () => {
    const net = new LossyNetwork();
    net.delay(flight(4), 600);
    const client = net.client();
    await net.advanceTo(599);
    expect(client.established).toBe(false);
    await net.advance(1);
    expect(client.established).toBe(true);
    expect(net.sent(flight(3))).toHaveLength(1);
    expect(net.sent(flight(5))).toHaveLength(1);
  });

  it('flight 4 delayed past the timeout: the retransmission wins and the late original is harmless', async () => {
    const net = new LossyNetwork();
    net.delay(flight(4), 1_500);
    const client = net.client();
    await net.advanceTo(1_000);
    expect(client.established).toBe(true);
    await net.advance(5_000);
    expect(net.events.sessions).toHaveLength(1);
    expect(net.server.stats.handshakesStarted).toBe(1);
    client.session?.send(text('still fine'));
    await net.flush();
    expect(net.events.data).toHaveLength(1);
  });
});

describe('replayed records (RFC 6347 §4.1.2.6)', () => {
  it('a replayed application record is not delivered twice, in either direction', async () => {
    const net = new LossyNetwork();
    const { client, clientSession, serverSession } = await net.connect();
    clientSession.send(text('once'));
    clientSession.send(text('twice?'));
    serverSession.send(text('down once'));
    await net.flush();
    const [up1, up2] = net.sent(all(toServer, carries(ContentType.application_data)));
    const [down] = net.sent(all(toClient, carries(ContentType.application_data)));
    if (up1 === undefined || up2 === undefined || down === undefined) throw new Error('no application records');

    net.inject(up2.bytes, { toServer: true });
    net.inject(up1.bytes, { toServer: true }); // older than the newest, still inside the window
    net.inject(down.bytes, { toServer: false });
    await net.flush();
    expect(net.events.data.map((e) => Buffer.from(e.data).toString('utf8'))).toEqual(['once', 'twice?']);
    expect(client.texts).toEqual(['down once']);

    clientSession.send(text('fresh'));
    await net.flush();
    expect(net.events.data.map((e) => Buffer.from(e.data).toString('utf8'))).toEqual(['once', 'twice?', 'fresh']);
  });

  it('a record older than the 64-record window is dropped', async () => {
    const net = new LossyNetwork();
    const { clientSession } = await net.connect();
    clientSession.send(text('first'));
    await net.flush();
    const first = net.sent(all(toServer, carries(ContentType.application_data)))[0];
    if (first === undefined) throw new Error('no application record');
    for (let i = 0; i < 70; i++) clientSession.send(text(`n${i}`));
    await net.flush();
    net.inject(first.bytes, { toServer: true });
    await net.flush();
    expect(net.events.data).toHaveLength(71);
  });

  it('replayed handshake flights after the session is up start no second session and disturb nothing', async () => {
    const net = new LossyNetwork();
    const { client, clientSession, serverSession } = await net.connect();
    for (const n of [1, 3, 5]) {
      for (const d of net.sent(flight(n))) net.inject(d.bytes, { toServer: true });
    }
    await net.flush();
    // The replayed ClientHello carries a valid cookie, but it is the very hello (same client random)
    // of the live session: no second handshake, so no second PSK lookup.
    expect(net.server.stats.handshakesStarted).toBe(1);
    expect(net.events.handshakeErrors).toEqual([]);
    expect(net.events.sessions).toHaveLength(1);
    expect(net.events.closes).toHaveLength(0);
    expect(client.closeReason).toBeUndefined();

    clientSession.send(text('up'));
    serverSession.send(text('down'));
    await net.flush();
    expect(net.events.data).toHaveLength(1);
    expect(client.texts).toEqual(['down']);

    // whatever the replayed ClientHello started times out without touching the session
    await net.advance(70_000);
    expect(net.events.sessions).toHaveLength(1);
    expect(net.events.closes).toHaveLength(0);
    expect(net.server.sessions()).toEqual([serverSession]);
    clientSession.send(text('up again'));
    await net.flush();
    expect(net.events.data).toHaveLength(2);
  });
});
