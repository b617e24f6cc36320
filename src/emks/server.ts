/**
 * The EMKS HTTPS server (DESIGN.md §5): mutual TLS with the project CA, so a client without a
 * certificate of that CA never reaches HTTP; callers are told apart by their certificate's SAN URI.
 * HTTP/2 (ALPN h2, which the EMSEs use: one connection, many streams) and HTTP/1.1 (the HSS, clients
 * without ALPN or asking for http/1.1) are served by the same handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { loadTlsMaterial, type TlsMaterial } from '../crypto/pki.js';
import { ConfigError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import type { SecretBytes } from '../util/secret.js';
import { createEmksApp } from './app.js';
import { type Exchange, http1Exchange, http2Exchange } from './exchange.js';
import { createEmksMetrics, type EmksMetrics } from './metrics.js';
import { checkKek } from './sealing.js';
import type { EmksStore } from './store.js';

/** Defaults of DESIGN.md §5: keep the last 3 keys per subscriber, serve a key for a day. */
export const DEFAULT_RETAIN = 3;
export const DEFAULT_KEY_TTL_SECONDS = 86_400;
/** Upper bounds that keep the numbers sane (also the CLI's). */
export const MAX_RETAIN = 100;
export const MAX_KEY_TTL_SECONDS = 31 * 86_400;

/** How often keys past their lifetime are deleted. */
const PURGE_INTERVAL_MS = 10 * 60_000;
/** How long close() lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 2_000;
/**
 * Idle connections (authenticated peers only) live longer than the EMSEs' gaps between fetches, so a
 * fetch rarely races a closing connection; an EMSE closes its own idle HTTP/2 session first (60 s).
 */
const KEEP_ALIVE_MS = 65_000;
/** HTTP/1.1: a whole request within 10 s, its headers within 5 s. HTTP/2: a request body within 10 s. */
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
/** Streams one HTTP/2 session may have open at once (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS). */
const MAX_CONCURRENT_STREAMS = 256;

export interface EmksServerOptions {
  readonly host: string;
  /** 0 picks a free port (read it from `address`). */
  readonly port: number;
  /** A PKI folder (emks.pem, emks.key, ca.pem) or the PEM material itself. */
  readonly pki: string | TlsMaterial;
  /** The store; the caller owns it (close() leaves it open). */
  readonly store: EmksStore;
  /** The 32-octet key-encryption key that seals keys at rest. */
  readonly kek: Uint8Array | SecretBytes;
  /** Keys kept per subscriber, newest by createdAt (default 3). */
  readonly retain?: number;
  /** Lifetime of a key after its createdAt, seconds (default 86400): the EMSE's `expiresAt`. */
  readonly keyTtlSeconds?: number;
  readonly logger?: Logger;
  /** Bound on a whole HTTP/1.1 request and on an HTTP/2 request body, ms (default 10 000). */
  readonly requestTimeoutMs?: number;
  /** Wall clock, ms since the Unix epoch (tests). */
  readonly now?: () => number;
}

export interface EmksServer {
  readonly address: AddressInfo;
  readonly metrics: EmksMetrics;
  /** Stops accepting, lets requests in flight finish (bounded), closes every connection. */
  close(): Promise<void>;
}

function checkCount(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new ConfigError(name, `must be an integer between 1 and ${max}`);
  return value;
}

function listen(server: Http2SecureServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise<AddressInfo>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ConfigError('listen', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Starts the EMKS on host:port. */
export async function createEmksServer(o: EmksServerOptions): Promise<EmksServer> {
  const retain = checkCount(o.retain ?? DEFAULT_RETAIN, 'retain', MAX_RETAIN);
  const keyTtlSeconds = checkCount(o.keyTtlSeconds ?? DEFAULT_KEY_TTL_SECONDS, 'keyTtlSeconds', MAX_KEY_TTL_SECONDS);
  checkKek(o.kek);
  const tls = typeof o.pki === 'string' ? loadTlsMaterial(o.pki, 'emks') : o.pki;
  const logger = o.logger ?? silentLogger();
  const now = o.now ?? Date.now;
  const metrics = createEmksMetrics(o.store);
  const requestTimeoutMs = checkCount(o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, 'requestTimeoutMs', 3_600_000);
  const app = createEmksApp({ store: o.store, kek: o.kek, retain, keyTtlSeconds, metrics, now, logger, requestTimeoutMs });

  const server = createSecureServer({
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    allowHTTP1: true,
    // Answers leave at once (no Nagle delay behind a small write).
    noDelay: true,
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
  });
  // The HTTP/1.1 side reads its limits from these (http.Server's options of the same names).
  Object.assign(server, { requestTimeout: requestTimeoutMs, headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs), keepAliveTimeout: KEEP_ALIVE_MS });
  // Requests are served in batches: those that arrived in one turn of the event loop (on all
  // connections; an EMSE's HTTP/2 streams mostly arrive many to a read) are started together, after
  // the reads. Node delivers each request in a callback of its own and runs its promise reactions
  // before the next one, so one at a time each request would walk the whole path (HTTP/2, SQLite,
  // AES-GCM, HMAC) with caches the others had evicted; started together, their steps interleave at
  // every await, and each step runs for all of them in a row (about a fifth less CPU per key fetch).
  let batch: Exchange[] = [];
  const serveBatch = (): void => {
    const now = batch;
    batch = [];
    for (const ex of now) app(ex);
  };
  const enqueue = (ex: Exchange): void => {
    if (batch.push(ex) === 1) setImmediate(serveBatch);
  };
  // HTTP/1.1 requests arrive as 'request'. Listening to it also makes node:http2 serve HTTP/2 streams
  // through its compatibility objects; those streams are taken directly from 'stream' instead.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => enqueue(http1Exchange(req, res)));
  server.removeAllListeners('stream');
  server.on('stream', (stream, headers) => enqueue(http2Exchange(stream, headers)));
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    metrics.countTlsRefusal();
    // A certificate that does not verify is cut by Node without an alert: its reason is authorizationError.
    const reason = String(socket.authorizationError ?? err.code ?? err.message);
    const peer = socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort ?? '?'}`;
    logger.info({ peer, reason }, 'TLS handshake refused');
  });
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // GOAWAY after a quiet spell: streams already open finish, the EMSE opens a new session later.
    session.setTimeout(KEEP_ALIVE_MS, () => session.close());
    session.on('error', (err) => logger.debug({ reason: err.message }, 'HTTP/2 session error'));
  });
  const address = await listen(server, o.port, o.host);

  const purge = async (): Promise<void> => {
    try {
      const n = await o.store.deleteIntKeysCreatedBefore(now() - keyTtlSeconds * 1000);
      if (n > 0) logger.info({ deleted: n }, 'expired keys deleted');
    } catch (err) {
      logger.warn({ reason: err instanceof Error ? err.message : String(err) }, 'expired-key purge failed');
    }
  };
  void purge();
  const purgeTimer = setInterval(() => void purge(), PURGE_INTERVAL_MS);
  purgeTimer.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(purgeTimer);
      const cut = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, CLOSE_GRACE_MS);
      cut.unref();
      server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      // GOAWAY to every HTTP/2 session (their open streams still finish); idle HTTP/1.1 connections end.
      for (const session of sessions) session.close();
      // With allowHTTP1 the server keeps http.Server's connection list (not in the type definitions).
      (server as unknown as { closeIdleConnections(): void }).closeIdleConnections();
    });
    return closing;
  };
  return { address, metrics, close };
}
