/**
 * `npm run bench [-- --only a,b] [--scale 0.1]`: runs the benchmark sections side by side with real
 * peers and writes bench/results/<date>.{json,md,svg}. Not part of `npm test`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProgress } from './lib/progress.js';
import { runInfo, writeResults, markdown } from './lib/report.js';
import type { BenchModule, Section } from './lib/types.js';

/** Section modules, in report order (bench/sections/<id>.ts exporting `bench: BenchModule`). */
const SECTIONS = ['handshakes', 'coap', 'memory', 'wire', 'latency', 'emks'] as const;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const only = arg('--only')?.split(',');
  const scale = Number(arg('--scale') ?? '1');
  if (!(scale > 0 && scale <= 1)) throw new Error('--scale must be in (0, 1]');
  const here = fileURLToPath(new URL('.', import.meta.url));
  const tmp = mkdtempSync(join(tmpdir(), 'e2m-bench-'));
  const progress = createProgress();
  const sections: Section[] = [];
  for (const id of SECTIONS) {
    if (only && !only.includes(id)) continue;
    const file = join(here, 'sections', `${id}.js`);
    if (!existsSync(file)) {
      process.stderr.write(`(section ${id} not present, skipped)\n`);
      continue;
    }
    const mod = (await import(file)) as { bench: BenchModule };
    process.stderr.write(`\n== ${mod.bench.title}\n`);
    const started = Date.now();
    sections.push(await mod.bench.run({ scale, tmp, progress, log: (t) => process.stderr.write(`${t}\n`) }));
    process.stderr.write(`   (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  rmSync(tmp, { recursive: true, force: true });
  const info = runInfo(scale);
  const outDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, info.date.slice(0, 10));
  writeResults(base, info, sections);
  process.stdout.write(`${markdown(info, sections)}\nwritten: ${base}.json, .md, .svg\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
