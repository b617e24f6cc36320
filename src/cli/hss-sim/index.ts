/** The `hss-sim` program. */
import { Command } from 'commander';
import { type CliIo, ExitCode, ExitError } from '../io.js';

/** Builds the `hss-sim` program for `io`. */
export function createHssSimProgram(_io: CliIo, name = 'hss-sim'): Command {
  return new Command(name)
    .description('hss-sim (not built yet)')
    .action(() => {
      throw new ExitError(ExitCode.failure, `${name}: not built yet`);
    });
}
