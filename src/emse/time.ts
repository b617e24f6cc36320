/**
 * GET /time: the server's current time (ISO 8601, text/plain), observable (RFC 7641). A GET with
 * Observe: 0 registers the (session, token) pair and a notification follows every `intervalMs`; the
 * registration ends when the client deregisters (GET with Observe: 1, RFC 7641 §3.6, or a Reset in
 * answer to a notification, §3.6/§4.2), when its DTLS session closes, or when the app stops. No timer
 * outlives its registration.
 */
import coap from 'coap';
import type { IncomingMessage, ObserveWriteStream, OutgoingMessage } from 'coap';
import type { DtlsSession } from '../dtls/endpoint/session.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import type { Resource, ResourceContext } from './coap-app.js';

export interface TimeResourceOptions {
  /** Period of the notifications, ms (default 1000). */
  readonly intervalMs?: number;
  /** Most registrations one DTLS session may hold (default 8); more are answered once, unobserved. */
  readonly maxPerSession?: number;
  /** Timers (default: the system clock). */
  readonly clock?: Clock;
  /** Wall-clock milliseconds for the payload (default Date.now). */
  readonly wallClock?: () => number;
}

/** The /time resource plus what tests and operators look at. */
export interface TimeResource extends Resource {
  /** Registrations currently notified. */
  readonly observers: number;
  /** Notifications sent since start (the first answer of a registration included). */
  readonly notifications: number;
}

interface Registration {
  readonly session: DtlsSession;
  readonly stream: ObserveWriteStream;
  timer: TimerHandle | undefined;
  stop(): void;
}

/** RFC 7641 §2: Observe 0 registers, 1 deregisters. */
const OBSERVE_REGISTER = 0;
const OBSERVE_DEREGISTER = 1;

/** Creates a /time resource with its own registrations. */
export function timeResource(o: TimeResourceOptions = {}): TimeResource {
  const intervalMs = o.intervalMs ?? 1_000;
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new RangeError('intervalMs must be a positive integer');
  const maxPerSession = o.maxPerSession ?? 8;
  const clock = o.clock ?? systemClock;
  const wallClock = o.wallClock ?? Date.now;
  const registrations = new Map<string, Registration>();
  let notifications = 0;
  const now = (): Buffer => Buffer.from(new Date(wallClock()).toISOString(), 'utf8');
  const perSession = (session: DtlsSession): number => [...registrations.values()].filter((r) => r.session === session).length;

  const register = (key: string, stream: ObserveWriteStream, ctx: ResourceContext): void => {
    const session = ctx.session;
    const reg: Registration = {
      session,
      stream,
      timer: undefined,
      stop: () => {
        reg.timer?.cancel();
        reg.timer = undefined;
        if (registrations.get(key) === reg) registrations.delete(key);
        session.off('close', reg.stop);
        if (!stream.writableEnded) stream.end();
      },
    };
    const tick = (): void => {
      reg.timer = undefined;
      if (session.closed) {
        reg.stop();
        return;
      }
      notify(reg);
      if (registrations.get(key) === reg) reg.timer = clock.setTimer(intervalMs, tick);
    };
    registrations.set(key, reg);
    session.on('close', reg.stop);
    // A Reset to a notification makes node-coap end the stream; a failed send errors it.
    stream.on('finish', reg.stop);
    stream.on('error', reg.stop);
    notify(reg);
    if (registrations.get(key) === reg) reg.timer = clock.setTimer(intervalMs, tick);
  };

  const notify = (reg: Registration): void => {
    if (reg.stream.writableEnded || reg.stream.destroyed) {
      reg.stop();
      return;
    }
    notifications++;
    reg.stream.write(now());
  };

  const get = (req: IncomingMessage, res: OutgoingMessage, ctx: ResourceContext): void => {
    const key = `${ctx.session.id}/${(req._packet.token ?? Buffer.alloc(0)).toString('hex')}`;
    const observe = req.headers.Observe;
    registrations.get(key)?.stop();
    if (observe === OBSERVE_REGISTER && res instanceof coap.ObserveWriteStream) {
      res.setOption('Content-Format', 'text/plain');
      if (perSession(ctx.session) < maxPerSession) {
        register(key, res, ctx);
        return;
      }
      answerUnobserved(res, now());
      return;
    }
    if (observe !== undefined && observe !== OBSERVE_DEREGISTER && observe !== OBSERVE_REGISTER) {
      res.code = '4.00';
      res.end('Observe must be 0 (register) or 1 (deregister)');
      return;
    }
    res.setOption('Content-Format', 'text/plain');
    res.end(now());
  };

  return {
    path: 'time',
    attributes: 'rt="e2m.time";obs;ct=0',
    methods: { GET: get },
    get observers() {
      return registrations.size;
    },
    get notifications() {
      return notifications;
    },
    close: () => {
      for (const reg of [...registrations.values()]) reg.stop();
    },
  };
}

/**
 * RFC 7641 §4.1: a server that will not add an observer answers as to a plain GET, without an
 * Observe option. node-coap has already chosen its observe stream, whose writes always carry
 * Observe; its single-shot send is used instead.
 */
function answerUnobserved(stream: ObserveWriteStream, payload: Buffer): void {
  stream._doSend(payload);
  stream._counter = 1;
  stream.end();
}
