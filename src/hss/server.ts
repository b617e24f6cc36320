/**
 * hss-sim: the HSS/AuC and MME simulator as a plain HTTP service on loopback (contract: hss-sim).
 *   POST /v1/attach {"imsi"}               → 201 {"txn","rand","autn"}
 *   POST /v1/attach/{txn} {"res"}          → 200 {"result":"success","guti","kid"} | 403
 *   POST /v1/attach/{txn} {"auts"}         → 200 {"result":"challenge","txn","rand","autn"} | 403
 *   GET  /healthz                          → 200 {"status":"ok"}
 * Bad input is answered with RFC 9457 problem+json (400, 404, 405, 413, 415) and the server keeps
 * serving. At start the subscribers' application identities are mapped at the EMKS in the background.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, type Rng } from '../crypto/primitives.js';
import { type Clock, systemClock } from '../util/clock.js';
import { type Logger, silentLogger } from '../util/log.js';
import { AttachService } from './attach.js';
import type { EmksClient } from './emks-client.js';
import { hexBodyField, ProblemError, readJsonObject, rejectUnknownFields, sendJson, sendProblem } from './http.js';
import { type IdentitySyncOptions, type IdentitySyncResult, syncIdentities } from './identity-sync.js';
import { SqnStore } from './sqn-store.js';
import { DEFAULT_AMF, IMSI_RE, type Subscriber } from './subscribers.js';

export interface HssSimOptions {
  readonly host: string;
  /** TCP port; 0 picks a free one (read it from `address`). */
  readonly port: number;
  readonly subscribers: readonly Subscriber[];
  readonly emks: EmksClient;
  readonly logger?: Logger;
  /** AMF for subscribers without one (default 8000: separation bit set, TS 33.401 §6.1.1). */
  readonly amf?: Uint8Array;
  /** How long a challenge waits for its answer, ms (default 60 000). */
  readonly txnTtlMs?: number;
  /** Most pending challenges; the oldest is dropped beyond (default 10 000). */
  readonly maxTransactions?: number;
  /** Bound on each EMKS call made while an attach request waits, ms (default 3000). */
  readonly emksTimeoutMs?: number;
  /** Persist the last SQN per IMSI in this file (0600, atomic replace); its values supersede the subscribers'. */
  readonly stateFile?: string;
  /** Retries of the identity mapping at start. */
  readonly identitySync?: IdentitySyncOptions;
  readonly clock?: Clock;
  readonly rng?: Rng;
}

export interface HssSim {
  readonly address: AddressInfo;
  /** http://HOST:PORT */
  readonly url: string;
  /** Settles when the identity mapping at start has ended (never rejects). */
  readonly identitiesMapped: Promise<IdentitySyncResult>;
  close(): Promise<void>;
}

const ATTACH_TXN_PATH = /^\/v1\/attach\/([^/]+)$/;

async function onAttach(svc: AttachService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonObject(req);
  rejectUnknownFields(body, ['imsi']);
  const imsi = body['imsi'];
  if (typeof imsi !== 'string' || !IMSI_RE.test(imsi)) throw new ProblemError(400, "'imsi' must be a string of 5..15 digits");
  sendJson(res, 201, await svc.attach(imsi));
}

async function onAnswer(svc: AttachService, txn: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonObject(req);
  rejectUnknownFields(body, ['res', 'auts']);
  const hasRes = body['res'] !== undefined;
  if (hasRes === (body['auts'] !== undefined)) throw new ProblemError(400, "give exactly one of 'res' and 'auts'");
  if (hasRes) {
    // RES is 4..16 octets (TS 33.102 §6.3.7); Milenage's f2 gives 8.
    const attached = await svc.answerRes(txn, hexBodyField(body, 'res', 4, 16));
    sendJson(res, 200, { result: 'success', ...attached });
  } else {
    // AUTS = Conc(SQN_MS) ‖ MAC-S: 6 + 8 octets (TS 33.102 §6.3.3).
    const challenge = await svc.answerAuts(txn, hexBodyField(body, 'auts', 14, 14));
    sendJson(res, 200, { result: 'challenge', ...challenge });
  }
}

function methodGuard(req: IncomingMessage, allowed: readonly string[]): void {
  if (!allowed.includes(req.method ?? '')) {
    throw new ProblemError(405, `method ${String(req.method).slice(0, 16)} not allowed here`, { allow: allowed.join(', ') });
  }
}

async function route(svc: AttachService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/healthz') {
    methodGuard(req, ['GET', 'HEAD']);
    sendJson(res, 200, { status: 'ok' });
    return;
  }
  if (path === '/v1/attach') {
    methodGuard(req, ['POST']);
    await onAttach(svc, req, res);
    return;
  }
  const m = ATTACH_TXN_PATH.exec(path);
  if (m !== null) {
    methodGuard(req, ['POST']);
    await onAnswer(svc, m[1] ?? '', req, res);
    return;
  }
  throw new ProblemError(404, 'no such resource');
}

/** Starts the HSS simulator on host:port and begins mapping identities at the EMKS. */
export async function createHssSim(o: HssSimOptions): Promise<HssSim> {
  const logger = o.logger ?? silentLogger();
  const clock = o.clock ?? systemClock;
  const emksTimeoutMs = o.emksTimeoutMs ?? 3_000;
  const sqn = new SqnStore(new Map(o.subscribers.map((s) => [s.imsi, s.sqn])), o.stateFile);
  const svc = new AttachService({
    subscribers: o.subscribers,
    sqn,
    emks: o.emks,
    logger,
    clock,
    rng: o.rng ?? randomBytes,
    amf: o.amf ?? DEFAULT_AMF,
    emksTimeoutMs,
    txnTtlMs: o.txnTtlMs ?? 60_000,
    maxTransactions: o.maxTransactions ?? 10_000,
  });

  const server = createServer((req, res) => {
    route(svc, req, res).catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof ProblemError) {
        sendProblem(res, err.status, err.message, err.headers);
        return;
      }
      logger.error({ code: (err as { code?: unknown }).code, reason: err instanceof Error ? err.message : String(err) }, 'request failed');
      sendProblem(res, 500, 'internal error');
    });
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ address: address.address, port: address.port, subscribers: o.subscribers.length }, 'hss-sim listening');

  const pairs = o.subscribers.flatMap((s) => s.identities.map((identity) => ({ identity, imsi: s.imsi })));
  const sync = syncIdentities(pairs, { emks: o.emks, logger, clock, callTimeoutMs: emksTimeoutMs }, o.identitySync);

  return {
    address,
    url: `http://${host}:${address.port}`,
    identitiesMapped: sync.done,
    close: async () => {
      sync.cancel();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      svc.close();
      logger.info('hss-sim stopped');
    },
  };
}
