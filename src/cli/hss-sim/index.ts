/** The `hss-sim` program: the HSS/AuC + MME simulator (plain HTTP on loopback, EMKS over mTLS). */
import { Command } from 'commander';
import { loadTlsMaterial } from '../../crypto/pki.js';
import { createHssSim } from '../../hss/server.js';
import { createHttpsEmksClient, parseEmksUrl } from '../../hss/emks-client.js';
import { loadSubscribers } from '../../hss/subscribers.js';
import { ConfigError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { type CliIo, untilStopped } from '../io.js';
import { choiceFlag, hostPortFlag, intFlag } from '../options.js';

interface HssFlags {
  listen: string;
  subscribers?: string;
  emks?: string;
  pki?: string;
  state?: string;
  txnTtl: string;
  emksTimeout: string;
  logLevel: string;
}

const EXAMPLE_SUBSCRIBERS =
  '[{"imsi":"001010000000001","k":"465b5ce8b199b49faa5f0a2ee238a6bc","opc":"cd63cb71954a9f4e48a5994e37a02baf",' +
  '"amf":"8000","sqn":"000000000020","identities":["sensor-17@iot.example.com"]}]';

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new ConfigError(flag, 'is required');
  return value;
}

/** Builds the `hss-sim` program for `io`. */
export function createHssSimProgram(io: CliIo, name = 'hss-sim'): Command {
  return new Command(name)
    .description('e2m HSS/AuC + MME simulator: Milenage AKA over HTTP for the UE, e2m_int_key pushed to the EMKS')
    .version('0.1.0')
    .option('--listen <host:port>', 'HTTP address to serve (keep it on loopback)', '127.0.0.1:7000')
    .option('--subscribers <file>', 'subscribers file: JSON array of {imsi, k, opc, amf, sqn, identities}')
    .option('--emks <url>', 'EMKS base URL (https, mutual TLS), e.g. https://127.0.0.1:8443')
    .option('--pki <dir>', 'PKI folder holding ca.pem, hss.pem, hss.key (e2m pki init)')
    .option('--state <file>', 'keep the last SQN per IMSI in this file (0600), superseding the subscribers file')
    .option('--txn-ttl <seconds>', 'how long a challenge waits for its answer', '60')
    .option('--emks-timeout <ms>', 'bound on each EMKS call', '3000')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, silent', 'info')
    .addHelpText(
      'after',
      '\nAPI: POST /v1/attach {"imsi"} -> {"txn","rand","autn"}; POST /v1/attach/{txn} {"res"} | {"auts"};\n' +
        'GET /healthz. The GUTI is rendered <MCC MNC>-<MMEGI>-<MMEC>-<M-TMSI>, e.g. 00101-0001-01-1a2b3c4d.\n' +
        'sqn is the last SQN the HSS used (12 hex); amf is optional (default 8000).\n\n' +
        `Example subscribers file (subscribers.json):\n  ${EXAMPLE_SUBSCRIBERS}\n\nExample:\n` +
        `  ${name} --listen 127.0.0.1:7000 --subscribers subscribers.json --emks https://127.0.0.1:8443 --pki pki --state hss-state.json\n`,
    )
    .action(async (flags: HssFlags) => {
      // Flags first, then the files they name.
      const { host, port } = hostPortFlag('--listen', flags.listen);
      const txnTtlMs = intFlag('--txn-ttl', flags.txnTtl, 1, 86_400) * 1000;
      const emksTimeoutMs = intFlag('--emks-timeout', flags.emksTimeout, 100, 60_000);
      const level = choiceFlag('--log-level', flags.logLevel, ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const);
      const emksUrl = parseEmksUrl(required('--emks', flags.emks)).toString();
      if (flags.state !== undefined) required('--state', flags.state);
      const subscribers = loadSubscribers(required('--subscribers', flags.subscribers));
      const tls = loadTlsMaterial(required('--pki', flags.pki), 'hss', '--pki');
      const logger = createLogger({ name: 'hss', level });
      const emks = createHttpsEmksClient({ url: emksUrl, tls, timeoutMs: emksTimeoutMs });
      try {
        const hss = await createHssSim({
          host,
          port,
          subscribers,
          emks,
          logger,
          txnTtlMs,
          emksTimeoutMs,
          ...(flags.state === undefined ? {} : { stateFile: flags.state }),
        }).catch((err: unknown) => {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
            throw new ConfigError('--listen', `cannot listen on ${flags.listen} (${code})`);
          }
          throw err;
        });
        io.stdout(`${name} listening on ${hss.url}\n`);
        await untilStopped(io);
        await hss.close();
      } finally {
        emks.close();
      }
    });
}
