/**
 * The application's handle on one established DTLS session (either role): who the peer is, which
 * identity it authenticated with, and send/close. Emits 'data' (Uint8Array) and 'close' (CloseReason).
 */
import { EventEmitter } from 'node:events';
import type { CloseReason } from './connection.js';

/** The connection operations a session needs. */
export interface SessionConnection {
  send(data: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

export interface SessionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The psk_identity the client sent and the handshake authenticated. */
  readonly identity: Uint8Array;
  readonly cipherSuite: string;
  readonly extendedMasterSecret: boolean;
}

let nextSessionId = 1;

export class DtlsSession extends EventEmitter<{ data: [Uint8Array]; close: [CloseReason] }> {
  /** Process-unique id (CoAP binds exchanges to it, RFC 7252 §9.1). */
  readonly id: number = nextSessionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly identity: Uint8Array;
  readonly cipherSuite: string;
  readonly extendedMasterSecret: boolean;
  private identityString: string | undefined;

  constructor(
    private readonly conn: SessionConnection,
    info: SessionInfo,
  ) {
    super();
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.identity = info.identity;
    this.cipherSuite = info.cipherSuite;
    this.extendedMasterSecret = info.extendedMasterSecret;
  }

  /** The identity as text (UTF-8; invalid sequences shown as U+FFFD). */
  get identityText(): string {
    this.identityString ??= Buffer.from(this.identity).toString('utf8');
    return this.identityString;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  /** Sends one application data record. */
  send(data: Uint8Array | string): void {
    this.conn.send(typeof data === 'string' ? new Uint8Array(Buffer.from(data, 'utf8')) : data);
  }

  /** Sends close_notify and ends the session. */
  close(): void {
    this.conn.close();
  }
}
