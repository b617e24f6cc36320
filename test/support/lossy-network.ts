/**
 * An in-memory datagram network for the DTLS endpoint tests: one DtlsServer (attach + handleDatagram)
 * and any number of DtlsClient.connect() instances on in-memory transports, all on one ManualClock.
 *
 * Nothing moves by itself. A sent datagram is queued; `await net.flush()` delivers the queue in order,
 * one datagram at a time, with an event-loop turn after each so that an asynchronous pskLookup can
 * resolve; `await net.advance(ms)` moves the clock timer by timer and flushes after each. Rules decide,
 * at the moment a datagram is sent, whether it is dropped, duplicated, delayed (on the clock), held
 * (released later in any order), or tampered with; `inject()` puts crafted datagrams on the wire.
 */
import type { Rng } from '../../src/crypto/primitives.js';
import { DtlsClient, type DtlsClientSession, type DtlsConnectOptions, HandshakeError } from '../../src/dtls/endpoint/client.js';
import type { CloseReason } from '../../src/dtls/endpoint/connection.js';
import { DtlsServer, type DtlsServerOptions } from '../../src/dtls/endpoint/server.js';
import type { DtlsSession } from '../../src/dtls/endpoint/session.js';
import type { SecretBytes } from '../../src/util/secret.js';
import { decodeClientHello } from '../../src/dtls/handshake/client-hello.js';
import { decodeHandshakeFragments, type HandshakeFragment } from '../../src/dtls/handshake/header.js';
import { ContentType, HandshakeType } from '../../src/dtls/wire/constants.js';
import { decodeRecords, type DtlsRecord, encodeRecord } from '../../src/dtls/wire/record.js';
import { ManualClock, type TimerHandle } from '../../src/util/clock.js';
import { concat, utf8 } from '../../src/util/bytes.js';

/** A UDP endpoint. */
export interface Address {
  readonly address: string;
  readonly port: number;
}

/** What a test can see of one record without keys. */
export interface RecordView {
  readonly type: number;
  readonly epoch: number;
  readonly seq: number;
  /** The handshake fragments of a plaintext (epoch 0) handshake record; empty otherwise. */
  readonly fragments: readonly HandshakeFragment[];
}

/** One datagram as it entered the network. */
export interface Datagram {
  /** Order of entry into the network, from 0 (injected datagrams and copies included). */
  readonly id: number;
  readonly toServer: boolean;
  readonly from: Address;
  readonly to: Address;
  readonly bytes: Uint8Array;
  readonly records: readonly RecordView[];
  /** The handshake flight (RFC 6347 §4.2.4 numbering, 1..6) its records belong to, if any. */
  readonly flight: number | undefined;
  /** Clock time it was sent at. */
  readonly sentAt: number;
  readonly injected: boolean;
}

export type Match = (d: Datagram) => boolean;

/** What a rule does to a datagram it matches. */
export type Action =
  | { readonly kind: 'drop' }
  | { readonly kind: 'duplicate'; readonly copies: number }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'hold' }
  | { readonly kind: 'tamper'; readonly edit: (bytes: Uint8Array, d: Datagram) => Uint8Array | readonly Uint8Array[] };

/** A rule: applies to the next `remaining` datagrams that match. */
export interface Rule {
  readonly match: Match;
  readonly action: Action;
  remaining: number;
  /** Datagrams it applied to. */
  readonly hits: Datagram[];
}

/** The server's address in every test network. */
export const SERVER: Address = { address: '198.51.100.1', port: 5684 };

/** The PSK of the default identity. */
export const DEFAULT_IDENTITY = 'device-1';
export const DEFAULT_PSK = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

/** A deterministic byte generator (splitmix32), so that runs are reproducible. */
export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      out[i] = (z ^ (z >>> 16)) & 0xff;
    }
    return out;
  };
}

/** A ManualClock that also tells when its next timer falls due, so the network can step through them. */
export class SteppingClock extends ManualClock {
  private readonly due = new Set<{ readonly at: number }>();

  override setTimer(ms: number, fn: () => void): TimerHandle {
    const entry = { at: this.now() + Math.max(0, ms) };
    this.due.add(entry);
    const handle = super.setTimer(ms, () => {
      this.due.delete(entry);
      fn();
    });
    return {
      cancel: () => {
        this.due.delete(entry);
        handle.cancel();
      },
    };
  }

  /** When the earliest pending timer falls due, if any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const e of this.due) if (next === undefined || e.at < next) next = e.at;
    return next;
  }
}

/** Decodes what can be seen of a datagram's records without keys. */
export function viewRecords(bytes: Uint8Array): RecordView[] {
  return decodeRecords(bytes).records.map((r) => {
    let fragments: readonly HandshakeFragment[] = [];
    if (r.type === ContentType.handshake && r.epoch === 0) {
      try {
        fragments = decodeHandshakeFragments(r.fragment);
      } catch {
        fragments = [];
      }
    }
    return { type: r.type, epoch: r.epoch, seq: r.seq, fragments };
  });
}

/** The flight (1..6) a datagram belongs to, from its records (RFC 6347 §4.2.4 Figure 1 numbering). */
export function flightOf(toServer: boolean, records: readonly RecordView[]): number | undefined {
  for (const r of records) {
    if (r.type === ContentType.change_cipher_spec || (r.type === ContentType.handshake && r.epoch === 1)) return toServer ? 5 : 6;
    for (const f of r.fragments) {
      switch (f.msgType) {
        case HandshakeType.client_hello:
          return hasCookie(f) ? 3 : 1;
        case HandshakeType.hello_verify_request:
          return 2;
        case HandshakeType.server_hello:
        case HandshakeType.server_key_exchange:
        case HandshakeType.server_hello_done:
          return 4;
        case HandshakeType.client_key_exchange:
          return 5;
      }
    }
  }
  return undefined;
}

function hasCookie(f: HandshakeFragment): boolean {
  if (f.fragmentOffset !== 0 || f.fragmentLength !== f.length) return true;
  try {
    return decodeClientHello(f.body).cookie.length > 0;
  } catch {
    return false;
  }
}

/** Matches datagrams of handshake flight `n`. */
export const flight =
  (n: number): Match =>
  (d) =>
    d.flight === n;

/** Matches datagrams that carry a record of content type `type` (in `epoch`, if given). */
export const carries =
  (type: number, epoch?: number): Match =>
  (d) =>
    d.records.some((r) => r.type === type && (epoch === undefined || r.epoch === epoch));

/** Matches the datagrams that entered the network as number `ids` (Datagram.id). */
export const index =
  (...ids: readonly number[]): Match =>
  (d) =>
    ids.includes(d.id);

/** Matches datagrams carrying a plaintext fragment of handshake message type `msgType`. */
export const withHandshake =
  (msgType: number): Match =>
  (d) =>
    d.records.some((r) => r.fragments.some((f) => f.msgType === msgType));

/** Matches datagrams from a client. */
export const toServer: Match = (d) => d.toServer;
/** Matches datagrams from the server. */
export const toClient: Match = (d) => !d.toServer;

/** Matches when every matcher does. */
export const all =
  (...ms: readonly Match[]): Match =>
  (d) =>
    ms.every((m) => m(d));

/** A copy of `bytes` with bit `bit` of octet `at` flipped (negative `at` counts from the end). */
export function flipBit(bytes: Uint8Array, at: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  const i = at < 0 ? out.length + at : at;
  out[i] = (out[i] as number) ^ (1 << bit);
  return out;
}

/** The records of a datagram (decoding must succeed). */
export function recordsOf(bytes: Uint8Array): DtlsRecord[] {
  const { records, malformed } = decodeRecords(bytes);
  if (malformed !== 0) throw new Error('datagram is malformed');
  return records;
}

/** A datagram made of `records`. */
export function datagramOf(records: readonly DtlsRecord[]): Uint8Array {
  return concat(...records.map((r) => encodeRecord(r)));
}

/** Handle on one client of the network. */
export class TestClient {
  session: DtlsClientSession | undefined;
  /** Why the handshake failed, when it did. */
  error: HandshakeError | undefined;
  /** Application data received on the session. */
  readonly received: Uint8Array[] = [];
  /** Why the established session ended, once it did. */
  closeReason: CloseReason | undefined;
  /** Whether the engine closed its transport. */
  transportClosed = false;
  handler: ((d: Uint8Array) => void) | undefined;
  /** Settles (never rejects) when the handshake ends either way. */
  readonly settled: Promise<void>;

  constructor(
    readonly addr: Address,
    connect: Promise<DtlsClientSession>,
  ) {
    this.settled = connect.then(
      (s) => {
        this.session = s;
        s.on('data', (d) => this.received.push(d));
        s.on('close', (r) => {
          this.closeReason = r;
        });
      },
      (err: unknown) => {
        if (!(err instanceof HandshakeError)) throw err;
        this.error = err;
      },
    );
  }

  get established(): boolean {
    return this.session !== undefined;
  }

  /** The received application data as UTF-8 strings. */
  get texts(): string[] {
    return this.received.map((d) => Buffer.from(d).toString('utf8'));
  }
}

export interface NetworkOptions {
  /** Server options; pskLookup defaults to a table lookup in `keys`. */
  readonly server?: Partial<DtlsServerOptions>;
  /** identity → PSK known to the default pskLookup (default: DEFAULT_IDENTITY → DEFAULT_PSK). */
  readonly keys?: ReadonlyMap<string, Uint8Array>;
}

export type ClientOptions = Partial<Omit<DtlsConnectOptions, 'transport' | 'clock' | 'host' | 'port'>> & {
  /** Where the client sits (default: a fresh address). */
  readonly at?: Address;
};

/** What the server emitted. */
export interface ServerEvents {
  readonly sessions: DtlsSession[];
  readonly data: { readonly session: DtlsSession; readonly data: Uint8Array }[];
  readonly closes: { readonly session: DtlsSession; readonly reason: CloseReason }[];
  readonly handshakeErrors: { readonly address: string; readonly port: number; readonly alert?: number; readonly message: string }[];
}

/** How many datagram deliveries a flush may make before the test is declared stuck in a loop. */
const MAX_DELIVERIES = 100_000;

/** One macrotask turn: every pending microtask (a resolved pskLookup and what follows it) runs first. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class LossyNetwork {
  readonly clock = new SteppingClock();
  readonly server: DtlsServer;
  readonly events: ServerEvents = { sessions: [], data: [], closes: [], handshakeErrors: [] };
  /** Identities the server's pskLookup was called with, in order. */
  readonly lookups: string[] = [];
  /** Every datagram that entered the network, in order. */
  readonly log: Datagram[] = [];
  /** Datagrams held by a 'hold' rule until release(). */
  readonly held: Datagram[] = [];
  readonly clients: TestClient[] = [];
  private readonly queue: Datagram[] = [];
  private readonly rules: Rule[] = [];
  private nextHost = 1;

  constructor(options: NetworkOptions = {}) {
    const keys = options.keys ?? new Map([[DEFAULT_IDENTITY, DEFAULT_PSK]]);
    const lookup = options.server?.pskLookup ?? ((id: Uint8Array) => Promise.resolve(keys.get(Buffer.from(id).toString('utf8'))));
    this.server = new DtlsServer({
      rng: seededRng(0x5e4e),
      ...options.server,
      clock: this.clock,
      pskLookup: (id) => {
        this.lookups.push(Buffer.from(id).toString('utf8'));
        return lookup(id);
      },
    });
    this.server.on('session', (s) => this.events.sessions.push(s));
    this.server.on('data', (session, data) => this.events.data.push({ session, data }));
    this.server.on('close', (session, reason) => this.events.closes.push({ session, reason }));
    this.server.on('handshakeError', (e) => this.events.handshakeErrors.push(e));
    this.server.attach({ send: (d, address, port) => this.send(false, SERVER, { address, port }, d, false) });
  }

  /** Starts a client handshake (flight 1 is queued, not yet delivered). */
  client(options: ClientOptions = {}): TestClient {
    const n = this.nextHost++;
    const addr = options.at ?? { address: `192.0.2.${n}`, port: 40_000 + n };
    const { at: _at, ...connect } = options;
    let client: TestClient | undefined;
    let pendingHandler: ((d: Uint8Array) => void) | undefined;
    const promise = DtlsClient.connect({
      identity: DEFAULT_IDENTITY,
      psk: DEFAULT_PSK,
      rng: seededRng(n),
      ...connect,
      host: SERVER.address,
      port: SERVER.port,
      clock: this.clock,
      transport: {
        send: (d) => {
          if (client?.transportClosed !== true) this.send(true, addr, SERVER, d, false);
        },
        onDatagram: (h) => {
          if (client) client.handler = h;
          else pendingHandler = h;
        },
        close: () => {
          if (client) client.transportClosed = true;
        },
      },
    });
    client = new TestClient(addr, promise);
    client.handler = pendingHandler;
    this.clients.push(client);
    return client;
  }

  /** Runs a handshake to completion over the current rules; throws if it does not complete. */
  async connect(options: ClientOptions = {}): Promise<{ client: TestClient; clientSession: DtlsClientSession; serverSession: DtlsSession }> {
    const before = this.events.sessions.length;
    const client = this.client(options);
    await this.flush();
    const clientSession = client.session;
    const serverSession = this.events.sessions[before];
    if (clientSession === undefined || serverSession === undefined) throw new Error(`handshake did not complete: ${String(client.error)}`);
    return { client, clientSession, serverSession };
  }

  /** Adds a rule for the next `times` datagrams that match (Infinity for all of them). */
  rule(match: Match, action: Action, times = 1): Rule {
    const r: Rule = { match, action, remaining: times, hits: [] };
    this.rules.push(r);
    return r;
  }

  drop(match: Match, times = 1): Rule {
    return this.rule(match, { kind: 'drop' }, times);
  }

  duplicate(match: Match, times = 1, copies = 1): Rule {
    return this.rule(match, { kind: 'duplicate', copies }, times);
  }

  delay(match: Match, ms: number, times = 1): Rule {
    return this.rule(match, { kind: 'delay', ms }, times);
  }

  hold(match: Match, times = 1): Rule {
    return this.rule(match, { kind: 'hold' }, times);
  }

  tamper(match: Match, edit: (bytes: Uint8Array, d: Datagram) => Uint8Array | readonly Uint8Array[], times = 1): Rule {
    return this.rule(match, { kind: 'tamper', edit }, times);
  }

  /** Queues the held datagrams, in the order they were held or reversed, and empties the pen. */
  release(order: 'fifo' | 'reverse' = 'fifo'): void {
    const out = this.held.splice(0, this.held.length);
    if (order === 'reverse') out.reverse();
    this.queue.push(...out);
  }

  /** Puts a crafted datagram on the wire (it bypasses the rules). */
  inject(bytes: Uint8Array, route: { readonly toServer: boolean; readonly client?: Address }): Datagram {
    const other = route.client ?? this.clients[0]?.addr ?? { address: '203.0.113.9', port: 9 };
    const [from, to] = route.toServer ? [other, SERVER] : [SERVER, other];
    const d = this.record(route.toServer, from, to, bytes, true);
    this.queue.push(d);
    return d;
  }

  /** The datagrams sent so far that match (injected ones excluded). */
  sent(match: Match): Datagram[] {
    return this.log.filter((d) => !d.injected && match(d));
  }

  /** Delivers queued datagrams (and whatever they cause) until nothing is left to deliver. */
  async flush(): Promise<void> {
    for (let n = 0; ; n++) {
      if (n > MAX_DELIVERIES) throw new Error('the network does not settle');
      const d = this.queue.shift();
      if (d !== undefined) this.deliver(d);
      await turn();
      if (d === undefined && this.queue.length === 0) return;
    }
  }

  /** Moves the clock by `ms`, firing timers one due time at a time and flushing after each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await this.flush();
    for (let next = this.clock.nextDue(); next !== undefined && next <= target; next = this.clock.nextDue()) {
      this.clock.advance(next - this.clock.now());
      await this.flush();
    }
    this.clock.advance(target - this.clock.now());
    await this.flush();
  }

  /** Advances the clock to absolute time `t`. */
  async advanceTo(t: number): Promise<void> {
    await this.advance(t - this.clock.now());
  }

  private send(toServerDir: boolean, from: Address, to: Address, bytes: Uint8Array, injected: boolean): void {
    const d = this.record(toServerDir, from, to, bytes.slice(), injected);
    const rule = this.rules.find((r) => r.remaining > 0 && r.match(d));
    if (rule === undefined) {
      this.queue.push(d);
      return;
    }
    rule.remaining--;
    rule.hits.push(d);
    const a = rule.action;
    switch (a.kind) {
      case 'drop':
        return;
      case 'duplicate':
        this.queue.push(d);
        for (let i = 0; i < a.copies; i++) this.queue.push(this.record(d.toServer, from, to, d.bytes, true));
        return;
      case 'delay':
        this.clock.setTimer(a.ms, () => this.queue.push(d));
        return;
      case 'hold':
        this.held.push(d);
        return;
      case 'tamper': {
        const edited = a.edit(d.bytes.slice(), d);
        for (const b of edited instanceof Uint8Array ? [edited] : edited) this.queue.push(this.record(d.toServer, from, to, b, true));
        return;
      }
    }
  }

  private record(toServerDir: boolean, from: Address, to: Address, bytes: Uint8Array, injected: boolean): Datagram {
    const records = viewRecords(bytes);
    const d: Datagram = {
      id: this.log.length,
      toServer: toServerDir,
      from,
      to,
      bytes,
      records,
      flight: flightOf(toServerDir, records),
      sentAt: this.clock.now(),
      injected,
    };
    this.log.push(d);
    return d;
  }

  private deliver(d: Datagram): void {
    if (d.toServer) {
      this.server.handleDatagram(d.bytes.slice(), d.from.address, d.from.port);
      return;
    }
    for (const c of this.clients) {
      if (c.addr.address === d.to.address && c.addr.port === d.to.port && !c.transportClosed) c.handler?.(d.bytes.slice());
    }
  }
}

/** UTF-8 bytes of a string (shorthand for application data in tests). */
export const text = (s: string): Uint8Array => utf8(s);
