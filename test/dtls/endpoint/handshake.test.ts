/**
 * Full PSK handshakes between DtlsClient and DtlsServer over the in-memory network, and the alerts
 * that end the ones that cannot succeed (RFC 4279 §2, RFC 5246 §7.2, RFC 6347 §4.2).
 */
import { describe, expect, it } from 'vitest';
import { AlertDescription, CipherSuiteId, ContentType } from '../../../src/dtls/wire/constants.js';
import { decodeAlert } from '../../../src/dtls/wire/alert.js';
import {
  all,
  carries,
  DEFAULT_IDENTITY,
  DEFAULT_PSK,
  flight,
  LossyNetwork,
  recordsOf,
  text,
  toClient,
  toServer,
} from '../../support/lossy-network.js';

/** A pskLookup whose answer the test gives later. */
function deferredLookup(): { lookup: () => Promise<Uint8Array | undefined>; resolve: (psk: Uint8Array | undefined) => void } {
  let resolve: (psk: Uint8Array | undefined) => void = () => undefined;
  const pending = new Promise<Uint8Array | undefined>((r) => {
    resolve = r;
  });
  return { lookup: () => pending, resolve: (psk) => resolve(psk) };
}

/** The alert descriptions in the plaintext alert records the server sent. */
function serverAlerts(net: LossyNetwork): number[] {
  return net
    .sent(all(toClient, carries(ContentType.alert, 0)))
    .flatMap((d) => recordsOf(d.bytes))
    .filter((r) => r.type === ContentType.alert)
    .map((r) => decodeAlert(r.fragment).description);
}

describe('DTLS 1.2 PSK handshake over the in-memory network', () => {
  it('completes in six flights, one datagram each, and carries application data both ways', async () => {
    const net = new LossyNetwork();
    const client = net.client();
    await net.flush();

    expect(client.established).toBe(true);
    expect(net.log.map((d) => d.flight)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(net.events.sessions).toHaveLength(1);
    const serverSession = net.events.sessions[0];
    expect(serverSession?.identityText).toBe(DEFAULT_IDENTITY);
    expect(serverSession?.remoteAddress).toBe(client.addr.address);
    expect(serverSession?.remotePort).toBe(client.addr.port);
    expect(serverSession?.cipherSuite).toBe('TLS_PSK_WITH_AES_128_CCM_8');
    expect(serverSession?.extendedMasterSecret).toBe(true);
    expect(client.session?.cipherSuite).toBe('TLS_PSK_WITH_AES_128_CCM_8');
    expect(net.lookups).toEqual([DEFAULT_IDENTITY]);

    const before = net.log.length;
    client.session?.send(text('ping from client'));
    serverSession?.send(text('pong from server'));
    await net.flush();

    expect(net.events.data.map((e) => Buffer.from(e.data).toString('utf8'))).toEqual(['ping from client']);
    expect(net.events.data[0]?.session).toBe(serverSession);
    expect(client.texts).toEqual(['pong from server']);
    // one protected record each way, nothing else
    const after = net.log.slice(before);
    expect(after).toHaveLength(2);
    expect(after.every((d) => d.records.length === 1 && d.records[0]?.type === ContentType.application_data && d.records[0].epoch === 1)).toBe(true);
  });

  it('negotiates AES-128-CCM when both ends prefer it, and shows the psk_identity_hint to the client', async () => {
    const net = new LossyNetwork({
      server: { cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM], pskIdentityHint: 'e2m-hint' },
    });
    const client = net.client();
    await net.flush();
    expect(client.session?.cipherSuite).toBe('TLS_PSK_WITH_AES_128_CCM');
    expect(Buffer.from(client.session?.pskIdentityHint ?? []).toString('utf8')).toBe('e2m-hint');
    client.session?.send(text('x'));
    await net.flush();
    expect(net.events.data).toHaveLength(1);
  });

  it('a pskLookup that never resolves fails the handshake with internal_error (80) after lookupTimeoutMs', async () => {
    const net = new LossyNetwork({ server: { pskLookup: () => new Promise(() => undefined), lookupTimeoutMs: 5_000 } });
    const client = net.client();
    await net.flush();
    expect(net.lookups).toHaveLength(1);

    await net.advanceTo(4_999);
    expect(client.error).toBeUndefined();
    expect(serverAlerts(net)).toEqual([]);
    // flight 5 was retransmitted at 1 s and 3 s meanwhile, and absorbed: still one lookup
    expect(net.sent(flight(5))).toHaveLength(3);
    expect(net.lookups).toHaveLength(1);

    await net.advance(1);
    expect(client.error?.alert).toBe(AlertDescription.internal_error);
    expect(client.error?.reason).toBe('alert_received');
    expect(serverAlerts(net)).toEqual([AlertDescription.internal_error]);
    expect(net.events.handshakeErrors.map((e) => e.alert)).toEqual([AlertDescription.internal_error]);
    expect(net.events.sessions).toHaveLength(0);
    expect(net.server.size).toBe(0);
  });

  it('a pskLookup that rejects fails the handshake with internal_error (80) at once', async () => {
    const net = new LossyNetwork({ server: { pskLookup: () => Promise.reject(new Error('EMKS unreachable')) } });
    const client = net.client();
    await net.flush();
    expect(client.error?.alert).toBe(AlertDescription.internal_error);
    expect(net.events.sessions).toHaveLength(0);
  });

  it('a pskLookup that throws fails the handshake with internal_error (80) at once', async () => {
    const net = new LossyNetwork({ server: { pskLookup: () => { throw new Error('table corrupt'); } } });
    const client = net.client();
    await net.flush();
    expect(client.error?.alert).toBe(AlertDescription.internal_error);
    expect(net.events.sessions).toHaveLength(0);
  });

  it('a pskLookup may answer at once, without a promise: known, unknown', async () => {
    const table = new Map([['sensor-a', DEFAULT_PSK]]);
    const net = new LossyNetwork({ server: { pskLookup: (id) => table.get(Buffer.from(id).toString('utf8')) } });
    const good = net.client({ identity: 'sensor-a' });
    const bad = net.client({ identity: 'nobody' });
    await net.flush();
    expect(good.session).toBeDefined();
    expect(good.error).toBeUndefined();
    expect(bad.error?.alert).toBe(AlertDescription.unknown_psk_identity);
    expect(net.events.sessions).toHaveLength(1);
  });

  it('a pskLookup may answer with any thenable, not only a native promise', async () => {
    const net = new LossyNetwork({ server: { pskLookup: () => ({ then: (ok: (v: Uint8Array) => void) => ok(DEFAULT_PSK) }) as unknown as Promise<Uint8Array> } });
    const client = net.client();
    await net.flush();
    expect(client.error).toBeUndefined();
    expect(net.events.sessions).toHaveLength(1);
  });

  it('an unknown identity ends the handshake with unknown_psk_identity (115)', async () => {
    const net = new LossyNetwork();
    const client = net.client({ identity: 'nobody' });
    await net.flush();
    expect(net.lookups).toEqual(['nobody']);
    expect(client.error?.alert).toBe(AlertDescription.unknown_psk_identity);
    expect(client.error?.code).toBe('E_HANDSHAKE');
    expect(serverAlerts(net)).toEqual([AlertDescription.unknown_psk_identity]);
    expect(net.events.handshakeErrors.map((e) => e.alert)).toEqual([AlertDescription.unknown_psk_identity]);
    expect(net.events.sessions).toHaveLength(0);
  });

  it('a wrong key ends the handshake with decrypt_error (51) and no session on either side', async () => {
    const net = new LossyNetwork();
    const wrong = DEFAULT_PSK.slice();
    wrong[0] = (wrong[0] as number) ^ 1;
    const client = net.client({ psk: wrong });
    await net.flush();
    expect(client.error?.alert).toBe(AlertDescription.decrypt_error);
    expect(serverAlerts(net)).toEqual([AlertDescription.decrypt_error]);
    expect(net.events.sessions).toHaveLength(0);
    expect(net.sent(flight(6))).toHaveLength(0);
    expect(net.server.size).toBe(0);
  });

  it('no cipher suite in common (client CCM only, server CCM_8 only) ends with handshake_failure (40)', async () => {
    const net = new LossyNetwork({ server: { cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8] } });
    const client = net.client({ cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM] });
    await net.flush();
    expect(client.error?.alert).toBe(AlertDescription.handshake_failure);
    expect(serverAlerts(net)).toEqual([AlertDescription.handshake_failure]);
    expect(net.sent(flight(4))).toHaveLength(0);
    expect(net.lookups).toHaveLength(0);
    expect(net.server.size).toBe(0);
  });

  it('the identity is asked for once per handshake and the lookup waits for the test to answer', async () => {
    const deferred = deferredLookup();
    const net = new LossyNetwork({ server: { pskLookup: deferred.lookup } });
    const client = net.client();
    await net.flush();
    expect(client.established).toBe(false);
    expect(net.sent(flight(6))).toHaveLength(0);
    deferred.resolve(DEFAULT_PSK);
    await net.flush();
    expect(client.established).toBe(true);
    expect(net.lookups).toHaveLength(1);
    expect(net.sent(toServer)).toHaveLength(3);
  });
});
