/**
 * The throughput load generator: our own DTLS client (src/dtls DtlsClient) driven hard, in a child
 * process of its own (optionally pinned to one core), so that the server under test never shares an
 * event loop or a core with it.
 *
 * Two loads:
 * - handshakes: `concurrency` workers, each connecting (full PSK handshake with the cookie exchange),
 *   closing with close_notify and starting again, for a time or a count;
 * - coap: `sessions` established sessions, each keeping `inflight` CoAP GETs outstanding (pipelined;
 *   distinct Message IDs and tokens per session), answered requests counted per second.
 *
 * runLoad() forks loadgen-worker.js; the child reads one spec from IPC, reports progress and the
 * measurement window, then the result, and exits.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monotonicMicros } from './cpu-profile.js';
import { canPin, cpuMsOf, systemBusyMs } from './peer-procs.js';

export interface PskCredential {
  readonly identity: string;
  /** The PSK, hex. */
  readonly pskHex: string;
}

export interface HandshakeLoad {
  readonly kind: 'handshakes';
  readonly host: string;
  readonly port: number;
  readonly credentials: readonly PskCredential[];
  /** 'cycle': round-robin over credentials; 'once': each at most once (the run ends when all are used). */
  readonly reuse: 'cycle' | 'once';
  readonly concurrency: number;
  /** Handshakes before this are not counted. */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Stop counting after this many handshakes in the window. */
  readonly maxCount?: number;
}

export interface CoapLoad {
  readonly kind: 'coap';
  readonly host: string;
  readonly port: number;
  readonly credential: PskCredential;
  readonly sessions: number;
  /**
   * Requests outstanding per session; or, with `rotate`, outstanding in all, each new request going
   * to the next session in turn (so that every session carries traffic while the server's receive
   * queue is not flooded by one request from each of thousands of sessions at once).
   */
  readonly inflight: number;
  readonly rotate?: boolean;
  /** Uri-Path segments of the GET. */
  readonly path: readonly string[];
  readonly confirmable: boolean;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Handshakes in parallel while the sessions are set up. */
  readonly connectConcurrency: number;
  /** A request unanswered this long is counted lost and replaced (RFC 7252 ACK_TIMEOUT: 2 s). */
  readonly requestTimeoutMs: number;
}

export type LoadSpec = HandshakeLoad | CoapLoad;

export interface LoadResult {
  /** Handshakes completed (handshakes) or 2.05 answers received (coap) inside the window. */
  readonly completed: number;
  /** Handshakes that failed, or requests lost (unanswered within requestTimeoutMs), inside the window. */
  readonly failed: number;
  /** Answers that were not 2.05 (coap). */
  readonly badAnswers: number;
  /** Length of the measurement window, ms. */
  readonly windowMs: number;
  /** completed per second of window. */
  readonly rate: number;
  /** Per-operation latency, ms (handshake: connect() to established; coap: request to answer). */
  readonly latency: { readonly mean: number; readonly p50: number; readonly p99: number } | undefined;
  /** Sessions established (coap). */
  readonly sessions: number;
  /** Size of one answer, octets of CoAP message (coap). */
  readonly answerBytes: number;
  /** CPU time the generator spent inside the window, ms. */
  readonly generatorCpuMs: number;
  /** Error messages and how often they were seen. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface RunLoadOptions {
  /** Progress of the whole run (set-up, warm-up and window), 0..1. */
  readonly progress?: (fraction: number) => void;
  /** Called when the measurement window opens and closes (to sample the server's CPU time). */
  readonly window?: (edge: 'start' | 'end') => void;
  /** Pin the generator to this CPU (taskset), when possible. */
  readonly cpu?: number;
}

/** What the child process reports. */
export type WorkerMessage =
  | { type: 'progress'; fraction: number }
  | { type: 'window'; edge: 'start' | 'end' }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; message: string };

/** Runs `spec` in a child process and resolves with its figures. */
export function runLoad(spec: LoadSpec, o: RunLoadOptions = {}): Promise<LoadResult> {
  const file = fileURLToPath(new URL('loadgen-worker.js', import.meta.url));
  const pinned = o.cpu !== undefined && canPin();
  const child: ChildProcess = pinned
    ? fork(file, [], { execPath: 'taskset', execArgv: ['-c', String(o.cpu), process.execPath], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const budgetMs = spec.warmupMs + spec.durationMs + 120_000;
  return new Promise<LoadResult>((resolve, reject) => {
    let result: LoadResult | undefined;
    let failure: string | undefined;
    const limit = setTimeout(() => {
      failure = `load generator still running after ${budgetMs} ms`;
      child.kill('SIGKILL');
    }, budgetMs);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') o.progress?.(m.fraction);
      else if (m.type === 'window') o.window?.(m.edge);
      else if (m.type === 'result') result = m.result;
      else failure = m.message;
    });
    child.once('error', (err) => {
      failure ??= err.message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      if (result) resolve(result);
      else reject(new Error(`load generator: ${failure ?? `exited (${code ?? signal}) without a result`}`));
    });
    child.send(spec);
  });
}

export interface Measured {
  readonly result: LoadResult;
  /** CPU time each watched process spent inside the window, ms. */
  readonly cpuMs: Readonly<Record<string, number>>;
  /**
   * CPU time of everything else on the machine inside the window, ms: all cores' busy time minus
   * the watched processes and the generator.
   */
  readonly otherCpuMs: number;
  /** The window on the monotonic clock, µs (to cut CPU profiles to it). */
  readonly window: { readonly fromUs: number; readonly toUs: number };
}

/**
 * runLoad, sampling the CPU time of the processes in `watch` (name → pid) when the window opens
 * and closes.
 */
export async function measure(spec: LoadSpec, watch: Readonly<Record<string, number>>, o: Omit<RunLoadOptions, 'window'> = {}): Promise<Measured> {
  const start: Record<string, number> = {};
  const cpuMs: Record<string, number> = {};
  const window = { fromUs: 0, toUs: 0 };
  const busy = { start: 0, end: 0 };
  const result = await runLoad(spec, {
    ...o,
    window: (edge) => {
      if (edge === 'start') {
        window.fromUs = monotonicMicros();
        busy.start = systemBusyMs();
        for (const [name, pid] of Object.entries(watch)) start[name] = cpuMsOf(pid);
      } else {
        window.toUs = monotonicMicros();
        busy.end = systemBusyMs();
        for (const [name, pid] of Object.entries(watch)) cpuMs[name] = cpuMsOf(pid) - (start[name] ?? Number.NaN);
      }
    },
  });
  const watched = Object.values(cpuMs).reduce((a, b) => a + b, 0);
  return { result, cpuMs, otherCpuMs: Math.max(0, busy.end - busy.start - watched - result.generatorCpuMs), window };
}
