import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError } from '../../src/util/errors.js';
import { concat } from '../../src/util/bytes.js';
import { ContentType } from '../../src/dtls/wire/constants.js';
import { decodeRecord, decodeRecords, encodeRecord, type DtlsRecord } from '../../src/dtls/wire/record.js';
import { decodeAlert, encodeAlert } from '../../src/dtls/wire/alert.js';
import { decodeChangeCipherSpec } from '../../src/dtls/wire/change-cipher-spec.js';
import {
  decodeHandshakeFragments,
  encodeHandshakeFragment,
  fragmentHandshake,
  type HandshakeFragment,
} from '../../src/dtls/handshake/header.js';
import { decodeClientHello, encodeClientHello } from '../../src/dtls/handshake/client-hello.js';
import { decodeServerHello, encodeServerHello } from '../../src/dtls/handshake/server-hello.js';
import { decodeHelloVerifyRequest, encodeHelloVerifyRequest } from '../../src/dtls/handshake/hello-verify-request.js';
import {
  decodeServerKeyExchangeEcdhePsk,
  decodeServerKeyExchangePsk,
  encodeServerKeyExchangeEcdhePsk,
  encodeServerKeyExchangePsk,
} from '../../src/dtls/handshake/server-key-exchange-psk.js';
import { decodeServerHelloDone } from '../../src/dtls/handshake/server-hello-done.js';
import {
  decodeClientKeyExchangeEcdhePsk,
  decodeClientKeyExchangePsk,
  encodeClientKeyExchangeEcdhePsk,
  encodeClientKeyExchangePsk,
} from '../../src/dtls/handshake/client-key-exchange-psk.js';
import { decodeFinished, encodeFinished } from '../../src/dtls/handshake/finished.js';
import {
  decodeConnectionId,
  decodeExtendedMasterSecret,
  decodeExtensions,
  decodeRecordSizeLimit,
  decodeRenegotiationInfo,
  encodeExtensions,
  type Extension,
} from '../../src/dtls/handshake/extensions.js';
import { HandshakeReassembler } from '../../src/dtls/handshake/reassembler.js';
import { pskCcm8, ecdhePsk } from '../dtls/fixtures/openssl-dtls12.js';
import { handshakeFragments, hex } from '../dtls/fixtures/helpers.js';

const RUNS = { numRuns: 300 };

const decoders: Record<string, (b: Uint8Array) => unknown> = {
  decodeRecord: (b) => decodeRecord(b),
  decodeRecordCid: (b) => decodeRecord(b, { cidLength: 2 }),
  decodeAlert,
  decodeChangeCipherSpec,
  decodeHandshakeFragments,
  decodeClientHello,
  decodeServerHello,
  decodeHelloVerifyRequest,
  decodeServerKeyExchangePsk,
  decodeServerKeyExchangeEcdhePsk,
  decodeServerHelloDone,
  decodeClientKeyExchangePsk,
  decodeClientKeyExchangeEcdhePsk,
  decodeFinished,
  decodeExtensions,
  decodeExtendedMasterSecret,
  decodeRenegotiationInfo,
  decodeRecordSizeLimit,
  decodeConnectionId,
};

/** Real datagrams, record fragments and message bodies, so that mutations reach deep into the decoders. */
const datagrams = [...Object.values(pskCcm8), ...Object.values(ecdhePsk)];
const seeds: Uint8Array[] = [
  ...datagrams.map(hex),
  ...datagrams.flatMap((d) => decodeRecords(hex(d)).records.map((r) => r.fragment)),
  ...datagrams.flatMap((d) => handshakeFragments(d).map((f) => f.body)),
];

/** A real body with a few octets overwritten, optionally cut short, optionally extended. */
const mutated = fc
  .record({
    seed: fc.constantFrom(...seeds),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 4 }),
  })
  .map(({ seed, edits, cut, tail }) => {
    const b = seed.slice();
    for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
    const kept = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
    return concat(kept, tail);
  });

/** Arbitrary bytes, and mutations of real bodies (which reach deeper into the decoders). */
const inputs = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated);

function decodesOrThrowsDecodeError(decode: (b: Uint8Array) => unknown, input: Uint8Array): boolean {
  try {
    decode(input);
    return true;
  } catch (e) {
    return e instanceof DecodeError;
  }
}

describe('every decoder either decodes or throws DecodeError', () => {
  for (const [name, decode] of Object.entries(decoders)) {
    it(name, () => {
      fc.assert(fc.property(inputs, (input) => decodesOrThrowsDecodeError(decode, input)), RUNS);
    });
  }

  it('decodeRecords never throws and returns at most one malformed', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const { malformed } = decodeRecords(input, { cidLength: 1 });
        return malformed === 0 || malformed === 1;
      }),
      RUNS,
    );
  });
});

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: min, maxLength: max });
const extension = fc.record({ type: u16, data: bytes(0, 40) });
const extensionList = fc.uniqueArray(extension, { selector: (e) => e.type, maxLength: 6 });

/** A hello with or without an extensions block (the key is absent, not undefined, when there is none). */
function withOptionalExtensions<T extends object>(
  fields: fc.Arbitrary<T>,
): fc.Arbitrary<T | (T & { extensions: Extension[] })> {
  return fc
    .tuple(fields, fc.option(extensionList, { nil: undefined }))
    .map(([f, extensions]) => (extensions === undefined ? f : { ...f, extensions }));
}

/** Registers a property test: decode(encode(x)) deep-equals x. */
function roundTrip<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  encode: (x: T) => Uint8Array,
  decode: (b: Uint8Array) => unknown,
): void {
  it(name, () => {
    fc.assert(
      fc.property(arb, (x) => {
        expect(decode(encode(x))).toEqual(x);
      }),
      RUNS,
    );
  });
}

describe('decode(encode(x)) = x', () => {
  const recordType = u8.filter((t) => t !== ContentType.tls12_cid);
  roundTrip(
    'record',
    fc.record({ type: recordType, version: u16, epoch: u16, seq: u48, fragment: bytes(0, 64) }),
    encodeRecord,
    (b) => decodeRecord(b),
  );
  const alert = fc.record({ level: fc.constantFrom(1 as const, 2 as const), description: u8 });
  roundTrip('alert', alert, encodeAlert, decodeAlert);
  const clientHelloFields = fc.record({
    clientVersion: u16,
    random: bytes(32, 32),
    sessionId: bytes(0, 32),
    cookie: bytes(0, 255),
    cipherSuites: fc.array(u16, { minLength: 1, maxLength: 20 }),
    compressionMethods: fc.array(u8, { minLength: 1, maxLength: 4 }),
  });
  roundTrip('client hello', withOptionalExtensions(clientHelloFields), encodeClientHello, decodeClientHello);
  const serverHelloFields = fc.record({
    serverVersion: u16,
    random: bytes(32, 32),
    sessionId: bytes(0, 32),
    cipherSuite: u16,
    compressionMethod: u8,
  });
  roundTrip('server hello', withOptionalExtensions(serverHelloFields), encodeServerHello, decodeServerHello);
  const hvr = fc.record({ serverVersion: u16, cookie: bytes(0, 255) });
  roundTrip('hello verify request', hvr, encodeHelloVerifyRequest, decodeHelloVerifyRequest);
  const skePsk = fc.record({ pskIdentityHint: bytes(0, 300) });
  roundTrip('server key exchange psk', skePsk, encodeServerKeyExchangePsk, decodeServerKeyExchangePsk);
  const skeEcdhe = fc.record({ pskIdentityHint: bytes(0, 40), namedCurve: u16, publicKey: bytes(1, 255) });
  roundTrip(
    'server key exchange ecdhe_psk',
    skeEcdhe,
    encodeServerKeyExchangeEcdhePsk,
    decodeServerKeyExchangeEcdhePsk,
  );
  const ckePsk = fc.record({ pskIdentity: bytes(0, 300) });
  roundTrip('client key exchange psk', ckePsk, encodeClientKeyExchangePsk, decodeClientKeyExchangePsk);
  const ckeEcdhe = fc.record({ pskIdentity: bytes(0, 40), publicKey: bytes(1, 255) });
  roundTrip(
    'client key exchange ecdhe_psk',
    ckeEcdhe,
    encodeClientKeyExchangeEcdhePsk,
    decodeClientKeyExchangeEcdhePsk,
  );
  roundTrip('finished', fc.record({ verifyData: bytes(12, 12) }), encodeFinished, decodeFinished);
  roundTrip('extensions', extensionList, encodeExtensions, decodeExtensions);

  const cidRecord = fc.record({
    type: fc.constant(ContentType.tls12_cid),
    version: u16,
    epoch: u16,
    seq: u48,
    cid: bytes(3, 3),
    fragment: bytes(0, 40),
  });
  roundTrip(
    'records with a connection ID, several per datagram',
    fc.array(cidRecord, { maxLength: 5 }),
    (list: DtlsRecord[]) => concat(...list.map(encodeRecord)),
    (b) => {
      const { records, malformed } = decodeRecords(b, { cidLength: 3 });
      return malformed === 0 ? records : undefined;
    },
  );

  const fragment = fc
    .record({
      msgType: u8,
      messageSeq: u16,
      before: fc.nat({ max: 100 }),
      body: bytes(0, 50),
      after: fc.nat({ max: 100 }),
    })
    .map(({ msgType, messageSeq, before, body, after }) => ({
      msgType,
      messageSeq,
      length: before + body.length + after,
      fragmentOffset: before,
      fragmentLength: body.length,
      body,
    }));
  roundTrip(
    'handshake fragments, several per record',
    fc.array(fragment, { minLength: 1, maxLength: 4 }),
    (list) => concat(...list.map(encodeHandshakeFragment)),
    decodeHandshakeFragments,
  );
});

describe('reassembly', () => {
  it('any fragmentation, shuffled, with overlapping and duplicate extras, gives back the message', () => {
    const size = fc.integer({ min: 1, max: 200 });
    const delivery = fc.tuple(bytes(0, 600), size, size).chain(([body, size1, size2]) => {
      const cut = (n: number): HandshakeFragment[] =>
        fragmentHandshake(11, 0, body, n).flatMap((b) => decodeHandshakeFragments(b));
      const frags = cut(size1);
      const order = fc.subarray([...frags, ...cut(size2)]).chain((repeats) => {
        const all = [...frags, ...repeats];
        return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
      });
      return fc.tuple(fc.constant(body), order);
    });
    fc.assert(
      fc.property(delivery, ([body, order]) => {
        const r = new HandshakeReassembler();
        for (const f of order) r.push(f);
        expect(r.next()).toEqual({ msgType: 11, messageSeq: 0, body });
      }),
      RUNS,
    );
  });

  it('never throws on decoded garbage and never exceeds its cap', () => {
    const r = new HandshakeReassembler({ maxBufferedBytes: 4096 });
    fc.assert(
      fc.property(inputs, (b) => {
        try {
          for (const f of decodeHandshakeFragments(b)) r.push(f);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
        r.next();
        return r.bufferedBytes <= 4096;
      }),
      RUNS,
    );
  });
});
