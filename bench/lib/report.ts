/** Writes a run's results: JSON (all figures), a markdown table, and an SVG chart of the ratios. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import type { Section } from './types.js';

export interface RunInfo {
  readonly date: string;
  readonly node: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly memoryGiB: number; readonly os: string };
  readonly peers: Readonly<Record<string, string>>;
  readonly scale: number;
}

function versionOf(cmd: string, args: readonly string[], re: RegExp): string {
  try {
    const out = execFileSync(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).toString();
    return re.exec(out)?.[1] ?? out.split('\n')[0]?.trim() ?? 'unknown';
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '') + String((err as { stderr?: Buffer }).stderr ?? '');
    return re.exec(out)?.[1] ?? 'not installed';
  }
}

/** Machine, Node and peer versions of this run. */
export function runInfo(scale: number): RunInfo {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${platform()} ${release()}` },
    peers: {
      openssl: versionOf('openssl', ['version'], /OpenSSL (\S+)/),
      gnutls: versionOf('gnutls-cli', ['--version'], /gnutls-cli (\S+)/),
      libcoap: versionOf('coap-server-openssl', ['-h'], /coap-server(?:-openssl)? v(\S+)/),
      'node-http2': process.version,
    },
    scale,
  };
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return String(Math.round(n * 100) / 100);
}

/** The markdown table of a run. */
export function markdown(info: RunInfo, sections: readonly Section[]): string {
  const lines = [
    `# e2m benchmarks, ${info.date.slice(0, 10)}`,
    '',
    `Machine: ${info.machine.cpu}, ${info.machine.cores} cores, ${info.machine.memoryGiB} GiB, ${info.machine.os}; Node ${info.node}.`,
    `Peers: ${Object.entries(info.peers).map(([k, v]) => `${k} ${v}`).join(', ')}. Scale ${info.scale}.`,
    '',
    'Ratios are ours versus the peer measured in the same run, oriented so that > 1 means e2m does better.',
    '',
  ];
  for (const s of sections) {
    lines.push(`## ${s.title}`, '', '| metric | e2m | peer | ratio | goal |', '| --- | --- | --- | --- | --- |');
    for (const r of s.rows) {
      const peer = r.peer === undefined ? '–' : `${fmt(r.peer)} (${r.peerName ?? ''})`;
      const goal = r.goal === undefined ? '' : `${r.goal}: ${r.goalMet ? 'met' : 'not met'}`;
      lines.push(`| ${r.metric}${r.notes ? ` — ${r.notes}` : ''} | ${fmt(r.ours)} ${r.unit} | ${peer} | ${r.ratio === undefined ? '–' : `${fmt(r.ratio)}×`} | ${goal} |`);
    }
    if (s.limits) lines.push('', `Limits: ${s.limits}`);
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * A horizontal bar chart of every ratio, as SVG: a log scale centred on 1× (bars to the right: e2m
 * better, to the left: worse), clamped to 1/8..8× so that one large ratio does not flatten the rest;
 * each bar is labelled with its value.
 */
export function svgChart(sections: readonly Section[]): string {
  const rows = sections.flatMap((s) => s.rows.filter((r) => r.ratio !== undefined && r.ratio > 0).map((r) => ({ label: r.metric, ratio: r.ratio as number })));
  const rowH = 22;
  const labelW = 420;
  const barW = 400;
  const span = 3; // log2 of the largest ratio drawn to scale (8×)
  const h = 52 + rows.length * rowH;
  const centre = labelW + barW / 2;
  const x = (v: number): number => centre + (Math.max(-span, Math.min(span, Math.log2(v))) / span) * (barW / 2);
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const ticks = [0.125, 0.25, 0.5, 1, 2, 4, 8]
    .map((t) => `<line x1="${x(t)}" y1="28" x2="${x(t)}" y2="${h - 4}" stroke="${t === 1 ? '#555' : '#ccc'}"${t === 1 ? ' stroke-dasharray="4 3"' : ''}/>` +
      `<text x="${x(t)}" y="${h - 8}" text-anchor="middle" fill="#777" font-size="10">${t < 1 ? `1/${1 / t}` : t}×</text>`)
    .join('\n');
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * rowH;
      const better = r.ratio >= 1;
      const end = x(r.ratio);
      const [from, to] = better ? [centre, end] : [end, centre];
      const value = `<text x="${better ? end + 4 : end - 4}" y="${y + 14}"${better ? '' : ' text-anchor="end"'}>${r.ratio.toFixed(2)}×</text>`;
      return `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(r.label.slice(0, 60))}</text>` +
        `<rect x="${from}" y="${y + 3}" width="${Math.max(1, to - from)}" height="${rowH - 8}" fill="${better ? '#2e7d32' : '#c62828'}"/>` + value;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 60}" height="${h}" font-family="sans-serif" font-size="12">
<text x="10" y="18" font-weight="bold">e2m versus peers, same run (log scale; right of 1×: e2m better)</text>
${ticks}
${bars}
</svg>
`;
}

/** Writes `<base>.json`, `<base>.md` and `<base>.svg`. */
export function writeResults(base: string, info: RunInfo, sections: readonly Section[]): void {
  writeFileSync(`${base}.json`, `${JSON.stringify({ ...info, sections }, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(info, sections));
  writeFileSync(`${base}.svg`, svgChart(sections));
}
