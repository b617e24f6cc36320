/** The `e2m` program: the umbrella binary (demo, pki, bench, kdf, and the four roles as subcommands). */
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { createUeClientProgram } from '../ue-client/index.js';
import { createEmseServerProgram } from '../emse-server/index.js';
import { addDemoCommand } from './demo.js';
import { addKdfCommand } from './kdf.js';

/** Builds the `e2m` program for `io`. */
export function createE2mProgram(io: CliIo): Command {
  const program = new Command('e2m')
    .description('e2m: AKA-bootstrapped DTLS-PSK for cellular IoT')
    .version('0.1.0');
  addDemoCommand(program, io);
  addKdfCommand(program, io);
  program.addCommand(createUeClientProgram(io, 'ue'));
  program.addCommand(createEmseServerProgram(io, 'emse'));
  return program;
}
