/**
 * NSS key log (the SSLKEYLOGFILE format read by Wireshark, curl, Firefox, OpenSSL -keylogfile):
 *
 *   CLIENT_RANDOM <64 hex digits of ClientHello.random> <96 hex digits of the master secret>
 *
 * one line per session, lowercase hex. Writing it discloses the session keys, so it happens only when
 * the operator asks for it (`--keylog FILE` or SSLKEYLOGFILE), and the file is created with mode 0600.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { toHex } from '../util/bytes.js';
import { ConfigError } from '../util/errors.js';
import { exposeSecret, type SecretBytes } from '../util/secret.js';

const RANDOM_LENGTH = 32; // RFC 5246 §7.4.1.2
const MASTER_SECRET_LENGTH = 48; // RFC 5246 §8.1

/** The key log line for one session, without a line terminator. */
export function keyLogLine(clientRandom: Uint8Array, master: Uint8Array | SecretBytes): string {
  const m = exposeSecret(master);
  if (clientRandom.length !== RANDOM_LENGTH) throw new RangeError(`client_random must be ${RANDOM_LENGTH} octets`);
  if (m.length !== MASTER_SECRET_LENGTH) throw new RangeError(`master secret must be ${MASTER_SECRET_LENGTH} octets`);
  return `CLIENT_RANDOM ${toHex(clientRandom)} ${toHex(m)}`;
}

/** Appends key log lines to a file, one synchronous write per session. */
export class KeyLogWriter {
  readonly path: string;
  private fd: number | undefined;

  /** Opens (creating with mode 0600 if needed) `path` for appending; `option` names the setting in errors. */
  constructor(path: string, option = '--keylog') {
    this.path = path;
    try {
      this.fd = openSync(path, 'a', 0o600);
    } catch (err) {
      throw new ConfigError(option, `cannot open key log file ${path}: ${(err as Error).message}`);
    }
  }

  /** Appends the line of one session. Does nothing after close(). */
  log(clientRandom: Uint8Array, master: Uint8Array | SecretBytes): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${keyLogLine(clientRandom, master)}\n`);
  }

  /** Closes the file. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * The key log writer for an explicit path (`--keylog FILE`), else for the SSLKEYLOGFILE environment
 * variable, else undefined (no key log).
 */
export function openKeyLog(
  path?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): KeyLogWriter | undefined {
  if (path !== undefined && path !== '') return new KeyLogWriter(path, '--keylog');
  const fromEnv = env['SSLKEYLOGFILE'];
  if (fromEnv !== undefined && fromEnv !== '') return new KeyLogWriter(fromEnv, 'SSLKEYLOGFILE');
  return undefined;
}
