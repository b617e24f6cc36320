/**
 * Section 1: full DTLS 1.2 PSK handshakes per second (ClientHello, HelloVerifyRequest cookie
 * exchange, TLS_PSK_WITH_AES_128_CCM_8, close_notify), our load generator against:
 *   - our EMSE (bin/emse-server) with a static PSK;
 *   - our EMSE with the EMKS lookup over mutual TLS: once with one identity and kid (after the first
 *     fetch the EMSE's key cache answers), once cycling through more subscribers than that cache
 *     holds (every handshake fetches its key from the EMKS);
 *   - libcoap coap-server-openssl (PSK; handles many clients at once);
 *   - gnutls-serv and openssl s_server, which serve one DTLS session at a time: measured serially,
 *     as is our server for these rows.
 * Ours and the peers run in turns, `repeats` times; the figure of a cell is its median.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { loadTlsMaterial } from '../../src/crypto/pki.js';
import { UeClient } from '../../src/ue/index.js';
import { createMtlsAgent } from '../../src/util/https-json.js';
import { builtStack, type Stack } from '../lib/built-stack.js';
import { cpuPerOpUs, GENERATOR_CPU, median, MIN_CPU_MS, otherLoad, profiling, SERVER_CPU } from '../lib/cells.js';
import { formatProfile, summariseProfileDir } from '../lib/cpu-profile.js';
import { type HandshakeLoad, type Measured, measure, type PskCredential } from '../lib/loadgen.js';
import { type EmseProcOptions, hasProgram, type Proc, ProcGroup, startEmse, startGnutlsServ, startLibcoap, startOpensslServer, waitForQuiet } from '../lib/peer-procs.js';
import { type BenchContext, type BenchModule, compare, figure, type Row, type Section } from '../lib/types.js';

/** 32 octets with 0x00 and >= 0x80 octets (OpenSSL and GnuTLS take it as hex). */
const PSK_HEX = 'b66ccece404e53002d732967b74914a3ebffa6e1b4217562dab11f2f2b282971';
/** No ':' (gnutls-serv's --pskpasswd splits on it). */
const IDENTITY = 'sensor-1@iot.example.com';
/** libcoap 4.3.1 takes its key as text: 32 printable octets, the same length as PSK_HEX. */
const COAP_KEY = 'e2m-bench-coap-psk-0123456789abc';
const EMSE_ID = 'emse-bench.example.com';
/** More subscribers than the EMSE's key cache holds (createEmksPskLookup's default cacheSize, 1000). */
const DISTINCT_SUBSCRIBERS = 1200;
const EMSE_CACHE_SIZE = 1000;
const ATTACH_CONCURRENCY = 8;


interface Plan {
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly repeats: number;
  readonly concurrency: number;
  /** Longest wait for other processes to leave the machine idle before each run. */
  readonly quietWaitMs: number;
  /** Untimed load on each of our servers before the first run, so that V8 has optimised the hot code. */
  readonly primeMs: number;
}

function plan(scale: number): Plan {
  return {
    warmupMs: Math.round(Math.max(1_000, 1_500 * scale)),
    durationMs: Math.round(Math.max(1_000, 4_000 * scale)),
    repeats: scale >= 0.5 ? 3 : 1,
    concurrency: 128,
    quietWaitMs: scale >= 0.5 ? 20_000 : 2_000,
    primeMs: Math.round(Math.max(1_500, 3_000 * scale)),
  };
}



/** The medians of one cell over its repeats. */
interface Cell {
  readonly runs: Measured[];
  rate(): number;
  /** Server CPU per completed handshake, µs (pooled over the runs; NaN if too little CPU to resolve). */
  cpuPerOp(proc?: string): number;
  /** Share of one core the process used in the window, %. */
  util(proc?: string): number;
  meanLatencyMs(): number;
  failed(): number;
  generatorUtil(): number;
}

function cell(): Cell {
  const runs: Measured[] = [];
  return {
    runs,
    rate: () => median(runs.map((r) => r.result.rate)),
    cpuPerOp: (proc = 'server') => cpuPerOpUs(runs, proc),
    util: (proc = 'server') => median(runs.map((r) => (100 * (r.cpuMs[proc] ?? Number.NaN)) / r.result.windowMs)),
    meanLatencyMs: () => median(runs.map((r) => r.result.latency?.mean ?? Number.NaN)),
    failed: () => runs.reduce((a, r) => a + r.result.failed, 0),
    generatorUtil: () => median(runs.map((r) => (100 * r.result.generatorCpuMs) / r.result.windowMs)),
  };
}

const r0 = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : '–');
const r2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');

/** A handshake load against 127.0.0.1:port. */
function load(port: number, credentials: readonly PskCredential[], concurrency: number, p: Plan, extra: Partial<HandshakeLoad> = {}): HandshakeLoad {
  return { kind: 'handshakes', host: '127.0.0.1', port, credentials, reuse: 'cycle', concurrency, warmupMs: p.warmupMs, durationMs: p.durationMs, ...extra };
}

/** `emks_http_requests_total` of GET /v1/e2m-keys answered 201, from the EMKS's /metrics. */
async function emksKeyFetches(stack: Stack): Promise<number> {
  const agent = createMtlsAgent(loadTlsMaterial(stack.pkiDir, { emse: EMSE_ID }));
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(new URL('metrics', `${stack.emksUrl}/`), { agent, timeout: 5_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('EMKS /metrics timed out')));
      req.on('error', reject);
      req.end();
    });
    const line = text.split('\n').find((l) => l.startsWith('emks_http_requests_total{') && l.includes('route="/v1/e2m-keys"') && l.includes('status="201"'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  } finally {
    agent.destroy();
  }
}

/** Attaches `n` subscribers through hss-sim (the HSS pushes each e2m_int_key to the EMKS) and returns their PSKs for our EMSE. */
async function attachAll(stack: Stack, n: number, ctx: BenchContext): Promise<PskCredential[]> {
  const creds: PskCredential[] = new Array<PskCredential>(n);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const ue = new UeClient({ simPath: stack.simFile(i), hssUrl: stack.hssUrl });
      await ue.attach();
      const k = ue.keys(EMSE_ID);
      creds[i] = { identity: k.pskIdentity, pskHex: Buffer.from(k.e2mKey.expose()).toString('hex') };
      ctx.progress('attaching subscribers (hss-sim → EMKS)', ++done, n);
    }
  };
  await Promise.all(Array.from({ length: ATTACH_CONCURRENCY }, () => worker()));
  return creds;
}

/**
 * One more run against a fresh EMSE under `node --cpu-prof` (primed first), and its profile cut to
 * the window, in the log. Kept apart from the measured runs so that the profiler costs them nothing.
 */
async function profilePass(ctx: BenchContext, group: ProcGroup, p: Plan, label: string, mode: Pick<EmseProcOptions, 'psk' | 'emks'>, credentials: readonly PskCredential[]): Promise<void> {
  const gen = GENERATOR_CPU === undefined ? {} : { cpu: GENERATOR_CPU };
  const dir = join(ctx.tmp, `prof-${label.replace(/\W+/g, '-')}`);
  const s = await startEmse(group, { ...mode, cpuProfDir: dir, ...(SERVER_CPU === undefined ? {} : { cpu: SERVER_CPU }) });
  await measure({ ...load(s.port, credentials, p.concurrency, p), warmupMs: 0, durationMs: p.primeMs }, {}, gen);
  await waitForQuiet(p.quietWaitMs);
  const m = await measure(load(s.port, credentials, p.concurrency, p), { server: s.proc.pid }, { ...gen, progress: (f) => ctx.progress(`profiling: ${label}`, f, 1) });
  await group.stop(s.proc);
  const summary = summariseProfileDir(dir, m.window);
  ctx.log(summary ? formatProfile(`emse-server, ${label} (${r0(m.result.rate)}/s)`, summary) : `   (no CPU profile written for ${label})`);
}

async function run(ctx: BenchContext): Promise<Section> {
  const p = plan(ctx.scale);
  const group = new ProcGroup();
  let stack: Stack | undefined;
  const cells = {
    static: cell(),
    emksSame: cell(),
    emksDistinct: cell(),
    libcoap: cell(),
    oursSerial: cell(),
    gnutlsSerial: cell(),
    opensslSerial: cell(),
  };
  const fetches = { same: [] as number[], distinct: [] as number[] };
  const missing = ['coap-server-openssl', 'gnutls-serv', 'openssl'].filter((x) => !hasProgram(x));
  try {
    const ours = await startEmse(group, { psk: [`${IDENTITY}=${PSK_HEX}`], ...(SERVER_CPU === undefined ? {} : { cpu: SERVER_CPU }) });
    const staticCred: PskCredential[] = [{ identity: IDENTITY, pskHex: PSK_HEX }];

    ctx.log(`   starting emks-server + hss-sim with ${DISTINCT_SUBSCRIBERS} subscribers`);
    const { randomSubscriber, startStack } = await builtStack();
    stack = await startStack({
      dir: join(ctx.tmp, 'handshakes-stack'),
      emseIds: [EMSE_ID],
      subscribers: Array.from({ length: DISTINCT_SUBSCRIBERS }, (_, i) => randomSubscriber(i)),
      logLevel: 'warn',
    });
    const creds = await attachAll(stack, DISTINCT_SUBSCRIBERS, ctx);
    const emksPid = stack.emks.child.pid ?? -1;
    const emksMode = { url: stack.emksUrl, emseId: EMSE_ID, pki: stack.pkiDir };
    const oursEmks = await startEmse(group, { emks: emksMode, ...(SERVER_CPU === undefined ? {} : { cpu: SERVER_CPU }) });
    const libcoap = missing.includes('coap-server-openssl') ? undefined : await startLibcoap(group, COAP_KEY, SERVER_CPU);
    const coapCred: PskCredential[] = [{ identity: IDENTITY, pskHex: Buffer.from(COAP_KEY, 'latin1').toString('hex') }];
    const passwd = join(ctx.tmp, 'handshakes-psk.passwd');
    writeFileSync(passwd, `${IDENTITY}:${PSK_HEX}\n`, { mode: 0o600 });

    const gen = GENERATOR_CPU === undefined ? {} : { cpu: GENERATOR_CPU };
    const steps = p.repeats * 7;
    let step = 0;
    const go = async (label: string, into: Cell, spec: HandshakeLoad, watch: Record<string, number>): Promise<Measured> => {
      await waitForQuiet(p.quietWaitMs);
      const m = await measure(spec, watch, { ...gen, progress: (f) => ctx.progress(`handshakes: ${label}`, step + f, steps) });
      step++;
      into.runs.push(m);
      const errors = Object.entries(m.result.errors);
      if (errors.length > 0) ctx.log(`   ${label}: ${errors.map(([e, k]) => `${k}× ${e}`).join('; ')}`);
      return m;
    };
    /** A fresh one-session-at-a-time peer per run (a client that vanishes would block the next one). */
    const fresh = async (start: () => Promise<{ proc: Proc; port: number }>, f: (port: number, pid: number) => Promise<unknown>): Promise<void> => {
      const s = await start();
      try {
        await f(s.port, s.proc.pid);
      } finally {
        await group.stop(s.proc);
      }
    };

    for (const [label, port, credentials] of [['static PSK', ours.port, staticCred], ['EMKS', oursEmks.port, creds]] as const) {
      await measure({ ...load(port, credentials, p.concurrency, p), warmupMs: 0, durationMs: p.primeMs }, {}, { ...gen, progress: (f) => ctx.progress(`warming up our ${label} server (JIT)`, f, 1) });
    }
    for (let rep = 0; rep < p.repeats; rep++) {
      await go('e2m static PSK', cells.static, load(ours.port, staticCred, p.concurrency, p), { server: ours.proc.pid });
      if (libcoap) await go('libcoap', cells.libcoap, load(libcoap.port, coapCred, p.concurrency, p), { server: libcoap.proc.pid });
      else step++;
      let before = await emksKeyFetches(stack);
      await go('e2m EMKS, one kid (cached)', cells.emksSame, load(oursEmks.port, creds.slice(0, 1), p.concurrency, p), { server: oursEmks.proc.pid, emks: emksPid });
      fetches.same.push((await emksKeyFetches(stack)) - before);
      before = await emksKeyFetches(stack);
      await go(`e2m EMKS, ${DISTINCT_SUBSCRIBERS} kids (fetch each)`, cells.emksDistinct, load(oursEmks.port, creds, p.concurrency, p), { server: oursEmks.proc.pid, emks: emksPid });
      fetches.distinct.push((await emksKeyFetches(stack)) - before);
      await go('e2m serial', cells.oursSerial, load(ours.port, staticCred, 1, p), { server: ours.proc.pid });
      if (!missing.includes('gnutls-serv')) {
        await fresh(() => startGnutlsServ(group, passwd, SERVER_CPU), (port, pid) => go('gnutls-serv serial', cells.gnutlsSerial, load(port, staticCred, 1, p), { server: pid }));
      } else step++;
      if (!missing.includes('openssl')) {
        await fresh(() => startOpensslServer(group, IDENTITY, PSK_HEX, SERVER_CPU), (port, pid) => go('openssl s_server serial', cells.opensslSerial, load(port, staticCred, 1, p), { server: pid }));
      } else step++;
    }

    if (profiling()) {
      await profilePass(ctx, group, p, 'static PSK handshakes', { psk: [`${IDENTITY}=${PSK_HEX}`] }, staticCred);
      await profilePass(ctx, group, p, `EMKS handshakes, ${DISTINCT_SUBSCRIBERS} kids`, { emks: emksMode }, creds);
    }
  } finally {
    await group.stopAll();
    await stack?.stop();
  }
  return section(p, cells, fetches, missing);
}

/** Generator CPU per completed handshake, µs, pooled over the runs. */
function generatorPerOp(x: Cell): number {
  const cpu = x.runs.reduce((a, r) => a + r.result.generatorCpuMs, 0);
  const ops = x.runs.reduce((a, r) => a + r.result.completed, 0);
  return ops > 0 ? (cpu * 1000) / ops : Number.NaN;
}

/** "N µs of server CPU per handshake", or why there is no such figure. */
function cpuText(x: Cell): string {
  const us = x.cpuPerOp();
  return Number.isFinite(us) ? `${r0(us)} µs server CPU per handshake` : `server CPU per handshake not resolved (< ${MIN_CPU_MS} ms of CPU in all windows)`;
}

function section(
  p: Plan,
  c: Record<'static' | 'emksSame' | 'emksDistinct' | 'libcoap' | 'oursSerial' | 'gnutlsSerial' | 'opensslSerial', Cell>,
  fetches: { same: number[]; distinct: number[] },
  missing: readonly string[],
): Section {
  const rows: Row[] = [];
  const conc = `${p.concurrency} concurrent clients`;
  const staticRate = c.static.rate();
  const util = (x: Cell): string => `server ${r0(x.util())}% of a core, generator ${r0(x.generatorUtil())}%`;

  // The best peer by rate, whatever mode it can serve in.
  const peers = [
    { name: `libcoap coap-server-openssl, ${conc}`, cell: c.libcoap },
    { name: 'gnutls-serv (one session at a time, serial)', cell: c.gnutlsSerial },
    { name: 'openssl s_server (one session at a time, serial)', cell: c.opensslSerial },
  ].filter((x) => x.cell.runs.length > 0);
  const best = peers.reduce<(typeof peers)[number] | undefined>((b, x) => (b === undefined || x.cell.rate() > b.cell.rate() ? x : b), undefined);
  if (best) {
    const r = compare(`full PSK handshakes/s, e2m static PSK, ${conc} (vs the best peer)`, 'handshakes/s', staticRate, best.name, best.cell.rate(), 'higher', {
      goal: 'static ≥ best peer',
      notes: `${util(c.static)}; peer: ${util(best.cell)}`,
    });
    rows.push({ ...r, goalMet: staticRate >= best.cell.rate() });
  }
  // Server CPU per handshake: what the rate would be with a generator that never runs out of CPU.
  const capacity = (x: Cell): number => 1e6 / x.cpuPerOp();
  const bestCap = peers
    .filter((x) => Number.isFinite(capacity(x.cell)))
    .reduce<(typeof peers)[number] | undefined>((b, x) => (b === undefined || capacity(x.cell) > capacity(b.cell) ? x : b), undefined);
  if (bestCap) {
    const ours = capacity(c.static);
    rows.push({
      ...compare('handshakes per server CPU-second (1e6 / server CPU µs per handshake)', 'handshakes/core-s', ours, bestCap.name, capacity(bestCap.cell), 'higher', {
        goal: 'static ≥ best peer (judged on server CPU, not on the generator-bound rate)',
        notes: `e2m ${r0(c.static.cpuPerOp())} µs per handshake, peer ${r0(bestCap.cell.cpuPerOp())} µs`,
      }),
      goalMet: ours >= capacity(bestCap.cell),
    });
  }
  // libcoap's own rows, unless it already is the best peer above.
  if (c.libcoap.runs.length > 0 && best?.cell !== c.libcoap) {
    rows.push(compare(`full PSK handshakes/s, ${conc}`, 'handshakes/s', staticRate, 'libcoap coap-server-openssl', c.libcoap.rate(), 'higher', { notes: `e2m ${util(c.static)}; libcoap ${util(c.libcoap)}` }));
  }
  if (c.libcoap.runs.length > 0 && bestCap?.cell !== c.libcoap) {
    rows.push(compare('server CPU per full handshake', 'µs', c.static.cpuPerOp(), 'libcoap coap-server-openssl', c.libcoap.cpuPerOp(), 'lower'));
  }
  if (c.gnutlsSerial.runs.length > 0) {
    rows.push(
      compare('full PSK handshakes/s, one client at a time (serial)', 'handshakes/s', c.oursSerial.rate(), 'gnutls-serv', c.gnutlsSerial.rate(), 'higher', {
        notes: `gnutls-serv serves one DTLS session at a time (in trials all of 8 concurrent clients timed out); its mean handshake takes ${r0(c.gnutlsSerial.meanLatencyMs())} ms, ${cpuText(c.gnutlsSerial)}`,
      }),
    );
  }
  if (c.opensslSerial.runs.length > 0) {
    rows.push(
      compare('serial handshake latency, mean (connect to established, one at a time)', 'ms', c.oursSerial.meanLatencyMs(), 'openssl s_server', c.opensslSerial.meanLatencyMs(), 'lower', {
        notes: `server CPU per handshake: e2m ${r0(c.oursSerial.cpuPerOp())} µs, s_server ${r0(c.opensslSerial.cpuPerOp())} µs`,
      }),
    );
  }
  const goal08 = '≥ 0.8× static';
  const same = c.emksSame.rate();
  rows.push({
    ...compare(`full PSK handshakes/s, EMKS-backed, one identity+kid (EMSE key cache hit), ${conc}`, 'handshakes/s', same, 'e2m static PSK', staticRate, 'higher', {
      goal: goal08,
      notes: `EMKS key fetches during the windows: ${fetches.same.join(', ')}; ${util(c.emksSame)}`,
    }),
    goalMet: same >= 0.8 * staticRate,
  });
  const distinct = c.emksDistinct.rate();
  const completed = c.emksDistinct.runs.map((r) => r.result.completed);
  rows.push({
    ...compare(`full PSK handshakes/s, EMKS-backed, ${DISTINCT_SUBSCRIBERS} identities+kids cycled (> ${EMSE_CACHE_SIZE}-entry cache: a fetch per handshake), ${conc}`, 'handshakes/s', distinct, 'e2m static PSK', staticRate, 'higher', {
      goal: goal08,
      notes: `EMKS key fetches ${fetches.distinct.join(', ')} for ${completed.join(', ')} handshakes (warm-up included in fetches); ${util(c.emksDistinct)}; emks-server ${r0(c.emksDistinct.util('emks'))}%`,
    }),
    goalMet: distinct >= 0.8 * staticRate,
  });
  rows.push(compare('EMSE CPU per handshake with an EMKS fetch', 'µs', c.emksDistinct.cpuPerOp(), 'e2m static PSK', c.static.cpuPerOp(), 'lower'));
  rows.push(figure('emks-server CPU per key fetch (GET /v1/e2m-keys over mTLS, keep-alive)', 'µs', c.emksDistinct.cpuPerOp('emks')));
  const failures = Object.values(c).reduce((a, x) => a + x.failed(), 0);
  rows.push(figure('failed handshakes in all windows', 'handshakes', failures));

  const limits = [
    `${p.repeats} run(s) per cell, median; warm-up ${p.warmupMs} ms, window ${p.durationMs} ms; each of our servers first ran ${p.primeMs} ms of untimed load (JIT).`,
    SERVER_CPU !== undefined ? 'Server pinned to CPU 0 and the generator to CPU 1 (taskset); the emks-server runs unpinned beside them.' : 'One CPU: server and generator share it.',
    `The generator is our own DTLS client in Node (a UDP socket of its own per handshake): against our static server it spent ${r0(generatorPerOp(c.static))} µs of CPU per handshake, against libcoap ${r0(generatorPerOp(c.libcoap))} µs, so where its utilisation nears 100% the rate is generator-bound and the per-CPU-second row is the server-side comparison.`,
    'gnutls-serv and openssl s_server serve one session at a time: their rows are serial (one client), with ours serial too. openssl s_server prints the session parameters of every connection (as in the README command line).',
    `Before each run the bench waits up to ${p.quietWaitMs / 1000} s for the machine to be idle. ${otherLoad(Object.values(c).flatMap((x) => x.runs))} Absolute rates are therefore noisy; ratios come from interleaved runs.`,
    missing.length > 0 ? `Missing peers (rows left out): ${missing.join(', ')}.` : '',
  ];
  return { id: 'handshakes', title: 'Full PSK handshakes per second', rows, limits: limits.filter((x) => x !== '').join(' ') };
}

export const bench: BenchModule = { id: 'handshakes', title: 'Full PSK handshakes per second', run };
