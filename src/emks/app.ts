/**
 * The EMKS request handler: routing, the role gate, strict checks of query, media type and body
 * size, problem+json for every failure (DESIGN.md §5, §9), one structured log line and one metric
 * per request. Checks run in this order: path (404), method (405), role (403), query (400), media
 * type (415), size (413), JSON (400), fields (400, in the handler).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../util/log.js';
import { type Caller, type CallerRole, callerOf } from './caller.js';
import * as h from './handlers.js';
import { hasBody, HttpProblem, isJsonMediaType, parseJson, readBody, RequestAbortedError, sendJson, sendProblem } from './http.js';

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

function routes(d: h.HandlerDeps): readonly Route[] {
  return [
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
}

/** Matches raw path segments against a template; the `:name` segments are returned in order. */
function matchTemplate(template: string, segments: readonly string[]): string[] | undefined {
  const parts = template.split('/');
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

async function readRequestBody(req: IncomingMessage, e: Endpoint): Promise<unknown> {
  if (e.body === 'none') {
    if (hasBody(req)) throw new HttpProblem(400, 'invalid-body', 'this call takes no body');
    return undefined;
  }
  const announced = hasBody(req);
  if ((announced || e.body === 'json') && !isJsonMediaType(req.headers['content-type'])) {
    throw new HttpProblem(415, 'unsupported-media-type', 'the body must be application/json');
  }
  const body = parseJson(await readBody(req));
  if (body === undefined && e.body === 'json') throw new HttpProblem(400, 'invalid-body', 'the body must be a JSON object');
  return body;
}

/** Answers a failed request: problem+json for an HttpProblem, a logged 500 for anything else. */
function answerError(res: ServerResponse, err: unknown, route: string, logger: Logger): void {
  if (err instanceof RequestAbortedError || res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (err instanceof HttpProblem) {
    sendProblem(res, err);
    return;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error({ route, err: { name: e.name, code: (e as { code?: unknown }).code, message: e.message, stack: e.stack } }, 'request failed');
  sendProblem(res, new HttpProblem(500, 'internal-error', 'the EMKS could not complete this request'));
}

export interface EmksAppOptions extends h.HandlerDeps {
  readonly logger: Logger;
}

/** The request listener of the EMKS HTTPS server. */
export function createEmksApp(o: EmksAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(o);
  const dispatch = async (req: IncomingMessage, caller: Caller | undefined, path: string, rawQuery: string, note: (route: string) => void): Promise<h.Reply> => {
    if (!path.startsWith('/')) throw new HttpProblem(400, 'invalid-path', 'the request target must be an absolute path');
    const segments = path.split('/');
    for (const route of table) {
      const params = matchTemplate(route.template, segments);
      if (params === undefined) continue;
      note(route.template);
      const method = req.method ?? '';
      const e = Object.hasOwn(route.methods, method) ? route.methods[method as Method] : undefined;
      if (e === undefined) {
        throw new HttpProblem(405, 'method-not-allowed', `${route.template} answers ${Object.keys(route.methods).join(', ')}`, {
          allow: Object.keys(route.methods).join(', '),
        });
      }
      checkRole(caller, e);
      const query = new URLSearchParams(rawQuery);
      checkQuery(query, e);
      const body = await readRequestBody(req, e);
      return e.handle({ caller, params, query, body, log: o.logger });
    }
    throw new HttpProblem(404, 'not-found', 'no such resource');
  };

  return (req, res) => {
    const started = performance.now();
    const target = req.url ?? '';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const caller = callerOf(req.socket as TLSSocket);
    let route = 'unmatched';
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 0;
      o.metrics.countRequest(route, req.method ?? '', status);
      o.logger.info(
        {
          method: req.method,
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
        const reply = await dispatch(req, caller, path, q < 0 ? '' : target.slice(q + 1), (r) => (route = r));
        if (reply.text !== undefined) {
          res.statusCode = reply.status;
          res.setHeader('content-type', reply.text.contentType);
          res.end(reply.text.body);
        } else {
          sendJson(res, reply.status, reply.json);
        }
      } catch (err) {
        answerError(res, err, route, o.logger);
      }
    };
    // Whatever happens, one request never takes the server down.
    serve().catch(() => res.destroy());
  };
}
