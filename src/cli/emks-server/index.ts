/** The `emks-server` program: the key server (HTTPS with mutual TLS, SQLite store). */
import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { loadTlsMaterial } from '../../crypto/pki.js';
import { openEmksStore } from '../../emks/db.js';
import { loadKek } from '../../emks/kek.js';
import { createEmksServer, DEFAULT_KEY_TTL_SECONDS, DEFAULT_RETAIN, MAX_KEY_TTL_SECONDS, MAX_RETAIN } from '../../emks/server.js';
import { ConfigError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { type CliIo, untilStopped } from '../io.js';
import { choiceFlag, hostPortFlag, intFlag } from '../options.js';

interface EmksFlags {
  listen: string;
  pki?: string;
  db?: string;
  retain: string;
  keyTtl: string;
  kekFile?: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function pkiDir(value: string | undefined): string {
  if (value === undefined || value === '') throw new ConfigError('--pki', 'is required (create one with: e2m pki init --dir DIR --emse-id ID)');
  if (!existsSync(value) || !statSync(value).isDirectory()) throw new ConfigError('--pki', `${value} is not a folder`);
  return value;
}

/** `https://HOST:PORT`, with an IPv6 host in brackets. */
function httpsUrl(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Builds the `emks-server` program for `io`. */
export function createEmksServerProgram(io: CliIo, name = 'emks-server'): Command {
  return new Command(name)
    .description('e2m key server (EMKS): stores e2m_int_key pushed by the HSS and serves e2m_key to EMSEs over mutual TLS')
    .version('0.1.0')
    .option('--listen <host:port>', 'HTTPS address to serve', '127.0.0.1:8443')
    .option('--pki <dir>', 'PKI folder (ca.pem, emks.pem, emks.key; kek.key unless --kek-file or E2M_KEK)')
    .option('--db <url>', 'store: sqlite:FILE (PostgreSQL is planned)')
    .option('--retain <n>', 'keys kept per subscriber, newest first', String(DEFAULT_RETAIN))
    .option('--key-ttl <seconds>', 'lifetime of a key after its createdAt', String(DEFAULT_KEY_TTL_SECONDS))
    .option('--kek-file <file>', 'key-encryption key (64 hex digits); else E2M_KEK, else <pki>/kek.key')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .addHelpText(
      'after',
      '\nCallers are identified by their client certificate only: urn:e2m:hss:<name> pushes keys and maps\n' +
        'identities, urn:e2m:emse:<EMSE_Id> registers and fetches keys bound to its own EMSE_Id.\n\nExample:\n' +
        '  e2m pki init --dir ./pki --emse-id emse-a.example.com\n' +
        '  emks-server --listen 127.0.0.1:8443 --pki ./pki --db sqlite:emks.db --retain 3\n',
    )
    .action(async (flags: EmksFlags) => {
      const { host, port } = hostPortFlag('--listen', flags.listen);
      const pki = pkiDir(flags.pki);
      if (flags.db === undefined || flags.db === '') throw new ConfigError('--db', 'is required (e.g. sqlite:emks.db)');
      const retain = intFlag('--retain', flags.retain, 1, MAX_RETAIN);
      const keyTtlSeconds = intFlag('--key-ttl', flags.keyTtl, 1, MAX_KEY_TTL_SECONDS);
      const level = choiceFlag('--log-level', flags.logLevel, LOG_LEVELS);
      const { kek, source } = loadKek({ kekFile: flags.kekFile, env: io.env, pkiDir: pki });
      const tls = loadTlsMaterial(pki, 'emks', '--pki');
      const logger = createLogger({ name: 'emks', level });
      const store = openEmksStore(flags.db, '--db');
      try {
        let server;
        try {
          server = await createEmksServer({ host, port, pki: tls, store, kek, retain, keyTtlSeconds, logger });
        } catch (err) {
          if (err instanceof ConfigError && err.option === 'listen') throw new ConfigError('--listen', err.message.replace(/^listen: /, ''));
          throw err;
        }
        logger.info({ retain, keyTtlSeconds, kekSource: source }, 'EMKS started');
        io.stdout(`emks-server listening on ${httpsUrl(server.address.address, server.address.port)}\n`);
        await untilStopped(io);
        await server.close();
        logger.info('EMKS stopped');
      } finally {
        await store.close();
      }
    });
}
