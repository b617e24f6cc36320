/**
 * DtlsServer on a real UDP socket: binding by host name, and the answers to a burst of records
 * (sent together once the burst is read) arriving whole and in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DtlsClient, type DtlsClientSession, DtlsServer } from '../../../src/dtls/index.js';

const PSK = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 0x80) & 0xff);
let server: DtlsServer | undefined;
let client: DtlsClientSession | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close();
  server = undefined;
});

async function start(host: string): Promise<number> {
  server = new DtlsServer({ pskLookup: (id) => (Buffer.from(id).toString('utf8') === 'sensor-1' ? PSK : undefined) });
  server.on('data', (session, data) => session.send(data));
  const { port } = await server.listen(0, host);
  return port;
}

describe('DtlsServer on a UDP socket', () => {
  it('binds to a host name (looked up), and serves a handshake', async () => {
    const port = await start('localhost');
    client = await DtlsClient.connect({ host: '127.0.0.1', port, identity: 'sensor-1', psk: PSK });
    const echoed = new Promise<string>((resolve) => client?.once('data', (d: Uint8Array) => resolve(Buffer.from(d).toString('utf8'))));
    client.send('ping');
    expect(await echoed).toBe('ping');
  });

  it('close() still sends what it queued: the client hears close_notify', async () => {
    const port = await start('127.0.0.1');
    const session = await DtlsClient.connect({ host: '127.0.0.1', port, identity: 'sensor-1', psk: PSK });
    client = session;
    const closed = new Promise<string>((resolve) => session.once('close', (reason: { kind: string }) => resolve(reason.kind)));
    await server?.close();
    server = undefined;
    expect(await closed).toBe('close_notify');
  });

  it('answers a burst of 200 records, every answer whole and in order', async () => {
    const port = await start('127.0.0.1');
    client = await DtlsClient.connect({ host: '127.0.0.1', port, identity: 'sensor-1', psk: PSK });
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      client?.on('data', (d: Uint8Array) => {
        got.push(Buffer.from(d).toString('utf8'));
        if (got.length === 200) resolve();
      });
    });
    for (let i = 0; i < 200; i++) client.send(`record ${i}`);
    await all;
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `record ${i}`));
  });
});
