/**
 * One CoAP exchange (RFC 7252) from the UE over an established DTLS session: a node-coap Agent on a
 * CoapClientSocket. Block-wise transfers (RFC 7959) and Observe (RFC 7641) come from node-coap.
 */
import type { Socket } from 'node:dgram';
import coap from 'coap';
import type { IncomingMessage, ObserveReadStream, OptionValue, OutgoingMessage } from 'coap';
import { CoapClientSocket } from '../coap/client-socket.js';
import type { DtlsSession } from '../dtls/endpoint/session.js';
import { StackError } from '../util/errors.js';
import type { CoapsTarget } from './coap-url.js';
import { CoapObservation, type CoapNotification, notificationOf } from './observation.js';

export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A CoAP request that got no response (E_COAP_TIMEOUT, E_COAP_SESSION_CLOSED, E_COAP). */
export class CoapRequestError extends StackError {
  constructor(code: 'E_COAP_TIMEOUT' | 'E_COAP_SESSION_CLOSED' | 'E_COAP', message: string) {
    super(code, message);
  }
}

/** A complete response (Block2 reassembled). */
export type CoapResponse = CoapNotification;

export interface ExchangeRequest {
  readonly target: CoapsTarget;
  readonly method: CoapMethod;
  readonly payload?: Uint8Array;
  /** Content-Format number of the payload. */
  readonly contentFormat?: number;
  /** Accept option (a Content-Format number). */
  readonly accept?: number;
  readonly observe: boolean;
  /** Bound on the wait for the (first) response, ms. */
  readonly timeoutMs: number;
}

/**
 * RFC 7959 §2.2: with SZX 6 a block is 1024 octets, node-coap's largest payload per message; a larger
 * payload must go Block1 or node-coap refuses it.
 */
const BLOCK1_THRESHOLD = 1024;
const BLOCK1_SZX_1024 = 6;

/** Sends `r` over `session` and resolves with the response; the caller closes the session. */
export async function exchange(session: DtlsSession, r: ExchangeRequest): Promise<CoapResponse> {
  const started = await start(session, { ...r, observe: false });
  started.teardown();
  return notificationOf(started.response);
}

/**
 * Registers an observation (RFC 7641 §3.1) over `session` and resolves once the first response has
 * arrived. The observation owns the session from then on: closing the observation closes it.
 */
export async function observe(session: DtlsSession, r: ExchangeRequest): Promise<CoapObservation> {
  const started = await start(session, { ...r, observe: true });
  const registered = started.response.headers['Observe'] !== undefined && started.response.code.startsWith('2.');
  return new CoapObservation(started.response as ObserveReadStream, registered, started.socket, () => {
    started.teardown();
    session.close();
  });
}

interface Started {
  readonly response: IncomingMessage;
  readonly socket: CoapClientSocket;
  /** Aborts whatever the agent still has in flight (timers included) and detaches from the session. */
  readonly teardown: () => void;
}

function start(session: DtlsSession, r: ExchangeRequest): Promise<Started> {
  const socket = new CoapClientSocket(session);
  // node-coap types its socket as dgram.Socket; it uses only what CoapClientSocket implements.
  const agent = new coap.Agent({ socket: socket as unknown as Socket });
  agent.on('error', () => undefined);
  const teardown = (): void => {
    agent.close();
    socket.close();
  };
  const req = agent.request({
    hostname: r.target.host,
    port: r.target.port,
    method: r.method,
    confirmable: true,
    ...(r.observe ? { observe: true } : {}),
    options: requestOptions(r),
  });
  if (r.contentFormat !== undefined) req.setOption('Content-Format', r.contentFormat);
  if (r.accept !== undefined) req.setOption('Accept', r.accept);
  if (r.payload !== undefined && r.payload.length > BLOCK1_THRESHOLD) req.setOption('Block1', Buffer.of(BLOCK1_SZX_1024));
  return new Promise<Started>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('close', onClose);
    };
    const fail = (err: CoapRequestError): void => {
      done();
      teardown();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new CoapRequestError('E_COAP_TIMEOUT', `no CoAP response within ${r.timeoutMs} ms`)),
      r.timeoutMs,
    );
    const onClose = (reason: { message: string }): void =>
      fail(new CoapRequestError('E_COAP_SESSION_CLOSED', `the DTLS session ended before the response: ${reason.message}`));
    socket.on('close', onClose);
    req.on('response', (response: IncomingMessage) => {
      done();
      resolve({ response, socket, teardown });
    });
    req.on('error', (err: Error) => fail(new CoapRequestError('E_COAP', `CoAP request failed: ${err.message}`)));
    send(req, r.payload, fail);
  });
}

function send(req: OutgoingMessage, payload: Uint8Array | undefined, fail: (e: CoapRequestError) => void): void {
  try {
    if (payload !== undefined && payload.length > 0) req.write(Buffer.from(payload));
    req.end();
  } catch (err) {
    fail(new CoapRequestError('E_COAP', `CoAP request not sent: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/** Uri-Path and Uri-Query as one option per segment (RFC 7252 §6.4 steps 8-9). */
function requestOptions(r: ExchangeRequest): Record<string, OptionValue> {
  const options: Record<string, OptionValue> = {};
  if (r.target.path.length > 0) options['Uri-Path'] = r.target.path.map((s) => Buffer.from(s, 'utf8'));
  if (r.target.query.length > 0) options['Uri-Query'] = r.target.query.map((s) => Buffer.from(s, 'utf8'));
  return options;
}
