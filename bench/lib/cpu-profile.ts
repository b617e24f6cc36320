/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function (name + file), counted
 * over the samples that fall inside a measurement window, and per area of the code (our DTLS
 * engine, CoAP, node-coap, Node's crypto and UDP, garbage collection).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  /** Share of the busy (non-idle) samples, percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  /** Samples counted (inside the window when one was given). */
  readonly samples: number;
  /** Share of those samples the process was idle, percent. */
  readonly idlePercent: number;
  /** Whether the window could be applied (else the whole profile was counted). */
  readonly windowed: boolean;
  readonly top: readonly ProfileEntry[];
  readonly areas: readonly ProfileEntry[];
  /** Time in a function and everything it called (each function counted once per sample). */
  readonly inclusive: readonly ProfileEntry[];
}

/** A monotonic timestamp in µs on the clock V8 stamps profiles with (CLOCK_MONOTONIC on Linux). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A short location: the part of the URL after node_modules/, dist/ or the node: scheme. */
function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `src/${url.slice(dist + '/dist/'.length).replace(/\.js$/, '.ts')}`;
  return url.replace(/^file:\/\//, '');
}

/** Which area of the stack a frame belongs to. */
function areaOf(name: string, url: string): string {
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)' || name === '(root)') return 'V8/native (program)';
  const u = shortUrl(url);
  if (u.startsWith('src/dtls/')) return 'e2m DTLS engine (src/dtls)';
  if (u.startsWith('src/crypto/')) return 'e2m crypto wrappers (src/crypto)';
  if (u.startsWith('src/coap/') || u.startsWith('src/emse/')) return 'e2m CoAP/EMSE (src/coap, src/emse)';
  if (u.startsWith('src/util/')) return 'e2m util (src/util)';
  if (u.startsWith('src/')) return 'e2m other';
  if (u.startsWith('coap-packet/')) return 'coap-packet';
  if (u.startsWith('coap/') || u.startsWith('lru-cache/') || u.startsWith('readable-stream/') || u.startsWith('bl/') || u.startsWith('capitalize/')) return 'node-coap and its deps';
  if (u.startsWith('node:internal/crypto') || u.startsWith('node:crypto')) return 'node:crypto';
  if (u.startsWith('node:dgram') || u.startsWith('node:internal/dgram')) return 'node:dgram (UDP)';
  if (u.startsWith('node:internal/modules') || u.startsWith('node:internal/bootstrap')) return 'module loading';
  if (u.startsWith('node:')) return 'node: other (events, timers, buffers, streams)';
  if (u.includes('/')) return `npm: ${u.split('/')[0] ?? u}`;
  return 'native (no URL)';
}

/** Summarises the newest .cpuprofile in `dir`, counting samples within [fromUs, toUs] if given. */
export function summariseProfileDir(dir: string, window?: { fromUs: number; toUs: number }, topN = 10): ProfileSummary | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const last = files[files.length - 1];
  if (last === undefined) return undefined;
  return summariseProfile(JSON.parse(readFileSync(join(dir, last), 'utf8')) as CpuProfile, window, topN);
}

export function summariseProfile(p: CpuProfile, window?: { fromUs: number; toUs: number }, topN = 10): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  let windowed = false;
  if (window && p.samples && p.timeDeltas && window.fromUs >= p.startTime && window.toUs <= p.endTime + 1_000_000) {
    windowed = true;
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0;
      if (t < window.fromUs || t > window.toUs) continue;
      const id = p.samples[i] as number;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  } else {
    for (const n of p.nodes) counts.set(n.id, n.hitCount ?? 0);
  }
  let total = 0;
  let idle = 0;
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  for (const [id, c] of counts) {
    const n = byId.get(id);
    if (n === undefined || c === 0) continue;
    total += c;
    const { functionName, url } = n.callFrame;
    if (functionName === '(idle)') {
      idle += c;
      continue;
    }
    const key = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + c);
    const a = areaOf(functionName, url);
    area.set(a, (area.get(a) ?? 0) + c);
  }
  const busy = Math.max(1, total - idle);
  // Inclusive time: walk each counted node up to the root, crediting every function on the way once.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id);
  const incl = new Map<string, number>();
  for (const [id, c] of counts) {
    const leaf = byId.get(id);
    if (leaf === undefined || c === 0 || leaf.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined) break;
      const { functionName, url } = n.callFrame;
      if (functionName === '(root)' || (functionName === '' && url === '')) continue;
      seen.add(`${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}` : ''}`);
    }
    for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + c);
  }
  const rank = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m].sort((x, y) => y[1] - x[1]).slice(0, n).map(([name, c]) => ({ name, percent: Math.round((1000 * c) / busy) / 10 }));
  return { samples: total, idlePercent: total > 0 ? Math.round((1000 * idle) / total) / 10 : 0, windowed, top: rank(fn, topN), areas: rank(area, 12), inclusive: rank(incl, 25) };
}

/** The summary as log lines. */
export function formatProfile(label: string, s: ProfileSummary): string {
  const lines = [
    `profile of ${label}: ${s.samples} samples${s.windowed ? ' in the measurement window' : ' (whole process)'}, idle ${s.idlePercent}%; self time, % of busy samples:`,
    ...s.top.map((e, i) => `  ${String(i + 1).padStart(2)}. ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`),
    '  by area:',
    ...s.areas.map((e) => `      ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`),
    '  inclusive (the function and what it called):',
    ...s.inclusive.map((e) => `      ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`),
  ];
  return lines.join('\n');
}
