/**
 * The application's handle on one established DTLS session (either role): who the peer is, which
 * identity it authenticated with, and send/close. Emits 'data' (Uint8Array) and 'close' (CloseReason).
 */
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

interface SessionEventMap {
  data: (data: Uint8Array) => void;
  close: (reason: CloseReason) => void;
}

type Listener = (arg: never) => void;

/**
 * The two events of a session, with listener lists made only when someone listens: an
 * EventEmitter would cost every idle session a dictionary object (memory per idle session).
 */
class SessionEvents {
  private listeners: { data?: Listener[]; close?: Listener[] } | undefined;

  on<E extends keyof SessionEventMap>(event: E, fn: SessionEventMap[E]): this {
    this.listeners ??= {};
    const list = (this.listeners[event] ??= []) as Listener[];
    list.push(fn as Listener);
    return this;
  }

  addListener<E extends keyof SessionEventMap>(event: E, fn: SessionEventMap[E]): this {
    return this.on(event, fn);
  }

  once<E extends keyof SessionEventMap>(event: E, fn: SessionEventMap[E]): this {
    const wrapper = ((arg: never) => {
      this.off(event, wrapper as SessionEventMap[E]);
      (fn as (a: never) => void)(arg);
    }) as SessionEventMap[E];
    (wrapper as { listener?: unknown }).listener = fn;
    return this.on(event, wrapper);
  }

  off<E extends keyof SessionEventMap>(event: E, fn: SessionEventMap[E]): this {
    const list = this.listeners?.[event];
    if (list === undefined) return this;
    const i = list.findIndex((l) => l === fn || (l as { listener?: unknown }).listener === fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  removeListener<E extends keyof SessionEventMap>(event: E, fn: SessionEventMap[E]): this {
    return this.off(event, fn);
  }

  removeAllListeners(event?: keyof SessionEventMap): this {
    if (event === undefined) this.listeners = undefined;
    else if (this.listeners) this.listeners[event] = [];
    return this;
  }

  listenerCount(event: keyof SessionEventMap): number {
    return this.listeners?.[event]?.length ?? 0;
  }

  /** Calls the listeners of `event` in order; like EventEmitter, a listener that throws throws here. */
  emit<E extends keyof SessionEventMap>(event: E, arg: Parameters<SessionEventMap[E]>[0]): boolean {
    const list = this.listeners?.[event];
    if (list === undefined || list.length === 0) return false;
    for (const l of [...list]) (l as (a: typeof arg) => void)(arg);
    return true;
  }
}

/** Identities made of ASCII octets only, whose latin1 and UTF-8 readings are the same text. */
const ASCII = /^[\x00-\x7f]*$/;

export class DtlsSession extends SessionEvents {
  /** Process-unique id (CoAP binds exchanges to it, RFC 7252 §9.1). */
  readonly id: number = nextSessionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly cipherSuite: string;
  readonly extendedMasterSecret: boolean;
  /**
   * The identity's octets as a latin1 string (one char per octet): a 38-octet identity takes 56 B
   * so, where a Uint8Array with its ArrayBuffer takes 240 B (memory per idle session).
   */
  private readonly identityOctets: string;
  /** The identity as bytes, made on first use. */
  private identityBytes: Uint8Array | undefined;

  constructor(
    private readonly conn: SessionConnection,
    info: SessionInfo,
  ) {
    super();
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.identityOctets = Buffer.from(info.identity.buffer, info.identity.byteOffset, info.identity.byteLength).toString('latin1');
    this.cipherSuite = info.cipherSuite;
    this.extendedMasterSecret = info.extendedMasterSecret;
  }

  /** The psk_identity the client sent and the handshake authenticated (the same array each call). */
  get identity(): Uint8Array {
    this.identityBytes ??= new Uint8Array(Buffer.from(this.identityOctets, 'latin1'));
    return this.identityBytes;
  }

  /** The identity as text (UTF-8; invalid sequences shown as U+FFFD). */
  get identityText(): string {
    // ASCII reads the same in latin1 and UTF-8: the stored string is the text, with no copy to keep.
    if (ASCII.test(this.identityOctets)) return this.identityOctets;
    return Buffer.from(this.identityOctets, 'latin1').toString('utf8');
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
