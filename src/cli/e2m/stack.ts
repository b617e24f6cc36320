/**
 * Starts the network side of e2m as separate processes (emks-server, hss-sim, emse-server), each
 * on a port the system picks, and stops them again. Used by `e2m demo` and by the end-to-end tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../../crypto/primitives.js';
import { createDevPki } from '../../crypto/pki.js';
import { toHex } from '../../util/bytes.js';

/** The binaries of this package (bin/ sits two folders above dist/cli/e2m and src/cli/e2m). */
export function binPath(name: 'e2m' | 'ue-client' | 'emse-server' | 'emks-server' | 'hss-sim'): string {
  return fileURLToPath(new URL(`../../../bin/${name}.js`, import.meta.url));
}

/** One running child process and what it printed. */
export class RoleProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly watchers: { re: RegExp; stream: 'stdout' | 'stderr'; resolve: (m: RegExpExecArray) => void }[] = [];

  constructor(
    readonly name: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = spawn(process.execPath, [binPath(name as 'e2m'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child.stdout?.on('data', (d: Buffer) => this.onData('stdout', d));
    this.child.stderr?.on('data', (d: Buffer) => this.onData('stderr', d));
  }

  private onData(stream: 'stdout' | 'stderr', d: Buffer): void {
    this[stream] += d.toString();
    for (const w of [...this.watchers]) {
      const m = w.stream === stream ? w.re.exec(this[stream]) : null;
      if (m) {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /** Resolves with the first match of `re` in the output; rejects on exit or after `timeoutMs`. */
  waitFor(re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 10_000): Promise<RegExpExecArray> {
    const already = re.exec(this[stream]);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${re} within ${timeoutMs} ms\n${this.stderr.slice(-2000)}`)), timeoutMs);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before ${re}\n${this.stderr.slice(-2000)}`));
      };
      this.child.once('exit', onExit);
      this.watchers.push({
        re,
        stream,
        resolve: (m) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(m);
        },
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export interface Subscriber {
  readonly imsi: string;
  readonly k: string;
  readonly opc: string;
  readonly identity: string;
}

export interface StackOptions {
  /** A folder of its own (the PKI, the database and the SIM files go in it). */
  readonly dir: string;
  readonly emseIds?: readonly string[];
  readonly subscribers?: readonly Subscriber[];
  readonly retain?: number;
  readonly logLevel?: string;
  /** Environment of the children (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Stack {
  readonly dir: string;
  readonly pkiDir: string;
  readonly emksUrl: string;
  readonly hssUrl: string;
  readonly emse: ReadonlyMap<string, { host: string; port: number; process: RoleProcess }>;
  readonly subscribers: readonly Subscriber[];
  readonly emks: RoleProcess;
  readonly hss: RoleProcess;
  /** Writes a SIM file for subscriber `i` and returns its path. */
  simFile(i?: number): string;
  stop(): Promise<void>;
}

/** A fresh random subscriber. */
export function randomSubscriber(n: number): Subscriber {
  return {
    imsi: `00101${String(1_000_000_000 + n).slice(-10)}`,
    k: toHex(randomBytes(16)),
    opc: toHex(randomBytes(16)),
    identity: `sensor-${n}@iot.example.com`,
  };
}

/** Starts EMKS, HSS and one EMSE per id, and waits until each says it is listening. */
export async function startStack(o: StackOptions): Promise<Stack> {
  const emseIds = o.emseIds ?? ['emse-a.example.com'];
  const subscribers = o.subscribers ?? [randomSubscriber(17)];
  const pkiDir = join(o.dir, 'pki');
  await createDevPki({ dir: pkiDir, emseIds });
  const subsFile = join(o.dir, 'subscribers.json');
  writeFileSync(
    subsFile,
    JSON.stringify(subscribers.map((s) => ({ imsi: s.imsi, k: s.k, opc: s.opc, amf: '8000', sqn: '000000000020', identities: [s.identity] }))),
    { mode: 0o600 },
  );
  const log = ['--log-level', o.logLevel ?? 'info'];
  const started: RoleProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()));
  };
  try {
    const emks = new RoleProcess(
      'emks-server',
      ['--listen', '127.0.0.1:0', '--pki', pkiDir, '--db', `sqlite:${join(o.dir, 'emks.db')}`, '--retain', String(o.retain ?? 3), ...log],
      o.env,
    );
    started.push(emks);
    const emksUrl = (await emks.waitFor(/listening on (https:\/\/\S+)/))[1] as string;
    const hss = new RoleProcess('hss-sim', ['--listen', '127.0.0.1:0', '--subscribers', subsFile, '--emks', emksUrl, '--pki', pkiDir, ...log], o.env);
    started.push(hss);
    const hssUrl = (await hss.waitFor(/listening on (http:\/\/\S+)/))[1] as string;
    const emse = new Map<string, { host: string; port: number; process: RoleProcess }>();
    for (const id of emseIds) {
      const p = new RoleProcess('emse-server', ['--listen', '127.0.0.1:0', '--emse-id', id, '--emks', emksUrl, '--pki', pkiDir, ...log], o.env);
      started.push(p);
      const m = await p.waitFor(/listening on ([0-9.]+):(\d+)/);
      emse.set(id, { host: m[1] as string, port: Number(m[2]), process: p });
    }
    const simFile = (i = 0): string => {
      const s = subscribers[i];
      if (s === undefined) throw new RangeError(`no subscriber ${i}`);
      const file = join(o.dir, `sim-${i}.json`);
      writeFileSync(file, JSON.stringify({ imsi: s.imsi, k: s.k, opc: s.opc, sqn: '000000000000', identity: s.identity }), { mode: 0o600 });
      return file;
    };
    return { dir: o.dir, pkiDir, emksUrl, hssUrl, emse, subscribers, emks, hss, simFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
