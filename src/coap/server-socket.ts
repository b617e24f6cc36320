/**
 * Runs a `coap` (node-coap) server over the sessions of a DtlsServer. node-coap accepts any
 * EventEmitter as its socket, but it replays cached responses to duplicate CONs and sends error
 * replies only when the socket is a dgram.Socket, so this adapter has dgram.Socket.prototype in its
 * prototype chain and implements send/address/close itself (it never binds a real socket).
 *
 * Every message is delivered with an `rinfo` naming the DTLS session, so exchanges are bound to the
 * session (RFC 7252 §9.1.1), not to address:port, and handlers see the authenticated identity.
 */
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { DtlsSession } from '../dtls/endpoint/session.js';

/** The rinfo node-coap hands to handlers as `req.rsinfo`. */
export interface CoapSessionInfo {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  readonly size: number;
  /** The DTLS session the request came in (its identity is the authenticated psk_identity). */
  readonly session: DtlsSession;
  readonly sessionId: number;
  readonly identity: string;
}

type SendCallback = (error: Error | null, bytes?: number) => void;

/** A dgram.Socket look-alike that carries CoAP messages over DTLS sessions. */
export class CoapSessionSocket extends EventEmitter {
  private readonly byPeer = new Map<string, DtlsSession>();

  constructor(private readonly local: () => AddressInfo) {
    super();
  }

  /** Delivers one CoAP message received on `session` to node-coap. */
  deliver(session: DtlsSession, message: Uint8Array): void {
    this.byPeer.set(peerKey(session.remoteAddress, session.remotePort), session);
    const rinfo: CoapSessionInfo = {
      address: session.remoteAddress,
      port: session.remotePort,
      family: session.remoteAddress.includes(':') ? 'IPv6' : 'IPv4',
      size: message.length,
      session,
      sessionId: session.id,
      identity: session.identityText,
    };
    this.emit('message', Buffer.from(message.buffer, message.byteOffset, message.byteLength), rinfo);
  }

  /** Forgets a closed session. */
  forget(session: DtlsSession): void {
    const key = peerKey(session.remoteAddress, session.remotePort);
    if (this.byPeer.get(key) === session) this.byPeer.delete(key);
  }

  /** node-coap's six-argument send; `address` may be missing (its error replies omit it). */
  send(buf: Buffer, offset: number, length: number, port: number, address?: string | SendCallback, cb?: SendCallback): void {
    const callback = typeof address === 'function' ? address : cb;
    const session = typeof address === 'string' ? this.byPeer.get(peerKey(address, port)) : this.findByPort(port);
    if (session === undefined || session.closed) {
      callback?.(new Error('no DTLS session for this peer'));
      return;
    }
    try {
      session.send(new Uint8Array(buf.buffer, buf.byteOffset + offset, length));
      callback?.(null, length);
    } catch (err) {
      callback?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  address(): AddressInfo {
    return this.local();
  }

  close(): void {
    this.byPeer.clear();
  }

  private findByPort(port: number): DtlsSession | undefined {
    for (const s of this.byPeer.values()) if (s.remotePort === port) return s;
    return undefined;
  }
}

// node-coap tests `socket instanceof dgram.Socket` before replaying cached responses and sending
// error replies; every method it calls is overridden above.
Object.setPrototypeOf(CoapSessionSocket.prototype, dgram.Socket.prototype);

function peerKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/**
 * Whether a datagram of application data is a CoAP request or empty message (RFC 7252 §3: version 1,
 * token length ≤ 8, code class 0). Anything else is raw application data.
 */
export function looksLikeCoapRequest(data: Uint8Array): boolean {
  if (data.length < 4) return false;
  const first = data[0] as number;
  const version = first >>> 6;
  const tokenLength = first & 0x0f;
  const codeClass = (data[1] as number) >>> 5;
  return version === 1 && tokenLength <= 8 && data.length >= 4 + tokenLength && codeClass === 0;
}
