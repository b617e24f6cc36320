/** Entry point of the `bin/` shims: picks the program by binary name and exits with its status. */
import { Command } from 'commander';
import { createE2mProgram } from './e2m/index.js';
import { createEmseServerProgram } from './emse-server/index.js';
import { type CliIo, ExitCode, ExitError, processIo, runProgram } from './io.js';
import { createUeClientProgram } from './ue-client/index.js';

export type BinaryName = 'e2m' | 'ue-client' | 'emse-server' | 'emks-server' | 'hss-sim';

const factories: Record<BinaryName, (io: CliIo) => Command> = {
  e2m: (io) => createE2mProgram(io),
  'ue-client': (io) => createUeClientProgram(io),
  'emse-server': (io) => createEmseServerProgram(io),
  'emks-server': () => unavailableProgram('emks-server'),
  'hss-sim': () => unavailableProgram('hss-sim'),
};

/** Runs binary `name` on the process's arguments and sets the exit status. */
export async function main(name: BinaryName): Promise<void> {
  const io = processIo();
  const code = await runProgram(factories[name](io), process.argv.slice(2), io);
  process.exitCode = code;
}

/** A binary whose role is not part of this release yet: says so and exits 1. */
function unavailableProgram(name: string): Command {
  return new Command(name)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new ExitError(ExitCode.failure, `${name}: this role is not part of this release of e2m yet`);
    });
}
