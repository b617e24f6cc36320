/**
 * Processes for the throughput sections: servers under test (ours and the peers of
 * shared/peers/README.md) started as child processes, optionally pinned to one core, with their CPU
 * time read from /proc, and every one of them stopped again however the section ends.
 *
 * spawnProc is a condensed copy of test/support/processes.ts (spawn with a hard time limit, wait
 * for a line of output, stop with SIGTERM then SIGKILL).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { processCpuMs } from './process-cpu.js';

export interface Proc {
  readonly child: ChildProcess;
  readonly name: string;
  readonly pid: number;
  readonly output: () => string;
  /** Resolves with the first match of `re` in stdout+stderr; rejects on exit or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (or `signal`), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  readonly exited: Promise<void>;
}

export interface SpawnOptions {
  /** Killed with SIGKILL after this long whatever happens (default 10 min). */
  readonly timeoutMs?: number;
  /** 'pipe' keeps stdin open (openssl s_server quits on EOF). */
  readonly stdin?: 'pipe' | 'ignore';
  /** Run on this CPU only (taskset -c), when taskset exists. */
  readonly cpu?: number;
}

let tasksetPresent: boolean | undefined;

/** Whether `taskset` (util-linux) can pin processes here. */
export function canPin(): boolean {
  if (tasksetPresent === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetPresent = true;
    } catch {
      tasksetPresent = false;
    }
  }
  return tasksetPresent;
}

/** Starts `command args` (no shell). taskset execs the command, so the pid is the program's own. */
export function spawnProc(name: string, command: string, args: readonly string[], o: SpawnOptions = {}): Proc {
  const pinned = o.cpu !== undefined && canPin();
  const child = pinned
    ? spawn('taskset', ['-c', String(o.cpu), command, ...args], { stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'] })
    : spawn(command, [...args], { stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let out = '';
  let done = false;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  const append = (d: Buffer): void => {
    // Keep the head (start-up lines) and a bounded tail: peers may log per datagram.
    out = out.length < 64_000 ? out + d.toString() : out.slice(0, 32_000) + out.slice(-16_000) + d.toString();
    notify();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      out += `\n[spawn error: ${err.message}]`;
      done = true;
      resolve();
      notify();
    });
    child.once('close', () => {
      done = true;
      resolve();
      notify();
    });
  });
  const hard = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 600_000);
  hard.unref();
  void exited.then(() => clearTimeout(hard));
  return {
    child,
    name,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const finish = (): void => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            finish();
            resolve(m);
          } else if (done) {
            finish();
            reject(new Error(`${name} exited before ${String(re)}:\n${out.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${name}: no ${String(re)} within ${timeoutMs} ms:\n${out.slice(-2000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      if (done) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Every process a section started, stopped together in its `finally`. */
export class ProcGroup {
  private readonly procs = new Set<Proc>();

  spawn(name: string, command: string, args: readonly string[], o?: SpawnOptions): Proc {
    const p = spawnProc(name, command, args, o);
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Stops one process (and forgets it). */
  async stop(p: Proc): Promise<void> {
    await p.stop();
    this.procs.delete(p);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop()));
    this.procs.clear();
  }
}

/** User plus system CPU time of process `pid` so far, ms (from /proc/<pid>/stat); NaN if unknown. */
export const cpuMsOf = (pid: number): number => processCpuMs(pid);

import { freeCoapPorts, freeUdpPort, hasProgram } from '../../test/support/peers.js';

export { freeCoapPorts, freeUdpPort, hasProgram };

/**
 * Waits until a CoAP server answers on plain UDP `port`: a CoAP ping (empty CON, RFC 7252 §4.3) is
 * answered with a Reset. Sent again every 200 ms (the first may precede the bind), for `timeoutMs`.
 */
export async function waitCoapPing(port: number, timeoutMs = 10_000): Promise<void> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      const ping = Buffer.from([0x40, 0x00, 0x12, 0x34]);
      const send = (): void => s.send(ping, port, '127.0.0.1');
      s.on('message', (m) => {
        if (m.length >= 4 && m[2] === 0x12 && m[3] === 0x34) {
          clearInterval(again);
          clearTimeout(limit);
          resolve();
        }
      });
      s.on('error', () => undefined);
      const again = setInterval(send, 200);
      const limit = setTimeout(() => {
        clearInterval(again);
        reject(new Error(`no CoAP answer on udp/${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      send();
    });
  } finally {
    s.close();
  }
}

/** A program of this package under bin/ (bench/lib and dist-bench/bench/lib sit two or three folders below). */
export function binPath(name: 'emse-server' | 'emks-server' | 'hss-sim'): string {
  const up = import.meta.url.includes('/dist-bench/') ? '../../../' : '../../';
  return fileURLToPath(new URL(`${up}bin/${name}.js`, import.meta.url));
}

export interface EmseProcOptions {
  /** `IDENTITY=HEX` for static mode; or `emks` for the EMKS lookup. */
  readonly psk?: readonly string[];
  readonly emks?: { readonly url: string; readonly emseId: string; readonly pki: string };
  /** Write a V8 CPU profile here when the process exits (node --cpu-prof). */
  readonly cpuProfDir?: string;
  readonly cpu?: number;
}

/** Starts bin/emse-server on 127.0.0.1 (port chosen by the system) at log level warn. */
export async function startEmse(group: ProcGroup, o: EmseProcOptions): Promise<{ proc: Proc; port: number }> {
  const node = [...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []), binPath('emse-server')];
  const mode = o.emks
    ? ['--emks', o.emks.url, '--emse-id', o.emks.emseId, '--pki', o.emks.pki]
    : (o.psk ?? []).flatMap((p) => ['--psk', p]);
  const proc = group.spawn('emse-server', process.execPath, [...node, '--listen', '127.0.0.1:0', ...mode, '--log-level', 'warn'], o.cpu === undefined ? {} : { cpu: o.cpu });
  const m = await proc.waitFor(/listening on [0-9.]+:(\d+)/);
  return { proc, port: Number(m[1]) };
}


/** shared/peers/README.md: the GnuTLS priority string that forces TLS_PSK_WITH_AES_128_CCM_8. */
export const GNUTLS_PRIORITY = 'NONE:+VERS-DTLS1.2:+PSK:+AES-128-CCM-8:+AEAD:+SIGN-ALL:+COMP-NULL:+CURVE-ALL';
/** shared/peers/README.md: OpenSSL's name of the suite (level 0 for OpenSSL >= 3.2). */
export const OPENSSL_CIPHER = 'PSK-AES128-CCM8:@SECLEVEL=0';

/**
 * libcoap's coap-server-openssl in PSK mode (any identity, one key, given as text in 4.3.1): coap on
 * P, coaps on P+1. Ready once it answers a CoAP ping on P.
 */
export async function startLibcoap(group: ProcGroup, asciiKey: string, cpu?: number): Promise<{ proc: Proc; port: number }> {
  const p = await freeCoapPorts();
  const proc = group.spawn('coap-server-openssl', 'coap-server-openssl', ['-A', '127.0.0.1', '-p', String(p), '-k', asciiKey], cpu === undefined ? {} : { cpu });
  await waitCoapPing(p);
  return { proc, port: p + 1 };
}

/** gnutls-serv in UDP echo mode with one `identity:hexkey` line (it binds every address; we use 127.0.0.1). */
export async function startGnutlsServ(group: ProcGroup, passwdFile: string, cpu?: number): Promise<{ proc: Proc; port: number }> {
  const port = await freeUdpPort();
  const proc = group.spawn('gnutls-serv', 'gnutls-serv', ['--udp', '--echo', '--port', String(port), '--pskpasswd', passwdFile, '--priority', GNUTLS_PRIORITY], cpu === undefined ? {} : { cpu });
  await proc.waitFor(/listening on IPv4 [^\n]* port \d+\.\.\.done/);
  return { proc, port };
}

/** openssl s_server, DTLS 1.2 PSK only; stdin stays open (it quits on EOF). */
export async function startOpensslServer(group: ProcGroup, identity: string, keyHex: string, cpu?: number): Promise<{ proc: Proc; port: number }> {
  const port = await freeUdpPort();
  const proc = group.spawn(
    's_server',
    'openssl',
    ['s_server', '-dtls1_2', '-nocert', '-psk', keyHex, '-psk_identity', identity, '-cipher', OPENSSL_CIPHER, '-accept', `127.0.0.1:${port}`],
    { stdin: 'pipe', ...(cpu === undefined ? {} : { cpu }) },
  );
  await proc.waitFor(/ACCEPT/);
  return { proc, port };
}

let ticks: number | undefined;

/** CPU time all processes spent so far (every core, user+nice+system+irq+softirq+steal), ms; NaN if unknown. */
export function systemBusyMs(): number {
  try {
    ticks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return (busy * 1000) / ticks;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits (at most `maxWaitMs`) until processes other than ours leave the machine mostly idle: less
 * than `busyShare` of all cores busy over a 500 ms sample. Resolves with the last share seen.
 */
export async function waitForQuiet(maxWaitMs: number, busyShare = 0.2): Promise<number> {
  const cores = cpus().length;
  const deadline = Date.now() + maxWaitMs;
  let share = Number.NaN;
  do {
    const b0 = systemBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 500));
    share = (systemBusyMs() - b0) / (500 * cores);
    if (!(share >= busyShare)) return share;
  } while (Date.now() < deadline);
  return share;
}

/** Resident set size of process `pid`, MiB (VmRSS of /proc/<pid>/status); NaN if unknown. */
export function rssMibOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
