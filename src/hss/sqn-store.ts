/**
 * SQN_HE per subscriber (TS 33.102 Annex C.1.1: the HE keeps, per user, the highest SQN it has
 * generated). Kept in memory; with a state file, every change is written before the vector that uses
 * it leaves the HSS (temp file + rename, mode 0600), so a restart never hands out an SQN twice.
 *
 * State file: {"version":1,"sqn":{"<imsi>":"<12 hex>"}}. Its values supersede the subscriber file's.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SQN_MAX } from '../aka/index.js';
import { ConfigError } from '../util/index.js';
import { IMSI_RE } from './subscribers.js';

const SQN_HEX_RE = /^[0-9a-f]{12}$/;

/** The last SQN used per IMSI, optionally persisted. */
export class SqnStore {
  readonly #sqn = new Map<string, bigint>();
  readonly #file: string | undefined;

  /**
   * `initial` are the subscriber file's values; with `file`, the values stored there (if the file
   * exists) replace them. Throws ConfigError(`option`) on an unreadable or malformed state file.
   */
  constructor(initial: ReadonlyMap<string, bigint>, file?: string, option = '--state') {
    for (const [imsi, sqn] of initial) this.#sqn.set(imsi, sqn);
    this.#file = file;
    if (file === undefined) return;
    for (const [imsi, sqn] of readState(file, option)) {
      if (this.#sqn.has(imsi)) this.#sqn.set(imsi, sqn);
    }
    this.#save();
  }

  /** The last SQN used for `imsi` (undefined for an unknown IMSI). */
  get(imsi: string): bigint | undefined {
    return this.#sqn.get(imsi);
  }

  /** Records `sqn` as the last SQN used for `imsi` and persists it (throws if the write fails). */
  set(imsi: string, sqn: bigint): void {
    if (sqn < 0n || sqn > SQN_MAX) throw new RangeError('SQN outside 0..2^48-1');
    this.#sqn.set(imsi, sqn);
    this.#save();
  }

  #save(): void {
    if (this.#file === undefined) return;
    const sqn: Record<string, string> = {};
    for (const [imsi, value] of this.#sqn) sqn[imsi] = value.toString(16).padStart(12, '0');
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, sqn }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.#file);
  }
}

function readState(file: string, option: string): Map<string, bigint> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new ConfigError(option, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(option, `${file} is not valid JSON`);
  }
  const sqn = (json as { sqn?: unknown } | null)?.sqn;
  if ((json as { version?: unknown } | null)?.version !== 1 || typeof sqn !== 'object' || sqn === null || Array.isArray(sqn)) {
    throw new ConfigError(option, `${file} is not an hss-sim state file ({"version":1,"sqn":{…}})`);
  }
  const out = new Map<string, bigint>();
  for (const [imsi, value] of Object.entries(sqn as Record<string, unknown>)) {
    if (!IMSI_RE.test(imsi) || typeof value !== 'string' || !SQN_HEX_RE.test(value)) {
      throw new ConfigError(option, `${file}: bad entry for '${imsi.slice(0, 20)}' (expected IMSI → 12 lowercase hex)`);
    }
    out.set(imsi, BigInt(`0x${value}`));
  }
  return out;
}
