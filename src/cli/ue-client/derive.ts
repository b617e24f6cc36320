/** `ue-client derive`: the e2m key derivations of one AKA run (DESIGN.md §3, §4). */
import type { Command } from 'commander';
import {
  akmaPskIdentity,
  bestPskIdentity,
  deriveAtid,
  deriveE2mIntKey,
  deriveE2mKey,
  deriveKaf,
  deriveKakma,
  deriveKausf,
  deriveKid,
  deriveKs,
  deriveKsAs,
  renderAkid,
  scefPskIdentity,
  TLS_PSK_WITH_AES_128_CCM_8,
  uaProtocolIdForTlsSuite,
} from '../../kdf/index.js';
import { toHex } from '../../util/bytes.js';
import { ConfigError } from '../../util/errors.js';
import { type CliIo, printResult } from '../io.js';
import { choiceFlag, hexFlag, textFlag } from '../options.js';

interface DeriveFlags {
  ck: string;
  ik: string;
  rand: string;
  emseId: string;
  identity: string;
  profile: string;
  kidMode: string;
  snName: string;
  sqnXorAk?: string;
  rid: string;
  realm?: string;
  json?: boolean;
}

const PROFILES = ['best', 'scef', 'akma'] as const;
const KID_MODES = ['rand', 'hash'] as const;

export function addDeriveCommand(program: Command, io: CliIo): void {
  program
    .command('derive')
    .description('derive the e2m keys and psk_identity from CK, IK and RAND of one AKA run')
    .requiredOption('--ck <hex>', 'CK (16 octets)')
    .requiredOption('--ik <hex>', 'IK (16 octets)')
    .requiredOption('--rand <hex>', 'RAND (16 octets)')
    .requiredOption('--emse-id <id>', 'EMSE_Id (best), AS_ID (scef) or AF FQDN (akma)')
    .requiredOption('--identity <id>', 'application identity (best), GUTI (scef) or SUPI digits (akma)')
    .option('--profile <name>', `derivation profile: ${PROFILES.join(', ')}`, 'best')
    .option('--kid-mode <mode>', 'key id: rand = 32 LSBs of RAND, hash = SHA-256(e2m_int_key)[0..3] (best)', 'rand')
    .option('--sn-name <name>', 'serving network name (akma)', '5G:mnc001.mcc001.3gppnetwork.org')
    .option('--sqn-xor-ak <hex>', 'SQN xor AK = AUTN[0..5], 6 octets (akma)')
    .option('--rid <rid>', 'routing indicator for the A-KID (akma)', '0')
    .option('--realm <realm>', 'A-KID realm (akma; default: the serving network name without "5G:")')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  ue-client derive --ck b40ba9a3c58b2a05bbf0d987b21bf8cb --ik f769bcd751044604127672711c6d3441 \\\n' +
        '    --rand 23553cbe9637a89d218ae64dae47bf35 --emse-id emse.example.com \\\n' +
        '    --identity sensor-17@iot.example.com --json\n',
    )
    .action((flags: DeriveFlags) => {
      const ck = hexFlag('--ck', flags.ck, 16);
      const ik = hexFlag('--ik', flags.ik, 16);
      const rand = hexFlag('--rand', flags.rand, 16);
      const emseId = textFlag('--emse-id', flags.emseId);
      const identity = textFlag('--identity', flags.identity);
      const profile = choiceFlag('--profile', flags.profile, PROFILES);
      const kidMode = choiceFlag('--kid-mode', flags.kidMode, KID_MODES);
      const json = flags.json === true;
      const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
      // Reports an error of `f` against `flag`, or against byOption[option] for a ConfigError whose
      // option belongs to another flag.
      const flagged = <T>(flag: string, f: () => T, byOption: Readonly<Record<string, string>> = {}): T => {
        try {
          return f();
        } catch (err) {
          if (err instanceof ConfigError) throw new ConfigError(byOption[err.option] ?? flag, err.message);
          if (err instanceof Error) throw new ConfigError(flag, err.message);
          throw err;
        }
      };
      if (profile === 'best') {
        const intKey = deriveE2mIntKey(ck, ik);
        const kid = deriveKid(kidMode, { rand, intKey });
        const e2mKey = flagged('--emse-id', () => deriveE2mKey(intKey, emseId));
        const pskIdentity = flagged('--identity', () => text(bestPskIdentity(kid, identity)));
        printResult(io, { e2mIntKey: toHex(intKey), kid, e2mKey: toHex(e2mKey), pskIdentity }, json);
        return;
      }
      if (profile === 'scef') {
        const ks = deriveKs(ck, ik);
        const ksAs = flagged('--emse-id', () => deriveKsAs(ks, emseId));
        const pskIdentity = flagged('--identity', () => text(scefPskIdentity(identity)));
        printResult(io, { ks: toHex(ks), ksAs: toHex(ksAs), pskIdentity }, json);
        return;
      }
      const sqnXorAk = hexFlag('--sqn-xor-ak', flags.sqnXorAk, 6);
      const kausf = flagged('--sn-name', () => deriveKausf(ck, ik, flags.snName, sqnXorAk));
      const kakma = flagged('--identity', () => deriveKakma(kausf, identity));
      const aTid = deriveAtid(kausf, identity);
      const realm = flags.realm ?? flags.snName.replace(/^5G:/, '');
      // The realm comes from --realm, or else from --sn-name; it is the only part of the A-KID whose
      // length is not bounded, so an over-long psk_identity is reported against it too.
      const realmFlag = flags.realm === undefined ? '--sn-name' : '--realm';
      const akid = flagged(realmFlag, () => renderAkid(flags.rid, aTid, realm), { rid: '--rid' });
      const pskIdentity = flagged(realmFlag, () => text(akmaPskIdentity(akid)));
      const kaf = flagged('--emse-id', () => deriveKaf(kakma, emseId, uaProtocolIdForTlsSuite(TLS_PSK_WITH_AES_128_CCM_8)));
      printResult(io, { kausf: toHex(kausf), kakma: toHex(kakma), aTid: toHex(aTid), akid, kaf: toHex(kaf), pskIdentity }, json);
    });
}
