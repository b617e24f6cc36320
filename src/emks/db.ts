/** `--db URL`: which store backs the EMKS (DESIGN.md §8). */
import { ConfigError } from '../util/errors.js';
import { openSqliteStore } from './sqlite-store.js';
import type { EmksStore } from './store.js';

const SQLITE = 'sqlite:';

/**
 * Opens the store named by `url`: `sqlite:FILE` (created if missing) or `sqlite::memory:` (tests).
 * Anything else is a ConfigError naming `option`; PostgreSQL (`postgres://…`) is planned.
 */
export function openEmksStore(url: string, option = '--db'): EmksStore {
  if (typeof url !== 'string' || url.length === 0) throw new ConfigError(option, 'is required (e.g. sqlite:emks.db)');
  if (/^postgres(?:ql)?:/i.test(url)) {
    throw new ConfigError(option, 'PostgreSQL is planned but not available yet; use sqlite:FILE');
  }
  if (!url.startsWith(SQLITE)) {
    throw new ConfigError(option, `unsupported database URL (expected sqlite:FILE; PostgreSQL is planned)`);
  }
  // sqlite:FILE, also written sqlite://FILE or sqlite:///absolute/path.
  const rest = url.slice(SQLITE.length);
  const file = rest.startsWith('//') ? rest.slice(2) : rest;
  if (file.length === 0) throw new ConfigError(option, 'sqlite: needs a file name (sqlite:FILE or sqlite::memory:)');
  try {
    return openSqliteStore(file);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(option, `cannot open ${file}: ${reason}`);
  }
}
