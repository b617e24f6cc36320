/**
 * Section 6: e2m_key fetches (GET /v1/e2m-keys, steps 5-7 of DESIGN.md §1) per second and their
 * p99 latency over mutual TLS as the EMSE makes them (its EMKS lookup's client: HTTP/2, one
 * connection, requests as streams), against the ceiling of this machine: a plain node:http2 server
 * with the same TLS material and settings answering a constant 201 JSON of the same size, reached by
 * the same client. The EMKS runs twice (emks-server processes on one SQLite file): with --log-level
 * warn, and with the default info, which writes one log line per request. Every server is a process
 * of its own; the load generator (one client with an EMSE certificate, C requests in flight) runs in
 * this process. Rounds alternate between the servers so that a change in background load touches
 * all alike.
 */
import { mkdirSync } from 'node:fs';
import type { Agent } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../../src/crypto/primitives.js';
import { createDevPki, loadTlsMaterial } from '../../src/crypto/pki.js';
import { kidFromRand } from '../../src/kdf/index.js';
import { toHex } from '../../src/util/bytes.js';
import { createMtlsAgent, type JsonResponse, requestJson } from '../../src/util/https-json.js';
import { createMtlsJsonClient, type MtlsJsonClient } from '../../src/util/mtls-json-client.js';
import { spawnPeer } from '../../test/support/processes.js';
import { builtStack, type RoleProcess } from '../lib/built-stack.js';
import { httpsLoad, type HttpsLoadResult } from '../lib/https-load.js';
import { processCpuMs } from '../lib/process-cpu.js';
import { runPool } from '../lib/run-pool.js';
import { type BenchContext, type BenchModule, compare, percentile, type Row, type Section } from '../lib/types.js';

const EMSE_ID = 'emse-a.example.com';
/** Requests in flight on one HTTP/2 connection (also the HSS's parallel pushes while preloading). */
const CONCURRENCY = 16;
const ROUNDS = 5;
/** Bound on one measured round, ms. */
const ROUND_MAX_MS = 30_000;

interface Loaded {
  readonly identity: string;
  readonly kid: string;
}

/** Pushes one int-key per subscriber as the HSS would (identity mapping first), `concurrency` at a time. */
async function preload(ctx: BenchContext, emksUrl: string, hss: Agent, subscribers: number): Promise<Loaded[]> {
  const started = performance.now();
  const loaded = await runPool(
    subscribers,
    CONCURRENCY,
    async (i): Promise<Loaded> => {
      const imsi = `00101${String(1_000_000_000 + i).slice(-10)}`;
      const identity = `sensor-${i}@iot.example.com`;
      const rand = randomBytes(16);
      const kid = kidFromRand(rand);
      const put = await requestJson({ method: 'PUT', url: `${emksUrl}/v1/identities/${encodeURIComponent(identity)}`, body: { imsi }, agent: hss, timeoutMs: 10_000 });
      if (put.status !== 201 && put.status !== 200) throw new Error(`PUT identity: ${put.status} ${JSON.stringify(put.body)}`);
      const body = { kid, key: toHex(randomBytes(32)), rand: toHex(rand), createdAt: new Date().toISOString() };
      const push = await requestJson({ method: 'POST', url: `${emksUrl}/v1/subscribers/${imsi}/int-keys`, body, agent: hss, timeoutMs: 10_000 });
      if (push.status !== 201) throw new Error(`POST int-keys: ${push.status} ${JSON.stringify(push.body)}`);
      return { identity, kid };
    },
    (done) => ctx.progress('pushing int-keys (HSS → EMKS)', done, subscribers),
  );
  ctx.log(`   ${subscribers} identities mapped and int-keys pushed in ${((performance.now() - started) / 1000).toFixed(1)} s (${CONCURRENCY} at a time)`);
  return loaded;
}

const isKeyAnswer = (r: JsonResponse): boolean => {
  const b = r.body as { e2mKey?: unknown } | undefined;
  return r.status === 201 && typeof b?.e2mKey === 'string' && /^[0-9a-f]{64}$/.test(b.e2mKey);
};

/**
 * What one server did over the measured rounds. Rates and percentiles are kept per round and
 * reported as the median round: a round that other work on the machine disturbed does not drag the
 * figure. CPU time is summed (it does not count the time the process waited for a core).
 */
interface Tally {
  /** Server process CPU time during the measured rounds, ms. */
  serverCpuMs: number;
  /** This process's (the generator's) CPU time during them, ms. */
  generatorCpuMs: number;
  ok: number;
  errors: number;
  /** Per round: answers/s, p50 and p99 latency (ms). */
  readonly rates: number[];
  readonly p50s: number[];
  readonly p99s: number[];
  firstError?: string;
}

function add(t: Tally, r: HttpsLoadResult): void {
  t.ok += r.ok;
  t.errors += r.errors;
  t.rates.push((1000 * r.ok) / r.elapsedMs);
  t.p50s.push(percentile(r.latenciesMs, 50));
  t.p99s.push(percentile(r.latenciesMs, 99));
  if (r.firstError !== undefined) t.firstError ??= r.firstError;
}

async function startConstantServer(pkiDir: string, lifetimeMs: number): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL('../lib/constant-https-server.js', import.meta.url));
  const proc = spawnPeer(process.execPath, [script, '--pki', pkiDir, '--emse-id', EMSE_ID], { timeoutMs: lifetimeMs });
  const stop = async (): Promise<void> => {
    await proc.stop('SIGTERM', 2_000);
  };
  try {
    const m = await proc.waitFor(/listening on (https:\/\/\S+)/, { stream: 'stdout' });
    return { url: m[1] as string, pid: proc.child.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Target {
  readonly name: string;
  /** A client of its own per server (one HTTP/2 connection each). */
  readonly client: MtlsJsonClient;
  readonly pid: number | undefined;
  readonly tally: Tally;
}

/** Measured rounds, alternating between the targets; every figure is added to the target's tally. */
async function measure(ctx: BenchContext, targets: readonly Target[], query: (i: number) => string, perRound: number): Promise<void> {
  // Warm-up: open the connections (full mTLS handshakes) and let both sides' JIT settle.
  for (const t of targets) {
    await httpsLoad({ client: t.client, path: query, total: 2_000, concurrency: CONCURRENCY, maxMs: ROUND_MAX_MS, check: isKeyAnswer });
    if (t.client.protocol !== 'h2') throw new Error(`${t.name} did not speak HTTP/2 (ALPN: ${t.client.protocol ?? 'none'})`);
  }
  let done = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const cpu0 = processCpuMs(t.pid);
      const gen0 = process.cpuUsage();
      const r = await httpsLoad({
        client: t.client,
        path: (i) => query(round * perRound + i),
        total: perRound,
        concurrency: CONCURRENCY,
        maxMs: ROUND_MAX_MS,
        check: isKeyAnswer,
      });
      const gen = process.cpuUsage(gen0);
      const serverCpuMs = processCpuMs(t.pid) - cpu0;
      add(t.tally, r);
      t.tally.serverCpuMs += serverCpuMs;
      t.tally.generatorCpuMs += (gen.user + gen.system) / 1000;
      ctx.progress('key fetches (servers alternating)', ++done, ROUNDS * targets.length);
      const n = r.ok + r.errors;
      ctx.log(
        `   round ${round + 1} ${t.name}: ${Math.round((1000 * r.ok) / r.elapsedMs)} req/s, p99 ${percentile(r.latenciesMs, 99).toFixed(2)} ms, ` +
          `CPU per request: server ${Math.round((1000 * serverCpuMs) / n)} µs, generator ${Math.round((gen.user + gen.system) / n)} µs` +
          (r.errors ? `, ${r.errors} errors (${r.firstError ?? ''})` : ''),
      );
    }
  }
}

const rate = (t: Tally): number => percentile(t.rates, 50);
const p50 = (t: Tally): number => percentile(t.p50s, 50);
const p99 = (t: Tally): number => percentile(t.p99s, 50);
const cpuPerRequest = (t: Tally): number => (1000 * t.serverCpuMs) / (t.ok + t.errors);
const genPerRequest = (t: Tally): number => (1000 * t.generatorCpuMs) / (t.ok + t.errors);
const emptyTally = (): Tally => ({ serverCpuMs: 0, generatorCpuMs: 0, ok: 0, errors: 0, rates: [], p50s: [], p99s: [] });

function rows(ours: Tally, info: Tally, ceiling: Tally, notes: string): Row[] {
  const peer = 'node http2 constant 201';
  const errors = (t: Tally): string => (t.errors > 0 ? `; ${t.errors} failed requests` : '');
  return [
    compare('e2m_key fetches/s (GET /v1/e2m-keys over HTTP/2), --log-level warn', 'req/s', rate(ours), peer, rate(ceiling), 'higher', { notes: `${notes}${errors(ours)}${errors(ceiling)}` }),
    compare('e2m_key fetch latency p50, --log-level warn', 'ms', p50(ours), peer, p50(ceiling), 'lower'),
    compare('e2m_key fetch latency p99, --log-level warn', 'ms', p99(ours), peer, p99(ceiling), 'lower'),
    compare('server CPU time per fetch, --log-level warn', 'µs', cpuPerRequest(ours), peer, cpuPerRequest(ceiling), 'lower', {
      notes: `user + system time of the server process over the measured rounds; the generator used ${Math.round(genPerRequest(ours))} µs (EMKS rounds) and ${Math.round(genPerRequest(ceiling))} µs (ceiling rounds) per request`,
    }),
    compare('e2m_key fetches/s, default --log-level info', 'req/s', rate(info), peer, rate(ceiling), 'higher', {
      notes: `one log line per request, written synchronously to stderr (a pipe to this process)${errors(info)}`,
    }),
    compare('e2m_key fetch latency p99, default --log-level info', 'ms', p99(info), peer, p99(ceiling), 'lower'),
    compare('server CPU time per fetch, default --log-level info', 'µs', cpuPerRequest(info), peer, cpuPerRequest(ceiling), 'lower'),
  ];
}

async function run(ctx: BenchContext): Promise<Section> {
  const subscribers = Math.max(100, Math.round(1_000 * ctx.scale));
  const perRound = Math.max(2_000, Math.round(20_000 * ctx.scale));
  const dir = join(ctx.tmp, 'emks');
  const pkiDir = join(dir, 'pki');
  mkdirSync(dir, { recursive: true });
  await createDevPki({ dir: pkiDir, emseIds: [EMSE_ID] });
  const { RoleProcess } = await builtStack();
  // Two EMKS processes on the same SQLite file (WAL: concurrent readers), at two log levels.
  const emksArgs = (level: string): string[] => ['--listen', '127.0.0.1:0', '--pki', pkiDir, '--db', `sqlite:${join(dir, 'emks.db')}`, '--log-level', level];
  const emks = new RoleProcess('emks-server', emksArgs('warn'));
  // The HSS pushes over HTTP/1.1 keep-alive, as hss-sim does; it is not measured.
  const hss: Agent = createMtlsAgent({ ...loadTlsMaterial(pkiDir, 'hss'), maxSockets: CONCURRENCY });
  const clients: MtlsJsonClient[] = [];
  const client = (origin: string): MtlsJsonClient => {
    const c = createMtlsJsonClient({ ...loadTlsMaterial(pkiDir, { emse: EMSE_ID }), origin });
    clients.push(c);
    return c;
  };
  let emksInfo: RoleProcess | undefined;
  let constant: Awaited<ReturnType<typeof startConstantServer>> | undefined;
  try {
    const emksUrl = (await emks.waitFor(/listening on (https:\/\/\S+)/))[1] as string;
    const keys = await preload(ctx, emksUrl, hss, subscribers);
    emksInfo = new RoleProcess('emks-server', emksArgs('info'));
    const infoUrl = (await emksInfo.waitFor(/listening on (https:\/\/\S+)/))[1] as string;
    constant = await startConstantServer(pkiDir, 30 * 60_000);
    // The request the EMSE's lookup makes (src/emse/emks-lookup.ts).
    const query = (i: number): string => {
      const k = keys[i % keys.length] as Loaded;
      return `v1/e2m-keys?identity=${encodeURIComponent(k.identity)}&kid=${k.kid}`;
    };
    const ours: Target = { name: 'e2m EMKS (warn)', client: client(emksUrl), pid: emks.child.pid, tally: emptyTally() };
    const info: Target = { name: 'e2m EMKS (info)', client: client(infoUrl), pid: emksInfo.child.pid, tally: emptyTally() };
    const ceiling: Target = { name: 'node http2 constant 201', client: client(constant.url), pid: constant.pid, tally: emptyTally() };
    await measure(ctx, [ours, ceiling, info], query, perRound);
    for (const t of [ours, info, ceiling]) if (t.tally.errors > 0) ctx.log(`   ${t.name}: ${t.tally.errors} failed requests, first: ${t.tally.firstError ?? '?'}`);
    return {
      id: 'emks',
      title: 'EMKS key fetches over mutual TLS (HTTP/2, as the EMSE fetches)',
      rows: rows(ours.tally, info.tally, ceiling.tally, `${CONCURRENCY} in flight on one HTTP/2 connection, ${subscribers} subscribers round-robin, ${ROUNDS} rounds of ${perRound} requests (median round)`),
      limits:
        'Each server is a single Node process (one core at most) and the load generator is this Node process, all on the ' +
        'same 2 cores: the ceiling is what a Node HTTP/2 client and server can exchange here with the same TLS settings, and the ' +
        'generator spends about as much CPU per request as the servers do. HTTP/2 sends the requests made in one turn of the ' +
        'event loop in one write, so per-request costs fall as more are in flight. Rates depend on whatever else runs on the ' +
        'machine; rounds alternate between ' +
        'the servers so that both see the same conditions, and CPU time per request (from /proc) is the steadier figure. ' +
        'Connections are opened before measuring, so no TLS handshake is in the figures; the EMKS only reads its SQLite file ' +
        'during the measurement.',
    };
  } finally {
    hss.destroy();
    for (const c of clients) c.close();
    await Promise.all([emks.stop(), emksInfo?.stop(), constant?.stop()]);
  }
}

export const bench: BenchModule = { id: 'emks', title: 'EMKS key fetches over mutual TLS (HTTP/2, as the EMSE fetches)', run };
