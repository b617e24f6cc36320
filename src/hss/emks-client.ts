/**
 * The HSS's side of the EMKS API (contract: EMKS HTTPS API; DESIGN.md §5): push e2m_int_key, report
 * the authentication result, map application identities. Mutual TLS with the HSS certificate
 * (`URI:urn:e2m:hss:<name>`), a bounded time per request, errors with stable codes. Key values are
 * sent, never logged or put in an error message.
 */
import { toHex } from '../util/bytes.js';
import { ConfigError, StackError } from '../util/errors.js';
import { createMtlsAgent, requestJson, type JsonResponse } from '../util/https-json.js';
import type { SecretBytes } from '../util/secret.js';

/** One e2m_int_key as pushed to the EMKS. */
export interface IntKeyPush {
  /** Key identifier (8 lowercase hex). */
  readonly kid: string;
  /** e2m_int_key, 32 octets. */
  readonly key: SecretBytes;
  /** RAND of the vector, 16 octets. */
  readonly rand: Uint8Array;
  readonly createdAt: Date;
}

export type AuthResult = 'success' | 'failure';

/** What the HSS needs from the EMKS; tests inject a fake. */
export interface EmksClient {
  /** POST /v1/subscribers/{imsi}/int-keys; resolves on 201. */
  pushIntKey(imsi: string, push: IntKeyPush): Promise<void>;
  /** POST /v1/subscribers/{imsi}/auth-results; resolves on 204. */
  reportAuthResult(imsi: string, kid: string, result: AuthResult): Promise<void>;
  /** PUT /v1/identities/{appIdentity}; resolves on 201 (created) or 200 (updated). */
  mapIdentity(appIdentity: string, imsi: string): Promise<'created' | 'updated'>;
}

/**
 * The EMKS answered with a status the call does not expect. Codes: E_EMKS_CONFLICT (409: the kid is
 * held with another key), E_EMKS_REJECTED (another 4xx: retrying will not help), E_EMKS_STATUS (5xx
 * or anything else). Transport failures are HttpTransportError (E_HTTP_TIMEOUT, E_HTTP_TRANSPORT, E_HTTP_BODY).
 */
export class EmksError extends StackError {
  readonly status: number;

  constructor(code: 'E_EMKS_CONFLICT' | 'E_EMKS_REJECTED' | 'E_EMKS_STATUS', status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

export interface HttpsEmksClientOptions {
  /** Base URL of the EMKS, e.g. https://127.0.0.1:8443 (https only). */
  readonly url: string;
  /** PEM: the project CA, the HSS certificate and key (loadTlsMaterial(dir, 'hss')). */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Bound on each request, ms (default 2000). */
  readonly timeoutMs?: number;
}

/** An EmksClient over HTTPS that also owns its keep-alive agent. */
export interface HttpsEmksClient extends EmksClient {
  readonly baseUrl: URL;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** Checks `--emks`: an absolute https URL without query or fragment; returns it with a trailing '/'. */
export function parseEmksUrl(value: string, option = '--emks'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(option, `not a URL: '${value.slice(0, 80)}'`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(option, `must be an https:// URL (mutual TLS), got ${url.protocol}`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(option, 'must not carry credentials, a query or a fragment');
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

function problemTitle(r: JsonResponse): string {
  const b = r.body as { title?: unknown; detail?: unknown } | undefined;
  const text = typeof b?.detail === 'string' ? b.detail : typeof b?.title === 'string' ? b.title : '';
  return text === '' ? '' : `: ${text.slice(0, 200)}`;
}

function unexpected(what: string, r: JsonResponse): EmksError {
  const code = r.status === 409 ? 'E_EMKS_CONFLICT' : r.status >= 400 && r.status < 500 ? 'E_EMKS_REJECTED' : 'E_EMKS_STATUS';
  return new EmksError(code, r.status, `EMKS answered ${what} with ${r.status}${problemTitle(r)}`);
}

/** An EmksClient speaking HTTPS with mutual TLS to `url`. */
export function createHttpsEmksClient(o: HttpsEmksClientOptions): HttpsEmksClient {
  const baseUrl = parseEmksUrl(o.url);
  const agent = createMtlsAgent(o.tls);
  const timeoutMs = o.timeoutMs ?? 2_000;
  const at = (path: string): URL => new URL(path, baseUrl);
  const subscriber = (imsi: string, tail: string): URL => at(`v1/subscribers/${encodeURIComponent(imsi)}/${tail}`);

  return {
    baseUrl,
    async pushIntKey(imsi, push) {
      const body = { kid: push.kid, key: toHex(push.key.expose()), rand: toHex(push.rand), createdAt: push.createdAt.toISOString() };
      const r = await requestJson({ method: 'POST', url: subscriber(imsi, 'int-keys'), body, agent, timeoutMs });
      if (r.status !== 201) throw unexpected('the int-key push', r);
    },
    async reportAuthResult(imsi, kid, result) {
      const r = await requestJson({ method: 'POST', url: subscriber(imsi, 'auth-results'), body: { kid, result }, agent, timeoutMs });
      if (r.status !== 204) throw unexpected('the auth result', r);
    },
    async mapIdentity(appIdentity, imsi) {
      const r = await requestJson({ method: 'PUT', url: at(`v1/identities/${encodeURIComponent(appIdentity)}`), body: { imsi }, agent, timeoutMs });
      if (r.status === 201) return 'created';
      if (r.status === 200) return 'updated';
      throw unexpected('the identity mapping', r);
    },
    close: () => agent.destroy(),
  };
}
