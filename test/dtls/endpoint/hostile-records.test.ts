/**
 * Records that are corrupted, cut, stretched or out of place: every one is dropped (RFC 6347
 * §4.1.2.7) or ends the handshake with an alert; none completes a handshake or delivers data, and an
 * established session carries on.
 */
import { devNull } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { cipherSuiteById } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { encodeClientKeyExchangePsk } from '../../../src/dtls/handshake/client-key-exchange-psk.js';
import { encodeFinished } from '../../../src/dtls/handshake/finished.js';
import { encodeHandshakeFragment, fullMessageBytes } from '../../../src/dtls/handshake/header.js';
import { decodeServerHello } from '../../../src/dtls/handshake/server-hello.js';
import { KeyLogWriter } from '../../../src/dtls/keylog.js';
import { keyBlock } from '../../../src/dtls/keys/key-block.js';
import { cipherStatesFromKeyBlock, type Role } from '../../../src/dtls/record/cipher-state.js';
import { protectRecord } from '../../../src/dtls/record/protection.js';
import { AlertDescription, ContentType, DTLS12, HandshakeType } from '../../../src/dtls/wire/constants.js';
import { type DtlsRecord, encodeRecord } from '../../../src/dtls/wire/record.js';
import { exposeSecret, type SecretBytes } from '../../../src/util/secret.js';
import { utf8 } from '../../../src/util/bytes.js';
import {
  all,
  carries,
  datagramOf,
  DEFAULT_IDENTITY,
  DEFAULT_PSK,
  flight,
  flipBit,
  LossyNetwork,
  recordsOf,
  text,
  toClient,
  toServer,
} from '../../support/lossy-network.js';

/** Keeps the master secrets the engine would write to an NSS key log, to forge records with. */
class CapturingKeyLog extends KeyLogWriter {
  readonly entries: { clientRandom: Uint8Array; master: Uint8Array }[] = [];

  constructor() {
    super(devNull);
  }

  override log(clientRandom: Uint8Array, master: Uint8Array | SecretBytes): void {
    this.entries.push({ clientRandom: clientRandom.slice(), master: exposeSecret(master).slice() });
  }
}

const keyLogs: CapturingKeyLog[] = [];
afterEach(() => {
  for (const k of keyLogs.splice(0)) k.close();
});

function keyLog(): CapturingKeyLog {
  const k = new CapturingKeyLog();
  keyLogs.push(k);
  return k;
}

/** Seals an epoch-1 record as `role` would, from the captured master secret and the ServerHello on the wire. */
function forge(net: LossyNetwork, log: CapturingKeyLog, role: Role, type: number, seq: number, payload: Uint8Array): Uint8Array {
  const entry = log.entries[0];
  const sh = net
    .sent(flight(4))
    .flatMap((d) => d.records.flatMap((r) => r.fragments))
    .find((f) => f.msgType === HandshakeType.server_hello);
  if (entry === undefined || sh === undefined) throw new Error('no keys captured yet');
  const hello = decodeServerHello(sh.body);
  const suite = cipherSuiteById(hello.cipherSuite);
  if (suite === undefined) throw new Error('unknown suite');
  const { write } = cipherStatesFromKeyBlock(keyBlock(entry.master, hello.random, entry.clientRandom, suite), role);
  return encodeRecord({ type, version: DTLS12, epoch: 1, seq, fragment: protectRecord(write, type, 1, seq, payload) });
}

/** A plaintext record. */
const plainRecord = (type: number, epoch: number, seq: number, fragment: Uint8Array): DtlsRecord => ({ type, version: DTLS12, epoch, seq, fragment });

/** A handshake record holding one whole message. */
const handshakeRecord = (msgType: number, messageSeq: number, body: Uint8Array, epoch = 0, seq = 50): Uint8Array =>
  encodeRecord(plainRecord(ContentType.handshake, epoch, seq, fullMessageBytes(msgType, messageSeq, body)));

const strings = (net: LossyNetwork): string[] => net.events.data.map((e) => Buffer.from(e.data).toString('utf8'));

/** Where in a protected CCM_8 application record (13-octet header, 8-octet explicit nonce) to flip a bit. */
const FLIPS = [
  { what: 'content type', at: 0 },
  { what: 'version', at: 2 },
  { what: 'epoch', at: 4 },
  { what: 'sequence number', at: 10 },
  { what: 'explicit nonce', at: 13 },
  { what: 'ciphertext', at: 21 },
  { what: 'tag', at: -1 },
] as const;

describe('bit flips in application records', () => {
  for (const { what, at } of FLIPS) {
    it(`a flipped ${what} bit: the record is dropped, the session carries on (both directions)`, async () => {
      const net = new LossyNetwork();
      const { client, clientSession, serverSession } = await net.connect();
      net.tamper(all(toServer, carries(ContentType.application_data)), (b) => flipBit(b, at));
      net.tamper(all(toClient, carries(ContentType.application_data)), (b) => flipBit(b, at));
      clientSession.send(text('forged up'));
      serverSession.send(text('forged down'));
      await net.flush();
      expect(net.events.data).toHaveLength(0);
      expect(client.received).toHaveLength(0);

      clientSession.send(text('good up'));
      serverSession.send(text('good down'));
      await net.flush();
      expect(strings(net)).toEqual(['good up']);
      expect(client.texts).toEqual(['good down']);
      expect(net.events.closes).toHaveLength(0);
      expect(client.closeReason).toBeUndefined();
    });
  }

  it('a forged record with a far-ahead sequence number does not move the replay window', async () => {
    const net = new LossyNetwork();
    const { clientSession } = await net.connect();
    // sequence number octets 5..10: push it to 2^40 while breaking the tag with it
    net.tamper(all(toServer, carries(ContentType.application_data)), (b) => flipBit(b, 5, 0));
    clientSession.send(text('forged'));
    clientSession.send(text('next'));
    await net.flush();
    expect(strings(net)).toEqual(['next']);
  });
});

describe('length fields', () => {
  /** Sets the uint16 record length of the first record of a datagram. */
  const setRecordLength = (b: Uint8Array, length: number): Uint8Array => {
    const out = b.slice();
    out[11] = length >>> 8;
    out[12] = length & 0xff;
    return out;
  };

  const cases = [
    { what: 'record length one short', edit: (b: Uint8Array) => setRecordLength(b, b.length - 13 - 1) },
    { what: 'record length one past the datagram', edit: (b: Uint8Array) => setRecordLength(b, b.length - 13 + 1) },
    { what: 'record length over 2^14 + 2048', edit: (b: Uint8Array) => setRecordLength(b, 0xffff) },
    { what: 'record length zero', edit: (b: Uint8Array) => setRecordLength(b, 0) },
    { what: 'datagram cut inside the tag', edit: (b: Uint8Array) => b.subarray(0, b.length - 3) },
    { what: 'datagram cut inside the header', edit: (b: Uint8Array) => b.subarray(0, 7) },
  ];

  for (const { what, edit } of cases) {
    it(`${what}: the application record is dropped, later data still arrives`, async () => {
      const net = new LossyNetwork();
      const { clientSession } = await net.connect();
      net.tamper(all(toServer, carries(ContentType.application_data)), edit);
      clientSession.send(text('bad'));
      await net.flush();
      expect(net.events.data).toHaveLength(0);
      clientSession.send(text('good'));
      await net.flush();
      expect(strings(net)).toEqual(['good']);
      expect(net.server.sessions()).toHaveLength(1);
    });
  }

  it('garbage after a valid record: the record is delivered once, the garbage dropped', async () => {
    const net = new LossyNetwork();
    const { clientSession } = await net.connect();
    net.tamper(all(toServer, carries(ContentType.application_data)), (b) => Uint8Array.from([...b, 23, 0xfe, 0xfd, 0]));
    clientSession.send(text('kept'));
    await net.flush();
    expect(strings(net)).toEqual(['kept']);
    expect(net.server.stats.malformed).toBe(1);
  });

  it('a ClientKeyExchange whose fragment_length runs past its record is dropped; the retransmission completes', async () => {
    const net = new LossyNetwork();
    net.tamper(flight(5), (b) => {
      const [cke, ...rest] = recordsOf(b);
      if (cke === undefined) throw new Error('empty flight 5');
      const f = cke.fragment.slice();
      f[11] = (f[11] as number) + 5; // fragment_length low octet
      return datagramOf([{ ...cke, fragment: f }, ...rest]);
    });
    const client = net.client();
    await net.advanceTo(999);
    expect(client.established).toBe(false);
    expect(net.lookups).toHaveLength(0);
    await net.advance(1);
    expect(client.established).toBe(true);
    expect(net.lookups).toHaveLength(1);
  });

  it('a ClientHello cut short or stretched by its handshake length is answered by nothing', async () => {
    const net = new LossyNetwork();
    let n = 0;
    net.tamper(flight(3), (b) => {
      const [rec] = recordsOf(b);
      if (rec === undefined) throw new Error('empty flight 3');
      const f = rec.fragment.slice();
      // first copy: message length +1 (a fragment of a longer message); second: fragment_length -1
      if (n++ === 0) f[3] = (f[3] as number) + 1;
      else f[11] = (f[11] as number) - 1;
      return datagramOf([{ ...rec, fragment: f }]);
    }, 2);
    const client = net.client();
    await net.advanceTo(2_999);
    expect(net.sent(flight(3))).toHaveLength(2);
    expect(net.sent(flight(4))).toHaveLength(0);
    expect(net.server.size).toBe(0);
    await net.advance(1);
    expect(client.established).toBe(true);
  });
});

describe('messages out of order', () => {
  it('ClientKeyExchange or Finished before any ClientHello: stray, no state, no lookup, no answer', async () => {
    const net = new LossyNetwork();
    const from = { address: '192.0.2.77', port: 7777 };
    const cke = handshakeRecord(HandshakeType.client_key_exchange, 2, encodeClientKeyExchangePsk({ pskIdentity: utf8(DEFAULT_IDENTITY) }));
    const fin0 = handshakeRecord(HandshakeType.finished, 3, encodeFinished({ verifyData: new Uint8Array(12) }));
    const fin1 = encodeRecord(plainRecord(ContentType.handshake, 1, 0, new Uint8Array(45)));
    for (const b of [cke, fin0, fin1]) net.inject(b, { toServer: true, client: from });
    await net.flush();
    expect(net.server.size).toBe(0);
    expect(net.lookups).toHaveLength(0);
    expect(net.sent(toClient)).toHaveLength(0);
    expect(net.server.stats.strayRecords).toBe(3);
  });

  it('ClientKeyExchange and Finished sent in place of the ClientHello with the cookie: no handshake ever starts', async () => {
    const net = new LossyNetwork();
    net.tamper(flight(3), () =>
      Uint8Array.from([
        ...handshakeRecord(HandshakeType.client_key_exchange, 1, encodeClientKeyExchangePsk({ pskIdentity: utf8(DEFAULT_IDENTITY) }), 0, 1),
        ...handshakeRecord(HandshakeType.finished, 2, encodeFinished({ verifyData: new Uint8Array(12) }), 0, 2),
      ]), Infinity);
    const client = net.client();
    await net.advance(70_000);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
    expect(net.server.stats.handshakesStarted).toBe(0);
    expect(net.lookups).toHaveLength(0);
    expect(net.sent(flight(4))).toHaveLength(0);
    expect(net.events.sessions).toHaveLength(0);
  });

  it('a Finished in epoch 0 where the ClientKeyExchange belongs ends the handshake with unexpected_message (10)', async () => {
    const net = new LossyNetwork();
    net.tamper(flight(5), (b) => {
      const [cke] = recordsOf(b);
      if (cke === undefined) throw new Error('empty flight 5');
      return handshakeRecord(HandshakeType.finished, 2, encodeFinished({ verifyData: new Uint8Array(12) }), 0, cke.seq);
    });
    const client = net.client();
    await net.flush();
    expect(client.error?.alert).toBe(AlertDescription.unexpected_message);
    expect(net.lookups).toHaveLength(0);
    expect(net.events.sessions).toHaveLength(0);
  });

  it('Finished without ChangeCipherSpec never completes the handshake', async () => {
    const net = new LossyNetwork();
    net.tamper(flight(5), (b) => datagramOf(recordsOf(b).filter((r) => r.type !== ContentType.change_cipher_spec)), Infinity);
    const client = net.client();
    await net.advance(70_000);
    expect(net.lookups).toHaveLength(1);
    expect(net.events.sessions).toHaveLength(0);
    expect(net.sent(flight(6))).toHaveLength(0);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
    expect(net.server.size).toBe(0);
    // A retransmitted flight 5 is absorbed (flight 4 evidently arrived): flight 4 goes out on the
    // server's timer only, and flight 5 on the client's timer and in answer to those.
    expect(net.sent(flight(4)).map((d) => d.sentAt)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    expect(net.sent(flight(5))).toHaveLength(11);
  });

  it('application data in epoch 0 is never delivered, before or after the handshake, either way', async () => {
    const net = new LossyNetwork();
    const early = encodeRecord(plainRecord(ContentType.application_data, 0, 40, text('early plaintext')));
    net.tamper(flight(5), (b) => Uint8Array.from([...early, ...b]));
    const { client } = await net.connect();
    net.inject(encodeRecord(plainRecord(ContentType.application_data, 0, 60, text('late plaintext'))), { toServer: true });
    net.inject(encodeRecord(plainRecord(ContentType.application_data, 0, 60, text('plaintext down'))), { toServer: false });
    await net.flush();
    expect(net.events.data).toHaveLength(0);
    expect(client.received).toHaveLength(0);
    expect(net.server.sessions()).toHaveLength(1);
  });

  it('authentic application data sent ahead of the client Finished is not delivered', async () => {
    const log = keyLog();
    const net = new LossyNetwork();
    net.tamper(flight(5), (b) => {
      const [cke, ccs, fin] = recordsOf(b);
      if (cke === undefined || ccs === undefined || fin === undefined) throw new Error('flight 5 is not one datagram');
      const early = forge(net, log, 'client', ContentType.application_data, 40, text('before Finished'));
      return Uint8Array.from([...datagramOf([cke, ccs]), ...early, ...encodeRecord(fin)]);
    });
    const { clientSession } = await net.connect({ keyLog: log });
    expect(net.events.data).toHaveLength(0);
    clientSession.send(text('after Finished'));
    await net.flush();
    expect(strings(net)).toEqual(['after Finished']);
  });

  it('authentic application data instead of the client Finished completes nothing and delivers nothing', async () => {
    const log = keyLog();
    const net = new LossyNetwork();
    let seq = 40;
    net.tamper(flight(5), (b) => {
      const [cke, ccs] = recordsOf(b);
      if (cke === undefined || ccs === undefined) throw new Error('flight 5 is not one datagram');
      return Uint8Array.from([...datagramOf([cke, ccs]), ...forge(net, log, 'client', ContentType.application_data, seq++, text('no Finished'))]);
    }, Infinity);
    const client = net.client({ keyLog: log });
    await net.advance(70_000);
    expect(net.events.sessions).toHaveLength(0);
    expect(net.events.data).toHaveLength(0);
    expect(client.error?.code).toBe('E_HANDSHAKE_TIMEOUT');
  });

  it('authentic application data sent ahead of the server Finished is not delivered to the client', async () => {
    const log = keyLog();
    const net = new LossyNetwork();
    net.tamper(flight(6), (b) => {
      const [ccs, fin] = recordsOf(b);
      if (ccs === undefined || fin === undefined) throw new Error('flight 6 is not one datagram');
      return Uint8Array.from([...encodeRecord(ccs), ...forge(net, log, 'server', ContentType.application_data, 40, text('early down')), ...encodeRecord(fin)]);
    });
    const { client, serverSession } = await net.connect({ keyLog: log });
    expect(client.received).toHaveLength(0);
    serverSession.send(text('late down'));
    await net.flush();
    expect(client.texts).toEqual(['late down']);
  });
});

describe('stray epoch-1 records during the handshake', () => {
  const garbage = (seq: number, type: number = ContentType.application_data): Uint8Array =>
    encodeRecord(plainRecord(type, 1, seq, Uint8Array.from({ length: 40 }, (_, i) => i)));

  it('an unauthentic epoch-1 data record while the client waits for the server Finished is dropped', async () => {
    const net = new LossyNetwork();
    net.hold(flight(6));
    const client = net.client();
    await net.flush();
    net.inject(garbage(7), { toServer: false });
    await net.flush();
    net.release();
    await net.flush();
    expect(client.established).toBe(true);
  });

  it('an unauthentic epoch-1 alert held while the server waits for its lookup is dropped', async () => {
    let answer: (psk: Uint8Array) => void = () => undefined;
    const net = new LossyNetwork({ server: { pskLookup: () => new Promise((r) => (answer = r)) } });
    const client = net.client();
    await net.flush();
    net.inject(garbage(9, ContentType.alert), { toServer: true });
    await net.flush();
    answer(DEFAULT_PSK);
    await net.flush();
    expect(client.established).toBe(true);
    expect(net.events.handshakeErrors).toHaveLength(0);
  });
});

describe('forged plaintext records with a far-ahead sequence number', () => {
  const FAR = 2 ** 40;

  it('one sent to the server between flights 3 and 5 does not make the real flight 5 look replayed', async () => {
    const net = new LossyNetwork();
    net.hold(flight(5));
    const client = net.client();
    await net.flush();
    const junk = encodeRecord(plainRecord(ContentType.alert, 0, FAR, Uint8Array.of(1, 90))); // warning user_canceled
    net.inject(junk, { toServer: true, client: client.addr });
    net.release();
    await net.flush();
    expect(client.established).toBe(true);
    expect(net.clock.now()).toBe(0);
  });

  it('one sent to the client before flight 4 does not make the real flight 4 look replayed', async () => {
    const net = new LossyNetwork();
    net.hold(flight(4));
    const client = net.client();
    await net.flush();
    const junk = handshakeRecord(HandshakeType.hello_request, 0, new Uint8Array(0), 0, FAR);
    net.inject(junk, { toServer: false, client: client.addr });
    net.release();
    await net.flush();
    expect(client.established).toBe(true);
  });
});

describe('fragments that lie', () => {
  it('a ClientKeyExchange fragment whose message length disagrees with the real one', async () => {
    const net = new LossyNetwork();
    const from = net.client();
    net.hold(flight(5));
    await net.flush();
    // an off-path fragment for message_seq 2, claiming a longer message, arrives first
    const body = encodeClientKeyExchangePsk({ pskIdentity: utf8(DEFAULT_IDENTITY) });
    const lie = encodeHandshakeFragment({ msgType: HandshakeType.client_key_exchange, length: body.length + 10, messageSeq: 2, fragmentOffset: 0, body });
    net.inject(encodeRecord(plainRecord(ContentType.handshake, 0, 30, lie)), { toServer: true });
    net.release();
    await net.flush();
    expect(from.established).toBe(true);
    expect(net.clock.now()).toBe(0);
  });

  it('a lying fragment amid the real ones costs at most one retransmission', async () => {
    const identity = 'd'.repeat(600);
    const net = new LossyNetwork({ keys: new Map([[identity, DEFAULT_PSK]]) });
    const held = net.hold(flight(5), Infinity);
    const client = net.client({ identity, mtu: 256 });
    await net.flush();
    held.remaining = 0;
    const [first, ...rest] = net.held.splice(0);
    if (first === undefined || rest.length === 0) throw new Error('flight 5 is not fragmented');
    const lie = encodeHandshakeFragment({ msgType: HandshakeType.client_key_exchange, length: 40, messageSeq: 2, fragmentOffset: 0, body: new Uint8Array(10) });
    for (const b of [first.bytes, encodeRecord(plainRecord(ContentType.handshake, 0, 9, lie)), ...rest.map((d) => d.bytes)]) {
      net.inject(b, { toServer: true, client: client.addr });
    }
    await net.flush();
    expect(client.established).toBe(false);
    await net.advanceTo(1_000);
    expect(client.established).toBe(true);
    expect(net.lookups).toEqual([identity]);
  });
});
