/**
 * The DTLS 1.2 PSK server: one UDP socket, peers demultiplexed by address and port, a stateless
 * cookie exchange in front of every handshake (RFC 6347 §4.2.1), a bounded connection table where a
 * half-open handshake never evicts an established session, and an idle sweep.
 *
 * Events: 'session' (DtlsSession) when a handshake completes, 'data' (session, bytes), 'close'
 * (session, reason), 'handshakeError' ({ address, port, alert, message }).
 */
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import { EventEmitter } from 'node:events';
import { type AddressInfo, isIP } from 'node:net';
import type { TimerHandle } from '../../util/clock.js';
import { utf8 } from '../../util/bytes.js';
import { CookieFactory, cookieParams } from '../cookie.js';
import { type ClientHello, decodeClientHello } from '../handshake/client-hello.js';
import { decodeHandshakeFragments, encodeHandshakeFragment } from '../handshake/header.js';
import { encodeHelloVerifyRequest } from '../handshake/hello-verify-request.js';
import { ContentType, DTLS10, HandshakeType } from '../wire/constants.js';
import { type DtlsRecord, decodeRecords, encodeRecord } from '../wire/record.js';
import type { CloseReason, ConnectionHooks } from './connection.js';
import { type CommonOptions, resolveCommon } from './options.js';
import { type PskLookup, ServerConnection, type ServerConnectionOptions } from './server-connection.js';
import { DtlsSession } from './session.js';

export interface DtlsServerOptions extends CommonOptions {
  /** Finds the PSK of a psk_identity; undefined = unknown (alert 115). Called once per handshake. */
  pskLookup: PskLookup;
  /** psk_identity_hint sent in ServerKeyExchange (RFC 4279 §2); none by default. */
  pskIdentityHint?: Uint8Array | string;
  /** Bound on one PSK lookup, ms (default 5000); past it: internal_error (80). */
  lookupTimeoutMs?: number;
  /** Most connections (established and half-open) at once (default 100 000). */
  maxSessions?: number;
  /** Most half-open handshakes at once (default 10 000); the oldest is dropped for a new one. */
  maxHandshakes?: number;
  /** An established session with no authenticated record for this long is closed (default 10 min). */
  idleTimeoutMs?: number;
  /** Cookie secret rotation period, ms (default 5 min). */
  cookieRotateMs?: number;
  /**
   * SO_RCVBUF and SO_SNDBUF of the UDP socket, octets (default 4 MiB; the kernel caps it at
   * net.core.rmem_max / wmem_max). The system default (~208 KiB) overflows when a few thousand devices
   * send at once, and every datagram dropped there costs a device a retransmission timeout.
   */
  socketBufferSize?: number;
}

const DEFAULT_SOCKET_BUFFER = 4 * 1024 * 1024;
/** A session with no record for this long frees its keyed AES contexts (about 6 KB of native memory). */
const CONTEXT_IDLE_MS = 30_000;

/** Where the server's datagrams go; a UDP socket by default, an in-memory network in tests. */
export interface DatagramSink {
  send(datagram: Uint8Array, address: string, port: number): void;
}

export interface ServerStats {
  datagrams: number;
  malformed: number;
  helloVerifyRequests: number;
  handshakesStarted: number;
  handshakesCompleted: number;
  handshakesFailed: number;
  refused: number;
  /** Records dropped by closed connections' record layers. */
  droppedRecords: number;
  /** Records from addresses with no connection. */
  strayRecords: number;
}

interface Entry {
  /** The established session's connection, if any. */
  current: ServerConnection | undefined;
  session: DtlsSession | undefined;
  /** A handshake in progress (a new one may run beside an established session). */
  handshake: ServerConnection | undefined;
}

export class DtlsServer extends EventEmitter<{
  session: [DtlsSession];
  data: [DtlsSession, Uint8Array];
  close: [DtlsSession, CloseReason];
  handshakeError: [{ address: string; port: number; alert?: number; message: string }];
  error: [Error];
}> {
  private readonly opts: ServerConnectionOptions;
  /** One hooks object for every connection; each call names its connection. */
  private readonly hooks: ConnectionHooks = {
    send: (d, c) => this.sink?.send(d, (c as ServerConnection).peerAddress, (c as ServerConnection).peerPort),
    established: (c) => this.onEstablished(c as ServerConnection),
    data: (d, c) => {
      const entry = (c as ServerConnection).slot as Entry;
      if (entry.session && entry.current === c) {
        entry.session.emit('data', d);
        this.emit('data', entry.session, d);
      }
    },
    closed: (reason, c) => this.onClosed(c as ServerConnection, reason),
  };
  private readonly cookies: CookieFactory;
  private readonly maxSessions: number;
  private readonly maxHandshakes: number;
  private readonly idleTimeoutMs: number;
  private readonly socketBufferSize: number;
  private readonly table = new Map<string, Entry>();
  /** Half-open handshakes, oldest first (Set keeps insertion order). */
  private readonly handshakes = new Set<ServerConnection>();
  private sink: DatagramSink | undefined;
  private socket: dgram.Socket | undefined;
  private outbox: Outbox | undefined;
  private sweepTimer: TimerHandle | undefined;
  readonly stats: ServerStats = {
    datagrams: 0, malformed: 0, helloVerifyRequests: 0, handshakesStarted: 0, handshakesCompleted: 0,
    handshakesFailed: 0, refused: 0, droppedRecords: 0, strayRecords: 0,
  };

  constructor(options: DtlsServerOptions) {
    super();
    const common = resolveCommon(options);
    const hint = options.pskIdentityHint;
    this.opts = {
      ...common,
      pskLookup: options.pskLookup,
      pskIdentityHint: typeof hint === 'string' ? utf8(hint) : hint,
      lookupTimeoutMs: positive(options.lookupTimeoutMs ?? 5_000, 'lookupTimeoutMs'),
    };
    this.maxSessions = positive(options.maxSessions ?? 100_000, 'maxSessions');
    this.maxHandshakes = positive(options.maxHandshakes ?? 10_000, 'maxHandshakes');
    this.idleTimeoutMs = positive(options.idleTimeoutMs ?? 600_000, 'idleTimeoutMs');
    this.socketBufferSize = positive(options.socketBufferSize ?? DEFAULT_SOCKET_BUFFER, 'socketBufferSize');
    this.cookies = new CookieFactory({ rng: common.rng, clock: common.clock, ...(options.cookieRotateMs ? { rotateMs: options.cookieRotateMs } : {}) });
  }

  /** Binds a UDP socket and serves it. Resolves with the bound address. */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    const size = this.socketBufferSize;
    const family = host.includes(':') ? 6 : 4;
    // Every address we send to is a literal taken from a received datagram: resolve it in place, not
    // through dns.lookup and a deferred tick per datagram. A host name (the bind address) still goes
    // to dns.lookup.
    const lookup = (address: string, o: dns.LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void => {
      if (isIP(address) !== 0) cb(null, address, family);
      else dns.lookup(address, o, cb);
    };
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: size, sendBufferSize: size, lookup: lookup as never });
    socket.on('message', (msg, rinfo) => this.handleDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo.address, rinfo.port));
    socket.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    this.outbox = new Outbox(socket);
    this.attach(this.outbox);
    return socket.address();
  }

  /** Serves datagrams handed to handleDatagram() and sends through `sink` (tests, custom transports). */
  attach(sink: DatagramSink): void {
    this.sink = sink;
    this.scheduleSweep();
  }

  /** The established sessions. */
  sessions(): DtlsSession[] {
    const out: DtlsSession[] = [];
    for (const e of this.table.values()) if (e.session) out.push(e.session);
    return out;
  }

  /** Number of table entries (established plus half-open). */
  get size(): number {
    return this.table.size;
  }

  /** Sends close_notify to every session, stops the sweep and closes the socket. */
  async close(): Promise<void> {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    for (const e of [...this.table.values()]) {
      e.handshake?.end({ kind: 'local', message: 'server closing' });
      e.current?.close();
    }
    this.table.clear();
    this.handshakes.clear();
    const s = this.socket;
    this.socket = undefined;
    this.outbox?.flush();
    this.outbox = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Handles one datagram from address:port. Never throws (DESIGN.md §9). */
  handleDatagram(datagram: Uint8Array, address: string, port: number): void {
    try {
      this.dispatch(datagram, address, port);
    } catch (err) {
      this.opts.logger.error({ err: err instanceof Error ? err.message : String(err), address, port }, 'datagram handler failed');
    }
  }

  private dispatch(datagram: Uint8Array, address: string, port: number): void {
    this.stats.datagrams++;
    const { records, malformed } = decodeRecords(datagram);
    this.stats.malformed += malformed;
    const key = `${address}|${port}`;
    let batch: DtlsRecord[] = [];
    let target: ServerConnection | undefined;
    const flush = (): void => {
      if (target && batch.length > 0) target.handleRecords(batch);
      batch = [];
    };
    for (const rec of records) {
      if (rec.epoch === 0 && rec.type === ContentType.handshake && this.handleClientHello(rec, key, address, port)) {
        flush();
        target = undefined;
        continue;
      }
      const e = this.table.get(key);
      if (e === undefined) {
        this.stats.strayRecords++;
        continue;
      }
      const to = this.route(e, rec);
      if (to === 'both' ) {
        flush();
        target = undefined;
        this.offerToBoth(e, rec);
        continue;
      }
      if (to !== target) flush();
      target = to;
      if (to) batch.push(rec);
      else this.stats.strayRecords++;
    }
    flush();
  }

  /** Which connection a record belongs to. */
  private route(e: Entry, rec: DtlsRecord): ServerConnection | 'both' | undefined {
    if (e.handshake === undefined) return e.current;
    if (e.current === undefined || rec.epoch === 0) return e.handshake;
    return 'both';
  }

  /** An epoch-1 record while a new handshake runs beside an established session: whoever opens it. */
  private offerToBoth(e: Entry, rec: DtlsRecord): void {
    const current = e.current;
    if (current) {
      const before = current.dropped;
      current.handleRecords([rec]);
      if (current.dropped === before) return;
      current.dropped = before;
    }
    e.handshake?.handleRecords([rec]);
  }

  /**
   * Handles a record that may hold a ClientHello. Returns false when it is not one (the record is
   * then routed like any other).
   */
  private handleClientHello(rec: DtlsRecord, key: string, address: string, port: number): boolean {
    let fragments;
    try {
      fragments = decodeHandshakeFragments(rec.fragment);
    } catch {
      return false;
    }
    const f = fragments[0];
    if (f === undefined || f.msgType !== HandshakeType.client_hello) return false;
    // A ClientHello is handled statelessly, so it must arrive whole (no reassembly before the cookie).
    if (fragments.length !== 1 || f.fragmentOffset !== 0 || f.body.length !== f.length) return true;
    let ch: ClientHello;
    try {
      ch = decodeClientHello(f.body);
    } catch {
      this.stats.malformed++;
      return true;
    }
    const e = this.table.get(key);
    if (e?.handshake?.isSameHello(ch, f.messageSeq)) {
      e.handshake.onHelloRetransmitted();
      return true;
    }
    if (e?.current && !e.handshake && this.isOwnRenegotiation(e, rec)) return false;
    // A replay of the very ClientHello that made the live session (same client random) would start a
    // second handshake, and a second PSK lookup, beside it: drop it.
    if (e?.current?.isHelloWith(ch.random)) return true;
    const params = cookieParams(ch);
    if (ch.cookie.length === 0 || !this.cookies.verify(key, params, ch.cookie)) {
      this.sendHelloVerify(rec, f.messageSeq, this.cookies.make(key, params), address, port);
      return true;
    }
    this.startHandshake(key, address, port, ch, f.messageSeq, f.body, rec.seq);
    return true;
  }

  /** A ClientHello under an established session's epoch is renegotiation: the session answers it. */
  private isOwnRenegotiation(_e: Entry, rec: DtlsRecord): boolean {
    return rec.epoch !== 0;
  }

  /** RFC 6347 §4.2.1: HelloVerifyRequest, with the ClientHello's record sequence number. */
  private sendHelloVerify(rec: DtlsRecord, messageSeq: number, cookie: Uint8Array, address: string, port: number): void {
    this.stats.helloVerifyRequests++;
    const body = encodeHelloVerifyRequest({ serverVersion: DTLS10, cookie });
    const fragment = encodeHandshakeFragment({ msgType: HandshakeType.hello_verify_request, length: body.length, messageSeq, fragmentOffset: 0, body });
    this.sink?.send(encodeRecord({ type: ContentType.handshake, version: DTLS10, epoch: 0, seq: rec.seq, fragment }), address, port);
  }

  private startHandshake(key: string, address: string, port: number, ch: ClientHello, seq: number, body: Uint8Array, recordSeq: number): void {
    let e = this.table.get(key);
    if (e?.handshake) this.dropHandshake(e.handshake);
    e = this.table.get(key);
    if (e === undefined && !this.makeRoom()) {
      this.stats.refused++;
      return;
    }
    if (this.handshakes.size >= this.maxHandshakes) {
      const oldest = this.handshakes.values().next().value;
      if (oldest) this.dropHandshake(oldest);
    }
    const entry: Entry = e ?? { current: undefined, session: undefined, handshake: undefined };
    this.table.set(key, entry);
    const conn = new ServerConnection(this.opts, this.hooks, ch, seq, body, recordSeq, { address, port, key, slot: entry });
    entry.handshake = conn;
    this.handshakes.add(conn);
    this.stats.handshakesStarted++;
    conn.start();
  }

  /** Frees a slot for a new connection; only half-open handshakes are ever evicted for it. */
  private makeRoom(): boolean {
    if (this.table.size < this.maxSessions) return true;
    const oldest = this.handshakes.values().next().value;
    if (oldest === undefined) return false;
    this.dropHandshake(oldest);
    return this.table.size < this.maxSessions;
  }

  private dropHandshake(conn: ServerConnection): void {
    conn.end({ kind: 'evicted', message: 'handshake evicted' });
  }

  private onEstablished(conn: ServerConnection): void {
    const entry = conn.slot as Entry;
    const { peerKey: key, peerAddress: address, peerPort: port } = conn;
    this.handshakes.delete(conn);
    this.stats.handshakesCompleted++;
    const previous = entry.current;
    entry.handshake = undefined;
    entry.current = conn;
    const session = new DtlsSession(conn, {
      remoteAddress: address,
      remotePort: port,
      identity: conn.identity ?? new Uint8Array(0),
      cipherSuite: conn.suite?.name ?? 'unknown',
      extendedMasterSecret: conn.extendedMasterSecret,
    });
    const old = entry.session;
    entry.session = session;
    this.table.set(key, entry);
    // The new handshake replaces the session the same address had (the client restarted). The old
    // session is no longer in the table, so its 'close' is emitted here rather than in onClosed.
    if (previous && old) {
      const reason: CloseReason = { kind: 'evicted', message: 'replaced by a new handshake from the same address' };
      previous.end(reason);
      old.emit('close', reason);
      this.emit('close', old, reason);
    }
    this.emit('session', session);
  }

  private onClosed(conn: ServerConnection, reason: CloseReason): void {
    const entry = conn.slot as Entry;
    const { peerKey: key, peerAddress: address, peerPort: port } = conn;
    this.stats.droppedRecords += conn.dropped;
    if (this.handshakes.delete(conn)) {
      if (entry.handshake === conn) entry.handshake = undefined;
      this.stats.handshakesFailed++;
      this.emit('handshakeError', { address, port, ...(reason.alert !== undefined ? { alert: reason.alert } : {}), message: reason.message });
    } else if (entry.current === conn) {
      const session = entry.session;
      entry.current = undefined;
      entry.session = undefined;
      if (session) {
        session.emit('close', reason);
        this.emit('close', session, reason);
      }
    } else if (entry.session && !entry.current) {
      entry.session = undefined;
    }
    if (!entry.current && !entry.handshake && this.table.get(key) === entry) this.table.delete(key);
  }

  private scheduleSweep(): void {
    if (this.sweepTimer) return;
    const every = Math.max(250, Math.min(5_000, this.idleTimeoutMs / 4));
    const tick = (): void => {
      this.sweep();
      this.sweepTimer = this.opts.clock.setTimer(every, tick);
    };
    this.sweepTimer = this.opts.clock.setTimer(every, tick);
  }

  /**
   * Closes idle sessions and handshakes that outlived the handshake timeout, and frees the last
   * flight of sessions quiet for longer than any retransmission. Runs on its own timer; callable.
   */
  sweep(): void {
    const now = this.opts.clock.now();
    const handshakeLimit = this.opts.retransmit.handshakeTimeoutMs + this.opts.lookupTimeoutMs;
    for (const conn of [...this.handshakes]) {
      if (now - conn.startedAt > handshakeLimit) conn.end({ kind: 'timeout', message: 'handshake timed out' });
    }
    for (const e of [...this.table.values()]) {
      const c = e.current;
      if (c === undefined) continue;
      const quiet = now - c.lastActivity;
      if (quiet > this.idleTimeoutMs) c.close('timeout', 'idle timeout');
      // No retransmitted flight 5 can still be on its way: flight 6 and epoch 0 are no longer needed.
      else if (c.holdsLastFlight && quiet > this.opts.retransmit.maxMs) c.releaseHandshakeState();
      // A quiet session gives back its AES contexts; its next record sets them up again.
      if (quiet > CONTEXT_IDLE_MS && !c.closed) c.releaseCipherContexts();
    }
  }
}

/**
 * The UDP sink: datagrams sent while the event loop handles a burst of received ones go out together
 * once the burst is read (setImmediate runs right after the poll phase). The peer is then woken once
 * for a burst of answers rather than once for each, and the socket's read loop is not interrupted.
 * No completion callbacks: a datagram the kernel refuses is lost like any other (the peer
 * retransmits), and a callback would cost a deferred tick per datagram.
 */
class Outbox implements DatagramSink {
  private readonly queue: (Uint8Array | string | number)[] = [];
  private scheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(private readonly socket: dgram.Socket) {}

  send(datagram: Uint8Array, address: string, port: number): void {
    this.queue.push(datagram, address, port);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  flush(): void {
    this.scheduled = false;
    const q = this.queue;
    for (let i = 0; i < q.length; i += 3) {
      try {
        this.socket.send(q[i] as Uint8Array, q[i + 2] as number, q[i + 1] as string);
      } catch {
        break; // the socket was closed: nothing more can go out
      }
    }
    q.length = 0;
  }
}

function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number`);
  return v;
}
