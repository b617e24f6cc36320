/** Small helpers the throughput sections share: medians, the CPU split, the --profile switch, how busy the machine was. */
import { cpus } from 'node:os';
import type { Measured } from './loadgen.js';

/** The server under test on CPU 0 and the load generator on CPU 1 (when there are two). */
export const SERVER_CPU: number | undefined = cpus().length >= 2 ? 0 : undefined;
export const GENERATOR_CPU: number | undefined = cpus().length >= 2 ? 1 : undefined;

/** `--profile` on the command line (or E2M_BENCH_PROFILE=1): also run our server under `node --cpu-prof`. */
export function profiling(): boolean {
  return process.argv.includes('--profile') || process.env['E2M_BENCH_PROFILE'] === '1';
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** How much of the machine other processes took during the windows, as a sentence for the limits. */
export function otherLoad(runs: readonly Measured[]): string {
  const cores = cpus().length;
  const shares = runs.map((r) => (100 * r.otherCpuMs) / (r.result.windowMs * cores)).filter((x) => Number.isFinite(x));
  if (shares.length === 0) return '';
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  const max = Math.max(...shares);
  return `Processes other than the server and the generator used ${mean.toFixed(0)}% of the machine's ${cores} cores on average during the windows (at most ${max.toFixed(0)}% in one window).`;
}

/** Below this much CPU time (20 ticks of 10 ms) a CPU-per-operation figure is too coarse to report. */
export const MIN_CPU_MS = 200;

/**
 * CPU µs per operation of process `proc`, pooled over `runs` (total CPU / total operations); NaN
 * when the process used less than MIN_CPU_MS in all (a serial peer that mostly waits).
 */
export function cpuPerOpUs(runs: readonly Measured[], proc = 'server'): number {
  let cpu = 0;
  let ops = 0;
  for (const r of runs) {
    cpu += r.cpuMs[proc] ?? Number.NaN;
    ops += r.result.completed;
  }
  return cpu >= MIN_CPU_MS && ops > 0 ? (cpu * 1000) / ops : Number.NaN;
}
