/**
 * The child process of the load generator (see loadgen.ts): runs one load spec received over IPC
 * with our DTLS client and reports progress, the measurement window and the result.
 */
import { performance } from 'node:perf_hooks';
import { generate } from 'coap-packet';
import { CipherSuiteId, DtlsClient, type DtlsClientSession, type RetransmitConfig } from '../../src/dtls/index.js';
import { silentLogger } from '../../src/util/log.js';
import type { CoapLoad, HandshakeLoad, LoadResult, LoadSpec, WorkerMessage } from './loadgen.js';

/** Flight timing of the generator: RFC 6347's 1 s first timeout, but giving up after 10 s. */
const RETRANSMIT: RetransmitConfig = { initialMs: 1_000, maxMs: 4_000, handshakeTimeoutMs: 10_000 };

/**
 * One logger for every connection: without it each DtlsClient.connect() makes a pino instance of
 * its own (resolveCommon → silentLogger()), a cost that belongs to no handshake.
 */
const LOGGER = silentLogger();

function send(m: WorkerMessage): void {
  process.send?.(m);
}

function now(): number {
  return performance.now();
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function summarise(values: number[]): LoadResult['latency'] {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  const at = (p: number): number => values[Math.min(values.length - 1, Math.max(0, Math.ceil(p * values.length) - 1))] as number;
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, p50: at(0.5), p99: at(0.99) };
}

function countError(errors: Record<string, number>, err: unknown): void {
  const msg = (err instanceof Error ? err.message : String(err)).slice(0, 120);
  errors[msg] = (errors[msg] ?? 0) + 1;
}

/** Reports progress at most every 200 ms. */
function progressReporter(): (fraction: number) => void {
  let last = 0;
  return (fraction) => {
    const t = now();
    if (t - last >= 200 || fraction >= 1) {
      last = t;
      send({ type: 'progress', fraction: Math.min(1, fraction) });
    }
  };
}

/** The window: opens after the warm-up, closes at the deadline or when the work runs out. */
class Window {
  readonly opensAt: number;
  readonly closesAt: number;
  private opened = false;
  private closedAt: number | undefined;
  private cpuStart = process.cpuUsage();
  private cpuMs = 0;

  constructor(
    private readonly startedAt: number,
    warmupMs: number,
    durationMs: number,
  ) {
    this.opensAt = startedAt + warmupMs;
    this.closesAt = this.opensAt + durationMs;
  }

  /** Whether `t` (a completion time) is inside the window; opens it on the way. */
  inside(t: number): boolean {
    this.tick(t);
    return this.opened && this.closedAt === undefined && t >= this.opensAt;
  }

  tick(t: number): void {
    if (!this.opened && t >= this.opensAt) {
      this.opened = true;
      this.cpuStart = process.cpuUsage();
      send({ type: 'window', edge: 'start' });
    }
    if (this.opened && this.closedAt === undefined && t >= this.closesAt) this.close(this.closesAt);
  }

  close(t: number): void {
    if (this.closedAt !== undefined) return;
    if (!this.opened) this.tick(this.opensAt);
    this.closedAt = Math.max(this.opensAt, Math.min(t, this.closesAt));
    const u = process.cpuUsage(this.cpuStart);
    this.cpuMs = (u.user + u.system) / 1000;
    send({ type: 'window', edge: 'end' });
  }

  get over(): boolean {
    return this.closedAt !== undefined;
  }

  get lengthMs(): number {
    return (this.closedAt ?? this.closesAt) - this.opensAt;
  }

  get generatorCpuMs(): number {
    return this.cpuMs;
  }

  fraction(t: number): number {
    return (t - this.startedAt) / (this.closesAt - this.startedAt);
  }
}

async function handshakeLoad(spec: HandshakeLoad): Promise<LoadResult> {
  const creds = spec.credentials.map((c) => ({ identity: c.identity, psk: hexBytes(c.pskHex) }));
  if (creds.length === 0) throw new Error('no credentials');
  let next = 0;
  let completed = 0;
  let failed = 0;
  let lastCompletion = 0;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const progress = progressReporter();
  const win = new Window(now(), spec.warmupMs, spec.durationMs);
  const worker = async (): Promise<void> => {
    for (;;) {
      const start = now();
      win.tick(start);
      if (win.over) return;
      if (spec.reuse === 'once' && next >= creds.length) return;
      const cred = creds[next++ % creds.length] as (typeof creds)[number];
      try {
        const s = await DtlsClient.connect({
          host: spec.host,
          port: spec.port,
          identity: cred.identity,
          psk: cred.psk,
          cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8],
          retransmit: RETRANSMIT,
          logger: LOGGER,
        });
        const done = now();
        s.close();
        if (win.inside(done)) {
          completed++;
          lastCompletion = done;
          latencies.push(done - start);
          if (spec.maxCount !== undefined && completed >= spec.maxCount) win.close(done);
        }
      } catch (err) {
        if (win.inside(now())) failed++;
        countError(errors, err);
      }
      progress(win.fraction(now()));
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, () => worker()));
  // Out of credentials ('once') before the deadline: the window ends at the last completion.
  win.close(lastCompletion > 0 ? lastCompletion : now());
  progress(1);
  return {
    completed,
    failed,
    badAnswers: 0,
    windowMs: win.lengthMs,
    rate: win.lengthMs > 0 ? (completed * 1000) / win.lengthMs : 0,
    latency: summarise(latencies),
    sessions: 0,
    answerBytes: 0,
    generatorCpuMs: win.generatorCpuMs,
    errors,
  };
}

/** One session's pipeline: Message IDs and tokens count up, outstanding requests by token. */
interface Pipe {
  readonly session: DtlsClientSession;
  mid: number;
  token: number;
  readonly pending: Map<number, number>;
}

const CODE_CONTENT = 0x45; // 2.05 (RFC 7252 §12.1.2)

/** Sets up `spec.sessions` sessions, `connectConcurrency` handshakes at a time. */
async function connectSessions(spec: CoapLoad, errors: Record<string, number>, progress: (f: number) => void): Promise<DtlsClientSession[]> {
  const psk = hexBytes(spec.credential.pskHex);
  const sessions: DtlsClientSession[] = [];
  let started = 0;
  const connector = async (): Promise<void> => {
    while (started < spec.sessions) {
      started++;
      try {
        sessions.push(
          await DtlsClient.connect({
            host: spec.host,
            port: spec.port,
            identity: spec.credential.identity,
            psk,
            cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8],
            retransmit: RETRANSMIT,
            logger: LOGGER,
          }),
        );
      } catch (err) {
        countError(errors, err);
      }
      progress(sessions.length / spec.sessions);
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.connectConcurrency, spec.sessions) }, () => connector()));
  return sessions;
}

/** The requests in flight over all sessions and what came back inside the window. */
class CoapPipeline {
  completed = 0;
  failed = 0;
  badAnswers = 0;
  answerBytes = 0;
  running = true;
  readonly latencies: number[] = [];
  private readonly pipes: Pipe[];
  private readonly template: Buffer;
  private cursor = 0;

  constructor(
    private readonly spec: CoapLoad,
    sessions: readonly DtlsClientSession[],
    private readonly win: Window,
    errors: Record<string, number>,
  ) {
    // One frame per request, from a template made once with coap-packet: only MID and token change.
    this.template = generate({
      code: 'GET',
      confirmable: spec.confirmable,
      messageId: 0,
      token: Buffer.alloc(4),
      options: spec.path.map((segment) => ({ name: 'Uri-Path', value: Buffer.from(segment) })),
    });
    this.pipes = sessions.map((session, i) => {
      const p: Pipe = { session, mid: (i * 7919) & 0xffff, token: 0, pending: new Map() };
      session.on('data', (d: Uint8Array) => this.onAnswer(p, d));
      session.on('close', () => {
        if (this.running) countError(errors, new Error('session closed by the server'));
      });
      return p;
    });
  }

  /** Fills the pipeline: `inflight` per session, or `inflight` in all over the sessions in turn. */
  start(): void {
    const first = this.pipes[0] as Pipe;
    if (this.spec.rotate) for (let k = 0; k < this.spec.inflight; k++) this.request(this.next(first));
    else for (const p of this.pipes) for (let k = 0; k < this.spec.inflight; k++) this.request(p);
  }

  /** Requests outstanding longer than requestTimeoutMs are lost (a datagram dropped somewhere): replaced. */
  sweep(t: number): void {
    for (const p of this.pipes) {
      if (p.session.closed) continue;
      for (const [token, sentAt] of p.pending) {
        if (t - sentAt < this.spec.requestTimeoutMs) continue;
        p.pending.delete(token);
        if (this.win.inside(t)) this.failed++;
        this.request(this.next(p));
      }
    }
  }

  /** The pipe that carries the next request after one on `p` was answered or lost. */
  private next(p: Pipe): Pipe {
    return this.spec.rotate ? (this.pipes[this.cursor++ % this.pipes.length] as Pipe) : p;
  }

  private request(p: Pipe): void {
    const frame = Buffer.from(this.template);
    p.mid = (p.mid + 1) & 0xffff;
    p.token = (p.token + 1) >>> 0;
    frame.writeUInt16BE(p.mid, 2);
    frame.writeUInt32BE(p.token, 4);
    p.pending.set(p.token, now());
    p.session.send(frame);
  }

  /** RFC 7252 §3: Ver|T|TKL, Code, Message ID, Token; answers are matched by our 4-octet token. */
  private onAnswer(p: Pipe, d: Uint8Array): void {
    if (d.length < 4) return;
    const b0 = d[0] as number;
    // A separate response (CON): acknowledge it with an empty ACK (RFC 7252 §5.2.2).
    if (((b0 >> 4) & 0x03) === 0) p.session.send(new Uint8Array([0x60, 0x00, d[2] as number, d[3] as number]));
    if ((b0 & 0x0f) !== 4 || d.length < 8) return; // an empty ACK, or not ours
    const token = ((d[4] as number) * 0x1000000 + ((d[5] as number) << 16) + ((d[6] as number) << 8) + (d[7] as number)) >>> 0;
    const sentAt = p.pending.get(token);
    if (sentAt === undefined) return;
    p.pending.delete(token);
    const t = now();
    if (this.win.inside(t)) {
      if (d[1] === CODE_CONTENT) {
        this.completed++;
        this.answerBytes = d.length;
        if (this.latencies.length < 500_000) this.latencies.push(t - sentAt);
      } else {
        this.badAnswers++;
      }
    }
    if (this.running) this.request(this.next(p));
  }
}

async function coapLoad(spec: CoapLoad): Promise<LoadResult> {
  const errors: Record<string, number> = {};
  const progress = progressReporter();
  // Progress: set-up is the first 30 %.
  const sessions = await connectSessions(spec, errors, (f) => progress(0.3 * f));
  if (sessions.length === 0) throw new Error(`no session established: ${JSON.stringify(errors)}`);
  const win = new Window(now(), spec.warmupMs, spec.durationMs);
  const pipeline = new CoapPipeline(spec, sessions, win, errors);
  pipeline.start();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const t = now();
      win.tick(t);
      progress(0.3 + 0.7 * win.fraction(t));
      if (win.over) {
        clearInterval(tick);
        resolve();
      } else {
        pipeline.sweep(t);
      }
    }, 100);
  });
  pipeline.running = false;
  progress(1);
  await closePaced(sessions);
  return {
    completed: pipeline.completed,
    failed: pipeline.failed,
    badAnswers: pipeline.badAnswers,
    windowMs: win.lengthMs,
    rate: win.lengthMs > 0 ? (pipeline.completed * 1000) / win.lengthMs : 0,
    latency: summarise(pipeline.latencies),
    sessions: sessions.length,
    answerBytes: pipeline.answerBytes,
    generatorCpuMs: win.generatorCpuMs,
    errors,
  };
}

/**
 * Closes the sessions (close_notify each) `CLOSE_BATCH` at a time, one batch per timer turn: two
 * thousand close_notify alerts at once would overflow the server's receive queue, leaving sessions
 * behind in it for the next run.
 */
const CLOSE_BATCH = 50;
async function closePaced(sessions: readonly DtlsClientSession[]): Promise<void> {
  for (let i = 0; i < sessions.length; i += CLOSE_BATCH) {
    for (const s of sessions.slice(i, i + CLOSE_BATCH)) s.close();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function workerMain(spec: LoadSpec): Promise<void> {
  try {
    const result = spec.kind === 'handshakes' ? await handshakeLoad(spec) : await coapLoad(spec);
    send({ type: 'result', result });
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
  // Let the close_notify datagrams leave, then end (open sockets would keep the process alive).
  setImmediate(() => process.disconnect?.());
  setTimeout(() => process.exit(0), 200).unref();
}

if (process.send) {
  process.once('message', (spec: LoadSpec) => void workerMain(spec));
}
