/**
 * The UE role against a stub hss-sim (test/support/stub-hss.ts: node:http and the AKA library functions
 * generateVector, recoverSqnFromAuts), and our own EMSE on 127.0.0.1: attach (success,
 * resynchronisation, MAC failure, rejected RES, HTTP errors), the keys, CoAP through UeClient
 * (Block1, Observe, Uri-Query) and the re-attach rule on unknown_psk_identity.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqnFromBigInt } from '../../src/aka/index.js';
import { HandshakeError } from '../../src/dtls/index.js';
import { createEmseServer, defaultResources, type EmseServer, type Resource } from '../../src/emse/index.js';
import { bestPskIdentity, deriveE2mIntKey, deriveE2mKey, kidFromRand, parseBestPskIdentity } from '../../src/kdf/index.js';
import { attach, AttachError, HssHttpError, HssTransportError, loadSim, NotAttachedError, statePathFor, UeClient, type UeAttachEvent } from '../../src/ue/index.js';
import { within } from '../support/processes.js';
import { type HssVector, type StubHss, startStubHss } from '../support/stub-hss.js';

const K = randomBytes(16);
const OPC = randomBytes(16);
const IMSI = '001010123456789';
const APP_ID = 'sensor-17@iot.example.com';
const SIM_SQN = 0x20n;
const EMSE_ID = 'emse-1.e2m.example';

let dir: string;
let simPath: string;
let hss: StubHss;

function writeSimFile(sqn = SIM_SQN): void {
  writeFileSync(
    simPath,
    JSON.stringify({ imsi: IMSI, k: K.toString('hex'), opc: OPC.toString('hex'), sqn: Buffer.from(sqnFromBigInt(sqn)).toString('hex'), identity: APP_ID }),
  );
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2m-'));
  simPath = join(dir, 'sim.json');
  writeSimFile();
  hss = await startStubHss({ k: K, opc: OPC, imsi: IMSI, sqn: SIM_SQN });
});

afterEach(async () => {
  await hss.close();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const stateOnDisk = (): Record<string, string> => JSON.parse(readFileSync(statePathFor(simPath), 'utf8')) as Record<string, string>;

describe('attach', () => {
  it('answers the challenge, derives e2m_int_key and kid, and writes them with SQN_MS', async () => {
    const r = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath });
    const v = hss.vectors[0] as HssVector;
    expect(hss.calls).toEqual(['attach', 'res']);
    expect(r.kid).toBe(kidFromRand(v.rand));
    expect(r.resyncs).toBe(0);
    expect(r.guti).toBe(`00101-0001-01-${v.kid}`);
    const s = stateOnDisk();
    expect(s).toMatchObject({ imsi: IMSI, kid: v.kid, rand: hex(v.rand), e2mIntKey: hex(deriveE2mIntKey(v.ck, v.ik)), guti: r.guti });
    expect(BigInt(`0x${s['sqnMs']}`)).toBe(SIM_SQN + 1n);
    expect(Date.parse(s['attachedAt'] as string)).not.toBeNaN();
  });

  it('resynchronises once when the USIM is behind the HSS by more than Δ (AUTS), then succeeds', async () => {
    hss.sqn = SIM_SQN + (1n << 28n) + 5n;
    const r = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath });
    expect(hss.calls).toEqual(['attach', 'auts', 'res']);
    expect(hss.autsSqns).toEqual([SIM_SQN]);
    expect(r.resyncs).toBe(1);
    expect(r.kid).toBe((hss.vectors[1] as HssVector).kid);
    expect(BigInt(`0x${stateOnDisk()['sqnMs']}`)).toBe(SIM_SQN + 1n);
  });

  it('takes SQN_MS from the state file, not from the SIM file', async () => {
    await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath });
    // The HSS replays the SQN just accepted: fresh for the SIM file's sqn, stale for the state's.
    hss.sqn = SIM_SQN;
    const r = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath });
    expect(r.resyncs).toBe(1);
    expect(hss.autsSqns).toEqual([SIM_SQN + 1n]);
  });

  it('stops on a MAC failure: clear error, nothing sent back, no state written', async () => {
    hss.forgeMac = true;
    const err = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttachError);
    expect((err as AttachError).code).toBe('E_ATTACH_MAC_FAILURE');
    expect((err as AttachError).message).toMatch(/not genuine/);
    expect(hss.calls).toEqual(['attach']);
    expect(existsSync(statePathFor(simPath))).toBe(false);
  });

  it('gives up when the SQN is still stale after one resynchronisation', async () => {
    hss.sqn = 0n;
    writeSimFile(0x1000n);
    hss.ignoreAuts = true;
    const err = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath }).catch((e: unknown) => e);
    expect((err as AttachError).code).toBe('E_ATTACH_SYNC_FAILURE');
    expect(hss.calls).toEqual(['attach', 'auts']);
    expect(existsSync(statePathFor(simPath))).toBe(false);
  });

  it('reports a rejected RES with the problem detail, and writes no state', async () => {
    hss.rejectRes = true;
    const err = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath }).catch((e: unknown) => e);
    expect((err as AttachError).code).toBe('E_ATTACH_REJECTED');
    expect((err as Error).message).toContain('RES does not match XRES');
    expect(existsSync(statePathFor(simPath))).toBe(false);
  });

  it('surfaces the problem+json detail of an HTTP error (unknown IMSI)', async () => {
    writeFileSync(simPath, JSON.stringify({ ...JSON.parse(readFileSync(simPath, 'utf8')), imsi: '001019999999999' }));
    const err = await attach({ hssUrl: hss.url, sim: loadSim(simPath), simPath }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HssHttpError);
    expect((err as HssHttpError).status).toBe(404);
    expect((err as Error).message).toContain('unknown IMSI 001019999999999');
  });

  it('bounds the wait for hss-sim and reports an unreachable one', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const slow = await attach({ hssUrl: `http://127.0.0.1:${port}`, sim: loadSim(simPath), simPath, timeoutMs: 200 }).catch((e: unknown) => e);
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect((slow as HssTransportError).code).toBe('E_HSS_TIMEOUT');
    const gone = await attach({ hssUrl: `http://127.0.0.1:${port}`, sim: loadSim(simPath), simPath }).catch((e: unknown) => e);
    expect((gone as HssTransportError).code).toBe('E_HSS_UNREACHABLE');
  });
});

// ---------------------------------------------------------------------------------------------------

const BIG = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff));

/** GET /q answers the request URL node-coap rebuilt from Uri-Path and Uri-Query. */
const queryResource: Resource = { path: 'q', methods: { GET: (req, res) => res.end(req.url) } };
/** GET /ticks with Observe: three notifications. */
const ticksResource: Resource = {
  path: 'ticks',
  methods: {
    GET: (req, res) => {
      if (req.headers['Observe'] !== 0) return void res.end('once');
      let n = 0;
      const tick = (): void => {
        n += 1;
        res.write(`tick ${n}`);
        if (n < 3) setImmediate(tick);
      };
      tick();
    },
  },
};

describe('UeClient', () => {
  let emse: EmseServer;
  /** Kids the EMSE's key source (standing in for the EMKS) no longer has. */
  const forgotten = new Set<string>();
  const lookups: string[] = [];

  beforeAll(async () => {
    emse = await createEmseServer({
      host: '127.0.0.1',
      port: 0,
      resources: [...defaultResources, queryResource, ticksResource],
      pskLookup: async (identity) => {
        const { kid, appIdentity } = parseBestPskIdentity(identity);
        lookups.push(kid);
        const v = hss.vectors.find((x) => x.kid === kid);
        if (v === undefined || forgotten.has(kid) || appIdentity !== APP_ID) return undefined;
        return deriveE2mKey(v.intKey, EMSE_ID);
      },
    });
  });

  afterAll(async () => {
    await emse.close();
  });

  beforeEach(() => {
    forgotten.clear();
    lookups.length = 0;
  });

  const base = (): string => `coaps://127.0.0.1:${emse.address.port}`;

  it('keys() equals e2m_key and psk_identity recomputed from the vector\'s CK and IK', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    expect(() => ue.keys(EMSE_ID)).toThrow(NotAttachedError);
    await ue.attach();
    const v = hss.vectors[0] as HssVector;
    const keys = ue.keys(EMSE_ID);
    expect(keys.kid).toBe(kidFromRand(v.rand));
    expect(keys.pskIdentity).toBe(Buffer.from(bestPskIdentity(v.kid, APP_ID)).toString());
    expect(keys.pskIdentity).toBe(`e2m:${v.kid}:${APP_ID}`);
    expect(hex(keys.e2mKey.expose())).toBe(hex(deriveE2mKey(deriveE2mIntKey(v.ck, v.ik), EMSE_ID)));
    expect(hex(ue.keys('other-emse').e2mKey.expose())).not.toBe(hex(keys.e2mKey.expose()));
    // A second client on the same SIM file reads the same state.
    expect(hex(new UeClient({ simPath }).keys(EMSE_ID).e2mKey.expose())).toBe(hex(keys.e2mKey.expose()));
  });

  it('GETs /hello over DTLS with e2m_key, attaching first when there is no state', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    const r = await ue.request({ url: `${base()}/hello`, emseId: EMSE_ID });
    expect(r.code).toBe('2.05');
    expect(Buffer.from(r.payload).toString()).toBe(`Hello, e2m:${(hss.vectors[0] as HssVector).kid}:${APP_ID}!`);
    expect(r.format).toBe('text/plain');
    expect(hss.calls).toEqual(['attach', 'res']);
  });

  it('POSTs 3000 octets (Block1) and gets them back (Block2); carries Uri-Query', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    const echo = await ue.request({ url: `${base()}/echo`, emseId: EMSE_ID, method: 'POST', payload: BIG, contentFormat: 'application/octet-stream' });
    expect(echo.code).toMatch(/^2\.0[45]$/);
    expect(Buffer.from(echo.payload).equals(BIG)).toBe(true);
    const q = await ue.request({ url: `${base()}/q?a=1&b=x%20y`, emseId: EMSE_ID });
    expect(Buffer.from(q.payload).toString()).toBe('/q?a=1&b=x y');
    const missing = await ue.request({ url: `${base()}/nothing`, emseId: EMSE_ID });
    expect(missing.code).toBe('4.04');
  });

  it('observes /ticks: three notifications, then close() ends it', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    const obs = await ue.request({ url: `${base()}/ticks`, emseId: EMSE_ID, observe: true });
    expect(obs.registered).toBe(true);
    const got: string[] = [];
    for await (const n of obs) {
      got.push(Buffer.from(n.payload).toString());
      if (got.length === 3) break;
    }
    expect(got).toEqual(['tick 1', 'tick 2', 'tick 3']);
    obs.close();
    expect(await obs.next()).toBeUndefined();
  });

  it('re-attaches exactly once when the EMSE does not know the kid, then succeeds with the new kid', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    await ue.attach();
    const oldKid = (hss.vectors[0] as HssVector).kid;
    forgotten.add(oldKid);
    const events: UeAttachEvent[] = [];
    ue.on('attach', (e) => events.push(e));
    const r = await ue.request({ url: `${base()}/hello`, emseId: EMSE_ID });
    const newKid = (hss.vectors[1] as HssVector).kid;
    expect(r.code).toBe('2.05');
    expect(Buffer.from(r.payload).toString()).toBe(`Hello, e2m:${newKid}:${APP_ID}!`);
    expect(hss.calls.filter((c) => c === 'attach')).toHaveLength(2);
    expect(events).toEqual([{ reason: 'reattach', kid: newKid, staleKid: oldKid }]);
    expect(lookups).toEqual([oldKid, newKid]);
    expect(stateOnDisk()['kid']).toBe(newKid);
  });

  it('re-attaches only once when the new kid is unknown too, and reports the alert', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    await ue.attach();
    const unknownIdentityEmse = await createEmseServer({ host: '127.0.0.1', port: 0, pskLookup: async () => undefined });
    try {
      const err = await ue.request({ url: `coaps://127.0.0.1:${unknownIdentityEmse.address.port}/hello`, emseId: EMSE_ID }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HandshakeError);
      expect((err as HandshakeError).alert).toBe(115);
      expect(hss.calls.filter((c) => c === 'attach')).toHaveLength(2);
    } finally {
      await unknownIdentityEmse.close();
    }
  });

  it('without an HSS it does not re-attach: the handshake error names unknown_psk_identity', async () => {
    await new UeClient({ simPath, hssUrl: hss.url }).attach();
    forgotten.add((hss.vectors[0] as HssVector).kid);
    const ue = new UeClient({ simPath });
    const err = await ue.request({ url: `${base()}/hello`, emseId: EMSE_ID }).catch((e: unknown) => e);
    expect((err as HandshakeError).alert).toBe(115);
    expect((err as Error).message).toContain('unknown_psk_identity');
    expect(hss.calls.filter((c) => c === 'attach')).toHaveLength(1);
  });

  it('fails with decrypt_error when the EMSE_Id is not the EMSE\'s (the keys differ)', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    const err = await ue.request({ url: `${base()}/hello`, emseId: 'some-other-emse' }).catch((e: unknown) => e);
    expect((err as HandshakeError).alert).toBe(51);
    expect(hss.calls.filter((c) => c === 'attach')).toHaveLength(1);
  });

  it('shares one attach between concurrent requests that need it', async () => {
    const ue = new UeClient({ simPath, hssUrl: hss.url });
    const rs = await within(
      Promise.all([1, 2, 3].map(() => ue.request({ url: `${base()}/hello`, emseId: EMSE_ID }))),
      20_000,
      'three requests',
    );
    expect(rs.map((r) => r.code)).toEqual(['2.05', '2.05', '2.05']);
    expect(hss.calls.filter((c) => c === 'attach')).toHaveLength(1);
  });

  it('refuses other schemes and a fragment, naming the url', async () => {
    const ue = new UeClient({ simPath });
    await expect(ue.request({ url: `coap://127.0.0.1:${emse.address.port}/hello`, emseId: EMSE_ID })).rejects.toMatchObject({ option: 'url' });
    await expect(ue.request({ url: `${base()}/hello#x`, emseId: EMSE_ID })).rejects.toMatchObject({ option: 'url' });
    await expect(ue.request({ url: `${base()}/hello`, emseId: EMSE_ID, method: 'POST', observe: true })).rejects.toMatchObject({ option: 'observe' });
  });
});
