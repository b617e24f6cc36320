/**
 * A closed-loop HTTPS load generator: `concurrency` requests in flight on one client (an HTTP/2
 * connection, as the EMSE's EMKS lookup uses), each timed from request to the end of the parsed
 * answer, stopping after `total` requests or `maxMs`.
 */
import { performance } from 'node:perf_hooks';
import type { JsonResponse } from '../../src/util/https-json.js';
import type { MtlsJsonClient } from '../../src/util/mtls-json-client.js';

export interface HttpsLoadOptions {
  readonly client: MtlsJsonClient;
  /** The path (and query) of GET number i, relative to the client's origin. */
  readonly path: (i: number) => string;
  readonly total: number;
  readonly concurrency: number;
  /** Stop issuing new requests after this long, ms. */
  readonly maxMs: number;
  /** Whether an answer is the expected one (anything else counts as an error). */
  readonly check: (r: JsonResponse) => boolean;
}

export interface HttpsLoadResult {
  /** Answers that passed `check`. */
  readonly ok: number;
  readonly errors: number;
  /** First error seen, for the log. */
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** Latency of every answered request, ms. */
  readonly latenciesMs: readonly number[];
}

export async function httpsLoad(o: HttpsLoadOptions): Promise<HttpsLoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < o.total && performance.now() - started < o.maxMs) {
      const i = next++;
      const t = performance.now();
      try {
        const r = await o.client.request({ method: 'GET', path: o.path(i), timeoutMs: 10_000 });
        latencies.push(performance.now() - t);
        if (o.check(r)) ok++;
        else {
          errors++;
          firstError ??= `status ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`;
        }
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  return { ok, errors, elapsedMs: performance.now() - started, latenciesMs: latencies, ...(firstError !== undefined ? { firstError } : {}) };
}
