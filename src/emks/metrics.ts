/**
 * Prometheus metrics of one EMKS instance (DESIGN.md §5, GET /metrics), in a Registry of its own so
 * that several servers in one process (tests, embedders) never share or clash.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EmksStore } from './store.js';

/** Outcomes of a key fetch (GET /v1/e2m-keys), the label of the histogram. */
export type KeyFetchOutcome = 'served' | 'unknown_identity' | 'unknown_kid' | 'unusable' | 'error';

export interface EmksMetrics {
  readonly registry: Registry;
  /** Counts one answered request. `route` is the route template, never the raw path. */
  countRequest(route: string, method: string, status: number): void;
  /** Records one key fetch and how long it took, seconds. */
  observeKeyFetch(outcome: KeyFetchOutcome, seconds: number): void;
  /** Counts one refused TLS handshake. */
  countTlsRefusal(): void;
}

/**
 * Methods counted under their own name; any other is `other`, so that a client cannot grow the
 * label set (HTTP/2 carries any token as :method, where node:http's parser knows a fixed list).
 */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** Creates the metrics; the stored-keys gauge asks the store at each scrape. */
export function createEmksMetrics(store: EmksStore): EmksMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'emks_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const fetches = new Histogram({
    name: 'emks_key_fetch_duration_seconds',
    help: 'Time to answer GET /v1/e2m-keys, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const tlsRefusals = new Counter({
    name: 'emks_tls_handshakes_refused_total',
    help: 'TLS handshakes refused (no client certificate, unknown CA, protocol errors)',
    registers: [registry],
  });
  new Gauge({
    name: 'emks_stored_int_keys',
    help: 'Intermediate keys (e2m_int_key) currently stored, all subscribers',
    registers: [registry],
    async collect() {
      this.set(await store.countIntKeys());
    },
  });
  return {
    registry,
    countRequest: (route, method, status) => requests.inc({ route, method: KNOWN_METHODS.has(method) ? method : 'other', status: String(status) }),
    observeKeyFetch: (outcome, seconds) => fetches.observe({ outcome }, seconds),
    countTlsRefusal: () => tlsRefusals.inc(),
  };
}
