/**
 * The per-connection record layer (RFC 6347 §4.1): epoch 0 and 1 write counters, the epoch-1 replay
 * window (§4.1.2.6), dropping epoch-0 state, and the limits of the two-epoch layout.
 */
import { describe, expect, it } from 'vitest';
import { TLS_PSK_WITH_AES_128_CCM_8 } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { RecordLayer } from '../../../src/dtls/endpoint/record-layer.js';
import { createCipherState } from '../../../src/dtls/record/cipher-state.js';
import { SequenceExhaustedError } from '../../../src/dtls/record/write-sequence.js';
import { ContentType, DTLS12 } from '../../../src/dtls/wire/constants.js';
import { decodeRecord, type DtlsRecord } from '../../../src/dtls/wire/record.js';
import { fromHex, utf8 } from '../../../src/util/bytes.js';

const suite = TLS_PSK_WITH_AES_128_CCM_8;
const clientWrite = createCipherState(suite, fromHex('000102030405060708090a0b0c0d0e0f', 'k'), fromHex('a0a1a2a3', 'iv'));
const serverWrite = createCipherState(suite, fromHex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 'k'), fromHex('b0b1b2b3', 'iv'));
const DATA = utf8('sensor reading');

/** A server layer and a client layer holding each other's epoch-1 keys. */
function pair(): { server: RecordLayer; client: RecordLayer } {
  const server = new RecordLayer(1200);
  const client = new RecordLayer(1200);
  server.setReadCipher(1, clientWrite);
  server.setWriteCipher(1, serverWrite);
  client.setReadCipher(1, serverWrite);
  client.setWriteCipher(1, clientWrite);
  return { server, client };
}

function sealed(layer: RecordLayer, type: number, payload: Uint8Array, epoch?: number): DtlsRecord {
  return decodeRecord(layer.seal(type, payload, epoch));
}

describe('RecordLayer', () => {
  it('sends epoch 0 in the clear from the given start, counting up by one', () => {
    const layer = new RecordLayer(1200);
    layer.startEpoch0At(5);
    const a = sealed(layer, ContentType.handshake, DATA);
    const b = sealed(layer, ContentType.handshake, DATA);
    expect([a.epoch, a.seq, b.seq]).toEqual([0, 5, 6]);
    expect(a.fragment).toEqual(DATA);
    expect(layer.overhead(0)).toBe(13);
  });

  it('protects epoch 1 from sequence number 0, and the peer opens it', () => {
    const { server, client } = pair();
    server.startEpoch0At(3);
    sealed(server, ContentType.change_cipher_spec, new Uint8Array([1]), 0);
    const rec = sealed(server, ContentType.application_data, DATA, 1);
    expect([rec.epoch, rec.seq]).toEqual([1, 0]);
    expect(rec.fragment.length).toBe(DATA.length + 16);
    expect(server.overhead(1)).toBe(13 + 16);
    expect(client.open(rec)).toEqual(DATA);
    expect(client.lastDrop).toBeUndefined();
    expect(sealed(server, ContentType.handshake, new Uint8Array(0), 0).seq).toBe(4);
  });

  it('drops a replayed epoch-1 record, and a forged one without moving the window', () => {
    const { server, client } = pair();
    const first = sealed(client, ContentType.application_data, DATA, 1);
    const second = sealed(client, ContentType.application_data, DATA, 1);
    expect(server.open(first)).toEqual(DATA);
    expect(server.open(first)).toBeUndefined();
    expect(server.lastDrop).toBe('replay');
    const fragment = second.fragment.slice();
    fragment[fragment.length - 1] = (fragment[fragment.length - 1] as number) ^ 1;
    expect(server.open({ ...second, fragment })).toBeUndefined();
    expect(server.lastDrop).toBe('auth');
    expect(server.open(second)).toEqual(DATA);
  });

  it('reads no epoch-1 record before its keys are installed', () => {
    const { client } = pair();
    const layer = new RecordLayer(1200);
    expect(layer.hasReadEpoch(0)).toBe(true);
    expect(layer.hasReadEpoch(1)).toBe(false);
    expect(layer.open(sealed(client, ContentType.application_data, DATA, 1))).toBeUndefined();
    expect(layer.lastDrop).toBe('epoch');
  });

  it('forgets epoch 0 only once epoch 1 is in place, then refuses to send or read it', () => {
    const lone = new RecordLayer(1200);
    lone.forgetEpoch0();
    expect(lone.hasReadEpoch(0)).toBe(true);
    expect(sealed(lone, ContentType.handshake, DATA, 0).seq).toBe(0);

    const { server } = pair();
    const hello: DtlsRecord = { type: ContentType.handshake, version: DTLS12, epoch: 0, seq: 1, fragment: DATA };
    expect(server.open(hello)).toEqual(DATA);
    server.forgetEpoch0();
    expect(server.hasReadEpoch(0)).toBe(false);
    expect(server.open(hello)).toBeUndefined();
    expect(server.lastDrop).toBe('epoch');
    expect(() => server.seal(ContentType.alert, DATA, 0)).toThrow(RangeError);
    expect(sealed(server, ContentType.application_data, DATA, 1).seq).toBe(0);
  });

  it('forgetRead0 keeps epoch-0 writes (a ChangeCipherSpec may still be resent)', () => {
    const { server } = pair();
    server.forgetRead0();
    expect(server.hasReadEpoch(0)).toBe(false);
    expect(sealed(server, ContentType.change_cipher_spec, new Uint8Array([1]), 0).epoch).toBe(0);
  });

  it('accepts {254,255} only on epoch 0 (RFC 6347 §4.1)', () => {
    const { server, client } = pair();
    expect(server.open({ type: ContentType.handshake, version: 0xfeff, epoch: 0, seq: 0, fragment: DATA })).toEqual(DATA);
    const rec = sealed(client, ContentType.application_data, DATA, 1);
    expect(server.open({ ...rec, version: 0xfeff })).toBeUndefined();
    expect(server.lastDrop).toBe('version');
  });

  it('has keys for epoch 1 only and no write state for later epochs', () => {
    const layer = new RecordLayer(1200);
    expect(() => layer.setReadCipher(2, clientWrite)).toThrow(RangeError);
    expect(() => layer.setWriteCipher(0, clientWrite)).toThrow(RangeError);
    expect(() => layer.seal(ContentType.application_data, DATA, 1)).toThrow(RangeError);
    expect(() => layer.seal(ContentType.application_data, DATA, 2)).toThrow(RangeError);
    expect(layer.open({ type: ContentType.application_data, version: DTLS12, epoch: 2, seq: 0, fragment: DATA })).toBeUndefined();
    expect(layer.lastDrop).toBe('epoch');
  });

  it('sends 2^48 - 1 as the last sequence number of an epoch, then refuses', () => {
    const layer = new RecordLayer(1200);
    layer.startEpoch0At(2 ** 48 - 1);
    expect(sealed(layer, ContentType.handshake, DATA).seq).toBe(2 ** 48 - 1);
    expect(() => layer.seal(ContentType.handshake, DATA)).toThrow(SequenceExhaustedError);
    expect(() => layer.startEpoch0At(2 ** 48)).toThrow(RangeError);
  });

  it('packs records into datagrams of at most the MTU, in order', () => {
    const layer = new RecordLayer(40);
    const records = [new Uint8Array(20).fill(1), new Uint8Array(20).fill(2), new Uint8Array(50).fill(3), new Uint8Array(5).fill(4)];
    const datagrams = layer.pack(records);
    expect(datagrams.map((d) => d.length)).toEqual([40, 50, 5]);
    expect(datagrams[0]?.[20]).toBe(2);
  });
});
