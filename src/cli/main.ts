/** Entry point of the `bin/` shims: picks the program by binary name and exits with its status. */
import type { Command } from 'commander';
import { createE2mProgram } from './e2m/index.js';
import { createEmksServerProgram } from './emks-server/index.js';
import { createEmseServerProgram } from './emse-server/index.js';
import { createHssSimProgram } from './hss-sim/index.js';
import { type CliIo, processIo, runProgram } from './io.js';
import { createUeClientProgram } from './ue-client/index.js';

export type BinaryName = 'e2m' | 'ue-client' | 'emse-server' | 'emks-server' | 'hss-sim';

const factories: Record<BinaryName, (io: CliIo) => Command> = {
  e2m: (io) => createE2mProgram(io),
  'ue-client': (io) => createUeClientProgram(io),
  'emse-server': (io) => createEmseServerProgram(io),
  'emks-server': (io) => createEmksServerProgram(io),
  'hss-sim': (io) => createHssSimProgram(io),
};

/** Runs binary `name` on the process's arguments and sets the exit status. */
export async function main(name: BinaryName): Promise<void> {
  const io = processIo();
  const code = await runProgram(factories[name](io), process.argv.slice(2), io);
  process.exitCode = code;
}
