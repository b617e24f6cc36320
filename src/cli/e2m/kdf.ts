/** `e2m kdf`: the generic key derivation function of 3GPP TS 33.220 Annex B.2. */
import type { Command } from 'commander';
import { kdf } from '../../kdf/index.js';
import { toHex } from '../../util/bytes.js';
import { ConfigError } from '../../util/errors.js';
import { type CliIo, printResult } from '../io.js';
import { hexFlag } from '../options.js';

interface KdfFlags {
  key: string;
  fc: string;
  p: string[];
  json?: boolean;
}

export function addKdfCommand(program: Command, io: CliIo): void {
  program
    .command('kdf')
    .description('HMAC-SHA-256(Key, FC || P0 || L0 || P1 || L1 ...) of TS 33.220 Annex B.2')
    .requiredOption('--key <hex>', 'the key (any length)')
    .requiredOption('--fc <hex>', 'FC: one octet (20) or two octets 0xFF||FC2 (ffe0)')
    .option('--p <hex>', 'a parameter P0, P1, ... in order (repeat the flag)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample (RFC 5448 test case 1, CK\'||IK\' with P0 = "WLAN", P1 = SQN xor AK):\n' +
        '  e2m kdf --key 5349fbe098649f948f5d2e973a81c00f9744871ad32bf9bbd1dd5ce54e3e2e5a \\\n' +
        '    --fc 20 --p 574c414e --p bb52e91c747a --json\n',
    )
    .action((flags: KdfFlags) => {
      const key = hexFlag('--key', flags.key);
      if (key.length === 0) throw new ConfigError('--key', 'must not be empty');
      const fc = hexFlag('--fc', flags.fc);
      if (fc.length === 2 && fc[0] !== 0xff) throw new ConfigError('--fc', 'a two-octet FC must start with ff');
      if (fc.length !== 1 && fc.length !== 2) throw new ConfigError('--fc', 'must be one or two octets');
      if (fc.length === 1 && fc[0] === 0xff) throw new ConfigError('--fc', 'ff alone is reserved for the two-octet form');
      const params = flags.p.map((p, i) => {
        const v = hexFlag(`--p (#${i + 1})`, p);
        if (v.length > 0xffff) throw new ConfigError(`--p (#${i + 1})`, 'longer than 65535 octets');
        return v;
      });
      printResult(io, { key: toHex(kdf(key, fc, ...params)) }, flags.json === true);
    });
}
