/**
 * The EMKS request handler: routing, the role gate, strict checks of query, media type and body
 * size, problem+json for every failure (DESIGN.md §5, §9), one structured log line and one metric
 * per request. Checks run in this order: path (404), method (405), role (403), query (400), media
 * type (415), size (413), JSON (400), fields (400, in the handler).
 */
import type { Logger } from '../util/log.js';
import { type Caller, type CallerRole, callerOf } from './caller.js';
import * as h from './handlers.js';
import type { Exchange } from './exchange.js';
import { HttpProblem, isJsonMediaType, parseJson, readBody, RequestAbortedError, sendJson, sendProblem } from './http.js';

type Method = 'GET' | 'POST' | 'PUT';

interface Endpoint {
  /** Who may call: a role from the certificate, or any client the TLS layer accepted. */
  readonly role: CallerRole | 'any';
  /** Query parameters allowed (others are 400); `ignored` ones are accepted and dropped. */
  readonly query?: readonly string[];
  readonly ignoredQuery?: readonly string[];
  /** `json`: a JSON body is required; `optional`: empty or JSON; `none`: no body. */
  readonly body: 'json' | 'optional' | 'none';
  readonly handle: h.Handler;
}

interface Route {
  /** The template, e.g. /v1/subscribers/:imsi/int-keys (also the metrics label). */
  readonly template: string;
  readonly methods: Readonly<Partial<Record<Method, Endpoint>>>;
}

/** A route with its template split into segments once. */
type CompiledRoute = Route & { readonly parts: readonly string[] };

function routes(d: h.HandlerDeps): readonly CompiledRoute[] {
  const table: Route[] = [
    { template: '/v1/subscribers/:imsi/int-keys', methods: { POST: { role: 'hss', body: 'json', handle: h.pushIntKey(d) } } },
    { template: '/v1/subscribers/:imsi/auth-results', methods: { POST: { role: 'hss', body: 'json', handle: h.reportAuthResult(d) } } },
    { template: '/v1/identities/:appIdentity', methods: { PUT: { role: 'hss', body: 'json', handle: h.mapIdentity(d) } } },
    { template: '/v1/emse/register', methods: { POST: { role: 'emse', body: 'optional', handle: h.registerEmse(d) } } },
    {
      template: '/v1/e2m-keys',
      methods: { GET: { role: 'emse', body: 'none', query: ['identity', 'kid'], ignoredQuery: ['emseId'], handle: h.fetchE2mKey(d) } },
    },
    { template: '/healthz', methods: { GET: { role: 'any', body: 'none', handle: h.healthz(d) } } },
    { template: '/metrics', methods: { GET: { role: 'any', body: 'none', handle: h.metrics(d) } } },
  ];
  return table.map((r) => ({ ...r, parts: r.template.split('/') }));
}

/** Matches raw path segments against a template's; the `:name` segments are returned in order. */
function matchTemplate(parts: readonly string[], segments: readonly string[]): string[] | undefined {
  if (parts.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const seg = segments[i] as string;
    if (part.startsWith(':')) {
      if (seg.length === 0) return undefined;
      params.push(seg);
    } else if (part !== seg) {
      return undefined;
    }
  }
  return params;
}

function checkQuery(query: URLSearchParams, e: Endpoint): void {
  const allowed = e.query ?? [];
  const ignored = e.ignoredQuery ?? [];
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!allowed.includes(name) && !ignored.includes(name)) {
      const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
      throw new HttpProblem(400, 'unknown-parameter', `unknown query parameter ${shown}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    }
    if (seen.has(name) && allowed.includes(name)) throw new HttpProblem(400, 'invalid-field', `${name}: given more than once`);
    seen.add(name);
  }
}

function checkRole(caller: Caller | undefined, e: Endpoint): void {
  if (e.role === 'any') return;
  if (caller?.role !== e.role) {
    const who = e.role === 'hss' ? 'the HSS' : 'an EMSE';
    throw new HttpProblem(403, 'forbidden', `only ${who} may make this call (the client certificate names ${caller ? `${caller.role} ${caller.name}` : 'no e2m role'})`);
  }
}

async function readRequestBody(ex: Exchange, e: Endpoint, timeoutMs: number): Promise<unknown> {
  if (e.body === 'none') {
    if (ex.announcesBody()) throw new HttpProblem(400, 'invalid-body', 'this call takes no body');
    return undefined;
  }
  const announced = ex.announcesBody();
  if ((announced || e.body === 'json') && !isJsonMediaType(ex.headers['content-type'])) {
    throw new HttpProblem(415, 'unsupported-media-type', 'the body must be application/json');
  }
  // HTTP/1.1 bodies are bounded by the server's requestTimeout; HTTP/2 streams here.
  const body = parseJson(await readBody(ex.body, ex.headers, undefined, ex.http2 ? timeoutMs : undefined));
  if (body === undefined && e.body === 'json') throw new HttpProblem(400, 'invalid-body', 'the body must be a JSON object');
  return body;
}

/** Answers a failed request: problem+json for an HttpProblem, a logged 500 for anything else. */
function answerError(ex: Exchange, err: unknown, route: string, logger: Logger): void {
  if (err instanceof RequestAbortedError || ex.answeredOrGone) {
    ex.destroy();
    return;
  }
  if (err instanceof HttpProblem) {
    sendProblem(ex, err);
    return;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error({ route, err: { name: e.name, code: (e as { code?: unknown }).code, message: e.message, stack: e.stack } }, 'request failed');
  sendProblem(ex, new HttpProblem(500, 'internal-error', 'the EMKS could not complete this request'));
}

export interface EmksAppOptions extends h.HandlerDeps {
  readonly logger: Logger;
  /** Bound on reading an HTTP/2 request body, ms (default 10 000). */
  readonly requestTimeoutMs?: number;
}

/** The handler of the EMKS HTTPS server: one call per request (src/emks/exchange.ts). */
export function createEmksApp(o: EmksAppOptions): (ex: Exchange) => void {
  const table = routes(o);
  const requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
  const dispatch = async (ex: Exchange, caller: Caller | undefined, path: string, rawQuery: string, note: (route: string) => void): Promise<h.Reply> => {
    if (!path.startsWith('/')) throw new HttpProblem(400, 'invalid-path', 'the request target must be an absolute path');
    const segments = path.split('/');
    for (const route of table) {
      const params = matchTemplate(route.parts, segments);
      if (params === undefined) continue;
      note(route.template);
      const method = ex.method;
      const e = Object.hasOwn(route.methods, method) ? route.methods[method as Method] : undefined;
      if (e === undefined) {
        throw new HttpProblem(405, 'method-not-allowed', `${route.template} answers ${Object.keys(route.methods).join(', ')}`, {
          allow: Object.keys(route.methods).join(', '),
        });
      }
      checkRole(caller, e);
      const query = new URLSearchParams(rawQuery);
      checkQuery(query, e);
      const body = await readRequestBody(ex, e, requestTimeoutMs);
      return e.handle({ caller, params, query, body, log: o.logger });
    }
    throw new HttpProblem(404, 'not-found', 'no such resource');
  };

  return (ex) => {
    const started = performance.now();
    const target = ex.target;
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const caller = callerOf(ex.socket, ex.connectionKey);
    let route = 'unmatched';
    ex.onDone((status) => {
      o.metrics.countRequest(route, ex.method, status);
      // The line is not even built below the info level (--log-level warn).
      if (!o.logger.isLevelEnabled('info')) return;
      o.logger.info(
        {
          method: ex.method,
          path: path.length > 200 ? `${path.slice(0, 200)}…` : path,
          route,
          status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          caller: caller ? { role: caller.role, name: caller.name } : { role: 'none' },
        },
        'request',
      );
    });
    const serve = async (): Promise<void> => {
      try {
        const reply = await dispatch(ex, caller, path, q < 0 ? '' : target.slice(q + 1), (r) => (route = r));
        if (reply.text !== undefined) ex.send(reply.status, { 'content-type': reply.text.contentType }, reply.text.body);
        else sendJson(ex, reply.status, reply.json);
      } catch (err) {
        answerError(ex, err, route, o.logger);
      }
    };
    // Whatever happens, one request never takes the server down.
    serve().catch(() => ex.destroy());
  };
}
