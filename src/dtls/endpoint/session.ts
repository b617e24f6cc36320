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

export class DtlsSession extends SessionEvents {
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
