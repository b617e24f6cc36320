/** The UE's bootstrap commands: attach, keys, and CoAP requests over DTLS (get, post, put, delete, observe). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HandshakeError } from '../../dtls/endpoint/client.js';
import { RETRANSMIT_PROFILES } from '../../dtls/fsm/retransmit.js';
import { openKeyLog } from '../../dtls/keylog.js';
import { AlertDescription } from '../../dtls/wire/constants.js';
import { checkIdentityText } from '../../kdf/index.js';
import {
  AttachError,
  type CoapNotification,
  type CoapMethod,
  describeCoapCode,
  isTextFormat,
  NotAttachedError,
  parseCoapsUrl,
  parseContentFormat,
  parseHssUrl,
  UeClient,
  type UeClientOptions,
} from '../../ue/index.js';
import { toHex } from '../../util/bytes.js';
import { ConfigError, StackError } from '../../util/errors.js';
import { type CliIo, ExitCode, ExitError, printResult, untilStopped } from '../io.js';
import { choiceFlag, intFlag } from '../options.js';

interface CommonFlags {
  sim: string;
  json?: boolean;
}

interface RequestFlags extends CommonFlags {
  emseId: string;
  hss?: string;
  payload?: string;
  contentFormat?: string;
  accept?: string;
  count?: string;
  timeout?: string;
  retransmit: string;
  keylog?: string;
}

const SIM_HELP = 'the SIM file {"imsi","k","opc","sqn","identity"}; its state goes to FILE.state.json (0600)';
const EXAMPLE_URL = 'coaps://127.0.0.1:5684';
const EXAMPLE_FLAGS = '--sim sim.json --emse-id emse-1 --hss http://127.0.0.1:7000';

/** Adds attach, keys, get, post, put, delete and observe to the ue-client program. */
export function addBootstrapCommands(program: Command, io: CliIo): void {
  addAttach(program, io);
  addKeys(program, io);
  for (const method of ['GET', 'POST', 'PUT', 'DELETE'] as const) addRequest(program, io, method);
  addObserve(program, io);
}

function addAttach(program: Command, io: CliIo): void {
  program
    .command('attach')
    .description('attach to the network: AKA with hss-sim on the simulated USIM, then derive e2m_int_key and kid')
    .requiredOption('--hss <url>', 'hss-sim base URL, e.g. http://127.0.0.1:7000')
    .requiredOption('--sim <file>', SIM_HELP)
    .option('--json', 'print JSON {imsi, kid, guti}')
    .addHelpText(
      'after',
      '\nNo key is printed. Exit status: 0 attached, 1 hss-sim unreachable or refusing, 2 bad input,\n' +
        '3 authentication failed (MAC failure: the network is not genuine; RES rejected; SQN not fresh).\n' +
        'Example:\n  ue-client attach --hss http://127.0.0.1:7000 --sim sim.json --json\n',
    )
    .action(async (flags: CommonFlags & { hss: string }) => {
      parseHssUrl(flags.hss, '--hss');
      const client = openClient({ simPath: flags.sim, hssUrl: flags.hss });
      const r = await cliErrors(() => client.attach());
      printResult(io, { imsi: r.imsi, kid: r.kid, guti: r.guti }, flags.json === true);
    });
}

function addKeys(program: Command, io: CliIo): void {
  program
    .command('keys')
    .description('print psk_identity, kid and e2m_key (the DTLS PSK) for one EMSE, from the attach state')
    .requiredOption('--sim <file>', SIM_HELP)
    .requiredOption('--emse-id <id>', 'the EMSE_Id the key is bound to')
    .option('--json', 'print JSON {pskIdentity, kid, e2mKey}')
    .addHelpText(
      'after',
      '\nThis command PRINTS THE KEY: it exists so that another DTLS client (openssl, libcoap) can be\n' +
        'pointed at the EMSE. Treat its output as a secret.\n' +
        'Example:\n  ue-client keys --sim sim.json --emse-id emse-1 --json\n',
    )
    .action((flags: CommonFlags & { emseId: string }) => {
      const emseId = checkIdentityText(flags.emseId, '--emse-id');
      const client = openClient({ simPath: flags.sim });
      const keys = mapErrors(() => client.keys(emseId));
      printResult(io, { pskIdentity: keys.pskIdentity, kid: keys.kid, e2mKey: toHex(keys.e2mKey.expose()) }, flags.json === true);
    });
}

function addRequest(program: Command, io: CliIo, method: CoapMethod): void {
  const name = method.toLowerCase();
  const withPayload = method === 'POST' || method === 'PUT';
  const cmd = program.command(name).description(`CoAP ${method} to an EMSE over DTLS-PSK, the PSK being e2m_key`);
  addRequestOptions(cmd, withPayload);
  cmd
    .option('--json', 'print JSON {code, format, payload, encoding}')
    .addHelpText(
      'after',
      `\nExit status: 0 for a 2.xx response, 1 otherwise (the code or the handshake alert is named), 2 bad input.\n` +
        `Example:\n  ue-client ${name} ${EXAMPLE_URL}/${withPayload ? 'echo --payload "reading=42" --content-format text/plain' : 'hello'} ${EXAMPLE_FLAGS}\n`,
    )
    .action(async (url: string, flags: RequestFlags) => {
      const { client, request } = prepare(io, url, flags, method, withPayload);
      const response = await cliErrors(() => client.request(request), request.url, flags.hss !== undefined);
      printNotification(io, response, flags.json === true, false);
      failUnlessSuccess(response.code);
    });
}

function addObserve(program: Command, io: CliIo): void {
  const cmd = program.command('observe').description('CoAP GET with Observe (RFC 7641): print notifications as they arrive');
  addRequestOptions(cmd, false);
  cmd
    .option('--count <n>', 'stop after n notifications (default: until interrupted or the server ends it)')
    .option('--json', 'print one JSON object per notification and line {code, format, payload, encoding}')
    .addHelpText(
      'after',
      '\nExit status: 0 when --count notifications arrived (or, without --count, when stopped), 1 for a\n' +
        'non-2.xx notification, a handshake failure or an observation that ended early, 2 bad input.\n' +
        `Example:\n  ue-client observe ${EXAMPLE_URL}/time ${EXAMPLE_FLAGS} --count 3 --json\n`,
    )
    .action(async (url: string, flags: RequestFlags) => {
      const count = flags.count === undefined ? undefined : intFlag('--count', flags.count, 1, 1_000_000);
      const { client, request } = prepare(io, url, flags, 'GET', false);
      const observation = await cliErrors(() => client.request({ ...request, observe: true }), request.url, flags.hss !== undefined);
      const json = flags.json === true;
      const stopped = untilStopped(io).then(() => undefined);
      let seen = 0;
      try {
        for (;;) {
          const n = await Promise.race([observation.next(), stopped]);
          if (n === undefined) break;
          seen += 1;
          printNotification(io, n, json, true);
          failUnlessSuccess(n.code);
          if (count !== undefined && seen >= count) return;
        }
      } finally {
        observation.close();
      }
      if (!observation.registered) io.stderr('note: the server did not register the observation (no Observe option in its response)\n');
      if (count !== undefined && seen < count) {
        throw new ExitError(ExitCode.failure, `error: the observation ended after ${seen} of ${count} notifications`);
      }
    });
}

function addRequestOptions(cmd: Command, withPayload: boolean): void {
  cmd
    .argument('<url>', 'coaps://HOST[:PORT]/PATH[?QUERY] (port 5684 by default; only coaps)')
    .requiredOption('--sim <file>', SIM_HELP)
    .requiredOption('--emse-id <id>', 'the EMSE_Id the key is bound to (DESIGN §3)')
    .option('--hss <url>', 'hss-sim base URL: attach when needed and re-attach once if the EMSE does not know the kid');
  if (withPayload) {
    cmd
      .option('--payload <text|@file>', 'the request payload; a leading @ names a file to send', '')
      .option('--content-format <format>', 'Content-Format of the payload: text/plain, application/json, application/cbor, … or a number');
  }
  cmd
    .option('--accept <format>', 'Accept option: a Content-Format name or number')
    .option('--timeout <seconds>', 'bound on the handshake and on the wait for the response (default 63 s and 93 s)')
    .option('--retransmit <profile>', 'DTLS retransmission: default (1 s doubling) or constrained (9 s)', 'default')
    .option('--keylog <file>', 'append NSS key-log lines for Wireshark (also: SSLKEYLOGFILE)');
}

/** Checks the flags of a request command and builds the client and the request. */
function prepare(io: CliIo, url: string, flags: RequestFlags, method: CoapMethod, withPayload: boolean) {
  parseCoapsUrl(url, '<url>');
  const emseId = checkIdentityText(flags.emseId, '--emse-id');
  if (flags.hss !== undefined) parseHssUrl(flags.hss, '--hss');
  const profile = RETRANSMIT_PROFILES[choiceFlag('--retransmit', flags.retransmit, ['default', 'constrained'] as const)];
  const timeoutMs = flags.timeout === undefined ? undefined : intFlag('--timeout', flags.timeout, 1, 3600) * 1000;
  const contentFormat = flags.contentFormat === undefined ? undefined : parseContentFormat(flags.contentFormat, '--content-format');
  const accept = flags.accept === undefined ? undefined : parseContentFormat(flags.accept, '--accept');
  const payload = withPayload ? readPayload(flags.payload ?? '') : undefined;
  const keyLog = openKeyLog(flags.keylog, io.env);
  const client = openClient({
    simPath: flags.sim,
    retransmit: timeoutMs === undefined ? profile : { ...profile, handshakeTimeoutMs: timeoutMs },
    ...(flags.hss !== undefined ? { hssUrl: flags.hss } : {}),
    ...(keyLog ? { keyLog } : {}),
    ...(timeoutMs !== undefined ? { requestTimeoutMs: timeoutMs } : {}),
  });
  const request = {
    url,
    emseId,
    method,
    ...(payload !== undefined ? { payload } : {}),
    ...(contentFormat !== undefined ? { contentFormat } : {}),
    ...(accept !== undefined ? { accept } : {}),
  };
  return { client, request };
}

function readPayload(value: string): Uint8Array {
  if (!value.startsWith('@')) return new Uint8Array(Buffer.from(value, 'utf8'));
  const path = value.slice(1);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new ConfigError('--payload', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function openClient(options: UeClientOptions): UeClient {
  return mapErrors(() => new UeClient(options));
}

/** Prints one response: `2.05 Content [text/plain]` and the payload, or one JSON object. */
function printNotification(io: CliIo, n: CoapNotification, json: boolean, compact: boolean): void {
  const text = isTextFormat(n.format, n.payload);
  const payload = text ? Buffer.from(n.payload).toString('utf8') : toHex(n.payload);
  const obj = { code: n.code, format: n.format ?? null, payload, encoding: text ? 'utf-8' : 'hex' };
  if (json) {
    io.stdout(`${compact ? JSON.stringify(obj) : JSON.stringify(obj, null, 2)}\n`);
    return;
  }
  io.stdout(`${describeCoapCode(n.code)}${n.format === undefined ? '' : ` [${n.format}]`}\n`);
  if (n.payload.length > 0) io.stdout(text ? `${payload.replace(/\n$/, '')}\n` : `${payload} (${n.payload.length} octets, hex)\n`);
}

function failUnlessSuccess(code: string): void {
  if (!code.startsWith('2.')) throw new ExitError(ExitCode.failure, `error: the server answered ${describeCoapCode(code)}`);
}

/** Library ConfigErrors renamed to the flags that carry the value. */
const FLAG_OF: Readonly<Record<string, string>> = { sim: '--sim', hssUrl: '--hss', url: '<url>', emseId: '--emse-id' };

/** Runs `f`, turning library errors into the CLI's (flag names, exit statuses). */
function mapErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw cliError(err, undefined, false);
  }
}

async function cliErrors<T>(f: () => Promise<T>, target?: string, withHss = true): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw cliError(err, target, withHss);
  }
}

function cliError(err: unknown, target: string | undefined, withHss: boolean): unknown {
  if (err instanceof ConfigError) {
    const flag = FLAG_OF[err.option];
    return flag === undefined ? err : new ConfigError(flag, err.message.slice(err.option.length + 2));
  }
  if (err instanceof NotAttachedError) return new ConfigError('--sim', `no attach state for ${err.simPath}: run ue-client attach, or give --hss`);
  if (err instanceof AttachError) {
    const auth = err.code !== 'E_ATTACH_PROTOCOL';
    return new ExitError(auth ? ExitCode.authFailure : ExitCode.failure, `error: attach failed: ${err.message}`);
  }
  if (err instanceof HandshakeError) return new ExitError(ExitCode.failure, `error: handshake with ${target ?? 'the EMSE'} failed: ${err.message}${handshakeHint(err, withHss)}`);
  if (err instanceof StackError) return new ExitError(ExitCode.failure, `error: ${err.message}`);
  return err;
}

function handshakeHint(err: HandshakeError, withHss: boolean): string {
  if (err.alert === AlertDescription.unknown_psk_identity) {
    return withHss ? ' (the EMSE got no key for the kid, even after a re-attach)' : ' (the EMSE got no key for this kid: give --hss to re-attach)';
  }
  if (err.alert === AlertDescription.decrypt_error) return ' (the keys differ: is --emse-id the EMSE\'s identity?)';
  return '';
}
