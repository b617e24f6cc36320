/**
 * A closed-loop HTTPS load generator: `concurrency` requests in flight on one keep-alive agent, each
 * timed from request to the end of the parsed answer, stopping after `total` requests or `maxMs`.
 */
import type { Agent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { type JsonResponse, requestJson } from '../../src/util/https-json.js';

export interface HttpsLoadOptions {
  readonly agent: Agent;
  /** The URL of request number i. */
  readonly url: (i: number) => string;
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
        const r = await requestJson({ method: 'GET', url: o.url(i), agent: o.agent, timeoutMs: 10_000 });
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
