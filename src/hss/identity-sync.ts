/**
 * At start the HSS maps each subscriber's application identities to its IMSI at the EMKS
 * (PUT /v1/identities/{appIdentity}). The EMKS may not be up yet: a round stops at the first
 * transport failure and is retried with exponential backoff; an identity the EMKS refuses (4xx) is
 * reported and not retried. Never throws: the HSS serves attaches whatever happens here.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { bounded, pause } from './bounded.js';
import { EmksError, type EmksClient } from './emks-client.js';

export interface IdentitySyncOptions {
  /** Rounds in all, the first included (default 6). */
  readonly attempts?: number;
  /** Wait before the second round, doubled each round (default 500 ms). */
  readonly initialDelayMs?: number;
  /** Longest wait between rounds (default 8000 ms). */
  readonly maxDelayMs?: number;
}

/** How the mapping ended. */
export interface IdentitySyncResult {
  /** Identities the EMKS acknowledged (201 or 200). */
  readonly mapped: number;
  /** Identities the EMKS refused (4xx). */
  readonly rejected: number;
  /** Identities never acknowledged because the EMKS stayed unreachable (or the HSS stopped). */
  readonly unmapped: number;
}

export interface IdentitySync {
  readonly done: Promise<IdentitySyncResult>;
  /** Stops retrying (server shutdown). */
  cancel(): void;
}

interface Pair {
  readonly identity: string;
  readonly imsi: string;
}

/** Starts mapping `pairs` at the EMKS in the background. */
export function syncIdentities(
  pairs: readonly Pair[],
  deps: { readonly emks: EmksClient; readonly logger: Logger; readonly clock: Clock; readonly callTimeoutMs: number },
  o: IdentitySyncOptions = {},
): IdentitySync {
  const attempts = o.attempts ?? 6;
  const maxDelay = o.maxDelayMs ?? 8_000;
  const abort = new AbortController();
  const { emks, logger, clock } = deps;
  let mapped = 0;
  let rejected = 0;

  /** One round over `pending`; returns what is left when the EMKS stopped answering. */
  const round = async (pending: readonly Pair[]): Promise<readonly Pair[]> => {
    for (const [i, p] of pending.entries()) {
      if (abort.signal.aborted) return pending.slice(i);
      const r = await bounded(clock, deps.callTimeoutMs, () => emks.mapIdentity(p.identity, p.imsi));
      if (r.ok) {
        mapped++;
        logger.debug({ identity: p.identity, imsi: p.imsi, outcome: r.value }, 'identity mapped at the EMKS');
      } else if (r.error instanceof EmksError && r.error.code === 'E_EMKS_REJECTED') {
        rejected++;
        logger.error({ identity: p.identity, imsi: p.imsi, status: r.error.status, reason: r.message }, 'EMKS refused the identity mapping');
      } else {
        logger.warn({ code: r.code, reason: r.message, done: mapped + rejected, left: pending.length - i }, 'EMKS not reachable for identity mapping');
        return pending.slice(i);
      }
    }
    return [];
  };

  const run = async (): Promise<IdentitySyncResult> => {
    let pending: readonly Pair[] = pairs;
    let delay = o.initialDelayMs ?? 500;
    for (let attempt = 1; pending.length > 0 && !abort.signal.aborted; attempt++) {
      pending = await round(pending);
      if (pending.length === 0 || attempt >= attempts || abort.signal.aborted) break;
      logger.info({ attempt, of: attempts, retryInMs: delay, left: pending.length }, 'retrying identity mapping');
      await pause(clock, delay, abort.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
    const result = { mapped, rejected, unmapped: pending.length };
    if (pending.length > 0 && !abort.signal.aborted) logger.error(result, 'gave up mapping identities at the EMKS');
    else if (pending.length === 0) logger.info(result, 'identities mapped at the EMKS');
    return result;
  };

  return { done: run(), cancel: () => abort.abort() };
}
