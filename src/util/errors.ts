/**
 * Coded errors (STYLE.md 6). Every error the stack raises on purpose carries a stable `code` string;
 * the CLI maps codes to exit statuses, the HTTP layer to problem+json, the DTLS layer to alerts.
 */

/** Base class of every deliberate error in e2m. */
export class StackError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A wire structure could not be decoded: `field` names what was being read, `offset` where. */
export class DecodeError extends StackError {
  readonly field: string;
  readonly offset: number;

  constructor(field: string, offset: number, reason = 'truncated or malformed') {
    super('E_DECODE', `cannot decode ${field} at offset ${offset}: ${reason}`);
    this.field = field;
    this.offset = offset;
  }
}

/** A value given by a caller (API argument, CLI flag, configuration file) is not acceptable. */
export class ConfigError extends StackError {
  /** The option, flag or field at fault, e.g. `--k` or `subscribers[2].opc`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('E_CONFIG', `${option}: ${message}`);
    this.option = option;
  }
}

/** An authentication check failed (MAC, tag, Finished, RES). Never carries secret values. */
export class AuthError extends StackError {
  constructor(message: string) {
    super('E_AUTH', message);
  }
}

/** A protocol failure to be signalled to the peer as a TLS/DTLS alert (RFC 5246 §7.2). */
export class AlertError extends StackError {
  readonly level: 'warning' | 'fatal';
  readonly description: number;

  constructor(description: number, message: string, level: 'warning' | 'fatal' = 'fatal') {
    super('E_ALERT', message);
    this.level = level;
    this.description = description;
  }
}
