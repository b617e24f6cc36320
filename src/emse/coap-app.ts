/**
 * The EMSE's application layer: a node-coap server over the DTLS sessions (DESIGN.md §7), with a
 * small router whose handlers see the authenticated identity, plus an echo of raw application data
 * that is not CoAP (handy with openssl s_client and gnutls-cli).
 */
import coap from 'coap';
import type { IncomingMessage, OutgoingMessage } from 'coap';
import type { AddressInfo } from 'node:net';
import { CoapSessionSocket, type CoapSessionInfo, looksLikeCoapRequest } from '../coap/server-socket.js';
import type { DtlsServer } from '../dtls/endpoint/server.js';
import type { Logger } from '../util/log.js';

/** What a resource handler gets besides node-coap's request and response. */
export interface ResourceContext {
  /** The psk_identity the DTLS handshake authenticated, as text. */
  readonly identity: string;
  readonly session: CoapSessionInfo['session'];
}

/**
 * Answers one request through `res`. What it returns is ignored, except that a returned promise is
 * awaited and its rejection answers 5.00 (so `(req, res) => res.end(x)` is a handler too).
 */
export type ResourceHandler = (req: IncomingMessage, res: OutgoingMessage, ctx: ResourceContext) => unknown;

export interface Resource {
  /** Path without leading slash, e.g. "hello". */
  readonly path: string;
  /** CoRE Link Format attributes for /.well-known/core (RFC 6690), e.g. `rt="e2m.hello"`. */
  readonly attributes?: string;
  readonly methods: Readonly<Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', ResourceHandler>>>;
  /** Releases what the resource holds (timers, observers); called when the app stops. */
  close?(): void;
}

/** GET /hello: greets the authenticated identity. */
export const helloResource: Resource = {
  path: 'hello',
  attributes: 'rt="e2m.hello";ct=0',
  methods: {
    GET: (_req, res, ctx) => {
      res.setOption('Content-Format', 'text/plain');
      res.end(`Hello, ${ctx.identity}!`);
    },
  },
};

/** POST /echo: returns the payload (Block-wise capable through node-coap). */
export const echoResource: Resource = {
  path: 'echo',
  attributes: 'rt="e2m.echo"',
  methods: {
    POST: (req, res) => {
      res.code = '2.04';
      res.end(req.payload);
    },
  },
};

export interface CoapAppOptions {
  readonly resources: readonly Resource[];
  readonly logger: Logger;
  /** Echo raw (non-CoAP) application data back to its sender. Default true. */
  readonly echoRaw?: boolean;
}

/** Payload octets node-coap's duplicate-detection cache may hold (RFC 7252 §4.5). */
const RESPONSE_CACHE_OCTETS = 64 * 1024;

/** Serves CoAP on every session of `dtls`; returns a function that stops it. */
export function attachCoapApp(dtls: DtlsServer, local: () => AddressInfo, opts: CoapAppOptions): { close(): void } {
  const socket = new CoapSessionSocket(local);
  const table = new Map(opts.resources.map((r) => [r.path, r]));
  const wellKnown = opts.resources.map((r) => `</${r.path}>${r.attributes ? `;${r.attributes}` : ''}`).join(',');
  // RFC 7252 §9.1.1: exchanges belong to the DTLS session, not to address:port.
  const clientIdentifier = (req: IncomingMessage): string => {
    const r = req.rsinfo as unknown as CoapSessionInfo;
    return `${r.address}|${r.port}|${r.sessionId}`;
  };
  // node-coap keeps every response for EXCHANGE_LIFETIME (247 s) to answer duplicate CONs, and its
  // default cap (32 MiB) counts only payload octets: ~1 M small responses of ~5 KB each. The cap
  // below bounds that cache to a few thousand recent exchanges.
  const server = coap.createServer({ clientIdentifier, cacheSize: RESPONSE_CACHE_OCTETS });
  keyBlockTransfersByResource(server, clientIdentifier);
  server.on('request', (req: IncomingMessage, res: OutgoingMessage) => {
    const info = req.rsinfo as unknown as CoapSessionInfo;
    const path = (req.url.split('?')[0] ?? '').replace(/^\/+/, '');
    if (path === '.well-known/core' && req.method === 'GET') {
      res.setOption('Content-Format', 'application/link-format');
      res.end(wellKnown);
      return;
    }
    const resource = table.get(path);
    if (resource === undefined) {
      res.code = '4.04';
      res.end();
      return;
    }
    const handler = resource.methods[req.method as 'GET'];
    if (handler === undefined) {
      res.code = '4.05';
      res.end();
      return;
    }
    const failed = (err: unknown): void => {
      opts.logger.warn({ err: err instanceof Error ? err.message : String(err), path }, 'CoAP handler failed');
      try {
        res.code = '5.00';
        res.end();
      } catch {
        // the response was already sent
      }
    };
    try {
      Promise.resolve(handler(req, res, { identity: info.identity, session: info.session })).catch(failed);
    } catch (err) {
      failed(err);
    }
  });
  server.on('error', (err: Error) => opts.logger.warn({ err: err.message }, 'CoAP server error'));
  server.listen(socket as never);

  const onData = (session: Parameters<CoapSessionSocket['deliver']>[0], data: Uint8Array): void => {
    if (looksLikeCoapRequest(data)) socket.deliver(session, data);
    else if (opts.echoRaw !== false) session.send(data);
  };
  const onClose = (session: Parameters<CoapSessionSocket['forget']>[0]): void => socket.forget(session);
  dtls.on('data', onData);
  dtls.on('close', onClose);
  return {
    close: () => {
      dtls.off('data', onData);
      dtls.off('close', onClose);
      for (const r of opts.resources) r.close?.();
      server.close();
    },
  };
}

/**
 * node-coap 1.5 keys its Block1/Block2 transfer caches by token, but RFC 7959 §2.4/§2.5 lets a client
 * use a new token for every block (libcoap does), which made node-coap refuse such uploads with
 * "Byte offset not the next in line". Transfers are keyed here by session, method, URI and
 * Request-Tag (RFC 9175 §3) instead. This replaces node-coap's internal `_toCacheKey`; the test of
 * /echo with libcoap's block-wise client guards it across coap upgrades.
 */
function keyBlockTransfersByResource(server: unknown, clientIdentifier: (req: IncomingMessage) => string): void {
  const s = server as { _toCacheKey?: (req: IncomingMessage, packet: { token?: Buffer; code?: string; options?: { name: string | number; value: Buffer }[] }) => string | null };
  if (typeof s._toCacheKey !== 'function') return;
  s._toCacheKey = (req, packet) => {
    if (packet.token === undefined || packet.token.length === 0) return null;
    const tag = packet.options?.find((o) => o.name === 292 || o.name === 'Request-Tag')?.value.toString('hex') ?? '';
    return `${clientIdentifier(req)}|${packet.code ?? ''}|${req.url}|${tag}`;
  };
}
