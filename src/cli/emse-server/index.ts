/** The `emse-server` program: the application server (DTLS-PSK + CoAP). */
import { Command } from 'commander';
import { openKeyLog } from '../../dtls/keylog.js';
import { RETRANSMIT_PROFILES } from '../../dtls/fsm/retransmit.js';
import { createEmseServer, staticPskLookup } from '../../emse/server.js';
import { fromHex } from '../../util/bytes.js';
import { ConfigError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { SecretBytes } from '../../util/secret.js';
import { type CliIo, untilStopped } from '../io.js';
import { choiceFlag, hostPortFlag } from '../options.js';

interface EmseFlags {
  listen: string;
  psk: string[];
  keylog?: string;
  retransmit: string;
  logLevel: string;
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
    .option('--keylog <file>', 'append NSS key-log lines for Wireshark (also: SSLKEYLOGFILE)')
    .option('--retransmit <profile>', 'handshake retransmission: default (1 s) or constrained (9 s)', 'default')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug', 'info')
    .addHelpText(
      'after',
      '\nCoAP resources: /.well-known/core, /hello (greets the authenticated identity), /echo (POST).\n' +
        'Application data that is not CoAP is echoed back.\n\nExample:\n' +
        '  emse-server --listen 127.0.0.1:5684 --psk sensor-17@iot.example.com=000102030405060708090a0b0c0d0e0f\n' +
        '  coap-client-openssl -m get -u sensor-17@iot.example.com -k "…" coaps://127.0.0.1:5684/hello\n',
    )
    .action(async (flags: EmseFlags) => {
      const { host, port } = hostPortFlag('--listen', flags.listen);
      if (flags.psk.length === 0) throw new ConfigError('--psk', 'give at least one --psk IDENTITY=HEX');
      const table = new Map(flags.psk.map(parsePskFlag));
      const retransmit = RETRANSMIT_PROFILES[choiceFlag('--retransmit', flags.retransmit, ['default', 'constrained'] as const)];
      const level = choiceFlag('--log-level', flags.logLevel, ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const);
      const keyLog = openKeyLog(flags.keylog, io.env);
      const logger = createLogger({ name: 'emse', level });
      const server = await createEmseServer({ host, port, pskLookup: staticPskLookup(table), logger, dtls: { keyLog, retransmit } });
      io.stdout(`emse-server listening on ${server.address.address}:${server.address.port} (DTLS 1.2 PSK, ${table.size} static ${table.size === 1 ? 'identity' : 'identities'})\n`);
      await untilStopped(io);
      await server.close();
      keyLog?.close();
    });
}
