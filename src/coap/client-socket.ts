/**
 * Runs a `coap` (node-coap) client over one DTLS client session: `new coap.Agent({ socket })` with
 * this object as the socket. The agent reads `type`, listens to `message` and `error`, calls
 * `address()` on every incoming message and sends with the six-argument `send`; with one session
 * per peer the port and host it passes are ignored (the session is the peer, RFC 7252 §9.1).
 * The agent never closes a socket it was given: the owner closes the session.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { CloseReason } from '../dtls/endpoint/connection.js';
import type { DtlsSession } from '../dtls/endpoint/session.js';

type SendCallback = (error: Error | null, bytes?: number) => void;

/** The rinfo given to node-coap with every datagram from the session. */
export interface CoapClientRinfo {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  readonly size: number;
}

interface ClientSocketEvents {
  message: [Buffer, CoapClientRinfo];
  error: [Error];
  /** The DTLS session ended (close_notify, alert, idle timeout). */
  close: [CloseReason];
}

/** A dgram.Socket look-alike for node-coap's Agent, carrying CoAP over one DTLS session. */
export class CoapClientSocket extends EventEmitter<ClientSocketEvents> {
  /** Read by node-coap's Agent (it only distinguishes udp4 and udp6). */
  readonly type: 'udp4' | 'udp6';
  readonly #session: DtlsSession;
  readonly #family: 'IPv4' | 'IPv6';
  readonly #onData = (data: Uint8Array): void => this.#deliver(data);
  readonly #onClose = (reason: CloseReason): void => {
    this.#detach();
    this.emit('close', reason);
  };
  #attached = true;

  constructor(session: DtlsSession) {
    super();
    this.#session = session;
    this.#family = session.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
    this.type = this.#family === 'IPv6' ? 'udp6' : 'udp4';
    session.on('data', this.#onData);
    session.on('close', this.#onClose);
  }

  /** The session this socket writes to. */
  get session(): DtlsSession {
    return this.#session;
  }

  /**
   * node-coap's six-argument send: one CoAP message becomes one DTLS application-data record.
   * `port` and `host` are ignored (there is one peer); the callback always runs, so node-coap's
   * in-flight count stays right, with an error once the session is closed.
   */
  send(buf: Buffer, offset: number, length: number, _port?: number, host?: string | SendCallback, cb?: SendCallback): void {
    const callback = typeof host === 'function' ? host : cb;
    if (!this.#attached || this.#session.closed) {
      callback?.(new Error('the DTLS session is closed'));
      return;
    }
    try {
      this.#session.send(new Uint8Array(buf.buffer, buf.byteOffset + offset, length));
      callback?.(null, length);
    } catch (err) {
      callback?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The local end as node-coap expects it; a DTLS session has no separate CoAP endpoint, so port 0. */
  address(): AddressInfo {
    return this.#family === 'IPv6' ? { address: '::', family: 'IPv6', port: 0 } : { address: '0.0.0.0', family: 'IPv4', port: 0 };
  }

  /** Stops delivering the session's datagrams; the session itself stays open (its owner closes it). */
  close(): void {
    this.#detach();
  }

  #deliver(data: Uint8Array): void {
    const rinfo: CoapClientRinfo = {
      address: this.#session.remoteAddress,
      port: this.#session.remotePort,
      family: this.#family,
      size: data.length,
    };
    // A copy: node-coap keeps payload slices beyond this call (STYLE.md 7).
    this.emit('message', Buffer.from(data), rinfo);
  }

  #detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#session.off('data', this.#onData);
    this.#session.off('close', this.#onClose);
  }
}
