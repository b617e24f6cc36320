/**
 * The `emse-server` program: the application server (DTLS-PSK + CoAP). Two modes: static PSKs
 * (`--psk IDENTITY=HEX`, for interop tests) or the bootstrap flow (`--emks URL --emse-id ID --pki DIR`:
 * e2m_key fetched from the EMKS during each handshake, DESIGN.md §1 steps 5-7).
 */
import { Command } from 'commander';
import { checkRoleId, loadTlsMaterial } from '../../crypto/pki.js';
import { openKeyLog } from '../../dtls/keylog.js';
import { RETRANSMIT_PROFILES } from '../../dtls/fsm/retransmit.js';
import { createEmksPskLookup, type EmksPskLookup, type EmksRegistration, emksBaseUrl, isRetryableEmksError } from '../../emse/emks-lookup.js';
import { createDefaultResources, createEmseServer, staticPskLookup } from '../../emse/server.js';
import { fromHex } from '../../util/bytes.js';
import { ConfigError } from '../../util/errors.js';
import { createLogger, type Logger } from '../../util/log.js';
import { SecretBytes } from '../../util/secret.js';
import { type CliIo, ExitCode, ExitError, untilStopped } from '../io.js';
import { choiceFlag, hostPortFlag, intFlag } from '../options.js';

interface EmseFlags {
  listen: string;
  psk: string[];
  emks?: string;
  emseId?: string;
  pki?: string;
  lookupTimeout?: string;
  timeInterval: string;
  keylog?: string;
  retransmit: string;
  logLevel: string;
}

/** Registration attempts while the EMKS is not up yet, and the first pause (doubled each time). */
const REGISTER_ATTEMPTS = 5;
const REGISTER_FIRST_PAUSE_MS = 250;

/** Where the PSKs come from, as the flags say. */
type Mode = { kind: 'static'; table: Map<string, SecretBytes> } | { kind: 'emks'; url: URL; emseId: string; pki: string; timeoutMs: number };

/** Checks the flag combinations: --psk xor (--emks with --emse-id and --pki). */
function pskMode(flags: EmseFlags): Mode {
  if (flags.emks !== undefined) {
    if (flags.psk.length > 0) throw new ConfigError('--emks', 'cannot be combined with --psk (static PSKs or the EMKS, not both)');
    const url = emksBaseUrl(flags.emks, '--emks');
    if (flags.emseId === undefined) throw new ConfigError('--emse-id', 'is required with --emks');
    if (flags.pki === undefined) throw new ConfigError('--pki', 'is required with --emks');
    const emseId = checkRoleId(flags.emseId, '--emse-id');
    const timeoutMs = flags.lookupTimeout === undefined ? 2_000 : intFlag('--lookup-timeout', flags.lookupTimeout, 1, 60_000);
    return { kind: 'emks', url, emseId, pki: flags.pki, timeoutMs };
  }
  for (const [flag, value] of [['--emse-id', flags.emseId], ['--pki', flags.pki], ['--lookup-timeout', flags.lookupTimeout]] as const) {
    if (value !== undefined) throw new ConfigError(flag, 'applies only with --emks URL');
  }
  if (flags.psk.length === 0) throw new ConfigError('--psk', 'give at least one --psk IDENTITY=HEX, or --emks URL with --emse-id and --pki');
  return { kind: 'static', table: new Map(flags.psk.map(parsePskFlag)) };
}

/** Registers at the EMKS, retrying with backoff while it is unreachable or answers 5xx. */
async function registerWithRetry(lookup: EmksPskLookup, logger: Logger): Promise<EmksRegistration> {
  let pause = REGISTER_FIRST_PAUSE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await lookup.register();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (attempt >= REGISTER_ATTEMPTS || !isRetryableEmksError(err)) {
        const tries = attempt === 1 ? '' : ` (${attempt} attempts)`;
        throw new ExitError(ExitCode.failure, `error: cannot register at the EMKS ${lookup.emksUrl.origin}${tries}: ${message}`);
      }
      logger.warn({ attempt, retryInMs: pause, err: message }, 'EMKS not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause *= 2;
    }
  }
}

/** Parses `--psk IDENTITY=HEX` (split at the last '=', so identities may contain '='). */
export function parsePskFlag(value: string): [string, SecretBytes] {
  const at = value.lastIndexOf('=');
  if (at <= 0) throw new ConfigError('--psk', `expected IDENTITY=HEX, got '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`);
  const identity = value.slice(0, at);
  if (Buffer.byteLength(identity, 'utf8') > 0xffff) throw new ConfigError('--psk', 'identity longer than 65535 octets');
  const key = fromHex(value.slice(at + 1), '--psk');
  if (key.length === 0 || key.length > 64) throw new ConfigError('--psk', `key must be 1..64 octets, got ${key.length}`);
  return [identity, new SecretBytes(key)];
}

/** Builds the `emse-server` program for `io`. */
export function createEmseServerProgram(io: CliIo, name = 'emse-server'): Command {
  return new Command(name)
    .description('e2m application server: DTLS 1.2 PSK (TLS_PSK_WITH_AES_128_CCM_8) with CoAP over the sessions')
    .version('0.1.0')
    .option('--listen <host:port>', 'UDP address to serve', '0.0.0.0:5684')
    .option('--psk <identity=hex>', 'a static PSK for one identity (repeat the flag)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--emks <url>', 'fetch each e2m_key from this EMKS (https, mutual TLS) during the handshake')
    .option('--emse-id <id>', "this EMSE's EMSE_Id (its client certificate is emse-<id>.pem in --pki)")
    .option('--pki <dir>', 'PKI folder made by `e2m pki init` (CA, emse-<id>.pem, emse-<id>.key)')
    .option('--lookup-timeout <ms>', 'bound on one EMKS key fetch (default 2000); past it: internal_error')
    .option('--time-interval <ms>', 'period of /time Observe notifications', '1000')
    .option('--keylog <file>', 'append NSS key-log lines for Wireshark (also: SSLKEYLOGFILE)')
    .option('--retransmit <profile>', 'handshake retransmission: default (1 s) or constrained (9 s)', 'default')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug', 'info')
    .addHelpText(
      'after',
      '\nCoAP resources: /.well-known/core, /hello (greets the authenticated identity), /echo (POST),\n' +
        '/telemetry (POST JSON readings, GET your own), /time (Observe).\n' +
        'Application data that is not CoAP is echoed back.\n\nExamples:\n' +
        '  emse-server --listen 0.0.0.0:5684 --emse-id emse-1 --emks https://127.0.0.1:8443 --pki ./pki\n' +
        '  emse-server --listen 127.0.0.1:5684 --psk sensor-17@iot.example.com=000102030405060708090a0b0c0d0e0f\n' +
        '  coap-client-openssl -m get -u sensor-17@iot.example.com -k "…" coaps://127.0.0.1:5684/hello\n',
    )
    .action(async (flags: EmseFlags) => {
      const { host, port } = hostPortFlag('--listen', flags.listen);
      const mode = pskMode(flags);
      const timeInterval = intFlag('--time-interval', flags.timeInterval, 10, 3_600_000);
      const retransmit = RETRANSMIT_PROFILES[choiceFlag('--retransmit', flags.retransmit, ['default', 'constrained'] as const)];
      const level = choiceFlag('--log-level', flags.logLevel, ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const);
      const logger = createLogger({ name: 'emse', level });
      let pskLookup;
      let emksLookup: EmksPskLookup | undefined;
      let source: string;
      if (mode.kind === 'emks') {
        const tls = loadTlsMaterial(mode.pki, { emse: mode.emseId }, '--pki');
        const lookup = createEmksPskLookup({ emksUrl: mode.url, tls, emseId: mode.emseId, timeoutMs: mode.timeoutMs, logger });
        let registration: EmksRegistration;
        try {
          registration = await registerWithRetry(lookup, logger);
        } catch (err) {
          lookup.close();
          throw err;
        }
        pskLookup = emksLookup = lookup;
        source = `EMKS ${lookup.emksUrl.href.replace(/\/$/, '')} as EMSE_Id ${registration.emseId}`;
      } else {
        pskLookup = staticPskLookup(mode.table);
        source = `${mode.table.size} static ${mode.table.size === 1 ? 'identity' : 'identities'}`;
      }
      const keyLog = openKeyLog(flags.keylog, io.env);
      let server;
      try {
        server = await createEmseServer({
          host,
          port,
          pskLookup,
          logger,
          resources: createDefaultResources({ time: { intervalMs: timeInterval } }),
          dtls: { keyLog, retransmit },
        });
      } catch (err) {
        emksLookup?.close();
        keyLog?.close();
        throw err;
      }
      io.stdout(`emse-server listening on ${server.address.address}:${server.address.port} (DTLS 1.2 PSK, ${source})\n`);
      await untilStopped(io);
      await server.close();
      keyLog?.close();
    });
}
