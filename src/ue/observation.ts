/**
 * An Observe registration (RFC 7641) seen from the UE: the notifications as an async iterable.
 * It ends when the server stops the observation (a notification that is not 2.xx, RFC 7641 §3.2, or
 * a response without Observe, §3.1: not registered), when the DTLS session ends, or on close().
 */
import type { IncomingMessage, ObserveReadStream } from 'coap';
import type { CoapClientSocket } from '../coap/client-socket.js';

/** One response or notification. */
export interface CoapNotification {
  /** Response code, e.g. "2.05". */
  readonly code: string;
  readonly payload: Uint8Array;
  /** Content-Format as node-coap names it (a string for registered formats, else the number), if present. */
  readonly format: string | number | undefined;
}

/** The response `m` as a CoapNotification (its current code and options). */
export function notificationOf(m: IncomingMessage, payload: Uint8Array = m.payload): CoapNotification {
  const format = m.headers['Content-Format'];
  return {
    code: m.code,
    payload: new Uint8Array(payload),
    format: typeof format === 'string' || typeof format === 'number' ? format : undefined,
  };
}

export class CoapObservation implements AsyncIterable<CoapNotification> {
  /** Code of the registration response. */
  readonly code: string;
  /** Whether the server registered the observation (its response carried Observe). */
  readonly registered: boolean;
  readonly #stream: ObserveReadStream;
  readonly #queue: CoapNotification[] = [];
  readonly #waiters: Array<(n: CoapNotification | undefined) => void> = [];
  readonly #release: () => void;
  #ended = false;

  constructor(stream: ObserveReadStream, registered: boolean, socket: CoapClientSocket, release: () => void) {
    this.#stream = stream;
    this.code = stream.code;
    this.registered = registered;
    this.#release = release;
    stream.on('data', (payload: Buffer) => this.#push(notificationOf(stream, payload)));
    stream.on('end', () => this.#end(false));
    stream.on('close', () => this.#end(false));
    socket.once('close', () => this.#end(false));
  }

  /** The next notification, or undefined once the observation has ended. */
  next(): Promise<CoapNotification | undefined> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<CoapNotification> {
    for (;;) {
      const n = await this.next();
      if (n === undefined) return;
      yield n;
    }
  }

  /** Deregisters (RFC 7641 §3.6: a GET with Observe 1) and closes the DTLS session. */
  close(): void {
    this.#end(true);
  }

  #push(n: CoapNotification): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter(n);
    else this.#queue.push(n);
    // RFC 7641 §3.1/§3.2: an error notification, or a response that did not register, ends it.
    if (!this.registered || !n.code.startsWith('2.')) this.#end(false);
  }

  #end(deregister: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.registered) this.#stream.close(deregister);
    this.#release();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}
