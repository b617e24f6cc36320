/**
 * Child processes for the interop tests: spawn a peer program with a hard time limit, collect its
 * output, wait (event-driven, bounded) until a pattern shows up, and make sure every child is gone
 * when the test ends. Nothing here sleeps for a fixed time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';

export interface SpawnOptions {
  /** The child is killed (SIGKILL) after this long whatever happens. Default 20 s. */
  timeoutMs?: number;
  /** 'pipe' keeps stdin open until `endInput()` (peers that quit on EOF); default 'ignore'. */
  stdin?: 'pipe' | 'ignore';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type Stream = 'stdout' | 'stderr' | 'any';

/** A running (or finished) peer program. */
export interface PeerProcess {
  readonly child: ChildProcess;
  /** The command line, for messages. */
  readonly commandLine: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** The exit status once known. */
  readonly exit: Exit | undefined;
  /**
   * Resolves with the first match of `pattern` in the chosen output (already seen or still to come);
   * rejects when the process exits without it or after `timeoutMs` (default 10 s), with the output.
   */
  waitFor(pattern: RegExp, options?: { stream?: Stream; timeoutMs?: number }): Promise<RegExpMatchArray>;
  /** Writes to stdin (spawned with stdin: 'pipe'). */
  write(text: string | Uint8Array): void;
  /** Closes stdin. */
  endInput(): void;
  /** Sends `signal` (default SIGTERM), escalates to SIGKILL after `graceMs`, and resolves on exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  /** Both streams, for assertion messages. */
  describe(): string;
}

/** Starts `command args` (no shell) and returns a handle on it. */
export function spawnPeer(command: string, args: readonly string[], options: SpawnOptions = {}): PeerProcess {
  const child = spawn(command, [...args], {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const commandLine = [command, ...args].map((a) => (/^[\w./:=@+,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  const out = { stdout: '', stderr: '' };
  let exit: Exit | undefined;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out.stdout += chunk;
    notify();
  });
  child.stderr?.on('data', (chunk: string) => {
    out.stderr += chunk;
    notify();
  });
  // A peer that exits early makes writes fail with EPIPE: that is reported through its exit status.
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (err) => {
      out.stderr += `\n[spawn error: ${err.message}]`;
      exit ??= { code: -1, signal: null };
      resolve(exit);
      notify();
    });
    child.once('close', (code, signal) => {
      exit ??= { code, signal };
      resolve(exit);
      notify();
    });
  });
  const hardLimit = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  hardLimit.unref();
  void exited.then(() => clearTimeout(hardLimit));

  const describeOutput = (): string =>
    `${commandLine}\n--- exit: ${exit ? `${exit.code ?? exit.signal}` : 'running'}\n--- stdout:\n${out.stdout}\n--- stderr:\n${out.stderr}`;

  const handle: PeerProcess = {
    child,
    commandLine,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exited,
    get exit() {
      return exit;
    },
    waitFor(pattern, { stream = 'any', timeoutMs = 10_000 } = {}) {
      const text = (): string =>
        stream === 'stdout' ? out.stdout : stream === 'stderr' ? out.stderr : `${out.stdout}\n${out.stderr}`;
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const finish = (): void => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          const m = text().match(pattern);
          if (m) {
            finish();
            resolve(m);
          } else if (exit) {
            finish();
            reject(new Error(`exited before ${String(pattern)} appeared:\n${describeOutput()}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${describeOutput()}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    write(text) {
      child.stdin?.write(text);
    },
    endInput() {
      child.stdin?.end();
    },
    async stop(signal = 'SIGTERM', graceMs = 3_000) {
      if (exit) return exit;
      child.kill(signal);
      const escalate = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(escalate);
      return result;
    },
    describe: describeOutput,
  };
  return handle;
}

/**
 * Keeps every process a test started, so that `afterEach(() => procs.stopAll())` ends them even when
 * the test failed half-way.
 */
export class ProcessGroup {
  private readonly running = new Set<PeerProcess>();

  spawn(command: string, args: readonly string[], options?: SpawnOptions): PeerProcess {
    const p = spawnPeer(command, args, options);
    this.running.add(p);
    void p.exited.then(() => this.running.delete(p));
    return p;
  }

  /** Stops every child still running (SIGTERM, then SIGKILL) and waits for them. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((p) => p.stop('SIGTERM', 1_000)));
    this.running.clear();
  }
}

/** Resolves with the arguments of the next `event` of `emitter`, or rejects after `timeoutMs`. */
/** Anything with once/off listeners (an EventEmitter, a DtlsSession). */
export interface Listenable {
  once(event: never, fn: (...args: never[]) => void): unknown;
  off(event: never, fn: (...args: never[]) => void): unknown;
}

export function nextEvent<T extends unknown[] = unknown[]>(emitter: Listenable | EventEmitter, event: string, timeoutMs = 10_000): Promise<T> {
  const target = emitter as EventEmitter;
  return new Promise<T>((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      target.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    target.once(event, onEvent);
  });
}

/** Rejects with `what` after `timeoutMs` unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}
