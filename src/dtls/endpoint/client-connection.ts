/**
 * The client side of the PSK handshake (RFC 6347 §4.2, RFC 4279):
 *   flight 1  ClientHello                     flight 2  HelloVerifyRequest (optional)
 *   flight 3  ClientHello + cookie            flight 4  ServerHello, [ServerKeyExchange], ServerHelloDone
 *   flight 5  ClientKeyExchange, CCS, Finished flight 6  CCS, Finished
 */
import { AlertError } from '../../util/errors.js';
import type { SecretBytes } from '../../util/secret.js';
import type { CipherSuite } from '../ciphersuite/cipher-suite.js';
import { checkVerifyData, verifyData } from '../keys/finished.js';
import { type ClientHello, encodeClientHello } from '../handshake/client-hello.js';
import { encodeClientKeyExchangePsk } from '../handshake/client-key-exchange-psk.js';
import {
  decodeRenegotiationInfo,
  encodeExtendedMasterSecret,
  encodeRenegotiationInfo,
  type Extension,
  findExtension,
} from '../handshake/extensions.js';
import { decodeFinished, encodeFinished } from '../handshake/finished.js';
import { decodeHelloVerifyRequest } from '../handshake/hello-verify-request.js';
import type { HandshakeMessage } from '../handshake/reassembler.js';
import { decodeServerHelloDone } from '../handshake/server-hello-done.js';
import { decodeServerHello, type ServerHello } from '../handshake/server-hello.js';
import { decodeServerKeyExchangePsk } from '../handshake/server-key-exchange-psk.js';
import { deriveSessionKeys } from '../flight/session-keys.js';
import { AlertDescription, COMPRESSION_NULL, DTLS12, ExtensionType, HandshakeType } from '../wire/constants.js';
import { type ConnectionHooks, DtlsConnection } from './connection.js';
import type { ResolvedCommon } from './options.js';

export interface ClientConnectionOptions extends ResolvedCommon {
  readonly identity: Uint8Array;
  readonly psk: Uint8Array | SecretBytes;
  /** Refuse servers that do not negotiate extended_master_secret (RFC 7627 §5.3). Default false. */
  readonly requireExtendedMasterSecret: boolean;
}

/** How many HelloVerifyRequests a client answers before giving up (a server looping on cookies). */
const MAX_HELLO_VERIFY = 3;

/**
 * The extensions of every ClientHello, shared (nothing writes to them): extended_master_secret
 * (RFC 7627 §5.1) and an empty renegotiation_info (RFC 5746 §3.4).
 */
const HELLO_EXTENSIONS: readonly Extension[] = Object.freeze([
  { type: ExtensionType.extended_master_secret, data: encodeExtendedMasterSecret() },
  { type: ExtensionType.renegotiation_info, data: encodeRenegotiationInfo(new Uint8Array(0)) },
]);

/** What may come next from the server, by stage (RFC 6347 §4.2.4 flights 2, 4 and 6). */
const BEFORE_SERVER_HELLO: readonly number[] = [HandshakeType.hello_verify_request, HandshakeType.server_hello];
const BEFORE_HELLO_DONE: readonly number[] = [HandshakeType.server_key_exchange, HandshakeType.server_hello_done];
const FINISHED: readonly number[] = [HandshakeType.finished];

export class ClientConnection extends DtlsConnection {
  private hello: ClientHello;
  /** The last ClientHello sent, encoded: the transcript starts with it (RFC 6347 §4.2.6). */
  private helloBody: Uint8Array | undefined;
  private helloItemSeq = 0;
  private helloVerifies = 0;
  private serverHello: ServerHello | undefined;
  private serverHelloDone = false;
  private flight5Sent = false;
  private master: SecretBytes | undefined;
  /** The server's psk_identity_hint, if it sent one (RFC 4279 §2). */
  pskIdentityHint: Uint8Array | undefined;
  suite: CipherSuite | undefined;
  extendedMasterSecret = false;

  constructor(
    private readonly copts: ClientConnectionOptions,
    hooks: ConnectionHooks,
  ) {
    super(copts, hooks);
    this.hello = {
      clientVersion: DTLS12,
      random: copts.rng(32),
      sessionId: new Uint8Array(0),
      cookie: new Uint8Array(0),
      cipherSuites: copts.cipherSuites.map((s) => s.id),
      compressionMethods: [COMPRESSION_NULL],
      extensions: HELLO_EXTENSIONS,
    };
  }

  get clientRandom(): Uint8Array {
    return this.hello.random;
  }

  /** Sends flight 1. */
  start(): void {
    this.sendHello();
  }

  private sendHello(): void {
    this.helloBody = encodeClientHello(this.hello);
    const item = this.handshakeItem(HandshakeType.client_hello, this.helloBody);
    this.helloItemSeq = item.kind === 'handshake' ? item.messageSeq : 0;
    this.sendFlight([item], false);
  }

  protected expectedTypes(): readonly number[] {
    if (this.serverHello === undefined) return BEFORE_SERVER_HELLO;
    if (!this.serverHelloDone) return BEFORE_HELLO_DONE;
    return FINISHED;
  }

  protected ccsExpected(): boolean {
    return this.flight5Sent;
  }

  protected awaitingPeerFinished(): boolean {
    return this.flight5Sent && !this.established;
  }

  protected isRenegotiationRequest(msgType: number): boolean {
    return msgType === HandshakeType.hello_request;
  }

  protected onHandshakeMessage(msg: HandshakeMessage): void {
    switch (msg.msgType) {
      case HandshakeType.hello_verify_request:
        this.onHelloVerifyRequest(msg);
        return;
      case HandshakeType.server_hello:
        this.onServerHello(msg);
        return;
      case HandshakeType.server_key_exchange:
        this.pskIdentityHint = decodeServerKeyExchangePsk(msg.body).pskIdentityHint;
        this.addToTranscript(msg.msgType, msg.messageSeq, msg.body);
        return;
      case HandshakeType.server_hello_done:
        decodeServerHelloDone(msg.body);
        this.addToTranscript(msg.msgType, msg.messageSeq, msg.body);
        this.serverHelloDone = true;
        this.sendKeyExchange();
        return;
      case HandshakeType.finished:
        this.onServerFinished(msg);
        return;
    }
  }

  /** RFC 6347 §4.2.1: answer with the same ClientHello plus the cookie; neither goes in the transcript. */
  private onHelloVerifyRequest(msg: HandshakeMessage): void {
    if (++this.helloVerifies > MAX_HELLO_VERIFY) {
      throw new AlertError(AlertDescription.handshake_failure, 'the server keeps sending HelloVerifyRequest');
    }
    const hvr = decodeHelloVerifyRequest(msg.body);
    this.hello = { ...this.hello, cookie: hvr.cookie };
    this.sendHello();
  }

  private onServerHello(msg: HandshakeMessage): void {
    const sh = decodeServerHello(msg.body);
    if (sh.serverVersion !== DTLS12) throw new AlertError(AlertDescription.protocol_version, 'the server did not choose DTLS 1.2');
    const suite = this.copts.cipherSuites.find((s) => s.id === sh.cipherSuite);
    if (suite === undefined) throw new AlertError(AlertDescription.illegal_parameter, 'the server chose a cipher suite we did not offer');
    if (sh.compressionMethod !== COMPRESSION_NULL) throw new AlertError(AlertDescription.illegal_parameter, 'the server chose compression');
    for (const ext of sh.extensions ?? []) {
      // RFC 5246 §7.4.1.4: a server may only echo extensions the client offered.
      if (findExtension(this.hello.extensions, ext.type) === undefined) {
        throw new AlertError(AlertDescription.unsupported_extension, `the server sent extension ${ext.type} we did not offer`);
      }
    }
    const reneg = findExtension(sh.extensions, ExtensionType.renegotiation_info);
    if (reneg !== undefined && decodeRenegotiationInfo(reneg.data).length !== 0) {
      throw new AlertError(AlertDescription.handshake_failure, 'non-empty renegotiation_info on an initial handshake (RFC 5746 §3.4)');
    }
    this.extendedMasterSecret = findExtension(sh.extensions, ExtensionType.extended_master_secret) !== undefined;
    if (!this.extendedMasterSecret && this.copts.requireExtendedMasterSecret) {
      throw new AlertError(AlertDescription.handshake_failure, 'the server does not support extended_master_secret');
    }
    this.serverHello = sh;
    this.suite = suite;
    // The transcript starts with the ClientHello the server answered (RFC 6347 §4.2.6).
    this.restartTranscript();
    this.addToTranscript(HandshakeType.client_hello, this.helloItemSeq, this.helloBody ?? encodeClientHello(this.hello));
    this.helloBody = undefined;
    this.addToTranscript(msg.msgType, msg.messageSeq, msg.body);
  }

  private sendKeyExchange(): void {
    const sh = this.serverHello;
    const suite = this.suite;
    if (sh === undefined || suite === undefined) throw new AlertError(AlertDescription.internal_error, 'no ServerHello');
    const cke = this.handshakeItem(HandshakeType.client_key_exchange, encodeClientKeyExchangePsk({ pskIdentity: this.copts.identity }));
    if (cke.kind !== 'handshake') throw new AlertError(AlertDescription.internal_error, 'bad flight item');
    this.addToTranscript(cke.msgType, cke.messageSeq, cke.body);
    const keys = deriveSessionKeys({
      psk: this.copts.psk,
      suite,
      clientRandom: this.hello.random,
      serverRandom: sh.random,
      extendedMasterSecret: this.extendedMasterSecret,
      sessionHash: this.transcriptHash(),
      role: 'client',
    });
    this.master = keys.master;
    this.opts.keyLog?.log(this.hello.random, keys.master);
    this.layer.setReadCipher(1, keys.read);
    this.layer.setWriteCipher(1, keys.write);
    const fin = this.handshakeItem(
      HandshakeType.finished,
      encodeFinished({ verifyData: verifyData(keys.master, 'client', this.transcriptHash()) }),
      1,
    );
    if (fin.kind === 'handshake') this.addToTranscript(fin.msgType, fin.messageSeq, fin.body);
    this.flight5Sent = true;
    this.sendFlight([cke, this.ccsItem(), fin], false);
    this.useWriteEpoch(1);
    this.drainPending();
  }

  private onServerFinished(msg: HandshakeMessage): void {
    const { verifyData: received } = decodeFinished(msg.body);
    if (this.master === undefined || !checkVerifyData(this.master, 'server', this.transcriptHash(), received)) {
      throw new AlertError(AlertDescription.decrypt_error, 'the server Finished does not verify (RFC 5246 §7.4.9)');
    }
    this.forgetLastFlight();
    this.layer.forgetEpoch0();
    this.master = undefined;
    this.complete();
  }
}
