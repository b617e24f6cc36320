/**
 * Runs a CLI program in-process (STYLE.md 12) with a CliIo that captures what it prints, for the tests
 * that check output and exit status without spawning a binary.
 */
import type { Command } from 'commander';
import { type CliIo, runProgram } from '../../src/cli/io.js';

/** What one in-process run printed, and its exit status. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Builds the program with `create` on a capturing io (empty environment) and runs it on `argv`. */
export async function runCli(create: (io: CliIo) => Command, argv: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
  };
  const code = await runProgram(create(io), argv, io);
  return { code, stdout, stderr };
}
