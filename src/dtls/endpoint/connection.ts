/**
 * One DTLS 1.2 association with one peer, either role: record dispatch, handshake message ordering,
 * flight (re)transmission per RFC 6347 §4.2.4, alerts, application data and closure. The role
 * subclasses (client-connection.ts, server-connection.ts) decide what each handshake message means.
 *
 * Peer input never throws out of here: bad records are dropped and counted (RFC 6347 §4.1.2.7),
 * protocol violations end the handshake with the alert the RFCs name.
 */
import type { TimerHandle } from '../../util/clock.js';
import { AlertError, DecodeError } from '../../util/errors.js';
import { Transcript } from '../flight/transcript.js';
import { HandshakeState } from '../fsm/states.js';
import { nextTimeout } from '../fsm/retransmit.js';
import { decodeHandshakeFragments, fragmentHandshake, HANDSHAKE_HEADER_LENGTH } from '../handshake/header.js';
import { type HandshakeMessage, HandshakeReassembler } from '../handshake/reassembler.js';
import { decodeAlert, encodeAlert } from '../wire/alert.js';
import { decodeChangeCipherSpec, encodeChangeCipherSpec } from '../wire/change-cipher-spec.js';
import { AlertDescription, AlertLevel, alertName, ContentType, HandshakeType } from '../wire/constants.js';
import type { DtlsRecord } from '../wire/record.js';
import type { ResolvedCommon } from './options.js';
import { type FlightItem, packFlight, unpackFlight } from './packed-flight.js';
import { RecordLayer } from './record-layer.js';

export type { FlightItem } from './packed-flight.js';

/** Why a connection ended. */
export interface CloseReason {
  readonly kind: 'close_notify' | 'alert_received' | 'alert_sent' | 'timeout' | 'local' | 'evicted';
  /** The alert description sent or received, when there was one. */
  readonly alert?: number;
  readonly message: string;
}

/**
 * What a connection tells its owner. Each call names the connection, so that one hooks object can
 * serve every connection of a server (no closures per connection: memory per idle session).
 */
export interface ConnectionHooks {
  send(datagram: Uint8Array, conn: DtlsConnection): void;
  established(conn: DtlsConnection): void;
  data(data: Uint8Array, conn: DtlsConnection): void;
  closed(reason: CloseReason, conn: DtlsConnection): void;
}

/** Epoch-1 records held while their keys or the peer's ChangeCipherSpec are still missing. */
const MAX_PENDING_RECORDS = 8;

/**
 * What only the handshake needs. It is one object, dropped as a whole when the handshake ends or
 * fails: as fields of the connection it would cost every established session a slot each (memory
 * per idle session).
 */
interface HandshakeScratch {
  readonly startedAt: number;
  readonly reassembler: HandshakeReassembler;
  /** The running hash of the handshake messages (RFC 6347 §4.2.6). */
  readonly transcript: Transcript;
  /** message_seq of our next handshake message. */
  sendSeq: number;
  ccsReceived: boolean;
  /** A ChangeCipherSpec that overtook the key exchange it follows (records of a flight may be reordered). */
  earlyCcs: boolean;
  pending: DtlsRecord[];
  timer: TimerHandle | undefined;
  timeoutMs: number;
}

export abstract class DtlsConnection {
  protected readonly layer: RecordLayer;
  protected state: HandshakeState = HandshakeState.preparing;
  private hs: HandshakeScratch | undefined;
  /** Our last flight, packed (packed-flight.ts), kept for retransmission. */
  private lastFlight: string | undefined;
  established = false;
  closed = false;
  /**
   * Time of the last authenticated record from the peer, in whole milliseconds: a small integer is
   * kept in the object itself, where a fractional time takes a heap box of its own (16 B a session).
   */
  lastActivity: number;
  /** Records dropped (malformed, replayed, failed authentication, unexpected). */
  dropped = 0;

  constructor(
    protected readonly opts: ResolvedCommon,
    protected readonly hooks: ConnectionHooks,
  ) {
    this.layer = new RecordLayer(opts.mtu);
    const now = opts.clock.now();
    this.hs = {
      startedAt: now,
      reassembler: new HandshakeReassembler(),
      transcript: new Transcript(),
      sendSeq: 0,
      ccsReceived: false,
      earlyCcs: false,
      pending: [],
      timer: undefined,
      timeoutMs: 0,
    };
    this.lastActivity = Math.floor(now);
  }

  /** When the handshake started; NaN once it is over (the time is kept only while it runs). */
  get startedAt(): number {
    return this.hs?.startedAt ?? Number.NaN;
  }

  /** The reassembler of the peer's handshake messages, until the handshake ends. */
  protected get reassembler(): HandshakeReassembler | undefined {
    return this.hs?.reassembler;
  }

  /** SHA-256 of the handshake messages so far (RFC 5246 §7.4.9); only while the handshake runs. */
  protected transcriptHash(): Uint8Array {
    const hs = this.hs;
    if (hs === undefined) throw new AlertError(AlertDescription.internal_error, 'no handshake in progress');
    return hs.transcript.digest();
  }

  /** Empties the transcript (a client, at the ClientHello the server answered: RFC 6347 §4.2.6). */
  protected restartTranscript(): void {
    this.hs?.transcript.reset();
  }

  /** message_seq of our next handshake message. */
  protected get sendSeq(): number {
    return this.hs?.sendSeq ?? 0;
  }

  protected set sendSeq(seq: number) {
    if (this.hs) this.hs.sendSeq = seq;
  }

  /** The handshake message types acceptable next, decided before any body is parsed (STYLE.md 4). */
  protected abstract expectedTypes(): readonly number[];
  /** Handles one complete, expected handshake message. */
  protected abstract onHandshakeMessage(msg: HandshakeMessage): void;
  /** Whether a ChangeCipherSpec from the peer is expected now. */
  protected abstract ccsExpected(): boolean;
  /** Whether the peer's Finished (epoch 1) is the next thing we wait for. */
  protected abstract awaitingPeerFinished(): boolean;

  /** Handles the records of one datagram from the peer. Never throws. */
  handleRecords(records: readonly DtlsRecord[]): void {
    let peerRetransmitted = false;
    for (const rec of records) {
      if (this.closed) return;
      try {
        peerRetransmitted = this.handleRecord(rec) || peerRetransmitted;
      } catch (err) {
        this.failWith(err);
      }
    }
    if (peerRetransmitted && !this.closed) this.onPeerRetransmitted();
  }

  /** Sends application data (established sessions only). */
  send(data: Uint8Array): void {
    if (!this.established || this.closed) throw new AlertError(AlertDescription.internal_error, 'the session is not established');
    this.hooks.send(this.layer.seal(ContentType.application_data, data), this);
  }

  /** Sends close_notify (RFC 5246 §7.2.1) and ends the connection. */
  close(kind: CloseReason['kind'] = 'local', message = 'closed locally'): void {
    if (this.closed) return;
    if (this.established) this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
    this.end({ kind, message });
  }

  /** Ends the connection without a word to the peer (eviction, owner shutdown). */
  end(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.hs?.timer?.cancel();
    this.hs = undefined;
    this.lastFlight = undefined;
    this.layer.release();
    this.hooks.closed(reason, this);
  }

  /** Returns true when the record carried a handshake message the peer had already sent. */
  private handleRecord(rec: DtlsRecord): boolean {
    const hs = this.hs;
    if (rec.epoch === 1 && hs !== undefined && !(hs.ccsReceived && this.layer.hasReadEpoch(1))) {
      // Held back past this datagram: the record's fragment is a view into it, so it is copied.
      if (hs.pending.length < MAX_PENDING_RECORDS) hs.pending.push({ ...rec, fragment: new Uint8Array(rec.fragment) });
      else this.dropped++;
      return false;
    }
    const plain = this.layer.open(rec);
    if (plain === undefined) {
      this.dropped++;
      // A peer Finished that fails authentication means the two sides hold different keys. Only a
      // handshake record can be that Finished: a stale alert or data record from an earlier session
      // on the same port (held back before our ChangeCipherSpec) must not end this handshake.
      if (rec.epoch === 1 && rec.type === ContentType.handshake && this.layer.lastDrop === 'auth' && this.awaitingPeerFinished()) {
        this.fail(AlertDescription.decrypt_error, 'the peer Finished record did not authenticate: wrong PSK');
      }
      return false;
    }
    this.lastActivity = Math.floor(this.opts.clock.now());
    switch (rec.type) {
      case ContentType.handshake:
        return this.handleHandshakeRecord(rec.epoch, plain);
      case ContentType.change_cipher_spec:
        this.handleChangeCipherSpec(rec.epoch, plain);
        return false;
      case ContentType.alert:
        this.handleAlert(rec.epoch, plain);
        return false;
      case ContentType.application_data:
        if (this.established && rec.epoch >= 1) {
          this.onApplicationData();
          this.hooks.data(plain, this);
        } else {
          this.dropped++;
        }
        return false;
      default:
        this.dropped++;
        return false;
    }
  }

  /** Called on each authenticated application record: the peer has our last flight. */
  protected onApplicationData(): void {
    if (this.lastFlight !== undefined) this.releaseHandshakeState();
  }

  /**
   * Forgets the last flight and the epoch-0 state once the peer cannot need them any more (it sent
   * application data, or has been quiet for longer than any retransmission would take).
   */
  releaseHandshakeState(): void {
    if (!this.established) return;
    this.lastFlight = undefined;
    this.layer.forgetEpoch0();
  }

  /** Frees the keyed AES contexts of both directions (a quiet session); the keys stay. */
  releaseCipherContexts(): void {
    this.layer.release();
  }

  /** Whether the last flight is still kept for a retransmission. */
  get holdsLastFlight(): boolean {
    return this.lastFlight !== undefined;
  }

  private handleHandshakeRecord(epoch: number, plain: Uint8Array): boolean {
    let fragments;
    try {
      fragments = decodeHandshakeFragments(plain);
    } catch {
      this.dropped++;
      return false;
    }
    let old = false;
    for (const f of fragments) {
      if (this.established && epoch >= 1 && this.isRenegotiationRequest(f.msgType)) {
        // RFC 5746 §4.2 / RFC 5246 §7.2.2: we never renegotiate.
        this.sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
        continue;
      }
      const r = this.reassembler;
      if (r === undefined || f.messageSeq < r.expectedSeq) {
        old = true;
        continue;
      }
      // Finished is the only handshake message protected under the new epoch (RFC 5246 §7.4.9).
      if ((f.msgType === HandshakeType.finished) !== (epoch === 1)) {
        this.fail(AlertDescription.unexpected_message, `handshake type ${f.msgType} in epoch ${epoch}`);
        return false;
      }
      // A fragment that contradicts the buffered ones (type or length) shows that one of them is
      // stale or forged. Starting over lets the peer's next retransmission of its whole flight
      // (RFC 6347 §4.2.4) through, where keeping the first would block the message for good.
      if (r.push(f) === 'conflict') {
        r.clear();
        r.push(f);
      }
    }
    this.drainMessages();
    return old;
  }

  private drainMessages(): void {
    for (let msg = this.reassembler?.next(); msg !== undefined && !this.closed; msg = this.reassembler?.next()) {
      if (!this.expectedTypes().includes(msg.msgType)) {
        this.fail(AlertDescription.unexpected_message, `unexpected handshake message type ${msg.msgType}`);
        return;
      }
      this.onHandshakeMessage(msg);
      if (this.hs?.earlyCcs === true && this.ccsExpected()) this.acceptCcs();
    }
  }

  /** Whether `msgType` arriving on an established session asks for renegotiation. */
  protected abstract isRenegotiationRequest(msgType: number): boolean;

  private handleChangeCipherSpec(epoch: number, plain: Uint8Array): void {
    try {
      decodeChangeCipherSpec(plain);
    } catch {
      this.dropped++;
      return;
    }
    const hs = this.hs;
    if (this.established || hs === undefined || epoch !== 0) return; // a retransmission: ignore
    // Datagrams may be reordered (RFC 6347 §4.1): a ChangeCipherSpec ahead of the key exchange of
    // its flight is kept until that key exchange has been processed. It only opens the way to
    // epoch-1 records, which authenticate under the keys of this handshake or are dropped.
    if (!this.ccsExpected()) {
      hs.earlyCcs = true;
      return;
    }
    this.acceptCcs();
  }

  private acceptCcs(): void {
    const hs = this.hs;
    if (hs === undefined) return;
    hs.earlyCcs = false;
    hs.ccsReceived = true;
    this.drainPending();
  }

  /** Processes epoch-1 records held back until keys and ChangeCipherSpec were both there. */
  protected drainPending(): void {
    const hs = this.hs;
    if (hs === undefined || !hs.ccsReceived || !this.layer.hasReadEpoch(1) || hs.pending.length === 0) return;
    const held = hs.pending;
    hs.pending = [];
    this.handleRecords(held);
  }

  private handleAlert(epoch: number, plain: Uint8Array): void {
    let alert;
    try {
      alert = decodeAlert(plain);
    } catch {
      this.dropped++;
      return;
    }
    // Once keys are in place, an unprotected alert could come from anyone: ignore it.
    if (this.established && epoch === 0) return;
    if (alert.description === AlertDescription.close_notify) {
      if (this.established) this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
      this.end({ kind: 'close_notify', alert: alert.description, message: 'the peer closed the session' });
      return;
    }
    if (alert.level === AlertLevel.fatal) {
      this.end({ kind: 'alert_received', alert: alert.description, message: `the peer sent alert ${alertName(alert.description)} (${alert.description})` });
    }
  }

  /** Adds a full handshake message to the transcript. */
  protected addToTranscript(msgType: number, messageSeq: number, body: Uint8Array): void {
    this.hs?.transcript.add(msgType, messageSeq, body);
  }

  /** A handshake flight item for our next message_seq. */
  protected handshakeItem(msgType: number, body: Uint8Array, epoch = 0): FlightItem {
    return { kind: 'handshake', epoch, msgType, messageSeq: this.sendSeq++, body };
  }

  protected ccsItem(): FlightItem {
    return { kind: 'ccs', epoch: 0 };
  }

  /**
   * Sends a flight and, unless it is our last one, arms the retransmission timer
   * (RFC 6347 §4.2.4: state SENDING, then WAITING).
   */
  protected sendFlight(items: readonly FlightItem[], last: boolean): void {
    this.lastFlight = packFlight(items);
    this.state = HandshakeState.sending;
    this.transmit(items);
    const hs = this.hs;
    hs?.timer?.cancel();
    if (hs) hs.timer = undefined;
    if (last || hs === undefined) {
      this.state = HandshakeState.finished;
      return;
    }
    this.state = HandshakeState.waiting;
    hs.timeoutMs = this.opts.retransmit.initialMs;
    this.armTimer(hs);
  }

  /** Sends the last flight again (a timer expired or the peer retransmitted its own). */
  private retransmit(): void {
    if (this.lastFlight !== undefined) this.transmit(unpackFlight(this.lastFlight));
  }

  private transmit(flight: readonly FlightItem[]): void {
    const records: Uint8Array[] = [];
    for (const item of flight) {
      if (item.kind === 'ccs') {
        records.push(this.layer.seal(ContentType.change_cipher_spec, encodeChangeCipherSpec(), item.epoch));
        continue;
      }
      const maxBody = this.layer.mtu - this.layer.overhead(item.epoch) - HANDSHAKE_HEADER_LENGTH;
      for (const f of fragmentHandshake(item.msgType, item.messageSeq, item.body, maxBody)) {
        records.push(this.layer.seal(ContentType.handshake, f, item.epoch));
      }
    }
    for (const d of this.layer.pack(records)) this.hooks.send(d, this);
  }

  /** Waits the current timeout, cut short where the handshake timeout falls first. */
  private armTimer(hs: HandshakeScratch): void {
    const left = this.opts.retransmit.handshakeTimeoutMs - (this.opts.clock.now() - this.startedAt);
    hs.timer = this.opts.clock.setTimer(Math.min(hs.timeoutMs, left), () => this.onTimer());
  }

  private onTimer(): void {
    const hs = this.hs;
    if (hs === undefined || this.closed || this.state !== HandshakeState.waiting) return;
    hs.timer = undefined;
    const elapsed = this.opts.clock.now() - this.startedAt;
    if (elapsed >= this.opts.retransmit.handshakeTimeoutMs) {
      this.end({ kind: 'timeout', message: `handshake timed out after ${Math.round(elapsed)} ms` });
      return;
    }
    this.retransmit();
    hs.timeoutMs = nextTimeout(this.opts.retransmit, hs.timeoutMs);
    this.armTimer(hs);
  }

  /** The peer sent its previous flight again: ours was lost, so send it again (RFC 6347 §4.2.4). */
  protected onPeerRetransmitted(): void {
    if (this.state === HandshakeState.waiting || this.state === HandshakeState.finished) this.retransmit();
  }

  /** Switches our writes to epoch 1 after our ChangeCipherSpec went out. */
  protected useWriteEpoch(epoch: number): void {
    this.layer.writeEpoch = epoch;
  }

  /** Marks the handshake complete and frees what only the handshake needed. */
  protected complete(): void {
    this.established = true;
    this.state = HandshakeState.finished;
    this.hs?.timer?.cancel();
    this.hs = undefined;
    this.hooks.established(this);
  }

  protected forgetLastFlight(): void {
    this.lastFlight = undefined;
  }

  protected sendAlert(level: number, description: number): void {
    try {
      this.hooks.send(this.layer.seal(ContentType.alert, encodeAlert({ level: level as 1 | 2, description })), this);
    } catch {
      // sequence numbers exhausted or no write state: nothing more can be said to the peer
    }
  }

  /** Ends the handshake with a fatal alert (RFC 5246 §7.2.2). */
  protected fail(description: number, message: string): void {
    if (this.closed) return;
    this.sendAlert(AlertLevel.fatal, description);
    this.end({ kind: 'alert_sent', alert: description, message });
  }

  /** Maps an error thrown while handling peer input to a fatal alert. */
  protected failWith(err: unknown): void {
    if (err instanceof AlertError) {
      this.fail(err.description, err.message);
      return;
    }
    // A decoder error is the peer's fault (decode_error); anything else is ours (internal_error).
    if (err instanceof DecodeError) this.fail(AlertDescription.decode_error, err.message);
    else this.fail(AlertDescription.internal_error, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  }
}
