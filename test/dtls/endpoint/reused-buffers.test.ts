/**
 * Records are decoded as views into their datagram, not copied. A transport may reuse its receive
 * buffer once handleDatagram() returns, so a record the server keeps past that call (an epoch-1
 * Finished that arrives ahead of its ChangeCipherSpec, RFC 6347 §4.1) must be its own copy.
 */
import { describe, expect, it } from 'vitest';
import { DtlsClient, DtlsServer } from '../../../src/dtls/index.js';
import { ContentType } from '../../../src/dtls/wire/constants.js';
import { decodeRecords, encodeRecord } from '../../../src/dtls/wire/record.js';

const PSK = Uint8Array.from({ length: 16 }, (_, i) => (i * 29 + 3) & 0xff);
const CLIENT = { address: '192.0.2.7', port: 40_007 };

describe('a server transport that reuses its receive buffer', () => {
  it('a Finished ahead of its ChangeCipherSpec survives the buffer being overwritten', async () => {
    const server = new DtlsServer({ pskLookup: () => PSK });
    const toClient: Uint8Array[] = [];
    server.attach({ send: (d) => toClient.push(Uint8Array.from(d)) });
    const toServer: Uint8Array[] = [];
    let clientHandler: ((d: Uint8Array) => void) | undefined;
    const established = DtlsClient.connect({
      host: '198.51.100.1',
      port: 5684,
      identity: 'sensor-1',
      psk: PSK,
      transport: { send: (d) => toServer.push(Uint8Array.from(d)), onDatagram: (h) => (clientHandler = h), close: () => {} },
    });
    // One receive buffer for every datagram, as a transport reading into a fixed buffer has.
    const rx = new Uint8Array(2_048);
    const deliver = (d: Uint8Array): void => {
      rx.fill(0xa5);
      rx.set(d);
      server.handleDatagram(rx.subarray(0, d.length), CLIENT.address, CLIENT.port);
      rx.fill(0xa5);
    };
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    let sawFinishedFirst = false;
    for (let round = 0; round < 10 && server.sessions().length === 0; round++) {
      await settle();
      for (const d of toServer.splice(0)) {
        const records = decodeRecords(d).records;
        const finished = records.find((r) => r.epoch === 1 && r.type === ContentType.handshake);
        if (finished === undefined) {
          deliver(d);
          continue;
        }
        // Flight 5 record by record, the Finished first: the server holds it back.
        sawFinishedFirst = true;
        deliver(encodeRecord(finished));
        for (const r of records) if (r !== finished) deliver(encodeRecord(r));
      }
      for (const d of toClient.splice(0)) clientHandler?.(d);
    }
    expect(sawFinishedFirst).toBe(true);
    expect(server.sessions()).toHaveLength(1);
    const session = await established;
    expect(session.identityText).toBe('sensor-1');
    await server.close();
  });
});
