/**
 * The EMSE's application layer: a node-coap server over the DTLS sessions (DESIGN.md §7), with a
 * small router whose handlers see the authenticated identity, plus an echo of raw application data
 * that is not CoAP (handy with openssl s_client and gnutls-cli).
 */
import coap from 'coap';
import type { IncomingMessage, OutgoingMessage } from 'coap';
import { parse, type ParsedPacket } from 'coap-packet';
import type { AddressInfo } from 'node:net';
import { contentResponseHeaderLength, MAX_TOKEN_LENGTH, writeContentResponseHeader } from '../coap/content-response.js';
import { CoapSessionSocket, type CoapSessionInfo, looksLikeCoapRequest } from '../coap/server-socket.js';
import type { DtlsServer } from '../dtls/endpoint/server.js';
import type { DtlsSession } from '../dtls/endpoint/session.js';
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

/** A resource's current state as a GET answers it (2.05 Content). */
export interface Representation {
  readonly payload: string | Uint8Array;
  /** CoAP Content-Format number (RFC 7252 §12.3), e.g. 0 for text/plain; none if omitted. */
  readonly contentFormat?: number;
}

export interface Resource {
  /** Path without leading slash, e.g. "hello". */
  readonly path: string;
  /** CoRE Link Format attributes for /.well-known/core (RFC 6690), e.g. `rt="e2m.hello"`. */
  readonly attributes?: string;
  /** Handlers per method. A GET handler may be left out when `read` is given. */
  readonly methods: Readonly<Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', ResourceHandler>>>;
  /**
   * A synchronous, side-effect-free GET: the representation for `ctx`. Given it, plain GETs (no
   * options besides Uri-Host, Uri-Port and Uri-Path, no payload, an answer that fits one message)
   * are answered straight from the datagram, without node-coap's request pipeline; every other GET
   * goes through node-coap and is answered from `read` too (unless `methods.GET` is given).
   */
  readonly read?: (ctx: ResourceContext) => Representation;
  /** Releases what the resource holds (timers, observers); called when the app stops. */
  close?(): void;
}

const CONTENT_FORMAT_TEXT = 0;
const CONTENT_FORMAT_LINK = 40;

/** GET /hello: greets the authenticated identity. */
export const helloResource: Resource = {
  path: 'hello',
  attributes: 'rt="e2m.hello";ct=0',
  methods: {},
  read: (ctx) => ({ payload: `Hello, ${ctx.identity}!`, contentFormat: CONTENT_FORMAT_TEXT }),
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
      res.setOption('Content-Format', CONTENT_FORMAT_LINK);
      res.end(wellKnown);
      return;
    }
    const resource = table.get(path);
    if (resource === undefined) {
      res.code = '4.04';
      res.end();
      return;
    }
    const ctx: ResourceContext = { identity: info.identity, session: info.session };
    const handler = resource.methods[req.method as 'GET'] ?? (req.method === 'GET' ? readHandler(resource) : undefined);
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
      Promise.resolve(handler(req, res, ctx)).catch(failed);
    } catch (err) {
      failed(err);
    }
  });
  server.on('error', (err: Error) => opts.logger.warn({ err: err.message }, 'CoAP server error'));
  server.listen(socket as never);

  const plainGets = new PlainGetAnswerer(table, opts.logger);
  const onData = (session: DtlsSession, data: Uint8Array): void => {
    if (!looksLikeCoapRequest(data)) {
      if (opts.echoRaw !== false) session.send(data);
    } else if (!plainGets.answer(session, data)) {
      socket.deliver(session, data);
    }
  };
  const onClose = (session: DtlsSession): void => socket.forget(session);
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

/** Answers GETs through node-coap from a resource's `read`. */
function readHandler(resource: Resource): ResourceHandler | undefined {
  const read = resource.read;
  if (read === undefined) return undefined;
  return (_req, res, ctx) => {
    const r = read(ctx);
    if (r.contentFormat !== undefined) res.setOption('Content-Format', r.contentFormat);
    res.end(typeof r.payload === 'string' ? r.payload : Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength));
  };
}

/** RFC 7252 §5.10 option numbers a plain GET may carry. */
const URI_HOST = 3;
const URI_PORT = 7;
const URI_PATH = 11;
/** Largest payload answered in one message; node-coap switches to Block2 (RFC 7959) above it. */
const MAX_PLAIN_PAYLOAD = 1024;

/**
 * Answers plain GETs of resources with a `read` straight from the datagram: parse (coap-packet,
 * node-coap's own codec), read, one 2.05 response written by content-response.ts (a piggybacked ACK
 * to a CON, RFC 7252 §5.2.1; a NON to a NON, §5.2.3). Anything else — other methods, options such as
 * Observe, Block2, Accept or ETag, unknown paths, empty messages, Resets — is left to node-coap. The
 * decision depends on the datagram alone, so a retransmitted CON takes the same path as its original;
 * GET is safe and idempotent, so a duplicate is answered afresh rather than from a cache (RFC 7252
 * §4.5 allows it).
 */
class PlainGetAnswerer {
  /** Message IDs of NON responses (§4.4); starts at a random point like node-coap's. */
  private messageId = Math.floor(Math.random() * 0x10000);
  /** The response being built: the longest header (4 + token 8 + option 3 + marker) and payload. */
  private readonly scratch = Buffer.alloc(16 + MAX_PLAIN_PAYLOAD);

  constructor(
    private readonly table: ReadonlyMap<string, Resource>,
    private readonly logger: Logger,
  ) {}

  /** Whether the datagram was answered here. */
  answer(session: DtlsSession, data: Uint8Array): boolean {
    // Method GET (0.01) is the second octet; anything else is not ours to look at.
    if (data[1] !== 0x01) return false;
    let packet: ParsedPacket;
    try {
      packet = parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch {
      return false;
    }
    if (packet.ack || packet.reset || packet.payload.length > 0) return false;
    const segments: string[] = [];
    for (const o of packet.options) {
      const n = typeof o.name === 'number' ? o.name : OPTION_NUMBERS[o.name];
      if (n === URI_PATH) segments.push(o.value.toString('utf8'));
      else if (n !== URI_HOST && n !== URI_PORT) return false;
    }
    const resource = this.table.get(segments.join('/'));
    const read = resource?.read;
    if (read === undefined || resource?.methods.GET !== undefined) return false;
    let r: Representation;
    try {
      r = read({ identity: session.identityText, session });
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), path: resource?.path }, 'CoAP read failed');
      return false;
    }
    const text = typeof r.payload === 'string' ? r.payload : undefined;
    const payloadLength = text === undefined ? (r.payload as Uint8Array).length : Buffer.byteLength(text, 'utf8');
    if (payloadLength > MAX_PLAIN_PAYLOAD || packet.token.length > MAX_TOKEN_LENGTH) return false;
    const confirmable = packet.confirmable;
    const header = {
      ack: confirmable,
      messageId: confirmable ? packet.messageId : this.nextMessageId(),
      token: packet.token,
      contentFormat: r.contentFormat,
    };
    // Built in one reused buffer: session.send() seals it into a record before it returns.
    const size = contentResponseHeaderLength(header, payloadLength) + payloadLength;
    const out = this.scratch;
    let at: number;
    try {
      at = writeContentResponseHeader(out, header, payloadLength);
    } catch (err) {
      // A Content-Format outside 0..65535: node-coap's path answers (5.00 if it cannot either).
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), path: resource?.path }, 'CoAP read gave an unusable representation');
      return false;
    }
    if (text === undefined) out.set(r.payload as Uint8Array, at);
    else out.write(text, at, 'utf8');
    session.send(out.subarray(0, size));
    return true;
  }

  private nextMessageId(): number {
    this.messageId = (this.messageId + 1) & 0xffff;
    return this.messageId;
  }
}

/** coap-packet names the options it knows; the numbers of those a plain GET is judged by. */
const OPTION_NUMBERS: Readonly<Record<string, number>> = { 'Uri-Host': URI_HOST, 'Uri-Port': URI_PORT, 'Uri-Path': URI_PATH };
