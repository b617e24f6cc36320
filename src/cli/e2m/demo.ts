/**
 * `e2m demo`: the bootstrap flow of DESIGN.md §1 on this machine. In this release the HSS and the
 * EMKS run in-process (the HSS's vector generation and the EMKS's key store are the real library
 * functions; their network APIs come with the hss-sim and emks-server roles). The DTLS handshake and
 * the CoAP exchange are real, over UDP on 127.0.0.1.
 */
import type { Command } from 'commander';
import { generate, parse } from 'coap-packet';
import { generateVector, Usim } from '../../aka/index.js';
import { randomBytes, constantTimeEqual } from '../../crypto/primitives.js';
import { DtlsClient } from '../../dtls/endpoint/client.js';
import { bestPskIdentity, deriveE2mIntKey, deriveE2mKey, kidFromRand, parseBestPskIdentity } from '../../kdf/index.js';
import { createEmseServer } from '../../emse/server.js';
import { toHex } from '../../util/bytes.js';
import { type CliIo, ExitCode, ExitError } from '../io.js';

const EMSE_ID = 'emse.demo.e2m.example';
const APP_IDENTITY = 'sensor-17@iot.example.com';

export function addDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run the AKA -> e2m_key -> DTLS-PSK -> CoAP bootstrap on this machine and print each step')
    .addHelpText('after', '\nExample:\n  npm run demo      (or: e2m demo)\n')
    .action(async () => {
      const t0 = performance.now();
      const step = (n: string, text: string): void => {
        io.stdout(`[${(performance.now() - t0).toFixed(1).padStart(7)} ms] ${n.padEnd(5)} ${text}\n`);
      };
      io.stdout('e2m demo: HSS and EMKS in-process, EMSE and UE over DTLS 1.2 PSK on 127.0.0.1\n\n');

      // AKA: the HSS makes a vector, the (simulated) USIM answers it.
      const k = randomBytes(16);
      const opc = randomBytes(16);
      const sqn = Uint8Array.of(0, 0, 0, 0, 0x10, 0x20);
      const vector = generateVector({ k, opc, rand: randomBytes(16), sqn, amf: Uint8Array.of(0x80, 0x00) });
      step('AKA', `HSS generated RAND ${toHex(vector.rand)} and AUTN (Milenage, TS 35.206)`);
      const emks = new Map<string, Uint8Array>();
      const kid = kidFromRand(vector.rand);
      emks.set(kid, deriveE2mIntKey(vector.ck, vector.ik));
      step('push', `HSS pushed e2m_int_key with kid ${kid} to the EMKS (before the outcome is known)`);
      const usim = new Usim({ k, opc, sqnMs: Uint8Array.of(0, 0, 0, 0, 0x10, 0) });
      const answer = usim.authenticate(vector.rand, vector.autn);
      if (answer.result !== 'ok' || !constantTimeEqual(answer.res, vector.xres)) {
        throw new ExitError(ExitCode.failure, 'demo: the USIM did not accept the challenge');
      }
      step('AKA', 'USIM verified MAC-A and SQN, RES = XRES: attached');

      const intKey = deriveE2mIntKey(answer.ck, answer.ik);
      const e2mKey = deriveE2mKey(intKey, EMSE_ID);
      const identity = bestPskIdentity(kid, APP_IDENTITY);
      step('UE', `derived e2m_key for ${EMSE_ID}; psk_identity = ${Buffer.from(identity).toString()}`);

      const emse = await createEmseServer({
        host: '127.0.0.1',
        port: 0,
        pskLookup: async (id) => {
          const { kid: k2 } = parseBestPskIdentity(id);
          const stored = emks.get(k2);
          step('5-7', `EMSE fetched e2m_key for kid ${k2} from the EMKS (EMSE_Id ${EMSE_ID})`);
          return stored === undefined ? undefined : deriveE2mKey(stored, EMSE_ID);
        },
      });
      try {
        step('1', `UE -> EMSE ${emse.address.address}:${emse.address.port}: ClientHello (TLS_PSK_WITH_AES_128_CCM_8)`);
        const session = await DtlsClient.connect({ host: '127.0.0.1', port: emse.address.port, identity, psk: e2mKey });
        step('8-11', `handshake complete: ${session.cipherSuite}, extended master secret ${session.extendedMasterSecret ? 'yes' : 'no'}`);
        const reply = new Promise<Uint8Array>((resolve) => session.once('data', resolve));
        session.send(generate({ code: 'GET', messageId: 1, token: Buffer.from(randomBytes(4)), confirmable: true, options: [{ name: 'Uri-Path', value: Buffer.from('hello') }] }));
        const response = parse(Buffer.from(await reply));
        step('CoAP', `GET coaps://…/hello -> ${response.code} "${response.payload.toString()}"`);
        session.close();
      } finally {
        await emse.close();
      }
      io.stdout(`\ndone in ${(performance.now() - t0).toFixed(0)} ms\n`);
    });
}
