/**
 * DtlsServer.handleDatagram on hostile input (DESIGN.md §6, STYLE.md 6): for arbitrary bytes, for
 * arbitrary well-framed records, and for real handshake datagrams with bits flipped, bytes cut off or
 * added, it never throws, never fails internally (no error logged, no internal_error alert), keeps the
 * session a replayed handshake established, and still completes a clean handshake from another address.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeHandshakeFragment } from '../../src/dtls/handshake/header.js';
import { ContentType, DTLS10, DTLS12 } from '../../src/dtls/wire/constants.js';
import { encodeRecord } from '../../src/dtls/wire/record.js';
import { concat } from '../../src/util/bytes.js';
import { type Address, LossyNetwork, text, toServer } from '../support/lossy-network.js';

/** Where the recorded handshake came from (the first client of a LossyNetwork). */
const RECORDED: Address = { address: '192.0.2.1', port: 40_001 };
/** A peer that only ever sends garbage. */
const STRANGER: Address = { address: '203.0.113.66', port: 6_666 };
/** The well-behaved client that must still get in afterwards. */
const CLEAN: Address = { address: '192.0.2.200', port: 50_000 };

/** A server network whose logger records what it logs at warn level and above. */
function serverNetwork(): { net: LossyNetwork; logged: { level: number; msg: string }[] } {
  const logged: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line) as { level: number; msg: string }) });
  return { net: new LossyNetwork({ server: { logger } }), logged };
}

/** What must hold after any input: nothing failed inside the server, and a clean client still gets in. */
async function expectServerHealthy(net: LossyNetwork, logged: readonly { level: number; msg: string }[]): Promise<void> {
  expect(logged.filter((l) => l.level >= 50)).toEqual([]); // pino error: 'datagram handler failed'
  expect(net.events.handshakeErrors.filter((e) => e.message.startsWith('internal error'))).toEqual([]);
  expect(net.events.closes.filter((c) => c.reason.message.startsWith('internal error'))).toEqual([]);
  const before = net.events.sessions.length;
  const clean = net.client({ at: CLEAN });
  await net.flush();
  expect(clean.error).toBeUndefined();
  expect(clean.established).toBe(true);
  expect(net.events.sessions).toHaveLength(before + 1);
}

/** Delivers one datagram from `from` straight to the server, then lets the network settle. */
async function feed(net: LossyNetwork, bytes: Uint8Array, from: Address): Promise<void> {
  expect(() => net.server.handleDatagram(bytes, from.address, from.port)).not.toThrow();
  await net.flush();
}

/** The client datagrams of one handshake plus two application records, as sent (deterministic rngs). */
let recorded: Uint8Array[] = [];

beforeAll(async () => {
  const net = new LossyNetwork();
  const { clientSession } = await net.connect();
  clientSession.send(text('first'));
  clientSession.send(text('second'));
  await net.flush();
  expect(net.events.data).toHaveLength(2);
  recorded = net.sent(toServer).map((d) => d.bytes);
  expect(recorded).toHaveLength(5);
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const out = bytes.slice();
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length] = (out[m.at % out.length] as number) ^ (1 << m.bit);
      return out;
    case 'set':
      out[m.at % out.length] = m.value;
      return out;
    case 'truncate':
      return out.subarray(0, m.at % out.length);
    case 'extend':
      return concat(out, m.tail);
  }
}

/** Well-framed records with arbitrary contents, so that input gets past the record decoder. */
const handshakeFragment = fc
  .record({
    msgType: fc.oneof(fc.constantFrom(0, 1, 2, 3, 11, 12, 14, 16, 20), fc.integer({ min: 0, max: 255 })),
    messageSeq: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0xffff })),
    fragmentOffset: fc.integer({ min: 0, max: 300 }),
    extra: fc.integer({ min: 0, max: 300 }),
    body: fc.uint8Array({ maxLength: 120 }),
  })
  .map((f) => encodeHandshakeFragment({ ...f, length: f.fragmentOffset + f.body.length + f.extra }));

const record = fc
  .record({
    type: fc.oneof(fc.constantFrom(20, 21, 22, 23, 25), fc.integer({ min: 0, max: 255 })),
    version: fc.oneof(fc.constantFrom(DTLS12, DTLS10), fc.integer({ min: 0, max: 0xffff })),
    epoch: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 0xffff })),
    seq: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constant(2 ** 48 - 1)),
    fragment: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      handshakeFragment,
      fc.constant(Uint8Array.of(1)), // a ChangeCipherSpec body
      fc.tuple(fc.constantFrom(1, 2), fc.integer({ min: 0, max: 255 })).map(([level, description]) => Uint8Array.of(level, description)),
    ),
  })
  .filter((r) => r.type !== ContentType.tls12_cid)
  .map((r) => encodeRecord(r));

const datagram = fc.oneof(
  fc.uint8Array({ maxLength: 1_500 }),
  fc.array(record, { minLength: 1, maxLength: 4 }).map((rs) => concat(...rs)),
);

describe('DtlsServer.handleDatagram on hostile input', () => {
  it('the recorded client datagrams, replayed verbatim, establish a session (so mutations reach every state)', async () => {
    const { net, logged } = serverNetwork();
    for (const d of recorded) await feed(net, d, RECORDED);
    expect(net.events.sessions.map((s) => s.remoteAddress)).toEqual([RECORDED.address]);
    expect(net.events.data.map((e) => Buffer.from(e.data).toString('utf8'))).toEqual(['first', 'second']);
    await expectServerHealthy(net, logged);
  });

  it('arbitrary datagrams, from a stranger and from an established peer, never break the server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(datagram, { minLength: 1, maxLength: 8 }), fc.boolean(), async (datagrams, establishFirst) => {
        const { net, logged } = serverNetwork();
        if (establishFirst) for (const d of recorded) await feed(net, d, RECORDED);
        for (const [i, d] of datagrams.entries()) await feed(net, d, i % 2 === 0 ? STRANGER : RECORDED);
        if (establishFirst) expect(net.server.sessions().map((s) => s.remoteAddress)).toEqual([RECORDED.address]);
        await expectServerHealthy(net, logged);
      }),
      { numRuns: 250 },
    );
  });

  it('real handshake datagrams flipped, cut short or extended never break the server', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (target, mutations, alsoOriginal) => {
          const { net, logged } = serverNetwork();
          for (const [i, d] of recorded.entries()) {
            if (i === target) {
              await feed(net, mutations.reduce(mutate, d), RECORDED);
              if (alsoOriginal) await feed(net, d, RECORDED);
            } else {
              await feed(net, d, RECORDED);
            }
          }
          await expectServerHealthy(net, logged);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mutated datagrams arriving after the session is up never end it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.array(mutation, { minLength: 1, maxLength: 3 })), { maxLength: 6 }), async (attacks) => {
        const { net, logged } = serverNetwork();
        for (const d of recorded) await feed(net, d, RECORDED);
        for (const [target, mutations] of attacks) await feed(net, mutations.reduce(mutate, recorded[target] as Uint8Array), RECORDED);
        expect(net.events.closes).toEqual([]);
        expect(net.server.sessions().map((s) => s.remoteAddress)).toEqual([RECORDED.address]);
        await expectServerHealthy(net, logged);
      }),
      { numRuns: 200 },
    );
  });
});
