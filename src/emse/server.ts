/**
 * The EMSE (application server): a DTLS-PSK server whose sessions carry CoAP. Its PSK comes from a
 * `pskLookup`: a static table (`--psk IDENTITY=HEX`), or the EMKS fetch of the bootstrap flow.
 */
import type { AddressInfo } from 'node:net';
import { DtlsServer, type DtlsServerOptions } from '../dtls/endpoint/server.js';
import type { PskLookup } from '../dtls/endpoint/server-connection.js';
import type { DtlsSession } from '../dtls/endpoint/session.js';
import { alertName } from '../dtls/wire/constants.js';
import { type Logger, silentLogger } from '../util/log.js';
import { SecretBytes } from '../util/secret.js';
import { attachCoapApp, echoResource, helloResource, type Resource } from './coap-app.js';

export interface EmseServerOptions {
  readonly host: string;
  readonly port: number;
  /** Where PSKs come from (see staticPskLookup). */
  readonly pskLookup: PskLookup;
  /** CoAP resources; default /hello and /echo (plus /.well-known/core, always). */
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
  return async (identity) => byHex.get(Buffer.from(identity).toString('hex'));
}

/** The default CoAP resources of DESIGN.md §7 that need no other role. */
export const defaultResources: readonly Resource[] = [helloResource, echoResource];

/** Starts an EMSE on host:port. */
export async function createEmseServer(opts: EmseServerOptions): Promise<EmseServer> {
  const logger = opts.logger ?? silentLogger();
  const dtls = new DtlsServer({ ...opts.dtls, pskLookup: opts.pskLookup, logger });
  const address = await dtls.listen(opts.port, opts.host);
  dtls.on('session', (s: DtlsSession) =>
    logger.info({ peer: `${s.remoteAddress}:${s.remotePort}`, identity: s.identityText, suite: s.cipherSuite }, 'session established'),
  );
  dtls.on('handshakeError', (e) =>
    logger.info({ peer: `${e.address}:${e.port}`, alert: e.alert === undefined ? undefined : alertName(e.alert), reason: e.message }, 'handshake failed'),
  );
  dtls.on('close', (s, r) => logger.debug({ peer: `${s.remoteAddress}:${s.remotePort}`, reason: r.kind }, 'session closed'));
  const app = attachCoapApp(dtls, () => address, { resources: opts.resources ?? defaultResources, logger });
  return {
    address,
    dtls,
    close: async () => {
      app.close();
      await dtls.close();
    },
  };
}
