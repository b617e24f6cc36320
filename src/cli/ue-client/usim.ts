/** `ue-client usim`: one authentication by the simulated USIM (TS 33.102 §6.3.3). */
import type { Command } from 'commander';
import { Usim } from '../../aka/index.js';
import { toHex } from '../../util/bytes.js';
import { type CliIo, ExitCode, ExitError, printResult } from '../io.js';
import { hexFlag } from '../options.js';

interface UsimFlags {
  k: string;
  opc: string;
  rand: string;
  autn: string;
  sqnMs: string;
  json?: boolean;
}

export function addUsimCommand(program: Command, io: CliIo): void {
  program
    .command('usim')
    .description('run the USIM side of AKA on one challenge: verify MAC-A and SQN freshness, answer RES/CK/IK or AUTS')
    .requiredOption('--k <hex>', 'subscriber key K (16 octets)')
    .requiredOption('--opc <hex>', 'OPc (16 octets)')
    .requiredOption('--rand <hex>', 'RAND (16 octets)')
    .requiredOption('--autn <hex>', 'AUTN (16 octets)')
    .requiredOption('--sqn-ms <hex>', 'highest SQN the USIM accepted so far (6 octets)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit status: 0 ok, 3 sync-failure or mac-failure, 2 bad input.\nExample:\n' +
        '  ue-client usim --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf \\\n' +
        '    --rand 23553cbe9637a89d218ae64dae47bf35 --autn 55f328b43577b9b94a9ffac354dfafb3 --sqn-ms ff9bb4d0b600 --json\n',
    )
    .action((flags: UsimFlags) => {
      const usim = new Usim({
        k: hexFlag('--k', flags.k, 16),
        opc: hexFlag('--opc', flags.opc, 16),
        sqnMs: hexFlag('--sqn-ms', flags.sqnMs, 6),
      });
      const rand = hexFlag('--rand', flags.rand, 16);
      const autn = hexFlag('--autn', flags.autn, 16);
      const r = usim.authenticate(rand, autn);
      const json = flags.json === true;
      switch (r.result) {
        case 'ok':
          printResult(io, { result: 'ok', res: toHex(r.res), ck: toHex(r.ck), ik: toHex(r.ik) }, json);
          return;
        case 'sync-failure':
          printResult(io, { result: 'sync-failure', auts: toHex(r.auts) }, json);
          throw new ExitError(ExitCode.authFailure, '');
        case 'mac-failure':
          printResult(io, { result: 'mac-failure' }, json);
          throw new ExitError(ExitCode.authFailure, '');
      }
    });
}
