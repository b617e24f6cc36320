/** `e2m pki init`: the development PKI of DESIGN.md §5 in a folder. */
import type { Command } from 'commander';
import { createDevPki } from '../../crypto/pki.js';
import { ConfigError } from '../../util/errors.js';
import { type CliIo, printResult } from '../io.js';

interface PkiFlags {
  dir?: string;
  emseId: string[];
  hssName: string;
  days: string;
  json?: boolean;
}

export function addPkiCommand(program: Command, io: CliIo): void {
  const pki = program.command('pki').description('development PKI for the EMKS, the HSS and the EMSEs');
  pki
    .command('init')
    .description('create a CA, the EMKS server certificate, an HSS client certificate, one client certificate per EMSE, and the EMKS key-encryption key')
    .requiredOption('--dir <dir>', 'folder to create the PKI in (must not hold one already)')
    .option('--emse-id <id>', 'an EMSE_Id to issue a client certificate for (repeat the flag)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--hss-name <name>', 'the HSS name in urn:e2m:hss:<name>', 'hss-sim')
    .option('--days <n>', 'certificate validity in days', '365')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  e2m pki init --dir ./pki --emse-id emse-a.example.com --emse-id emse-b.example.com\n')
    .action(async (flags: PkiFlags) => {
      if (flags.dir === undefined || flags.dir === '') throw new ConfigError('--dir', 'is required');
      if (!/^\d{1,4}$/.test(flags.days) || Number(flags.days) < 1) throw new ConfigError('--days', 'expected a whole number of days, 1..9999');
      const p = await createDevPki({ dir: flags.dir, emseIds: flags.emseId, hssName: flags.hssName, days: Number(flags.days) });
      printResult(
        io,
        {
          dir: p.dir,
          ca: p.ca.cert,
          emks: p.emks.cert,
          hss: p.hss.cert,
          emse: flags.emseId.map((id) => p.emse(id).cert),
          kek: p.kek,
        },
        flags.json === true,
      );
    });
}
