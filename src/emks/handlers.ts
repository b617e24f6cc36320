/**
 * The EMKS calls of DESIGN.md §5: the HSS pushes intermediate keys, reports AKA outcomes and maps
 * application identities; an EMSE registers and fetches e2m_key = KDF(e2m_int_key, EMSE_Id), with
 * EMSE_Id taken from its certificate (steps 5-7 of the flow in DESIGN.md §1).
 */
import { constantTimeEqual } from '../crypto/primitives.js';
import { deriveE2mKey } from '../kdf/best.js';
import { toHex } from '../util/bytes.js';
import type { Logger } from '../util/log.js';
import type { SecretBytes } from '../util/secret.js';
import type { Caller } from './caller.js';
import { HttpProblem } from './http.js';
import type { EmksMetrics, KeyFetchOutcome } from './metrics.js';
import { openIntKey, sealIntKey } from './sealing.js';
import type { EmksStore, NewIntKey, StoredIntKey } from './store.js';
import { appIdentityValue, bodyObject, choiceValue, dateTimeValue, hexValue, imsiValue, kidValue } from './validate.js';

/** e2m_int_key and RAND sizes (DESIGN.md §3; TS 33.102 §6.3.2). */
const INT_KEY_OCTETS = 32;
const RAND_OCTETS = 16;

/** What the handlers work with. */
export interface HandlerDeps {
  readonly store: EmksStore;
  readonly kek: Uint8Array | SecretBytes;
  readonly retain: number;
  readonly keyTtlSeconds: number;
  readonly metrics: EmksMetrics;
  /** Wall-clock time, ms since the Unix epoch. */
  readonly now: () => number;
}

/** One validated request, as a handler sees it. */
export interface RequestContext {
  /** The authenticated caller (the route already checked its role). */
  readonly caller: Caller | undefined;
  /** Raw (still percent-encoded) path parameters, in template order. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** The parsed JSON body (undefined when empty). */
  readonly body: unknown;
  readonly log: Logger;
}

/** A successful answer. */
export interface Reply {
  readonly status: number;
  readonly json?: unknown;
  /** A non-JSON body (Prometheus text). */
  readonly text?: { readonly contentType: string; readonly body: string };
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;

const notFound = (slug: string, detail: string): HttpProblem => new HttpProblem(404, slug, detail);

/** Percent-decodes a path parameter (a malformed escape is a 400). */
function decodeParam(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpProblem(400, 'invalid-field', `${field}: malformed percent-encoding`);
  }
}

/** Opens a stored key; a row that does not open is absent, reported without any value. */
function openStored(d: HandlerDeps, row: StoredIntKey, log: Logger): Uint8Array | undefined {
  const key = openIntKey(d.kek, row.imsi, row.kid, row.sealedKey);
  if (key === undefined) log.warn({ imsi: row.imsi, kid: row.kid }, 'stored key does not open (altered, moved or another KEK): treated as absent');
  return key;
}

/** POST /v1/subscribers/{imsi}/int-keys (HSS): 201; same kid and key again 201; another key 409. */
export function pushIntKey(d: HandlerDeps): Handler {
  return async ({ params, body, log }) => {
    const imsi = imsiValue(params[0], 'imsi');
    const b = bodyObject(body, ['kid', 'key', 'rand', 'createdAt']);
    const kid = kidValue(b['kid'], 'kid');
    const key = hexValue(b['key'], 'key', INT_KEY_OCTETS);
    const rand = hexValue(b['rand'], 'rand', RAND_OCTETS);
    const createdAtMs = dateTimeValue(b['createdAt'], 'createdAt');
    try {
      const row: NewIntKey = { imsi, kid, sealedKey: sealIntKey(d.kek, imsi, kid, key), rand, createdAtMs };
      const put = await d.store.putIntKey(row, d.retain);
      if (put.outcome === 'inserted') {
        if (!put.retained) log.info({ imsi, kid }, `key older than the ${d.retain} newest of the subscriber: not kept`);
        return { status: 201, json: { imsi, kid } };
      }
      const stored = openStored(d, put.existing, log);
      if (stored === undefined) {
        if (await d.store.replaceIntKey(row, put.existing.sealedKey, d.retain)) return { status: 201, json: { imsi, kid } };
        throw new HttpProblem(409, 'kid-conflict', `kid ${kid} changed while it was being stored; retry`);
      }
      const same = constantTimeEqual(stored, key);
      stored.fill(0);
      if (!same) throw new HttpProblem(409, 'kid-conflict', `subscriber already holds kid ${kid} with a different key`);
      return { status: 201, json: { imsi, kid } };
    } finally {
      key.fill(0);
    }
  };
}

/** POST /v1/subscribers/{imsi}/auth-results (HSS): 204; unknown kid 404. */
export function reportAuthResult(d: HandlerDeps): Handler {
  return async ({ params, body }) => {
    const imsi = imsiValue(params[0], 'imsi');
    const b = bodyObject(body, ['kid', 'result']);
    const kid = kidValue(b['kid'], 'kid');
    const result = choiceValue(b['result'], 'result', ['success', 'failure'] as const);
    if (!(await d.store.setAuthResult(imsi, kid, result))) throw notFound('unknown-kid', `no key ${kid} for this subscriber`);
    return { status: 204 };
  };
}

/** PUT /v1/identities/{appIdentity} (HSS): 201 created, 200 updated. */
export function mapIdentity(d: HandlerDeps): Handler {
  return async ({ params, body }) => {
    const appIdentity = appIdentityValue(decodeParam(params[0] ?? '', 'appIdentity'), 'appIdentity');
    const imsi = imsiValue(bodyObject(body, ['imsi'])['imsi'], 'imsi');
    const outcome = await d.store.mapIdentity(appIdentity, imsi, d.now());
    return { status: outcome === 'created' ? 201 : 200, json: { appIdentity, imsi } };
  };
}

/** POST /v1/emse/register (EMSE; empty body or {}): 201 {emseId, retain, keyTtl}. */
export function registerEmse(d: HandlerDeps): Handler {
  return async ({ caller, body }) => {
    if (body !== undefined) bodyObject(body, []);
    const emseId = (caller as Caller).name;
    await d.store.registerEmse(emseId, d.now());
    return { status: 201, json: { emseId, retain: d.retain, keyTtl: d.keyTtlSeconds } };
  };
}

/**
 * GET /v1/e2m-keys?identity=…&kid=… (EMSE): 201 {e2mKey, kid, emseId, expiresAt}. EMSE_Id is the
 * certificate's; an `emseId` query parameter is accepted and ignored. A key whose AKA run failed, or
 * past its lifetime, is not served (404).
 */
export function fetchE2mKey(d: HandlerDeps): Handler {
  return async ({ caller, query, log }) => {
    const identity = appIdentityValue(query.get('identity') ?? undefined, 'identity');
    const kid = kidValue(query.get('kid') ?? undefined, 'kid');
    const emseId = (caller as Caller).name;
    const started = performance.now();
    let outcome: KeyFetchOutcome = 'error';
    try {
      const found = await d.store.intKeyForIdentity(identity, kid);
      if (found === undefined) {
        outcome = 'unknown_identity';
        throw notFound('unknown-identity', 'no subscriber has this application identity');
      }
      const row = found.key;
      const intKey = row === undefined ? undefined : openStored(d, row, log);
      if (row === undefined || intKey === undefined) {
        outcome = 'unknown_kid';
        throw notFound('unknown-kid', `no key ${kid} for this identity (unknown, or older than the ${d.retain} newest)`);
      }
      const expiresAtMs = row.createdAtMs + d.keyTtlSeconds * 1000;
      if (row.authResult === 'failure' || d.now() >= expiresAtMs) {
        intKey.fill(0);
        outcome = 'unusable';
        throw notFound('key-unusable', row.authResult === 'failure' ? `the AKA run of key ${kid} failed` : `key ${kid} has expired`);
      }
      const e2mKey = deriveE2mKey(intKey, emseId);
      intKey.fill(0);
      const json = { e2mKey: toHex(e2mKey), kid, emseId, expiresAt: new Date(expiresAtMs).toISOString() };
      e2mKey.fill(0);
      outcome = 'served';
      log.debug({ identity, kid, emseId }, 'e2m_key served');
      return { status: 201, json };
    } finally {
      d.metrics.observeKeyFetch(outcome, (performance.now() - started) / 1000);
    }
  };
}

/** GET /healthz: 200 once the store answers. */
export function healthz(d: HandlerDeps): Handler {
  return async () => {
    await d.store.countIntKeys();
    return { status: 200, json: { status: 'ok' } };
  };
}

/** GET /metrics: Prometheus text exposition. */
export function metrics(d: HandlerDeps): Handler {
  return async () => ({ status: 200, text: { contentType: d.metrics.registry.contentType, body: await d.metrics.registry.metrics() } });
}
