/** The `emks-server` program. */
import { Command } from 'commander';
import { type CliIo, ExitCode, ExitError } from '../io.js';

/** Builds the `emks-server` program for `io`. */
export function createEmksServerProgram(_io: CliIo, name = 'emks-server'): Command {
  return new Command(name)
    .description('emks-server (not built yet)')
    .action(() => {
      throw new ExitError(ExitCode.failure, `${name}: not built yet`);
    });
}
