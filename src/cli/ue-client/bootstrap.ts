/** The UE's bootstrap commands: attach, keys, and CoAP requests over DTLS (get, post, put, delete, observe). */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';

/** Adds attach, keys, get, post, put, delete and observe to the ue-client program. */
export function addBootstrapCommands(_program: Command, _io: CliIo): void {
  // filled in with the UE role
}
