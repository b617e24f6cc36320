/**
 * The EMSE's default CoAP resources (DESIGN.md §7) over real DTLS sessions on 127.0.0.1: /telemetry
 * (POST JSON readings, GET one's own), /time (Observe, RFC 7641) and /.well-known/core. The client
 * side is plain coap-packet frames sent through DtlsClient sessions.
 */
import { generate, type NamedOption, type ParsedPacket, parse } from 'coap-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DtlsClient, type DtlsClientSession } from '../../src/dtls/index.js';
import {
  createDefaultResources,
  createEmseServer,
  defaultResources,
  type EmseServer,
  staticPskLookup,
  telemetryDevice,
  telemetryResource,
  type TelemetryResource,
  timeResource,
  type TimeResource,
} from '../../src/emse/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { nextEvent, within } from '../support/processes.js';

const A1 = 'e2m:11111111:sensor-a@iot.example.com';
const A2 = 'e2m:22222222:sensor-a@iot.example.com';
const B = 'e2m:33333333:sensor-b@iot.example.com';
const PLAIN = 'plain-device';
const key = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (i * n + 3) & 0xff);
const TABLE = new Map([
  [A1, key(1)],
  [A2, key(2)],
  [B, key(3)],
  [PLAIN, key(4)],
]);
const EPOCH = Date.UTC(2030, 0, 1);

/** A CoAP endpoint over one DTLS client session (RFC 7252 frames built with coap-packet). */
class Coap {
  private mid = 0x100;
  private tok = 1;
  readonly received: ParsedPacket[] = [];
  private readonly listeners = new Set<(p: ParsedPacket) => void>();

  constructor(readonly session: DtlsClientSession) {
    session.on('data', (d) => {
      const p = parse(Buffer.from(d));
      this.received.push(p);
      for (const l of [...this.listeners]) l(p);
    });
  }

  newToken(): Buffer {
    return Buffer.of(0xe2, 0x4d, this.tok++);
  }

  send(packet: Parameters<typeof generate>[0]): void {
    // coap-packet refuses more than 1280 octets unless told otherwise (the 4.13 test needs more).
    this.session.send(generate({ messageId: this.mid++, ...packet }, 16_384));
  }

  /** Resolves with the next packet matching `match` (10 s bound). */
  next(match: (p: ParsedPacket) => boolean, what: string): Promise<ParsedPacket> {
    return within(
      new Promise<ParsedPacket>((resolve) => {
        const l = (p: ParsedPacket): void => {
          if (!match(p)) return;
          this.listeners.delete(l);
          resolve(p);
        };
        this.listeners.add(l);
      }),
      10_000,
      what,
    );
  }

  /** A confirmable request; resolves with the response carrying its token. */
  request(method: string, path: string, o: { payload?: Buffer | string; options?: NamedOption[]; token?: Buffer } = {}): Promise<ParsedPacket> {
    const token = o.token ?? this.newToken();
    const reply = this.next((p) => p.token.equals(token) && !p.reset, `${method} /${path}`);
    this.send({
      code: method,
      token,
      confirmable: true,
      options: [...path.split('/').map((s) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) })), ...(o.options ?? [])],
      ...(o.payload === undefined ? {} : { payload: Buffer.from(o.payload) }),
    });
    return reply;
  }

  ack(p: ParsedPacket): void {
    if (p.confirmable) this.session.send(generate({ messageId: p.messageId, ack: true, code: '0.00', token: Buffer.alloc(0) }));
  }
}

function option(p: ParsedPacket, name: string): Buffer | undefined {
  return p.options.find((o) => o.name === name)?.value;
}

function uint(b: Buffer | undefined): number | undefined {
  return b === undefined ? undefined : b.length === 0 ? 0 : b.readUIntBE(0, b.length);
}

const json = (p: ParsedPacket): unknown => JSON.parse(p.payload.toString('utf8'));
const cf = (name: 'application/json' | 'text/plain'): NamedOption => ({ name: 'Content-Format', value: Buffer.of(name === 'application/json' ? 50 : 0) });
const observe = (n: number): NamedOption => ({ name: 'Observe', value: n === 0 ? Buffer.alloc(0) : Buffer.of(n) });

let emse: EmseServer;
let telemetry: TelemetryResource;
let time: TimeResource;
const timeClock = new ManualClock();
const clients: Coap[] = [];

beforeAll(async () => {
  telemetry = telemetryResource({ perIdentity: 5, wallClock: () => EPOCH });
  time = timeResource({ clock: timeClock, wallClock: () => EPOCH + timeClock.now(), maxPerSession: 2 });
  emse = await createEmseServer({ host: '127.0.0.1', port: 0, pskLookup: staticPskLookup(TABLE), resources: [...defaultResources, telemetry, time] });
});

afterEach(() => {
  for (const c of clients.splice(0)) if (!c.session.closed) c.session.close();
});

afterAll(async () => {
  await emse.close();
});

async function client(identity: string, server: EmseServer = emse): Promise<Coap> {
  const psk = TABLE.get(identity);
  if (psk === undefined) throw new Error(`no key for ${identity}`);
  const c = new Coap(await DtlsClient.connect({ host: '127.0.0.1', port: server.address.port, identity, psk }));
  clients.push(c);
  return c;
}

describe('/telemetry', () => {
  it('stores readings per device and lists only the caller\'s own', async () => {
    const a = await client(A1);
    const b = await client(B);
    const r1 = await a.request('POST', 'telemetry', { payload: JSON.stringify({ temp: 21.5 }), options: [cf('application/json')] });
    expect(r1.code).toBe('2.04');
    expect(json(r1)).toEqual({ accepted: 1, stored: 1 });
    const r2 = await a.request('POST', 'telemetry', { payload: JSON.stringify([{ temp: 21.7 }, { temp: 21.9, rh: 40 }]) });
    expect(json(r2)).toEqual({ accepted: 2, stored: 3 });
    expect((await b.request('POST', 'telemetry', { payload: '{"volts":3.3}' })).code).toBe('2.04');

    const mine = await a.request('GET', 'telemetry');
    expect(mine.code).toBe('2.05');
    expect(uint(option(mine, 'Content-Format'))).toBe(50);
    expect(json(mine)).toEqual({
      identity: 'sensor-a@iot.example.com',
      readings: [
        { receivedAt: '2030-01-01T00:00:00.000Z', reading: { temp: 21.5 } },
        { receivedAt: '2030-01-01T00:00:00.000Z', reading: { temp: 21.7 } },
        { receivedAt: '2030-01-01T00:00:00.000Z', reading: { temp: 21.9, rh: 40 } },
      ],
    });
    expect(json(await b.request('GET', 'telemetry'))).toEqual({
      identity: 'sensor-b@iot.example.com',
      readings: [{ receivedAt: '2030-01-01T00:00:00.000Z', reading: { volts: 3.3 } }],
    });
  });

  it('keeps a device\'s readings across a new kid (re-attachment), and a plain identity apart', async () => {
    const again = await client(A2);
    const got = json(await again.request('GET', 'telemetry')) as { identity: string; readings: unknown[] };
    expect(got.identity).toBe('sensor-a@iot.example.com');
    expect(got.readings).toHaveLength(telemetry.readingsOf('sensor-a@iot.example.com').length);
    expect(got.readings.length).toBeGreaterThan(0);
    const plain = await client(PLAIN);
    expect(json(await plain.request('GET', 'telemetry'))).toEqual({ identity: PLAIN, readings: [] });
    expect(telemetryDevice(A1)).toBe('sensor-a@iot.example.com');
    expect(telemetryDevice(PLAIN)).toBe(PLAIN);
  });

  it('keeps only the last perIdentity readings of a device', async () => {
    const plain = await client(PLAIN);
    const batch = Array.from({ length: 7 }, (_, i) => ({ n: i }));
    expect(json(await plain.request('POST', 'telemetry', { payload: JSON.stringify(batch) }))).toEqual({ accepted: 7, stored: 5 });
    const got = json(await plain.request('GET', 'telemetry')) as { readings: { reading: { n: number } }[] };
    expect(got.readings.map((r) => r.reading.n)).toEqual([2, 3, 4, 5, 6]);
  });

  it.each([
    ['not JSON', '{"temp": 21.5', /not JSON/],
    ['a JSON number', '42', /object/],
    ['an array with a non-object', '[{"a":1}, 2]', /every element/],
    ['an empty array', '[]', /empty array/],
    ['null', 'null', /object/],
    ['an empty payload', '', /empty payload/],
  ])('answers 4.00 with a diagnostic to %s', async (_what, payload, diag) => {
    const b = await client(B);
    const before = telemetry.readingsOf('sensor-b@iot.example.com').length;
    const r = await b.request('POST', 'telemetry', payload === '' ? {} : { payload });
    expect(r.code).toBe('4.00');
    expect(r.payload.toString()).toMatch(diag);
    expect(telemetry.readingsOf('sensor-b@iot.example.com')).toHaveLength(before);
  });

  it('answers 4.00 to a payload that is not UTF-8', async () => {
    const b = await client(B);
    const r = await b.request('POST', 'telemetry', { payload: Buffer.of(0x7b, 0xff, 0x7d) });
    expect(r.code).toBe('4.00');
    expect(r.payload.toString()).toMatch(/UTF-8/);
  });

  it('answers 4.13 with Size1 = 8192 to more than 8 KiB, or to a Size1 announcing it', async () => {
    const b = await client(B);
    const big = JSON.stringify({ blob: 'x'.repeat(9_000) });
    const r = await b.request('POST', 'telemetry', { payload: big });
    expect(r.code).toBe('4.13');
    expect(uint(option(r, 'Size1'))).toBe(8_192);
    expect(r.payload.toString()).toMatch(/8192 octets/);
    const announced = await b.request('POST', 'telemetry', {
      payload: '{"a":1}',
      options: [{ name: 'Size1', value: Buffer.of(0x4e, 0x20) }],
    });
    expect(announced.code).toBe('4.13');
    // Exactly at the limit is accepted.
    const fits = JSON.stringify({ blob: 'y'.repeat(8_192 - 11) });
    expect(Buffer.byteLength(fits)).toBe(8_192);
    expect((await b.request('POST', 'telemetry', { payload: fits })).code).toBe('2.04');
  });

  it('answers 4.13 to more than 8 KiB sent Block-wise (RFC 7959 §2.5), after node-coap reassembled it', async () => {
    const b = await client(B);
    const body = Buffer.from(JSON.stringify({ blob: 'z'.repeat(9_000) }));
    const token = b.newToken();
    const blocks = Math.ceil(body.length / 1024);
    let last: ParsedPacket | undefined;
    for (let num = 0; num < blocks; num++) {
      const more = num < blocks - 1 ? 1 : 0;
      const value = (num << 4) | (more << 3) | 6;
      last = await b.request('POST', 'telemetry', {
        token,
        payload: body.subarray(num * 1024, (num + 1) * 1024),
        options: [{ name: 'Block1', value: value > 0xff ? Buffer.of(value >> 8, value & 0xff) : Buffer.of(value) }],
      });
      if (more === 1) expect(last.code).toBe('2.31');
    }
    expect(last?.code).toBe('4.13');
    expect(uint(last === undefined ? undefined : option(last, 'Size1'))).toBe(8_192);
  });

  it('answers 4.15 to a Content-Format other than application/json', async () => {
    const b = await client(B);
    const r = await b.request('POST', 'telemetry', { payload: '{"a":1}', options: [cf('text/plain')] });
    expect(r.code).toBe('4.15');
    expect(r.payload.toString()).toMatch(/application\/json/);
  });

  it('answers 4.05 to PUT', async () => {
    const b = await client(B);
    expect((await b.request('PUT', 'telemetry', { payload: '{}' })).code).toBe('4.05');
  });
});

describe('/time (Observe, RFC 7641)', () => {
  it('a plain GET answers the current time without an Observe option', async () => {
    const c = await client(B);
    const r = await c.request('GET', 'time');
    expect(r.code).toBe('2.05');
    expect(r.payload.toString()).toBe(new Date(EPOCH + timeClock.now()).toISOString());
    expect(option(r, 'Observe')).toBeUndefined();
    expect(time.observers).toBe(0);
  });

  it('notifies every interval, then stops on deregistration (GET with Observe: 1)', async () => {
    const c = await client(A1);
    const token = c.newToken();
    const seen: ParsedPacket[] = [];
    const stream = (p: ParsedPacket): boolean => p.token.equals(token) && option(p, 'Observe') !== undefined;
    c.session.on('data', (d) => {
      const p = parse(Buffer.from(d));
      if (stream(p)) {
        seen.push(p);
        c.ack(p);
      }
    });
    const t0 = timeClock.now();
    const first = await c.request('GET', 'time', { token, options: [observe(0)] });
    expect(first.code).toBe('2.05');
    expect(first.ack).toBe(true);
    expect(time.observers).toBe(1);
    for (let i = 1; i <= 2; i++) {
      const next = c.next(stream, `notification ${i + 1}`);
      timeClock.advance(1_000);
      await next;
    }
    expect(seen.map((p) => p.payload.toString())).toEqual([0, 1, 2].map((s) => new Date(EPOCH + t0 + s * 1_000).toISOString()));
    const seq = seen.map((p) => uint(option(p, 'Observe')) ?? -1);
    expect(seq[1]).toBeGreaterThan(seq[0] ?? Infinity);
    expect(seq[2]).toBeGreaterThan(seq[1] ?? Infinity);
    expect(seen.slice(1).every((p) => p.confirmable)).toBe(true);

    const bye = await c.request('GET', 'time', { token, options: [observe(1)] });
    expect(bye.code).toBe('2.05');
    expect(option(bye, 'Observe')).toBeUndefined();
    expect(time.observers).toBe(0);
    expect(timeClock.pending).toBe(0);
    timeClock.advance(5_000);
    // A round trip after the clock moved: any notification would have come before its answer.
    expect((await c.request('GET', 'hello')).code).toBe('2.05');
    expect(seen).toHaveLength(3);
  });

  it('stops when the client answers a notification with a Reset (RFC 7641 §3.6)', async () => {
    const c = await client(A1);
    const token = c.newToken();
    await c.request('GET', 'time', { token, options: [observe(0)] });
    const note = c.next((p) => p.token.equals(token), 'notification');
    timeClock.advance(1_000);
    const n = await note;
    expect(n.confirmable).toBe(true);
    c.session.send(generate({ messageId: n.messageId, reset: true, code: '0.00', token: Buffer.alloc(0) }));
    expect((await c.request('GET', 'hello')).code).toBe('2.05');
    expect(time.observers).toBe(0);
    expect(timeClock.pending).toBe(0);
  });

  it('stops, with no timer left, when the DTLS session closes', async () => {
    const c = await client(B);
    await c.request('GET', 'time', { token: c.newToken(), options: [observe(0)] });
    expect(time.observers).toBe(1);
    expect(timeClock.pending).toBe(1);
    const closed = nextEvent(emse.dtls, 'close');
    c.session.close();
    await closed;
    expect(time.observers).toBe(0);
    expect(timeClock.pending).toBe(0);
    const sent = time.notifications;
    timeClock.advance(10_000);
    expect(time.notifications).toBe(sent);
  });

  it('serves at most maxPerSession registrations; more get one unobserved answer', async () => {
    const c = await client(PLAIN);
    for (let i = 0; i < 2; i++) {
      const r = await c.request('GET', 'time', { options: [observe(0)] });
      expect(option(r, 'Observe')).toBeDefined();
    }
    const over = await c.request('GET', 'time', { options: [observe(0)] });
    expect(over.code).toBe('2.05');
    expect(over.payload.toString()).toMatch(/^2030-/);
    expect(option(over, 'Observe')).toBeUndefined();
    expect(time.observers).toBe(2);
  });

  it('answers 4.00 to an Observe value other than 0 or 1', async () => {
    const c = await client(B);
    const r = await c.request('GET', 'time', { options: [observe(7)] });
    expect(r.code).toBe('4.00');
    expect(time.observers).toBe(0);
  });

  it('runs on real timers by default: three notifications, then nothing once the session is gone', async () => {
    const resources = createDefaultResources({ time: { intervalMs: 20 } });
    const own = await createEmseServer({ host: '127.0.0.1', port: 0, pskLookup: staticPskLookup(TABLE), resources });
    const ownTime = resources.find((r) => r.path === 'time') as TimeResource;
    try {
      const c = await client(A1, own);
      const token = c.newToken();
      let count = 0;
      const three = c.next((p) => {
        if (!p.token.equals(token)) return false;
        c.ack(p);
        return ++count === 3;
      }, 'three notifications');
      c.send({ code: 'GET', token, confirmable: true, options: [{ name: 'Uri-Path', value: Buffer.from('time') }, observe(0)] });
      await three;
      expect(ownTime.observers).toBe(1);
      const closed = nextEvent(own.dtls, 'close');
      c.session.close();
      await closed;
      expect(ownTime.observers).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('/.well-known/core', () => {
  it('lists every resource with its attributes (RFC 6690)', async () => {
    const c = await client(B);
    const r = await c.request('GET', '.well-known/core');
    expect(r.code).toBe('2.05');
    expect(uint(option(r, 'Content-Format'))).toBe(40);
    const links = r.payload.toString().split(',');
    expect(links).toEqual([
      '</hello>;rt="e2m.hello";ct=0',
      '</echo>;rt="e2m.echo"',
      '</telemetry>;rt="e2m.telemetry";ct=50',
      '</time>;rt="e2m.time";obs;ct=0',
    ]);
  });
});

describe('/hello: plain GETs answered without node-coap, every other request through it', () => {
  const greeting = `Hello, ${B}!`;

  it('answers a CON GET with a piggybacked ACK: its Message ID and token, 2.05, text/plain (RFC 7252 §5.2.1)', async () => {
    const c = await client(B);
    const token = c.newToken();
    const reply = c.next((p) => p.token.equals(token), 'GET /hello');
    c.send({ messageId: 0x4242, code: 'GET', confirmable: true, token, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] });
    const r = await reply;
    expect(r.ack).toBe(true);
    expect(r.messageId).toBe(0x4242);
    expect(r.code).toBe('2.05');
    expect(uint(option(r, 'Content-Format'))).toBe(0);
    expect(r.payload.toString('utf8')).toBe(greeting);
  });

  it('answers a NON GET with a NON response carrying its token (RFC 7252 §5.2.3)', async () => {
    const c = await client(B);
    const token = c.newToken();
    const reply = c.next((p) => p.token.equals(token), 'NON GET /hello');
    c.send({ code: 'GET', confirmable: false, token, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] });
    const r = await reply;
    expect(r.ack).toBe(false);
    expect(r.confirmable).toBe(false);
    expect(r.code).toBe('2.05');
    expect(r.payload.toString('utf8')).toBe(greeting);
  });

  it('answers a retransmitted CON again, with the same Message ID and payload', async () => {
    const c = await client(B);
    const token = c.newToken();
    const frame = generate({ messageId: 0x0707, code: 'GET', confirmable: true, token, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] });
    const first = c.next((p) => p.token.equals(token), 'first answer');
    c.session.send(frame);
    const a = await first;
    const second = c.next((p) => p.token.equals(token) && p !== a, 'answer to the duplicate');
    c.session.send(frame);
    const b = await second;
    expect([b.messageId, b.code, b.payload.toString()]).toEqual([a.messageId, a.code, a.payload.toString()]);
  });

  it('serves a GET with Block2 (RFC 7959) through node-coap, from the same representation', async () => {
    const c = await client(B);
    // Block2: block 0, more = 0, SZX 0 (16 octets).
    const r = await c.request('GET', 'hello', { options: [{ name: 'Block2', value: Buffer.of(0x00) }] });
    expect(r.code).toBe('2.05');
    expect(option(r, 'Block2')).toBeDefined();
    expect(r.payload.toString('utf8')).toBe(greeting.slice(0, 16));
  });

  it('serves a GET with a query through node-coap with the same answer as the plain GET', async () => {
    const c = await client(A1);
    const plain = await c.request('GET', 'hello');
    const viaCoap = await c.request('GET', 'hello', { options: [{ name: 'Uri-Query', value: Buffer.from('x=1') }] });
    expect(viaCoap.code).toBe('2.05');
    expect(viaCoap.payload.toString()).toBe(plain.payload.toString());
    expect(uint(option(viaCoap, 'Content-Format'))).toBe(uint(option(plain, 'Content-Format')));
  });

  it('answers 4.05 to POST and 4.04 to an unknown path (node-coap)', async () => {
    const c = await client(B);
    expect((await c.request('POST', 'hello', { payload: 'x' })).code).toBe('4.05');
    expect((await c.request('GET', 'nowhere')).code).toBe('4.04');
  });

  it('a read giving a Content-Format outside 0..65535 gets an answer all the same, and the server goes on', async () => {
    const odd = await createEmseServer({
      host: '127.0.0.1',
      port: 0,
      pskLookup: staticPskLookup(TABLE),
      resources: [...defaultResources, { path: 'odd', methods: {}, read: () => ({ payload: 'x', contentFormat: 70_000 }) }],
    });
    try {
      const c = await client(B, odd);
      const r = await c.request('GET', 'odd');
      expect(r.code).toBe('5.00');
      expect((await c.request('GET', 'hello')).payload.toString('utf8')).toBe(greeting);
    } finally {
      await odd.close();
    }
  });
});
