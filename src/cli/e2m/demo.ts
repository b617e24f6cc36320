/**
 * `e2m demo`: the whole bootstrap of DESIGN.md §1 on this machine. In a temp folder it makes a dev
 * PKI and a subscriber, starts emks-server (SQLite), hss-sim and emse-server as child processes, and
 * runs the UE in this process: attach (AKA), derive e2m_key, DTLS-PSK handshake (the EMSE fetches the
 * key from the EMKS mid-handshake), CoAP GET /hello, POST /telemetry and Observe /time. Each step is
 * printed, numbered as in DESIGN.md §1, with the time it happened; the servers' own log lines supply
 * the steps only they can see.
 */
import type { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CoapResponse, UeClient } from '../../ue/index.js';
import { type CliIo, ExitCode, ExitError } from '../io.js';
import { type RoleProcess, type Stack, startStack } from './stack.js';

const EMSE_ID = 'emse-a.example.com';

interface Step {
  readonly at: number;
  readonly n: string;
  readonly text: string;
}

/** Server log lines that are steps of the flow: pino message → [step number, text]. */
const SERVER_STEPS: Readonly<Record<string, (line: Record<string, unknown>) => [string, string]>> = {
  'challenge sent': (l) => ['AKA', `hss-sim: new vector (kid ${String(l['kid'])}); e2m_int_key pushed to the EMKS before the answer: ${String(l['keyAtEmks'])}`],
  attached: (l) => ['AKA', `hss-sim: RES = XRES, attached (GUTI ${String(l['guti'])})`],
  'EMKS key fetch': (l) => ['5-7', `emse-server: GET /v1/e2m-keys (identity, kid ${String(l['kid'])}) -> ${String(l['status'])} in ${String(l['ms'])} ms`],
  'session established': (l) => ['8-11', `emse-server: Finished verified with e2m_key; CCS, Finished sent (${String(l['suite'])})`],
};

function serverSteps(p: RoleProcess): Step[] {
  const out: Step[] = [];
  for (const raw of p.stderr.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const line = JSON.parse(raw) as Record<string, unknown>;
      const make = SERVER_STEPS[String(line['msg'])];
      if (make && typeof line['time'] === 'number') {
        const [n, text] = make(line);
        out.push({ at: line['time'], n, text });
      }
    } catch {
      // not a log line
    }
  }
  return out;
}

function text(r: CoapResponse): string {
  return Buffer.from(r.payload).toString('utf8');
}

async function runUe(stack: Stack, step: (n: string, t: string) => void): Promise<void> {
  const emse = stack.emse.get(EMSE_ID);
  if (emse === undefined) throw new Error('no EMSE');
  const base = `coaps://${emse.host}:${emse.port}`;
  const ue = new UeClient({ simPath: stack.simFile(0), hssUrl: stack.hssUrl });
  step('AKA', `UE: attach request for IMSI ${ue.imsi} to hss-sim ${stack.hssUrl}`);
  const a = await ue.attach();
  step('AKA', `UE: USIM verified AUTN (MAC-A, SQN), sent RES; attached with kid ${a.kid}`);
  const keys = ue.keys(EMSE_ID);
  step('UE', `derived e2m_key for EMSE_Id ${EMSE_ID}; psk_identity ${keys.pskIdentity}`);
  step('1-4', `UE -> ${emse.host}:${emse.port}: ClientHello (PSK_AES128_CCM8), cookie exchange, ClientKeyExchange(psk_identity), CCS, Finished`);
  const hello = await ue.request({ url: `${base}/hello`, emseId: EMSE_ID });
  step('CoAP', `GET /hello -> ${hello.code} "${text(hello)}"`);
  const reading = JSON.stringify({ temperature: 21.5, humidity: 40, at: new Date().toISOString() });
  const post = await ue.request({ url: `${base}/telemetry`, emseId: EMSE_ID, method: 'POST', payload: reading, contentFormat: 'application/json' });
  step('CoAP', `POST /telemetry ${reading} -> ${post.code}`);
  const list = await ue.request({ url: `${base}/telemetry`, emseId: EMSE_ID });
  step('CoAP', `GET /telemetry -> ${list.code} ${text(list)}`);
  const obs = await ue.request({ url: `${base}/time`, emseId: EMSE_ID, observe: true });
  for (let i = 1; i <= 3; i++) {
    const n = await obs.next();
    if (n === undefined) throw new Error('the observation ended early');
    step('CoAP', `Observe /time notification ${i}: ${n.code} ${Buffer.from(n.payload).toString('utf8')}`);
  }
  obs.close();
}

export function addDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run the whole bootstrap (PKI, EMKS, HSS, EMSE as processes; the UE here) and print each step')
    .option('--keep', 'keep the temp folder (PKI, database, SIM and logs) for a look afterwards')
    .addHelpText('after', '\nExample:\n  npm run demo      (or: e2m demo --keep)\n')
    .action(async (flags: { keep?: boolean }) => {
      const t0 = Date.now();
      const steps: Step[] = [];
      const step = (n: string, t: string): void => void steps.push({ at: Date.now(), n, text: t });
      const dir = mkdtempSync(join(tmpdir(), 'e2m-demo-'));
      io.stdout(`e2m demo in ${dir}\n`);
      let stack: Stack | undefined;
      let failure: unknown;
      try {
        step('setup', 'dev PKI (CA, EMKS server cert, HSS and EMSE client certs, KEK) and one subscriber');
        stack = await startStack({ dir, emseIds: [EMSE_ID], logLevel: 'debug' });
        step('setup', `emks-server ${stack.emksUrl} (SQLite), hss-sim ${stack.hssUrl}, emse-server ${EMSE_ID} started`);
        await runUe(stack, step);
      } catch (err) {
        failure = err;
      } finally {
        if (stack) {
          await stack.stop();
          steps.push(...serverSteps(stack.hss), ...serverSteps(stack.emse.get(EMSE_ID)?.process ?? stack.emks));
        }
      }
      steps.sort((a, b) => a.at - b.at);
      for (const s of steps) io.stdout(`[${String(s.at - t0).padStart(5)} ms] ${s.n.padEnd(5)} ${s.text}\n`);
      if (!flags.keep) rmSync(dir, { recursive: true, force: true });
      if (failure !== undefined) {
        const msg = failure instanceof Error ? failure.message : String(failure);
        throw new ExitError(ExitCode.failure, `demo failed: ${msg}`);
      }
      io.stdout(`\ndone in ${Date.now() - t0} ms: every process stopped${flags.keep ? `, files kept in ${dir}` : ''}\n`);
    });
}
