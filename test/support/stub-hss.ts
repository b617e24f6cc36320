/**
 * A stub hss-sim for the UE tests: node:http on 127.0.0.1 with the contract's POST /v1/attach and
 * POST /v1/attach/{txn} with {res} or {auts}, its vectors made by the AKA library functions
 * (generateVector, recoverSqnFromAuts) for one subscriber. Switches make it misbehave on purpose.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateVector, recoverSqnFromAuts, sqnFromBigInt, sqnToBigInt } from '../../src/aka/index.js';
import { deriveE2mIntKey, kidFromRand } from '../../src/kdf/index.js';

/** One authentication vector the stub handed out. */
export interface HssVector {
  readonly txn: string;
  readonly rand: Uint8Array;
  readonly autn: Uint8Array;
  readonly xres: Uint8Array;
  readonly ck: Uint8Array;
  readonly ik: Uint8Array;
  readonly sqn: bigint;
  readonly kid: string;
  /** What the real HSS pushes to the EMKS. */
  readonly intKey: Uint8Array;
}

export interface StubHssOptions {
  /** The subscriber's K and OPc. */
  readonly k: Uint8Array;
  readonly opc: Uint8Array;
  /** The one IMSI it knows; others get 404. */
  readonly imsi: string;
  /** SQN it starts from (its first vector uses sqn + 1). */
  readonly sqn: bigint;
  /** The GUTI of a successful attach; default `00101-0001-01-<kid>`. */
  readonly guti?: (kid: string) => string;
}

export interface StubHss {
  readonly url: string;
  /** SQN the HSS used last (it uses sqn + 1 next). */
  sqn: bigint;
  /** Make AUTN with another K (a false base station). */
  forgeMac: boolean;
  /** Ignore AUTS (the SQN stays stale). */
  ignoreAuts: boolean;
  /** Reject every RES. */
  rejectRes: boolean;
  readonly vectors: HssVector[];
  readonly calls: string[];
  readonly autsSqns: bigint[];
  close(): Promise<void>;
}

const AMF = Uint8Array.of(0x80, 0x00);

export async function startStubHss(options: StubHssOptions): Promise<StubHss> {
  const { k, opc, imsi } = options;
  const guti = options.guti ?? ((kid: string): string => `00101-0001-01-${kid}`);
  const txns = new Map<string, HssVector>();
  let nextTxn = 1;
  const hss: Omit<StubHss, 'url' | 'close'> = {
    sqn: options.sqn,
    forgeMac: false,
    ignoreAuts: false,
    rejectRes: false,
    vectors: [],
    calls: [],
    autsSqns: [],
  };
  const newVector = (): HssVector => {
    hss.sqn += 1n;
    const rand = randomBytes(16);
    const v = generateVector({ k: hss.forgeMac ? randomBytes(16) : k, opc, rand, sqn: sqnFromBigInt(hss.sqn), amf: AMF });
    const txn = `t${nextTxn++}`;
    const vector: HssVector = {
      txn,
      rand,
      autn: v.autn,
      xres: v.xres,
      ck: v.ck,
      ik: v.ik,
      sqn: hss.sqn,
      kid: kidFromRand(rand),
      intKey: deriveE2mIntKey(v.ck, v.ik),
    };
    txns.set(txn, vector);
    hss.vectors.push(vector);
    return vector;
  };
  const challenge = (v: HssVector): Record<string, string> => ({
    txn: v.txn,
    rand: Buffer.from(v.rand).toString('hex'),
    autn: Buffer.from(v.autn).toString('hex'),
  });
  const problem = (res: ServerResponse, status: number, detail: string): void => {
    res.writeHead(status, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ type: 'about:blank', title: 'error', status, detail }));
  };
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: Record<string, string>): void => {
    if (req.method !== 'POST') return problem(res, 405, 'POST only');
    if (req.url === '/v1/attach') {
      hss.calls.push('attach');
      if (body['imsi'] !== imsi) return problem(res, 404, `unknown IMSI ${String(body['imsi'])}`);
      return json(res, 201, challenge(newVector()));
    }
    const m = /^\/v1\/attach\/([^/]+)$/.exec(req.url ?? '');
    const v = m ? txns.get(decodeURIComponent(m[1] as string)) : undefined;
    if (v === undefined) return problem(res, 404, 'unknown transaction');
    txns.delete(v.txn);
    if (typeof body['auts'] === 'string') {
      hss.calls.push('auts');
      const sqnMs = sqnToBigInt(recoverSqnFromAuts(k, opc, v.rand, Buffer.from(body['auts'], 'hex')));
      hss.autsSqns.push(sqnMs);
      if (!hss.ignoreAuts) hss.sqn = sqnMs;
      return json(res, 200, { result: 'challenge', ...challenge(newVector()) });
    }
    hss.calls.push('res');
    if (hss.rejectRes || body['res'] !== Buffer.from(v.xres).toString('hex')) return problem(res, 403, 'RES does not match XRES');
    return json(res, 200, { result: 'success', guti: guti(v.kid), kid: v.kid });
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => handle(req, res, text ? (JSON.parse(text) as Record<string, string>) : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(hss, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
