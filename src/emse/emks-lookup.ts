/**
 * The EMSE's side of steps 5-7 of the bootstrap flow (DESIGN.md §1, §5): during a handshake the
 * psk_identity `e2m:<kid>:<appIdentity>` (§4) is sent to the EMKS as
 * `GET /v1/e2m-keys?identity=…&kid=…` over one mutual-TLS connection (HTTP/2 streams, or HTTP/1.1
 * keep-alive if the EMKS does not offer h2: src/util/mtls-json-client.ts), and the e2m_key it answers
 * (201) becomes the DTLS PSK.
 *
 * Outcomes, as the DTLS layer sees them (DESIGN.md §6, §9):
 *   malformed psk_identity      → undefined (unknown_psk_identity 115), the EMKS is never asked
 *   404 unknown identity or kid → undefined (115)
 *   403, other status, malformed answer, timeout, transport error → throws (internal_error 80)
 * A small LRU cache keyed by kid + identity keeps keys until min(cacheTtlMs, expiresAt); a 404 is
 * remembered only for negativeTtlMs; errors are never cached; concurrent lookups of one key share
 * one request.
 */
import type { TlsMaterial } from '../crypto/pki.js';
import type { PskLookup } from '../dtls/endpoint/server-connection.js';
import { parseBestPskIdentity } from '../kdf/best.js';
import { type Clock, systemClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { JsonResponse } from '../util/https-json.js';
import { type Logger, silentLogger } from '../util/log.js';
import { createMtlsJsonClient, type MtlsJsonClient } from '../util/mtls-json-client.js';
import { SecretBytes } from '../util/secret.js';
import { EmksError, type EmksRegistration, parseKeyAnswer, parseRegistration, statusError } from './emks-api.js';
import { KeyCache } from './key-cache.js';

export { EmksError, type EmksRegistration, isRetryableEmksError } from './emks-api.js';

export interface EmksLookupOptions {
  /** Base URL of the EMKS, e.g. https://127.0.0.1:8443 (https only). */
  readonly emksUrl: string | URL;
  /** This EMSE's client certificate and key, and the project CA (loadTlsMaterial(dir, {emse: id})). */
  readonly tls: TlsMaterial;
  /** The EMSE_Id this EMSE expects to be; answers naming another one are refused. */
  readonly emseId?: string;
  /** Bound on one EMKS request, ms (default 2000). */
  readonly timeoutMs?: number;
  /** How long a fetched key is reused, ms (default 300 000), never past its expiresAt. */
  readonly cacheTtlMs?: number;
  /** How long a 404 is remembered, ms (default 2000; 0 = not at all). */
  readonly negativeTtlMs?: number;
  /** Most cached entries (default 1000); the least recently used goes first. */
  readonly cacheSize?: number;
  readonly logger?: Logger;
  /** Monotonic time and timers (default: the system clock). */
  readonly clock?: Clock;
  /** Wall-clock milliseconds, to read expiresAt (default Date.now). */
  readonly wallClock?: () => number;
}

export interface EmksLookupStats {
  /** Lookups asked by the DTLS layer. */
  lookups: number;
  /** psk_identity values that did not parse (answered 115 without asking the EMKS). */
  malformed: number;
  /** Answers from the cache (keys and remembered 404s). */
  cacheHits: number;
  /** Lookups that joined a request already in flight. */
  shared: number;
  /** HTTP requests sent to the EMKS (key fetches and registrations). */
  requests: number;
  /** Lookups that failed (EMKS down, slow, 403, malformed answer). */
  errors: number;
}

/** A PskLookup backed by the EMKS, with registration and shutdown. */
export type EmksPskLookup = PskLookup & {
  readonly emksUrl: URL;
  readonly timeoutMs: number;
  /** The configured EMSE_Id, or the one the EMKS answered at registration. */
  readonly emseId: string | undefined;
  readonly stats: Readonly<EmksLookupStats>;
  /** The HTTP version the EMKS speaks with us ('h2' or 'http/1.1'), once connected. */
  readonly protocol: 'h2' | 'http/1.1' | undefined;
  /** TLS connections opened to the EMKS so far. */
  readonly connections: number;
  /** Number of cached entries. */
  readonly cacheEntries: number;
  /** `POST /v1/emse/register`: the EMKS confirms who we are (from our certificate). */
  register(): Promise<EmksRegistration>;
  /** Forgets every cached key. */
  clearCache(): void;
  /** Closes the keep-alive connections; later lookups reject. */
  close(): void;
};

/** The state behind one EMKS lookup: the connection, the cache, the requests in flight. */
class EmksKeySource {
  readonly stats: EmksLookupStats = { lookups: 0, malformed: 0, cacheHits: 0, shared: 0, requests: 0, errors: 0 };
  readonly cache: KeyCache;
  emseId: string | undefined;
  readonly client: MtlsJsonClient;
  private readonly inFlight = new Map<string, Promise<SecretBytes | undefined>>();
  private readonly logger: Logger;
  private readonly clock: Clock;
  private closed = false;

  constructor(
    readonly base: URL,
    readonly timeoutMs: number,
    private readonly o: EmksLookupOptions & { cacheTtlMs: number; negativeTtlMs: number },
  ) {
    this.logger = o.logger ?? silentLogger();
    this.clock = o.clock ?? systemClock;
    this.cache = new KeyCache(nonNegativeInt(o.cacheSize ?? 1_000, 'cacheSize'), this.clock);
    this.client = createMtlsJsonClient({ ...o.tls, origin: base });
    this.emseId = o.emseId;
  }

  /**
   * The PskLookup: see the file comment for its outcomes. A malformed identity and a cache hit are
   * answered at once; everything else waits for the EMKS.
   */
  lookup(identity: Uint8Array): SecretBytes | undefined | Promise<SecretBytes | undefined> {
    this.stats.lookups++;
    let kid: string;
    let appIdentity: string;
    try {
      ({ kid, appIdentity } = parseBestPskIdentity(identity));
    } catch (err) {
      this.stats.malformed++;
      this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'psk_identity is not e2m:<kid>:<identity>');
      return undefined;
    }
    const id = `${kid}:${appIdentity}`;
    const cached = this.cache.get(id);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return copy(cached.key);
    }
    return this.fetchShared(kid, appIdentity, id);
  }

  /** One EMKS request per key at a time: concurrent lookups of the same key share it. */
  private async fetchShared(kid: string, appIdentity: string, id: string): Promise<SecretBytes | undefined> {
    let pending = this.inFlight.get(id);
    if (pending === undefined) {
      pending = this.fetchKey(kid, appIdentity, id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    } else {
      this.stats.shared++;
    }
    try {
      return copy(await pending);
    } catch (err) {
      this.stats.errors++;
      this.logger.warn({ kid, identity: appIdentity, err: err instanceof Error ? err.message : String(err) }, 'EMKS key fetch failed');
      throw err;
    }
  }

  /** Steps 5-7: `GET /v1/e2m-keys?identity=…&kid=…`; caches 201 and 404 answers. */
  private async fetchKey(kid: string, appIdentity: string, id: string): Promise<SecretBytes | undefined> {
    const t0 = this.clock.now();
    // kid is 8 hex digits (parseBestPskIdentity checked it): only the identity needs escaping.
    const res = await this.send('GET', `v1/e2m-keys?identity=${encodeURIComponent(appIdentity)}&kid=${kid}`);
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ kid, identity: appIdentity, status: res.status, ms: Math.round(this.clock.now() - t0) }, 'EMKS key fetch');
    }
    if (res.status === 404) {
      this.cache.set(id, undefined, this.o.negativeTtlMs);
      return undefined;
    }
    if (res.status !== 201) throw statusError('GET /v1/e2m-keys', res);
    const answer = parseKeyAnswer(res.body, kid, this.emseId);
    this.cache.set(id, answer.key, Math.min(this.o.cacheTtlMs, answer.expiresAt - (this.o.wallClock ?? Date.now)()));
    return answer.key;
  }

  async register(): Promise<EmksRegistration> {
    const res = await this.send('POST', 'v1/emse/register', {});
    if (res.status !== 201) throw statusError('POST /v1/emse/register', res);
    const reg = parseRegistration(res.body);
    if (this.o.emseId !== undefined && reg.emseId !== this.o.emseId) {
      throw new EmksError('E_EMKS_IDENTITY', `the EMKS knows this certificate as EMSE_Id '${reg.emseId}', not '${this.o.emseId}'`);
    }
    this.emseId = reg.emseId;
    this.logger.info({ emseId: reg.emseId, retain: reg.retain, keyTtl: reg.keyTtl, emks: this.base.origin, http: this.client.protocol }, 'registered at the EMKS');
    return reg;
  }

  close(): void {
    this.closed = true;
    this.cache.clear();
    this.client.close();
  }

  /** One request, bounded as a whole (connecting included) by timeoutMs. */
  private async send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonResponse> {
    if (this.closed) throw new EmksError('E_EMKS_CLOSED', 'the EMKS lookup is closed');
    this.stats.requests++;
    return this.client.request({ method, path, timeoutMs: this.timeoutMs, ...(body === undefined ? {} : { body }) });
  }
}

/** Creates the EMKS-backed PSK lookup (see the file comment for its outcomes). */
export function createEmksPskLookup(o: EmksLookupOptions): EmksPskLookup {
  const source = new EmksKeySource(emksBaseUrl(o.emksUrl), positiveInt(o.timeoutMs ?? 2_000, 'timeoutMs'), {
    ...o,
    cacheTtlMs: nonNegativeInt(o.cacheTtlMs ?? 300_000, 'cacheTtlMs'),
    negativeTtlMs: nonNegativeInt(o.negativeTtlMs ?? 2_000, 'negativeTtlMs'),
  });
  const lookup: PskLookup = (identity) => source.lookup(identity);
  // defineProperties, not Object.assign: the getters must stay live.
  return Object.defineProperties(lookup, {
    emksUrl: { value: source.base, enumerable: true },
    timeoutMs: { value: source.timeoutMs, enumerable: true },
    emseId: { get: () => source.emseId, enumerable: true },
    stats: { value: source.stats, enumerable: true },
    protocol: { get: () => source.client.protocol, enumerable: true },
    connections: { get: () => source.client.stats.connections, enumerable: true },
    cacheEntries: { get: () => source.cache.size, enumerable: true },
    register: { value: () => source.register() },
    clearCache: { value: () => source.cache.clear() },
    close: { value: () => source.close() },
  }) as EmksPskLookup;
}

/** Checks an EMKS base URL (https, no credentials, query or fragment) and makes its path end in '/'. */
export function emksBaseUrl(value: string | URL, option = 'emksUrl'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(option, `expected an https:// URL, got '${String(value).slice(0, 80)}'`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(option, `expected an https:// URL, got '${url.protocol}' (the EMKS speaks mutual TLS only)`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(option, 'the URL must not carry credentials, a query or a fragment');
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function copy(key: SecretBytes | undefined): SecretBytes | undefined {
  return key === undefined ? undefined : new SecretBytes(key.expose());
}

function positiveInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(name, `must be a positive integer, got ${n}`);
  return n;
}

function nonNegativeInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(name, `must be a non-negative integer, got ${n}`);
  return n;
}
