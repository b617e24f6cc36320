/**
 * The server's connection table: bounded size where a half-open handshake never evicts an
 * established session, a new handshake beside an established session from the same address
 * (RFC 6347 §4.2.8), the idle timeout, and close_notify (RFC 5246 §7.2.1) in both directions.
 */
import { describe, expect, it } from 'vitest';
import { AlertDescription, ContentType } from '../../../src/dtls/wire/constants.js';
import { decodeAlert } from '../../../src/dtls/wire/alert.js';
import { ccmContextCount } from '../../../src/dtls/record/protection.js';
import { all, carries, DEFAULT_PSK, flight, LossyNetwork, text, toClient, toServer } from '../../support/lossy-network.js';

const strings = (data: readonly { data: Uint8Array }[]): string[] => data.map((e) => Buffer.from(e.data).toString('utf8'));

describe('connection table limits', () => {
  it('when maxSessions established sessions fill the table, a new handshake is refused and they carry on', async () => {
    const net = new LossyNetwork({ server: { maxSessions: 2 } });
    const a = await net.connect();
    const b = await net.connect();
    const c = net.client();
    await net.flush();
    expect(c.established).toBe(false);
    expect(net.server.stats.refused).toBe(1);
    expect(net.sent(flight(2)).filter((d) => d.to.address === c.addr.address)).toHaveLength(1); // cookies stay stateless
    expect(net.sent(flight(4)).filter((d) => d.to.address === c.addr.address)).toHaveLength(0);
    expect(net.server.size).toBe(2);

    a.clientSession.send(text('from a'));
    b.serverSession.send(text('to b'));
    await net.flush();
    expect(strings(net.events.data)).toEqual(['from a']);
    expect(b.client.texts).toEqual(['to b']);

    await net.advance(70_000);
    expect(c.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
    expect(net.events.closes).toHaveLength(0);
    expect(net.server.sessions()).toHaveLength(2);
  });

  it('a half-open handshake is evicted for a new one, never an established session', async () => {
    const net = new LossyNetwork({ server: { maxSessions: 2 } });
    const a = await net.connect();
    // b gets as far as flight 4 and then goes silent
    const silent = { address: '192.0.2.222', port: 4444 };
    net.drop(all(flight(5), (d) => d.from.address === silent.address), Infinity);
    const b = net.client({ at: silent, retransmit: { initialMs: 30_000, maxMs: 60_000, handshakeTimeoutMs: 200_000 } });
    await net.flush();
    expect(net.server.size).toBe(2);

    const c = net.client();
    await net.flush();
    expect(c.established).toBe(true);
    expect(net.server.stats.refused).toBe(0);
    expect(net.events.handshakeErrors.map((e) => e.address)).toEqual([b.addr.address]);
    expect(net.server.sessions().map((s) => s.remoteAddress).sort()).toEqual([a.client.addr.address, c.addr.address].sort());

    // and with two established sessions, nobody else gets in
    const d = net.client();
    await net.flush();
    expect(d.established).toBe(false);
    expect(net.server.stats.refused).toBe(1);
    a.clientSession.send(text('a still here'));
    c.session?.send(text('c too'));
    await net.flush();
    expect(strings(net.events.data)).toEqual(['a still here', 'c too']);
  });

  it('a thousand peers leave a thousand sessions, each with its own identity', async () => {
    const keys = new Map(Array.from({ length: 1_000 }, (_, i) => [`ue-${i}`, Uint8Array.of(i & 0xff, i >> 8, ...DEFAULT_PSK.subarray(2))] as const));
    const net = new LossyNetwork({ keys });
    const clients = [...keys].map(([identity, psk]) => net.client({ identity, psk }));
    await net.flush();
    expect(clients.every((c) => c.established)).toBe(true);
    expect(net.server.size).toBe(1_000);
    expect(new Set(net.server.sessions().map((s) => s.identityText)).size).toBe(1_000);
  }, 60_000);
});

describe('a new ClientHello from an established session’s address (RFC 6347 §4.2.8)', () => {
  it('leaves the session alone until the new handshake completes, then replaces it', async () => {
    let answer: (psk: Uint8Array) => void = () => undefined;
    let first = true;
    const net = new LossyNetwork({
      server: {
        pskLookup: () => {
          if (!first) return new Promise((r) => (answer = r));
          first = false;
          return Promise.resolve(DEFAULT_PSK);
        },
      },
    });
    const old = await net.connect();
    const oldClose: unknown[] = [];
    old.serverSession.on('close', (r) => oldClose.push(r));

    // the device restarts on the same address and port; its new handshake waits on the lookup
    const fresh = net.client({ at: old.client.addr });
    await net.flush();
    expect(fresh.established).toBe(false);
    expect(net.server.stats.handshakesStarted).toBe(2);

    // meanwhile the old session still works both ways
    old.clientSession.send(text('old up'));
    old.serverSession.send(text('old down'));
    await net.flush();
    expect(strings(net.events.data)).toEqual(['old up']);
    expect(net.events.data[0]?.session).toBe(old.serverSession);
    expect(old.client.texts).toEqual(['old down']);
    expect(old.serverSession.closed).toBe(false);
    expect(net.server.sessions()).toEqual([old.serverSession]);

    answer(DEFAULT_PSK);
    await net.flush();
    expect(fresh.established).toBe(true);
    const replacement = net.events.sessions[1];
    expect(net.server.sessions()).toEqual([replacement]);
    expect(old.serverSession.closed).toBe(true);
    expect(oldClose).toEqual([expect.objectContaining({ kind: 'evicted' })]);
    expect(net.events.closes.map((c) => c.session)).toEqual([old.serverSession]);

    // the new session carries data; the old keys no longer reach anything
    fresh.session?.send(text('new up'));
    old.clientSession.send(text('stale up'));
    await net.flush();
    expect(strings(net.events.data)).toEqual(['old up', 'new up']);
    expect(net.events.data[1]?.session).toBe(replacement);
  });

  it('a new handshake that fails leaves the established session in place', async () => {
    const net = new LossyNetwork();
    const old = await net.connect();
    const intruder = net.client({ at: old.client.addr, identity: 'nobody' });
    await net.flush();
    expect(intruder.error?.alert).toBe(AlertDescription.unknown_psk_identity);
    expect(net.server.sessions()).toEqual([old.serverSession]);
    old.clientSession.send(text('still mine'));
    await net.flush();
    expect(strings(net.events.data)).toEqual(['still mine']);
    expect(old.client.closeReason).toBeUndefined();
  });
});

describe('idle timeout', () => {
  it('closes a session that received nothing for idleTimeoutMs, with close_notify to the client', async () => {
    const net = new LossyNetwork({ server: { idleTimeoutMs: 10_000 } });
    const { client, clientSession, serverSession } = await net.connect();
    await net.advance(9_000);
    clientSession.send(text('keepalive'));
    await net.flush();
    // the sweep runs every idleTimeoutMs / 4: the session goes within one period after 9 s + 10 s
    await net.advanceTo(19_000);
    expect(serverSession.closed).toBe(false);
    expect(client.closeReason).toBeUndefined();
    await net.advanceTo(19_000 + 2_500);
    expect(serverSession.closed).toBe(true);
    expect(net.events.closes.map((c) => c.reason.kind)).toEqual(['timeout']);
    expect(client.closeReason?.kind).toBe('close_notify');
    expect(client.transportClosed).toBe(true);
    expect(net.server.size).toBe(0);
  });

  it('sending alone does not keep a session alive; only what the peer sends does', async () => {
    const net = new LossyNetwork({ server: { idleTimeoutMs: 10_000 } });
    const { serverSession } = await net.connect();
    for (let t = 1_000; t <= 12_000; t += 1_000) {
      await net.advanceTo(t);
      if (!serverSession.closed) serverSession.send(text(`tick ${t}`));
    }
    await net.advanceTo(12_500);
    expect(serverSession.closed).toBe(true);
  });
});

describe('AES contexts of quiet sessions', () => {
  it('a session quiet for 30 s gives back its keyed AES contexts, and its next record sets them up again', async () => {
    const net = new LossyNetwork({ server: { idleTimeoutMs: 600_000 } });
    const before = ccmContextCount(); // other tests' sessions in this file hold some
    const { clientSession, serverSession } = await net.connect();
    clientSession.send(text('before'));
    await net.flush();
    serverSession.send(text('reply'));
    await net.flush();
    // Client and server share this process: both directions of both ends hold a context.
    expect(ccmContextCount() - before).toBe(4);
    await net.advance(45_000);
    expect(ccmContextCount() - before).toBe(2);
    clientSession.send(text('after'));
    await net.flush();
    expect(strings(net.events.data)).toEqual(['before', 'after']);
    expect(serverSession.closed).toBe(false);
    expect(ccmContextCount() - before).toBe(3);
  });
});

describe('close_notify (RFC 5246 §7.2.1)', () => {
  it('the client closes: the server session ends with close_notify and the table forgets it', async () => {
    const net = new LossyNetwork();
    const { client, clientSession, serverSession } = await net.connect();
    clientSession.close();
    await net.flush();
    const alerts = net.sent(all(toServer, carries(ContentType.alert)));
    expect(alerts).toHaveLength(1);
    expect(client.closeReason?.kind).toBe('local');
    expect(client.transportClosed).toBe(true);
    expect(serverSession.closed).toBe(true);
    expect(net.events.closes.map((c) => c.reason.kind)).toEqual(['close_notify']);
    expect(net.server.size).toBe(0);
    expect(() => serverSession.send(text('too late'))).toThrow();
    expect(() => clientSession.send(text('too late'))).toThrow();
  });

  it('the server closes: the client session ends with close_notify and answers with its own', async () => {
    const net = new LossyNetwork();
    const { client, serverSession } = await net.connect();
    serverSession.close();
    await net.flush();
    expect(client.closeReason?.kind).toBe('close_notify');
    expect(client.session?.closed).toBe(true);
    expect(net.sent(all(toClient, carries(ContentType.alert)))).toHaveLength(1);
    expect(net.sent(all(toServer, carries(ContentType.alert)))).toHaveLength(1); // the client's answer
    expect(net.server.size).toBe(0);
    expect(net.events.closes.map((c) => c.reason.kind)).toEqual(['local']);
  });

  it('an unprotected close_notify does not end an established session', async () => {
    const net = new LossyNetwork();
    const { client, clientSession, serverSession } = await net.connect();
    const plainAlert = Uint8Array.of(ContentType.alert, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 90, 0, 2, 1, 0);
    expect(decodeAlert(plainAlert.subarray(13)).description).toBe(AlertDescription.close_notify);
    net.inject(plainAlert, { toServer: true });
    net.inject(plainAlert, { toServer: false });
    await net.flush();
    expect(serverSession.closed).toBe(false);
    expect(client.closeReason).toBeUndefined();
    clientSession.send(text('alive'));
    await net.flush();
    expect(net.events.data).toHaveLength(1);
  });
});
