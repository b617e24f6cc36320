/**
 * The server side of the PSK handshake (RFC 6347 §4.2, RFC 4279), started once a ClientHello carried
 * a valid cookie (the cookie exchange itself is stateless and lives in server.ts):
 *   flight 4  ServerHello, [ServerKeyExchange(psk_identity_hint)], ServerHelloDone
 *   flight 5  (client) ClientKeyExchange(psk_identity), CCS, Finished
 *             -> one asynchronous PSK lookup; the client's retransmissions are absorbed meanwhile
 *   flight 6  CCS, Finished
 */
import { AlertError } from '../../util/errors.js';
import { SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import { checkVerifyData, verifyData } from '../keys/finished.js';
import type { ClientHello } from '../handshake/client-hello.js';
import { decodeClientKeyExchangePsk } from '../handshake/client-key-exchange-psk.js';
import {
  decodeRenegotiationInfo,
  encodeExtendedMasterSecret,
  encodeRenegotiationInfo,
  type Extension,
  findExtension,
} from '../handshake/extensions.js';
import { decodeFinished, encodeFinished } from '../handshake/finished.js';
import type { HandshakeMessage } from '../handshake/reassembler.js';
import { encodeServerHelloDone } from '../handshake/server-hello-done.js';
import { encodeServerHello } from '../handshake/server-hello.js';
import { encodeServerKeyExchangePsk } from '../handshake/server-key-exchange-psk.js';
import { deriveSessionKeys } from '../flight/session-keys.js';
import { AlertDescription, CipherSuiteId, COMPRESSION_NULL, DTLS12, ExtensionType, HandshakeType } from '../wire/constants.js';
import { type ConnectionHooks, DtlsConnection, type FlightItem } from './connection.js';
import type { ResolvedCommon } from './options.js';

/** A PSK, or undefined for an unknown identity (alert 115). */
export type PskResult = Uint8Array | SecretBytes | undefined;

/**
 * Looks up the PSK for a psk_identity. A lookup that knows the answer at once (a static table, a
 * cache hit) may return it directly rather than as a promise; only a promise is bounded by the lookup
 * timeout.
 */
export type PskLookup = (identity: Uint8Array) => PskResult | Promise<PskResult>;

export interface ServerConnectionOptions extends ResolvedCommon {
  readonly pskLookup: PskLookup;
  readonly pskIdentityHint: Uint8Array | undefined;
  /** Bound on the PSK lookup; past it the handshake fails with internal_error (80). */
  readonly lookupTimeoutMs: number;
}

function isThenable(v: unknown): v is PromiseLike<PskResult> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** What the server negotiated from a ClientHello (RFC 5246 §7.4.1.3). */
export interface Negotiated {
  readonly suite: CipherSuite;
  readonly extendedMasterSecret: boolean;
  readonly secureRenegotiation: boolean;
}

/** Chooses suite and extensions for `ch`, or throws the alert RFC 5246 names. */
export function negotiate(ch: ClientHello, suites: readonly CipherSuite[]): Negotiated {
  // DTLS versions count down: 1.2 = {254,253} is numerically below 1.0 = {254,255} (RFC 6347 §4.1).
  if (ch.clientVersion > DTLS12) throw new AlertError(AlertDescription.protocol_version, 'the client does not offer DTLS 1.2');
  if (!ch.compressionMethods.includes(COMPRESSION_NULL)) {
    throw new AlertError(AlertDescription.handshake_failure, 'the client does not offer null compression');
  }
  const suite = suites.find((s) => ch.cipherSuites.includes(s.id));
  if (suite === undefined) throw new AlertError(AlertDescription.handshake_failure, 'no cipher suite in common');
  const reneg = findExtension(ch.extensions, ExtensionType.renegotiation_info);
  if (reneg !== undefined && decodeRenegotiationInfo(reneg.data).length !== 0) {
    throw new AlertError(AlertDescription.handshake_failure, 'non-empty renegotiation_info on an initial handshake (RFC 5746 §3.6)');
  }
  return {
    suite,
    extendedMasterSecret: findExtension(ch.extensions, ExtensionType.extended_master_secret) !== undefined,
    secureRenegotiation: reneg !== undefined || ch.cipherSuites.includes(CipherSuiteId.TLS_EMPTY_RENEGOTIATION_INFO_SCSV),
  };
}

/**
 * What only the server's handshake needs. One object, dropped as a whole once the session is handed
 * over: as fields of the connection it would cost every established session a slot each (memory per
 * idle session).
 */
interface ServerHandshake {
  /** Only negotiation needs the whole ClientHello. */
  hello: ClientHello | undefined;
  readonly helloSeq: number;
  readonly clientRandom: Uint8Array;
  readonly serverRandom: Uint8Array;
  negotiated: Negotiated | undefined;
  keyExchangeSeen: boolean;
  lookupDone: boolean;
  master: SecretBytes | undefined;
  identity: Uint8Array | undefined;
}

/** `bytes` as a latin1 string, read through a view (a copy would come from Buffer's shared pool). */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export class ServerConnection extends DtlsConnection {
  private shs: ServerHandshake | undefined;
  /** The ClientHello's random as a latin1 string: what a replayed or retransmitted hello is matched by. */
  private readonly helloKey: string;
  /** Whether the extended master secret (RFC 7627) was negotiated. */
  extendedMasterSecret = false;
  /** Where the peer is, and the owner's table key and slot for it (set by the server). */
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly peerKey: string;
  slot: unknown;

  constructor(
    sopts: ServerConnectionOptions,
    hooks: ConnectionHooks,
    hello: ClientHello,
    helloSeq: number,
    helloBody: Uint8Array,
    helloRecordSeq: number,
    peer: { readonly address: string; readonly port: number; readonly key: string; readonly slot: unknown },
  ) {
    super(sopts, hooks);
    this.peerAddress = peer.address;
    this.peerPort = peer.port;
    this.peerKey = peer.key;
    this.slot = peer.slot;
    this.shs = {
      hello,
      helloSeq,
      clientRandom: hello.random,
      serverRandom: sopts.rng(32),
      negotiated: undefined,
      keyExchangeSeen: false,
      lookupDone: false,
      master: undefined,
      identity: undefined,
    };
    this.helloKey = latin1(hello.random);
    this.layer.startEpoch0At(helloRecordSeq);
    // RFC 6347 §4.2.2: our message_seq continues from the ClientHello's; the next one we expect follows it.
    this.sendSeq = helloSeq;
    if (this.reassembler) this.reassembler.expectedSeq = helloSeq + 1;
    this.addToTranscript(HandshakeType.client_hello, helloSeq, helloBody);
  }

  private get sopts(): ServerConnectionOptions {
    return this.opts as ServerConnectionOptions;
  }

  /** The psk_identity the client sent, until the handshake ends (the server's DtlsSession keeps it). */
  get identity(): Uint8Array | undefined {
    return this.shs?.identity;
  }

  /** Whether `random` is the client random of the ClientHello this connection answered. */
  isHelloWith(random: Uint8Array): boolean {
    return latin1(random) === this.helloKey;
  }

  /** The negotiated cipher suite (after flight 4). */
  get suite(): CipherSuite | undefined {
    return this.shs?.negotiated?.suite ?? this.layer.suite;
  }

  /** Whether `ch` is a retransmission of the ClientHello this handshake answers. */
  isSameHello(ch: ClientHello, messageSeq: number): boolean {
    return messageSeq === this.shs?.helloSeq && this.isHelloWith(ch.random);
  }

  /** Negotiates and sends flight 4. */
  start(): void {
    const hs = this.shs;
    const hello = hs?.hello;
    if (hs === undefined || hello === undefined) return;
    hs.hello = undefined;
    let negotiated: Negotiated;
    try {
      negotiated = negotiate(hello, this.sopts.cipherSuites);
    } catch (err) {
      this.failWith(err);
      return;
    }
    hs.negotiated = negotiated;
    this.extendedMasterSecret = negotiated.extendedMasterSecret;
    const extensions: Extension[] = [];
    if (negotiated.secureRenegotiation) {
      extensions.push({ type: ExtensionType.renegotiation_info, data: encodeRenegotiationInfo(new Uint8Array(0)) });
    }
    if (negotiated.extendedMasterSecret) {
      extensions.push({ type: ExtensionType.extended_master_secret, data: encodeExtendedMasterSecret() });
    }
    const items: FlightItem[] = [
      this.handshakeItem(
        HandshakeType.server_hello,
        encodeServerHello({
          serverVersion: DTLS12,
          random: hs.serverRandom,
          sessionId: new Uint8Array(0),
          cipherSuite: negotiated.suite.id,
          compressionMethod: COMPRESSION_NULL,
          ...(extensions.length > 0 ? { extensions } : {}),
        }),
      ),
    ];
    if (this.sopts.pskIdentityHint !== undefined) {
      items.push(this.handshakeItem(HandshakeType.server_key_exchange, encodeServerKeyExchangePsk({ pskIdentityHint: this.sopts.pskIdentityHint })));
    }
    items.push(this.handshakeItem(HandshakeType.server_hello_done, encodeServerHelloDone()));
    for (const it of items) if (it.kind === 'handshake') this.addToTranscript(it.msgType, it.messageSeq, it.body);
    this.sendFlight(items, false);
  }

  /** The client sent flight 3 again: flight 4 was lost. */
  onHelloRetransmitted(): void {
    if (this.shs?.keyExchangeSeen === false) super.onPeerRetransmitted();
  }

  /**
   * The client sent flight 5 again. Only flight 6, once sent, can be what it misses: flight 4 evidently
   * arrived, and sending it again would only make the client send flight 5 again, without end
   * (RFC 6347 §4.2.4).
   */
  protected override onPeerRetransmitted(): void {
    if (this.established) super.onPeerRetransmitted();
  }

  protected expectedTypes(): readonly number[] {
    const hs = this.shs;
    if (hs === undefined) return [];
    return hs.keyExchangeSeen ? [HandshakeType.finished] : [HandshakeType.client_key_exchange];
  }

  protected ccsExpected(): boolean {
    return this.shs?.keyExchangeSeen === true;
  }

  protected awaitingPeerFinished(): boolean {
    return this.shs?.lookupDone === true && !this.established;
  }

  protected isRenegotiationRequest(msgType: number): boolean {
    return msgType === HandshakeType.client_hello;
  }

  protected onHandshakeMessage(msg: HandshakeMessage): void {
    if (msg.msgType === HandshakeType.client_key_exchange) this.onKeyExchange(msg);
    else this.onClientFinished(msg);
  }

  private onKeyExchange(msg: HandshakeMessage): void {
    const { pskIdentity } = decodeClientKeyExchangePsk(msg.body);
    if (pskIdentity.length === 0) throw new AlertError(AlertDescription.unknown_psk_identity, 'empty psk_identity');
    const hs = this.shs;
    if (hs === undefined) throw new AlertError(AlertDescription.internal_error, 'no handshake in progress');
    hs.keyExchangeSeen = true;
    hs.identity = pskIdentity;
    this.addToTranscript(msg.msgType, msg.messageSeq, msg.body);
    // PREPARING: the client's retransmitted flight 5 is absorbed until the lookup ends.
    this.state = 'preparing';
    this.lookup(pskIdentity);
  }

  private lookup(identity: Uint8Array): void {
    let result: PskResult | Promise<PskResult>;
    try {
      result = this.sopts.pskLookup(identity);
    } catch (err) {
      result = Promise.reject(err);
    }
    if (isThenable(result)) {
      void this.awaitLookup(Promise.resolve(result));
      return;
    }
    // Answered at once: go on once the records that brought the ClientKeyExchange are handled, as an
    // asynchronous answer would (no handshake step runs inside another).
    queueMicrotask(() => this.onLookup(result));
  }

  private async awaitLookup(pending: Promise<PskResult>): Promise<void> {
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.opts.clock.setTimer(this.sopts.lookupTimeoutMs, () => resolve('timeout'));
    });
    let psk: PskResult | 'timeout';
    try {
      psk = await Promise.race([pending, timeout]);
    } catch (err) {
      this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'PSK lookup failed');
      psk = 'timeout';
    } finally {
      timer?.cancel();
    }
    this.onLookup(psk);
  }

  private onLookup(psk: PskResult | 'timeout'): void {
    if (this.closed) return;
    if (psk === 'timeout') {
      this.fail(AlertDescription.internal_error, 'the PSK lookup failed or timed out');
      return;
    }
    if (psk === undefined) {
      this.fail(AlertDescription.unknown_psk_identity, 'unknown psk_identity');
      return;
    }
    const hs = this.shs;
    try {
      if (hs === undefined) throw new AlertError(AlertDescription.internal_error, 'no handshake in progress');
      this.installKeys(hs, psk);
    } catch (err) {
      this.failWith(err);
      return;
    }
    hs.lookupDone = true;
    this.state = 'waiting';
    this.drainPending();
  }

  private installKeys(hs: ServerHandshake, psk: Uint8Array | SecretBytes): void {
    const n = hs.negotiated;
    const { clientRandom, serverRandom } = hs;
    if (n === undefined) throw new AlertError(AlertDescription.internal_error, 'not negotiated');
    const keys = deriveSessionKeys({
      psk: psk instanceof SecretBytes ? psk : new SecretBytes(psk),
      suite: n.suite,
      clientRandom,
      serverRandom,
      extendedMasterSecret: n.extendedMasterSecret,
      sessionHash: this.transcriptHash(),
      role: 'server',
    });
    hs.master = keys.master;
    this.opts.keyLog?.log(clientRandom, keys.master);
    this.layer.setReadCipher(1, keys.read);
    this.layer.setWriteCipher(1, keys.write);
  }

  private onClientFinished(msg: HandshakeMessage): void {
    const { verifyData: received } = decodeFinished(msg.body);
    const master = this.shs?.master;
    if (master === undefined || !checkVerifyData(master, 'client', this.transcriptHash(), received)) {
      throw new AlertError(AlertDescription.decrypt_error, 'the client Finished does not verify: wrong PSK (RFC 5246 §7.4.9)');
    }
    this.addToTranscript(msg.msgType, msg.messageSeq, msg.body);
    const fin = this.handshakeItem(
      HandshakeType.finished,
      encodeFinished({ verifyData: verifyData(master, 'server', this.transcriptHash()) }),
      1,
    );
    this.sendFlight([this.ccsItem(), fin], true);
    this.useWriteEpoch(1);
    // A retransmitted flight 5 still shows in its epoch-1 Finished; its epoch-0 part is not needed.
    this.layer.forgetRead0();
    this.complete();
    // The owner has taken what it needed (identity, suite) when complete() reported the session.
    this.shs = undefined;
  }
}
