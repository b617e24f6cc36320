/**
 * Structured logging (pino) with secret redaction. SecretBytes print as `<secret:N bytes>` by
 * themselves; the paths below catch secrets that arrive as plain strings (hex keys in JSON bodies,
 * configuration objects). Nothing in e2m logs key material on purpose; this is the safety net.
 */
import { pino, destination, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Field names whose values are always secret, wherever they appear in a log object. */
export const SECRET_FIELDS = [
  'k', 'op', 'opc', 'ck', 'ik', 'key', 'psk', 'kek', 'res', 'xres', 'kaf', 'ks',
  'e2mKey', 'e2mIntKey', 'intKey', 'masterSecret', 'premaster', 'secret', 'password', 'authorization',
] as const;

// Explicit paths only: pino's wildcard paths (`*.key`) cost ~50 µs per line for this list, which a
// server logging per request cannot afford. Nested secrets are caught under the containers that
// could plausibly carry them; SecretBytes redact themselves anywhere.
const CONTAINERS = ['body', 'config', 'options', 'req', 'request', 'keys'] as const;
const redactPaths = SECRET_FIELDS.flatMap((f) => [f, ...CONTAINERS.map((c) => `${c}.${f}`)]);

export interface LogOptions {
  /** Logger name (the role: emks, emse, hss, ue, dtls). */
  name: string;
  /** pino level; defaults to E2M_LOG_LEVEL or 'info'. */
  level?: string;
  /** Where to write; defaults to stderr. */
  destination?: DestinationStream;
}

/** A pino logger whose output never carries the values of SECRET_FIELDS. */
export function createLogger(opts: LogOptions): Logger {
  const level = opts.level ?? process.env['E2M_LOG_LEVEL'] ?? 'info';
  const options = {
    name: opts.name,
    level,
    redact: { paths: redactPaths, censor: '<redacted>' },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options, destination(2));
}

let silent: Logger | undefined;

/** A logger that drops everything (library default when the embedder passes none); one shared instance. */
export function silentLogger(): Logger {
  silent ??= pino({ level: 'silent' });
  return silent;
}
