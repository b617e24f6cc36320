/** The `ue-client` program: the device side (USIM, derivations; attach and CoAP come with the roles). */
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { addBootstrapCommands } from './bootstrap.js';
import { addDeriveCommand } from './derive.js';
import { addHandshakeCommand } from './handshake.js';
import { addMilenageCommand } from './milenage.js';
import { addUsimCommand } from './usim.js';

/** Builds the `ue-client` program for `io` (STYLE.md 12: one factory per binary). */
export function createUeClientProgram(io: CliIo, name = 'ue-client'): Command {
  const program = new Command(name)
    .description('e2m device side: run AKA on the simulated USIM, derive e2m keys, talk CoAP over DTLS-PSK')
    .version(PACKAGE_VERSION)
    .addHelpText('after', `\nExample:\n  ${name} handshake 127.0.0.1:5684 --psk-identity sensor-17@iot.example.com --psk 000102030405060708090a0b0c0d0e0f\n`);
  addMilenageCommand(program, io);
  addUsimCommand(program, io);
  addDeriveCommand(program, io);
  addHandshakeCommand(program, io);
  addBootstrapCommands(program, io);
  return program;
}

const PACKAGE_VERSION = '0.1.0';
