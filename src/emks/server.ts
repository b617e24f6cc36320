/**
 * The EMKS HTTPS server (DESIGN.md §5): mutual TLS with the project CA, so a client without a
 * certificate of that CA never reaches HTTP; callers are told apart by their certificate's SAN URI.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { loadTlsMaterial, type TlsMaterial } from '../crypto/pki.js';
import { ConfigError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import type { SecretBytes } from '../util/secret.js';
import { createEmksApp } from './app.js';
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

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
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
  const app = createEmksApp({ store: o.store, kek: o.kek, retain, keyTtlSeconds, metrics, now, logger });

  const server = createServer(
    {
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // A whole request within 10 s; idle keep-alive connections (authenticated peers only) live
      // longer than the EMSEs' gaps between fetches, so a fetch rarely races a closing socket.
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 65_000,
    },
    app,
  );
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    metrics.countTlsRefusal();
    // A certificate that does not verify is cut by Node without an alert: its reason is authorizationError.
    const reason = String(socket.authorizationError ?? err.code ?? err.message);
    const peer = socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort ?? '?'}`;
    logger.info({ peer, reason }, 'TLS handshake refused');
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
      const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      cut.unref();
      server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { address, metrics, close };
}
