/** `ue-client milenage`: the Milenage functions of TS 35.206 for one (K, OP/OPc, RAND, SQN, AMF). */
import type { Command } from 'commander';
import { buildAutn, computeOpc, milenage } from '../../aka/index.js';
import { toHex } from '../../util/bytes.js';
import { ConfigError } from '../../util/errors.js';
import { type CliIo, printResult } from '../io.js';
import { hexFlag } from '../options.js';

interface MilenageFlags {
  k: string;
  op?: string;
  opc?: string;
  rand: string;
  sqn: string;
  amf: string;
  json?: boolean;
}

export function addMilenageCommand(program: Command, io: CliIo): void {
  program
    .command('milenage')
    .description('compute OPc, f1, f1*, f2, f3, f4, f5, f5* and AUTN (3GPP TS 35.206)')
    .requiredOption('--k <hex>', 'subscriber key K (16 octets)')
    .option('--op <hex>', 'operator variant OP (16 octets); give --op or --opc')
    .option('--opc <hex>', 'OPc = OP xor E_K(OP) (16 octets)')
    .requiredOption('--rand <hex>', 'RAND (16 octets)')
    .requiredOption('--sqn <hex>', 'SQN (6 octets)')
    .requiredOption('--amf <hex>', 'AMF (2 octets)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample (TS 35.208 test set 1):\n  ue-client milenage --k 465b5ce8b199b49faa5f0a2ee238a6bc \\\n' +
        '    --op cdc202d5123e20f62b6d676ac72cb318 --rand 23553cbe9637a89d218ae64dae47bf35 \\\n' +
        '    --sqn ff9bb4d0b607 --amf b9b9 --json\n',
    )
    .action((flags: MilenageFlags) => {
      const k = hexFlag('--k', flags.k, 16);
      if ((flags.op === undefined) === (flags.opc === undefined)) {
        throw new ConfigError('--op/--opc', 'give exactly one of --op and --opc');
      }
      const opc = flags.opc !== undefined ? hexFlag('--opc', flags.opc, 16) : computeOpc(k, hexFlag('--op', flags.op, 16));
      const rand = hexFlag('--rand', flags.rand, 16);
      const sqn = hexFlag('--sqn', flags.sqn, 6);
      const amf = hexFlag('--amf', flags.amf, 2);
      const out = milenage({ k, opc, rand, sqn, amf });
      printResult(
        io,
        {
          opc: toHex(opc),
          macA: toHex(out.macA),
          macS: toHex(out.macS),
          res: toHex(out.res),
          ck: toHex(out.ck),
          ik: toHex(out.ik),
          ak: toHex(out.ak),
          akStar: toHex(out.akStar),
          autn: toHex(buildAutn(sqn, out.ak, amf, out.macA)),
        },
        flags.json === true,
      );
    });
}
