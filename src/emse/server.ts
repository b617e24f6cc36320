/**
 * The EMSE (application server): a DTLS-PSK server whose sessions carry CoAP. Its PSK comes from a
 * `pskLookup`: a static table (`--psk IDENTITY=HEX`), or the EMKS fetch of the bootstrap flow
 * (createEmksPskLookup, DESIGN.md §1 steps 5-7).
 */
import type { AddressInfo } from 'node:net';
import { DtlsServer, type DtlsServerOptions } from '../dtls/endpoint/server.js';
import type { PskLookup } from '../dtls/endpoint/server-connection.js';
import type { DtlsSession } from '../dtls/endpoint/session.js';
import { alertName } from '../dtls/wire/constants.js';
import { type Logger, silentLogger } from '../util/log.js';
import { SecretBytes } from '../util/secret.js';
import { attachCoapApp, echoResource, helloResource, type Resource } from './coap-app.js';
import type { EmksPskLookup } from './emks-lookup.js';
import { telemetryResource, type TelemetryOptions } from './telemetry.js';
import { timeResource, type TimeResourceOptions } from './time.js';

export interface EmseServerOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Where PSKs come from: staticPskLookup, or createEmksPskLookup (whose timeout then bounds the
   * DTLS lookup too, and which close() closes).
   */
  readonly pskLookup: PskLookup | EmksPskLookup;
  /** CoAP resources; default createDefaultResources() (plus /.well-known/core, always). */
  readonly resources?: readonly Resource[];
  readonly logger?: Logger;
  /** Further DTLS options (key log, MTU, retransmission, limits, clock). */
  readonly dtls?: Omit<DtlsServerOptions, 'pskLookup' | 'logger'>;
}

export interface EmseServer {
  readonly address: AddressInfo;
  readonly dtls: DtlsServer;
  close(): Promise<void>;
}

/** A lookup over a fixed table of identity → key (identities compared as UTF-8 bytes). */
export function staticPskLookup(table: ReadonlyMap<string, Uint8Array | SecretBytes>): PskLookup {
  const byHex = new Map<string, SecretBytes>();
  for (const [id, key] of table) {
    byHex.set(Buffer.from(id, 'utf8').toString('hex'), key instanceof SecretBytes ? key : new SecretBytes(key));
  }
  return (identity) => byHex.get(Buffer.from(identity).toString('hex'));
}

/** The stateless default resources: /hello and /echo (to combine with an application's own). */
export const defaultResources: readonly Resource[] = [helloResource, echoResource];

export interface DefaultResourceOptions {
  readonly time?: TimeResourceOptions;
  readonly telemetry?: TelemetryOptions;
}

/**
 * Every default CoAP resource of DESIGN.md §7: /hello, /echo, /telemetry, /time, the last two with
 * fresh state on every call (each server has its own readings and observers).
 */
export function createDefaultResources(o: DefaultResourceOptions = {}): Resource[] {
  return [...defaultResources, telemetryResource(o.telemetry), timeResource(o.time)];
}

/** Margin of the DTLS lookup bound over the EMKS request bound, so that the EMKS error is what ends it. */
const LOOKUP_MARGIN_MS = 1_000;

function isEmksLookup(l: PskLookup | EmksPskLookup): l is EmksPskLookup {
  return typeof (l as Partial<EmksPskLookup>).register === 'function' && typeof (l as Partial<EmksPskLookup>).close === 'function';
}

/** Starts an EMSE on host:port. */
export async function createEmseServer(opts: EmseServerOptions): Promise<EmseServer> {
  const logger = opts.logger ?? silentLogger();
  const emks = isEmksLookup(opts.pskLookup) ? opts.pskLookup : undefined;
  const lookupTimeoutMs = opts.dtls?.lookupTimeoutMs ?? (emks ? emks.timeoutMs + LOOKUP_MARGIN_MS : undefined);
  const dtls = new DtlsServer({
    ...opts.dtls,
    ...(lookupTimeoutMs === undefined ? {} : { lookupTimeoutMs }),
    pskLookup: opts.pskLookup,
    logger,
  });
  const address = await dtls.listen(opts.port, opts.host);
  dtls.on('session', (s: DtlsSession) =>
    logger.info({ peer: `${s.remoteAddress}:${s.remotePort}`, identity: s.identityText, suite: s.cipherSuite }, 'session established'),
  );
  dtls.on('handshakeError', (e) =>
    logger.info({ peer: `${e.address}:${e.port}`, alert: e.alert === undefined ? undefined : alertName(e.alert), reason: e.message }, 'handshake failed'),
  );
  dtls.on('close', (s, r) => logger.debug({ peer: `${s.remoteAddress}:${s.remotePort}`, reason: r.kind }, 'session closed'));
  const app = attachCoapApp(dtls, () => address, { resources: opts.resources ?? createDefaultResources(), logger });
  return {
    address,
    dtls,
    close: async () => {
      app.close();
      await dtls.close();
      emks?.close();
    },
  };
}
