/**
 * Child program of the memory section: `node --expose-gc idle-sessions.js '<json IdleSessionsJob>'`.
 * Holds N established, idle DTLS sessions in one DtlsServer and reports the memory they cost.
 *
 * Method: a DtlsServer on an in-memory network (memory-net.ts), clients connected through it from
 * distinct synthetic address:port pairs. A warm-up (sessions opened and closed again) loads and
 * compiles every code path; then HELD sessions are opened that stay open through both readings (see
 * HELD) and have their handshake state released; then a baseline is taken (gc() several times, process.memoryUsage()),
 * N sessions are established in batches, each batch's client objects are dropped once it completed
 * (the server keeps its sessions: maxSessions above N, idle timeout far above the run), and the same
 * measurement is taken again. Per session = (after - baseline) / N.
 *
 * Progress goes to stderr as `progress DONE TOTAL`, the result to stdout as one `result {json}` line.
 * With `snapshotDir`, heap snapshots are written at the baseline and at N sessions (and no
 * measurement is meaningful in that run: a snapshot leaves memory behind).
 */
import { writeHeapSnapshot } from 'node:v8';
import { join } from 'node:path';
import { DtlsClient, DtlsServer, RETRANSMIT_DEFAULT } from '../../src/dtls/index.js';
import { systemClock } from '../../src/util/clock.js';
import { SecretBytes } from '../../src/util/secret.js';
import { MemoryNetwork } from './memory-net.js';
import { constants, PerformanceObserver } from 'node:perf_hooks';

export interface IdleSessionsJob {
  readonly sessions: number;
  /** Handshakes run at once. */
  readonly batch: number;
  readonly snapshotDir?: string;
}

export interface MemoryReading {
  readonly heapUsed: number;
  /** Heap reserved by V8 (used + free space in its pages). */
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly rss: number;
}

export interface IdleSessionsResult {
  readonly sessions: number;
  /** server.size after the run (must equal `sessions` + `heldSessions`). */
  readonly serverSize: number;
  /** Sessions open in both readings (not counted in the figures). */
  readonly heldSessions: number;
  readonly established: number;
  readonly clientEndpointsLeft: number;
  readonly baseline: MemoryReading;
  readonly after: MemoryReading;
  /** After the server's clock moved past the retransmission window and its sweep ran (quiet > 60 s). */
  readonly quiet: MemoryReading;
  /** The baseline and the quiet reading again, each once the process had idled (see idleReading). */
  readonly baselineIdle: MemoryReading;
  readonly idle: MemoryReading;
  /** Seconds each idle reading waited, and whether a GC nobody forced came during the wait. */
  readonly idleWaitS: readonly [number, number];
  readonly idleReduced: readonly [boolean, boolean];
  readonly establishMs: number;
  readonly identityOctets: number;
  readonly snapshots?: { readonly baseline: string; readonly loaded: string };
}

const PSK = new SecretBytes(new Uint8Array(Buffer.from('b66ccece404e53002d732967b74914a3ebffa6e1b4217562dab11f2f2b282971', 'hex')));
const WARM_UP = 500;
/**
 * Sessions opened after the warm-up that stay open through both readings. The record layer keeps
 * the CCM contexts of the 1,024 most recently used cipher states (src/dtls/record/protection.ts),
 * and with them those states' key material. Without these sessions the baseline would hold the keys
 * of closed warm-up sessions that the N sessions' handshakes then push out, and their memory would be
 * subtracted from the N sessions' (some 125 B a session at 1,000 sessions). With them, the cache
 * holds live sessions' states at both readings. 1,000 sessions are 2,000 cipher states per side.
 */
const HELD = 1_000;
/** Far above any run: nothing is swept while we measure. */
const IDLE_TIMEOUT_MS = 24 * 3600 * 1000;

/** Best PSK identity of DESIGN.md §4 (`e2m:<kid>:<appIdentity>`), one per UE. */
function identityOf(i: number): string {
  return `e2m:${(0x1a000000 + i).toString(16).padStart(8, '0')}:ue-${String(i).padStart(6, '0')}@iot.example.com`;
}

/** A distinct IPv4 address:port per client (10.0.0.0/8, ports 1024..65023). */
function addressOf(i: number): { address: string; port: number } {
  const host = Math.floor(i / 64_000) + 1;
  return { address: `10.${(host >> 16) & 0xff}.${(host >> 8) & 0xff}.${host & 0xff}`, port: 1024 + (i % 64_000) };
}

async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Full GCs with event-loop turns between them (weak callbacks, freed backing stores), then a reading. */
async function measure(): Promise<MemoryReading> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 6; i++) {
    gc();
    await settle();
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

/** An idle reading ends this long after the last GC that nobody forced... */
const IDLE_STABLE_MS = 10_000;
/** ...or after this long in all, if none came. */
const IDLE_MAX_MS = 60_000;

/**
 * Start times (performance.now()) of the major GCs that nobody forced: V8's memory reducer's, or
 * allocation's. perf_hooks reports them asynchronously, so a reading judges them by start time.
 */
const unforcedGcStarts: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const d = (e as unknown as { detail?: { kind: number; flags: number } }).detail;
    if (d && d.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (d.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0) {
      unforcedGcStarts.push(e.startTime);
    }
  }
}).observe({ entryTypes: ['gc'] });

/**
 * A reading of the process as it is once it has idled: with nothing to do, V8's memory reducer runs
 * compacting GCs and hands free heap pages back, as it would on a server whose sessions are quiet.
 * It starts only after a full GC that gave back memory, so both readings hand it one the same way
 * (64 MiB of short-lived arrays, then a GC). The reading is taken once a major GC nobody forced has
 * started after that and none followed for IDLE_STABLE_MS, or after IDLE_MAX_MS. Returns the reading,
 * the seconds it waited and whether such a GC came.
 */
async function idleReading(): Promise<[MemoryReading, number, boolean]> {
  let garbage: number[][] | undefined = [];
  for (let i = 0; i < 1 << 16; i++) garbage.push(new Array<number>(120).fill(i));
  garbage = undefined;
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  let reduced = false;
  for (;;) {
    await new Promise<void>((resolve) => setTimeout(resolve, 1_000));
    const now = performance.now();
    const last = unforcedGcStarts.filter((t) => t > started).pop();
    reduced = last !== undefined;
    if ((last !== undefined && now - last >= IDLE_STABLE_MS) || now - started >= IDLE_MAX_MS) break;
  }
  const m = process.memoryUsage();
  const reading = { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
  return [reading, Math.round((performance.now() - started) / 1_000), reduced];
}

/** Establishes sessions `from`..`to`-1 in batches; returns how many completed. Client objects are dropped. */
async function establish(net: MemoryNetwork, from: number, to: number, batch: number, report: (done: number) => void): Promise<number> {
  let ok = 0;
  for (let start = from; start < to; start += batch) {
    const end = Math.min(to, start + batch);
    const pending: Promise<unknown>[] = [];
    for (let i = start; i < end; i++) {
      const { address, port } = addressOf(i);
      pending.push(
        DtlsClient.connect({ host: address, port, identity: identityOf(i), psk: PSK, transport: net.transport(address, port) }).then(
          () => ok++,
          () => undefined,
        ),
      );
    }
    await Promise.all(pending);
    await net.drain();
    // The server keeps its side; the client side is dropped: its endpoint leaves the network and
    // nothing else refers to the client session.
    net.forgetClients();
    report(end - from);
  }
  return ok;
}

async function warmUp(net: MemoryNetwork, server: DtlsServer): Promise<void> {
  const closing: Promise<void>[] = [];
  for (let i = 0; i < WARM_UP; i++) {
    const { address, port } = addressOf(10_000_000 + i);
    const t = net.transport(address, port);
    closing.push(
      DtlsClient.connect({ host: address, port, identity: identityOf(i), psk: PSK, transport: t }).then((s) => {
        const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
        s.close();
        return closed;
      }),
    );
  }
  await Promise.all(closing);
  await net.drain();
  net.forgetClients();
  if (server.size !== 0) throw new Error(`warm-up left ${server.size} connections in the server table`);
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as IdleSessionsJob;
  if (!(Number.isInteger(job.sessions) && job.sessions > 0)) throw new Error('sessions must be a positive integer');
  const lookup = async (identity: Uint8Array): Promise<SecretBytes | undefined> => (identity[0] === 0x65 ? PSK : undefined);
  // The server's clock can be moved forward to show a session that has been quiet for a minute.
  let skew = 0;
  const clock = { now: () => performance.now() + skew, setTimer: systemClock.setTimer };
  const server = new DtlsServer({ pskLookup: lookup, maxSessions: job.sessions + HELD + 1, idleTimeoutMs: IDLE_TIMEOUT_MS, clock });
  const net = new MemoryNetwork(server);
  await warmUp(net, server);
  const held = await establish(net, 20_000_000, 20_000_000 + HELD, job.batch, () => undefined);
  if (held !== HELD) throw new Error(`${held} of ${HELD} held sessions were established`);
  // The held sessions release their last flight now rather than in the quiet reading below.
  skew += RETRANSMIT_DEFAULT.maxMs + 1_000;
  server.sweep();

  const baseline = await measure();
  const [baselineIdle, baselineWait, baselineReduced] = job.snapshotDir ? [baseline, 0, false] : await idleReading();
  const snapBase = job.snapshotDir ? writeHeapSnapshot(join(job.snapshotDir, 'baseline.heapsnapshot')) : undefined;
  const started = performance.now();
  let lastReport = 0;
  const established = await establish(net, 0, job.sessions, job.batch, (done) => {
    if (done - lastReport >= job.sessions / 50 || done === job.sessions) {
      lastReport = done;
      process.stderr.write(`progress ${done} ${job.sessions}\n`);
    }
  });
  const establishMs = performance.now() - started;
  const after = await measure();
  skew += RETRANSMIT_DEFAULT.maxMs + 1_000;
  server.sweep();
  const quiet = await measure();
  const [idle, idleWait, idleReduced] = job.snapshotDir ? [quiet, 0, false] : await idleReading();
  const snapLoaded = job.snapshotDir ? writeHeapSnapshot(join(job.snapshotDir, 'loaded.heapsnapshot')) : undefined;
  const result: IdleSessionsResult = {
    sessions: job.sessions,
    serverSize: server.size,
    heldSessions: HELD,
    established,
    clientEndpointsLeft: net.clientCount,
    baseline,
    after,
    quiet,
    baselineIdle,
    idle,
    idleWaitS: [baselineWait, idleWait],
    idleReduced: [baselineReduced, idleReduced],
    establishMs,
    identityOctets: identityOf(0).length,
    ...(snapBase && snapLoaded ? { snapshots: { baseline: snapBase, loaded: snapLoaded } } : {}),
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
  await server.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`idle-sessions failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
