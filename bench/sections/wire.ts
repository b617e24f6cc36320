/**
 * Section 4: bytes and datagrams on the wire, counted from a tshark capture on loopback and split
 * into what the UE sends and what it receives: (a) a bootstrap (handshake + first CoAP GET /hello),
 * (b) a second session with the same PSK, (c) a 1 KiB POST /echo on an established session, and
 * (d) the same handshake by openssl s_client against our EMSE, and s_client against s_server.
 * Markers (capture.ts) cut the single capture into those phases.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { DtlsClient, type DtlsClientSession } from '../../src/dtls/index.js';
import { createEmseServer, type EmseServer, staticPskLookup } from '../../src/emse/server.js';
import { exchange } from '../../src/ue/coap-exchange.js';
import { freeUdpPort, hasProgram } from '../../test/support/peers.js';
import { nextEvent, ProcessGroup, within } from '../../test/support/processes.js';
import { type CoapFrame, type Frame, readCoap, readFrames, startCapture } from '../lib/capture.js';
import { type BenchContext, type BenchModule, compare, figure, type Row, type Section } from '../lib/types.js';

/** 32 octets with 0x00 and >= 0x80 octets (static PSK: the EMKS fetch adds no UE traffic). */
const PSK_HEX = 'b66ccece404e53002d732967b74914a3ebffa6e1b4217562dab11f2f2b282971';
/** A Best PSK identity of DESIGN.md §4: e2m:<kid>:<appIdentity>. */
const IDENTITY = 'e2m:1a2b3c4d:sensor-17@iot.example.com';
const HOST = '127.0.0.1';
const ECHO_OCTETS = 1024;
const STEP_MS = 15_000;
/** IPv4 (20) + UDP (8) header octets per datagram. */
const IP_UDP = 28;
const OPENSSL_CIPHER = 'PSK-AES128-CCM8:@SECLEVEL=0';

const ContentType = { ccs: 20, alert: 21, handshake: 22, appData: 23 } as const;

/** Traffic of one UE port in one phase. */
interface Flow {
  readonly sent: readonly Frame[];
  readonly received: readonly Frame[];
  /** UE → server runs (a new one starts whenever the UE sends after receiving). */
  readonly roundTrips: number;
}

interface Tally {
  readonly datagrams: number;
  readonly bytes: number;
}

const tally = (frames: readonly Frame[]): Tally => ({ datagrams: frames.length, bytes: frames.reduce((s, f) => s + f.payload, 0) });
const isHandshake = (f: Frame): boolean => f.contentTypes.length > 0 && f.contentTypes.every((t) => t === ContentType.handshake || t === ContentType.ccs);
const isAppData = (f: Frame): boolean => f.contentTypes.includes(ContentType.appData);

/** Frames labelled with the marker that follows them (phase = the marker sent after it completed). */
function phases(frames: readonly Frame[]): Map<string, Frame[]> {
  const out = new Map<string, Frame[]>();
  let current: Frame[] = [];
  for (const f of frames) {
    if (f.marker === undefined) {
      current.push(f);
      continue;
    }
    if (out.has(f.marker)) continue; // a repeated probe of a marker already seen
    out.set(f.marker, current);
    current = [];
  }
  return out;
}

/** The flow of the UE that opened a session with `serverPort` in `frames` (the sender of the first datagram there). */
function flowOf(frames: readonly Frame[] | undefined, serverPort: number, select: (f: Frame) => boolean = () => true): Flow {
  const first = (frames ?? []).find((f) => f.dstPort === serverPort);
  if (first === undefined) throw new Error(`no datagram to port ${serverPort} in this phase of the capture`);
  const ue = first.srcPort;
  const mine = (frames ?? []).filter((f) => select(f) && ((f.srcPort === ue && f.dstPort === serverPort) || (f.srcPort === serverPort && f.dstPort === ue)));
  let roundTrips = 0;
  let lastSent = false;
  for (const f of mine) {
    const sent = f.srcPort === ue;
    if (sent && !lastSent) roundTrips++;
    lastSent = sent;
  }
  return { sent: mine.filter((f) => f.srcPort === ue), received: mine.filter((f) => f.srcPort === serverPort), roundTrips };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function directionRows(what: string, flow: Flow, notes = ''): Row[] {
  const s = tally(flow.sent);
  const r = tally(flow.received);
  const ip = (t: Tally): string => `${t.bytes + t.datagrams * IP_UDP} B with IPv4+UDP headers`;
  const extra = notes === '' ? '' : `; ${notes}`;
  return [
    figure(`${what}: UE → server`, 'B', s.bytes, { notes: `${plural(s.datagrams, 'datagram')}, UDP payload; ${ip(s)}${extra}` }),
    figure(`${what}: server → UE`, 'B', r.bytes, { notes: `${plural(r.datagrams, 'datagram')}, UDP payload; ${ip(r)}` }),
    figure(`${what}: datagrams UE → server / server → UE`, 'datagrams', s.datagrams + r.datagrams, { notes: `${s.datagrams} / ${r.datagrams}` }),
  ];
}

/** Our client and our EMSE, phases a, c and b (in that order on the wire). */
async function ourPhases(ctx: BenchContext, emse: EmseServer, mark: (tag: string) => Promise<void>): Promise<void> {
  const port = emse.address.port;
  const target = (path: string): { host: string; port: number; path: string[]; query: string[] } => ({ host: HOST, port, path: [path], query: [] });
  const connect = (): Promise<DtlsClientSession> =>
    within(DtlsClient.connect({ host: HOST, port, identity: IDENTITY, psk: new Uint8Array(Buffer.from(PSK_HEX, 'hex')) }), STEP_MS, 'DtlsClient.connect');
  const get = async (s: DtlsClientSession): Promise<void> => {
    const res = await exchange(s, { target: target('hello'), method: 'GET', observe: false, timeoutMs: STEP_MS });
    if (res.code !== '2.05') throw new Error(`GET /hello answered ${res.code}`);
  };
  const close = async (s: DtlsClientSession): Promise<void> => {
    // The server answers close_notify with its own before it reports the close: both are on the wire then.
    const closed = nextEvent(emse.dtls, 'close', STEP_MS);
    s.close();
    await closed;
  };

  const first = await connect();
  await get(first);
  await mark('a');
  ctx.progress('wire: our client', 1, 4);
  const payload = new Uint8Array(randomBytes(ECHO_OCTETS));
  const echoed = await exchange(first, { target: target('echo'), method: 'POST', payload, observe: false, timeoutMs: STEP_MS });
  if (echoed.code !== '2.04' || Buffer.compare(Buffer.from(echoed.payload), Buffer.from(payload)) !== 0) throw new Error(`POST /echo answered ${echoed.code} with ${echoed.payload.length} octets`);
  await mark('c');
  await close(first);
  await mark('close-a');
  ctx.progress('wire: our client', 2, 4);
  const second = await connect();
  await get(second);
  await mark('b');
  await close(second);
  await mark('close-b');
  ctx.progress('wire: our client', 3, 4);
}

/** openssl s_client against `port`: a handshake, then EOF on its stdin (close_notify). */
async function opensslClient(procs: ProcessGroup, port: number): Promise<void> {
  const client = procs.spawn(
    'openssl',
    ['s_client', '-dtls1_2', '-connect', `${HOST}:${port}`, '-psk', PSK_HEX, '-psk_identity', IDENTITY, '-cipher', OPENSSL_CIPHER],
    { stdin: 'pipe', timeoutMs: 30_000 },
  );
  await client.waitFor(/New, TLSv1\.2, Cipher is PSK-AES128-CCM8/, { stream: 'stdout', timeoutMs: STEP_MS });
  client.endInput();
  const exit = await within(client.exited, STEP_MS, 'openssl s_client exit');
  if (exit.code !== 0) throw new Error(`openssl s_client failed:\n${client.describe()}`);
}

async function opensslPhases(procs: ProcessGroup, emsePort: number, serverPort: number, mark: (tag: string) => Promise<void>): Promise<void> {
  await opensslClient(procs, emsePort);
  await mark('d-emse');
  const server = procs.spawn(
    'openssl',
    ['s_server', '-dtls1_2', '-nocert', '-psk', PSK_HEX, '-psk_identity', IDENTITY, '-cipher', OPENSSL_CIPHER, '-accept', `${HOST}:${serverPort}`],
    { stdin: 'pipe', timeoutMs: 60_000 },
  );
  await server.waitFor(/ACCEPT/, { timeoutMs: STEP_MS });
  await opensslClient(procs, serverPort);
  await mark('d-openssl');
  server.endInput();
  await server.stop('SIGTERM', 2_000);
}

/** CoAP messages of `flow`'s UE in the decrypted capture. */
function coapOf(coap: readonly CoapFrame[], flow: Flow): { sent: CoapFrame[]; received: CoapFrame[] } {
  const sent = new Set(flow.sent.map((f) => f.number));
  const received = new Set(flow.received.map((f) => f.number));
  return { sent: coap.filter((c) => sent.has(c.number)), received: coap.filter((c) => received.has(c.number)) };
}

function handshakeCompareRows(ours: Flow, theirs: Flow, peer: string): Row[] {
  const o = { sent: tally(ours.sent.filter(isHandshake)), received: tally(ours.received.filter(isHandshake)) };
  const t = { sent: tally(theirs.sent.filter(isHandshake)), received: tally(theirs.received.filter(isHandshake)) };
  return [
    compare('full handshake, both directions, our client vs openssl s_client (same server: our EMSE)', 'B', o.sent.bytes + o.received.bytes, peer, t.sent.bytes + t.received.bytes, 'lower', {
      notes: `ours ${o.sent.bytes} B sent + ${o.received.bytes} B received; s_client ${t.sent.bytes} + ${t.received.bytes}`,
    }),
    compare('full handshake, UE → server, our client vs openssl s_client', 'B', o.sent.bytes, peer, t.sent.bytes, 'lower', {
      notes: `${o.sent.datagrams} vs ${t.sent.datagrams} datagrams`,
    }),
    compare('full handshake, datagrams both directions, our client vs openssl s_client', 'datagrams', o.sent.datagrams + o.received.datagrams, peer, t.sent.datagrams + t.received.datagrams, 'lower'),
  ];
}

async function measure(ctx: BenchContext): Promise<Row[]> {
  const procs = new ProcessGroup();
  const dir = mkdtempSync(join(ctx.tmp, 'wire-'));
  const [emsePort, markerPort, opensslPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()] as [number, number, number];
  const capture = await startCapture({ ports: [emsePort, opensslPort], markerPort, pcap: join(dir, 'wire.pcapng'), timeoutMs: 300_000 });
  let emse: EmseServer | undefined;
  try {
    emse = await createEmseServer({
      host: HOST,
      port: emsePort,
      pskLookup: staticPskLookup(new Map([[IDENTITY, new Uint8Array(Buffer.from(PSK_HEX, 'hex'))]])),
    });
    await ourPhases(ctx, emse, capture.mark);
    const withOpenssl = hasProgram('openssl');
    if (withOpenssl) await opensslPhases(procs, emsePort, opensslPort, capture.mark);
    ctx.progress('wire: our client', 4, 4);
    await capture.stop();

    const byPhase = phases(await readFrames(capture.pcap, [emsePort, opensslPort]));
    const coap = await readCoap(capture.pcap, emsePort, PSK_HEX);
    const a = flowOf(byPhase.get('a'), emsePort);
    const b = flowOf(byPhase.get('b'), emsePort);
    const c = flowOf(byPhase.get('c'), emsePort);
    const aHandshake = flowOf(byPhase.get('a'), emsePort, isHandshake);
    const bHandshake = flowOf(byPhase.get('b'), emsePort, isHandshake);
    const cCoap = coapOf(coap, c);
    const cMessages = [...cCoap.sent, ...cCoap.received];
    const withBlock = cMessages.filter((m) => m.blocks.length > 0).length;
    // A block-wise transfer needs more than one exchange: some message has NUM > 0 or M set (RFC 7959 §2.2).
    const continued = cMessages.filter((m) => m.blocks.some((x) => x.num > 0 || x.more)).length;
    const rows: Row[] = [
      ...directionRows('(a) bootstrap: handshake + CoAP GET /hello + response', a, `${a.roundTrips} round trips to the response`),
      ...directionRows('(a) of which the full handshake (cookie exchange included)', aHandshake, `${aHandshake.roundTrips} round trips`),
      ...directionRows('(b) second session, same PSK: full handshake + GET /hello', b, `${b.roundTrips} round trips`),
      figure('(b) second session: handshake bytes both directions', 'B', tally(bHandshake.sent).bytes + tally(bHandshake.received).bytes, {
        notes: 'no session resumption yet: the second session runs a second full handshake',
      }),
      ...directionRows(`(c) POST /echo with ${ECHO_OCTETS} octets on an established session, request and response`, c, plural(c.roundTrips, 'round trip')),
      figure('(c) CoAP messages UE → server / server → UE', 'messages', cCoap.sent.length + cCoap.received.length, {
        notes: `${cCoap.sent.length} / ${cCoap.received.length}; ${withBlock} carry a Block1/Block2 option, ${continued} with NUM > 0 or M = 1 (${continued === 0 ? 'no block-wise transfer: one exchange' : 'a block-wise transfer'}); ${c.sent.filter(isAppData).length + c.received.filter(isAppData).length} application_data datagrams`,
      }),
    ];
    if (withOpenssl) {
      const d = flowOf(byPhase.get('d-emse'), emsePort);
      const peer = flowOf(byPhase.get('d-openssl'), opensslPort);
      rows.push(...handshakeCompareRows(aHandshake, d, 'openssl s_client'));
      const dh = flowOf(byPhase.get('d-emse'), emsePort, isHandshake);
      const ph = flowOf(byPhase.get('d-openssl'), opensslPort, isHandshake);
      rows.push(...directionRows('(d) openssl s_client → our EMSE, full handshake', dh, `${dh.roundTrips} round trips`));
      rows.push(...directionRows('(d) openssl s_client → openssl s_server, full handshake (reference)', ph, `${ph.roundTrips} round trips`));
      const close = (f: Flow): number => tally([...f.sent, ...f.received].filter((x) => !isHandshake(x))).datagrams;
      ctx.log(`wire: datagrams after the handshake (close_notify and the like): s_client↔EMSE ${close(d)}, s_client↔s_server ${close(peer)}`);
    }
    return rows;
  } finally {
    await emse?.close();
    await procs.stopAll();
    await capture.stop().catch(() => undefined);
  }
}

export const bench: BenchModule = {
  id: 'wire',
  title: '4. Bytes and datagrams on the wire',
  async run(ctx) {
    if (!hasProgram('tshark')) throw new Error('tshark is needed for the wire section (shared/peers/README.md)');
    const rows = await measure(ctx);
    const section: Section = {
      id: 'wire',
      title: this.title,
      rows,
      limits:
        'Counted from one tshark capture on lo (capture filter on the EMSE port, the s_server port and a marker port), read back with ' +
        '`tshark -r … -T fields -e udp.srcport -e udp.dstport -e udp.length -e dtls.record.content_type`; bytes are UDP payload (DTLS ' +
        `records), IPv4+UDP headers add ${IP_UDP} B per datagram (given in the notes). Phases are cut by marker datagrams to a port ` +
        'nothing listens on, each sent until tshark has printed it (no fixed sleeps). Handshake datagrams = datagrams carrying only ' +
        'handshake and ChangeCipherSpec records (the HelloVerifyRequest cookie exchange is included). Our client is DtlsClient as the UE ' +
        'uses it (default suites CCM_8 and CCM offered, extended master secret), CoAP through the UE\'s node-coap exchange; static PSK ' +
        `(identity ${IDENTITY}, ${IDENTITY.length} octets): the bootstrap's HTTP legs (UE↔HSS attach, EMSE↔EMKS key fetch) are not on ` +
        'this path. No session resumption is implemented yet, so (b) is a second full handshake. CoAP messages and Block options are read ' +
        'from the capture decrypted by tshark with the PSK. OpenSSL 3.0\'s s_client offers session_ticket, encrypt_then_mac, ' +
        'extended_master_secret and signature_algorithms (a ClientHello twice the size of ours), and s_server adds a NewSessionTicket ' +
        'to its last flight: the reference pair prepares resumption, ours does not. Loopback loses nothing: no retransmission is in these counts. ' +
        'Counts do not depend on --scale.',
    };
    return section;
  },
};
