/**
 * What a benchmark section reports. Every rate is given with the peer's rate measured in the same
 * run and their ratio (these machines are noisy: absolute figures are for orientation only); counts
 * (bytes, datagrams, round trips) stand alone.
 */

export interface Row {
  /** What was measured, e.g. "full handshakes/s, static PSK". */
  readonly metric: string;
  readonly unit: string;
  /** Our figure. */
  readonly ours: number;
  /** The peer's figure measured in the same run, if this is a comparison. */
  readonly peer?: number;
  readonly peerName?: string;
  /** ours / peer (or peer / ours for "lower is better" units; see `better`). */
  readonly ratio?: number;
  /** Which direction is better for this metric. */
  readonly better: 'higher' | 'lower' | 'none';
  /** The goal of the issue, if one is set for this row, and whether it was met. */
  readonly goal?: string;
  readonly goalMet?: boolean;
  readonly notes?: string;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly rows: readonly Row[];
  /** What limits the figures of this section (CPU, peer design, machine). */
  readonly limits?: string;
}

export interface BenchContext {
  /** Scale factor for quick runs (1 = the sizes; 0.1 for a smoke run). */
  readonly scale: number;
  /** A folder for this run's scratch files. */
  readonly tmp: string;
  readonly progress: (label: string, done: number, total: number) => void;
  readonly log: (text: string) => void;
}

export interface BenchModule {
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<Section>;
}

/** A comparison row: computes the ratio so that > 1 always means "we are better". */
export function compare(
  metric: string,
  unit: string,
  ours: number,
  peerName: string,
  peer: number,
  better: 'higher' | 'lower',
  extra: Partial<Pick<Row, 'goal' | 'goalMet' | 'notes'>> = {},
): Row {
  const ratio = peer > 0 && ours > 0 ? (better === 'higher' ? ours / peer : peer / ours) : 0;
  return { metric, unit, ours, peer, peerName, ratio: Math.round(ratio * 100) / 100, better, ...extra };
}

/** A plain figure (a count, or a rate with no peer). */
export function figure(metric: string, unit: string, ours: number, extra: Partial<Pick<Row, 'goal' | 'goalMet' | 'notes'>> = {}): Row {
  return { metric, unit, ours, better: 'none', ...extra };
}

/** The p-th percentile (0..100) of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
