/**
 * The CLI's view of the world (STYLE.md 12): every program factory takes a CliIo, so tests run the
 * programs in-process and read what they printed and the exit status.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, StackError } from '../util/errors.js';

/** Exit statuses shared by every binary. */
export const ExitCode = {
  ok: 0,
  /** A failure the command reports (handshake refused, server stopped with an error). */
  failure: 1,
  /** Bad input: a flag, an argument or a file (DESIGN.md §9). */
  usage: 2,
  /** The authentication itself failed (USIM sync or MAC failure). */
  authFailure: 3,
} as const;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Resolves a signal that ends a long-running command (a server); defaults to SIGINT/SIGTERM. */
  untilStopped?: () => Promise<void>;
}

/** The process's own io; long-running commands stop on SIGINT or SIGTERM. */
export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    untilStopped: () =>
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }),
  };
}

/** Waits until a long-running command should stop. */
export function untilStopped(io: CliIo): Promise<void> {
  return io.untilStopped ? io.untilStopped() : new Promise<void>(() => undefined);
}

/** Raised by a command to end with a given status after printing its own message. */
export class ExitError extends StackError {
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super('E_EXIT', message);
    this.exitCode = exitCode;
  }
}

/** Prints `value` as pretty JSON or as `key: value` lines. */
export function printResult(io: CliIo, value: Readonly<Record<string, unknown>>, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    io.stdout(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
  }
}

/** Makes a commander program report to `io` and throw instead of exiting. */
export function wireProgram(program: Command, io: CliIo): Command {
  program
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(`${oneLine(s)}\n`),
    });
  for (const sub of program.commands) wireProgram(sub, io);
  return program;
}

/**
 * Runs a program on `argv` (user arguments only, without node and script) and returns the exit
 * status. Bad input prints one line naming the flag and returns 2; no stack trace ever reaches the user.
 */
export async function runProgram(program: Command, argv: readonly string[], io: CliIo): Promise<number> {
  wireProgram(program, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    return reportError(err, io);
  }
}

/**
 * An error message as one line: line breaks (commander's "(Did you mean …?)" suggestion, or a line
 * break inside a flag value echoed back) become spaces, so that a script reads exactly one line.
 */
function oneLine(s: string): string {
  return s.trim().replace(/\s*[\r\n\v\f\u0085\u2028\u2029]+\s*/g, ' ');
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // --help and --version are successful exits; help shown because no command was given (commander
    // exit code 1) is bad input. Commander already printed its message.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
    if (err.code === 'commander.help') return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return ExitCode.usage;
  }
  if (err instanceof ExitError) {
    if (err.message) io.stderr(`${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    io.stderr(`error: ${oneLine(err.message)}\n`);
    return ExitCode.usage;
  }
  if (err instanceof StackError) {
    io.stderr(`error: ${oneLine(err.message)} (${err.code})\n`);
    return ExitCode.failure;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`error: ${oneLine(message)}\n`);
  return ExitCode.failure;
}
