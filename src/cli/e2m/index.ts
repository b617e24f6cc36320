/** The `e2m` program: the umbrella binary (demo, pki, bench, kdf, and the four roles as subcommands). */
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { createUeClientProgram } from '../ue-client/index.js';
import { createEmksServerProgram } from '../emks-server/index.js';
import { createEmseServerProgram } from '../emse-server/index.js';
import { createHssSimProgram } from '../hss-sim/index.js';
import { addDemoCommand } from './demo.js';
import { addKdfCommand } from './kdf.js';
import { addPkiCommand } from './pki.js';

/** Builds the `e2m` program for `io`. */
export function createE2mProgram(io: CliIo): Command {
  const program = new Command('e2m')
    .description('e2m: AKA-bootstrapped DTLS-PSK for cellular IoT')
    .version('0.1.0')
    .addHelpText('after', '\nExample:\n  e2m demo\n  e2m kdf --key 00112233445566778899aabbccddeeff --fc ffe0 --p 6532 --p 6d5f43496f54\n');
  addDemoCommand(program, io);
  addKdfCommand(program, io);
  addPkiCommand(program, io);
  program.addCommand(createUeClientProgram(io, 'ue'));
  program.addCommand(createEmseServerProgram(io, 'emse'));
  program.addCommand(createEmksServerProgram(io, 'emks'));
  program.addCommand(createHssSimProgram(io, 'hss'));
  return program;
}
