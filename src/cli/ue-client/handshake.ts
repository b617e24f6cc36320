/** `ue-client handshake`: one DTLS 1.2 PSK handshake with a server, then close_notify. */
import type { Command } from 'commander';
import { DtlsClient, HandshakeError } from '../../dtls/endpoint/client.js';
import { RETRANSMIT_PROFILES } from '../../dtls/fsm/retransmit.js';
import { openKeyLog } from '../../dtls/keylog.js';
import { ConfigError } from '../../util/errors.js';
import { type CliIo, ExitCode, ExitError, printResult } from '../io.js';
import { choiceFlag, hexFlag, hostPortFlag, intFlag, textFlag } from '../options.js';

interface HandshakeFlags {
  pskIdentity: string;
  psk: string;
  keylog?: string;
  retransmit: string;
  timeout?: string;
  json?: boolean;
}

export function addHandshakeCommand(program: Command, io: CliIo): void {
  program
    .command('handshake')
    .description('run one DTLS 1.2 PSK handshake (TLS_PSK_WITH_AES_128_CCM_8) and report what was negotiated')
    .argument('<host:port>', 'the DTLS server')
    .requiredOption('--psk-identity <id>', 'psk_identity to send (UTF-8)')
    .requiredOption('--psk <hex>', 'the pre-shared key (1..64 octets)')
    .option('--keylog <file>', 'append NSS key-log lines for Wireshark (also: SSLKEYLOGFILE)')
    .option('--retransmit <profile>', 'default (1 s doubling) or constrained (9 s)', 'default')
    .option('--timeout <seconds>', 'give up on the handshake after this long (default: the profile\'s, 63 s or 250 s)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit status: 0 handshake completed, 1 refused (the alert is named) or timed out, 2 bad input.\n' +
        'Example:\n  ue-client handshake 127.0.0.1:5684 --psk-identity sensor-17@iot.example.com \\\n' +
        '    --psk 000102030405060708090a0b0c0d0e0f --json\n',
    )
    .action(async (target: string, flags: HandshakeFlags) => {
      const { host, port } = hostPortFlag('<host:port>', target);
      if (port === 0) throw new ConfigError('<host:port>', 'port must not be 0');
      const identity = textFlag('--psk-identity', flags.pskIdentity, 0xffff);
      const psk = hexFlag('--psk', flags.psk);
      if (psk.length === 0 || psk.length > 64) throw new ConfigError('--psk', `must be 1..64 octets, got ${psk.length}`);
      const profile = RETRANSMIT_PROFILES[choiceFlag('--retransmit', flags.retransmit, ['default', 'constrained'] as const)];
      const retransmit =
        flags.timeout === undefined ? profile : { ...profile, handshakeTimeoutMs: intFlag('--timeout', flags.timeout, 1, 3600) * 1000 };
      const keyLog = openKeyLog(flags.keylog, io.env);
      const started = performance.now();
      try {
        const session = await DtlsClient.connect({ host, port, identity, psk, keyLog, retransmit });
        const handshakeMs = Math.round((performance.now() - started) * 10) / 10;
        printResult(
          io,
          {
            cipherSuite: session.cipherSuite,
            extendedMasterSecret: session.extendedMasterSecret,
            pskIdentity: identity,
            ...(session.pskIdentityHint ? { pskIdentityHint: Buffer.from(session.pskIdentityHint).toString('utf8') } : {}),
            handshakeMs,
          },
          flags.json === true,
        );
        session.close();
      } catch (err) {
        if (err instanceof HandshakeError) throw new ExitError(ExitCode.failure, `handshake failed: ${err.message}`);
        throw err;
      } finally {
        keyLog?.close();
      }
    });
}
