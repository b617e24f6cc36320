/**
 * The NSS key log (src/dtls/keylog.ts) against an independent reader: tshark captures a session of
 * our client with our server on loopback, then decrypts it with the key log either side wrote. The
 * plaintext must show up with a key log, and must not without one (so the check can fail).
 * Command lines follow shared/peers/README.md.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CipherSuiteId, DtlsClient, DtlsServer, type DtlsSession, openKeyLog } from '../../src/dtls/index.js';
import { freeUdpPort, peer } from '../support/peers.js';
import { nextEvent, type PeerProcess, ProcessGroup, spawnPeer, within } from '../support/processes.js';

/** 32 octets with 0x00 and >= 0x80 octets. */
const PSK_HEX = 'b66ccece404e53002d732967b74914a3ebffa6e1b4217562dab11f2f2b282971';
const PSK = new Uint8Array(Buffer.from(PSK_HEX, 'hex'));
/** A 100-octet identity. */
const IDENTITY = 'urn:e2m:ue:imsi-001010123456789@ims.mnc001.mcc001.3gppnetwork.org;kid=0x5f3a;ctx=interop/peer-test-1';
const KEYLOG_LINE = /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/;

/**
 * Starts tshark on loopback and resolves once it demonstrably captures `port`: first its
 * "Capturing on" report, then a probe datagram to the (still unbound) port that tshark prints
 * (-P -l). The probe is needed because dumpcap reports "Capturing on" a little before the capture
 * socket sees traffic: a datagram sent at once is missed, and a capture without the ClientHello
 * cannot be decrypted.
 */
async function startCapture(procs: ProcessGroup, port: number, pcap: string): Promise<PeerProcess> {
  const tshark = procs.spawn('tshark', [
    '-i', 'lo', '-f', `udp port ${port}`, '-w', pcap, '-P', '-l', '-T', 'fields', '-e', 'udp.dstport', '-e', 'udp.length',
  ], { timeoutMs: 30_000 });
  await tshark.waitFor(/Capturing on/, { stream: 'stderr', timeoutMs: 15_000 });
  await probeUntilSeen(tshark, port, 'e2m-capture-start');
  return tshark;
}

/**
 * Sends small probe datagrams to 127.0.0.1:port, one per 50 ms, until tshark prints one of them
 * (its -P line shows a datagram to `port` of the probe's UDP length), bounded at 10 s. Printing a packet
 * means dumpcap has written it, and every packet before it, to the file.
 */
async function probeUntilSeen(tshark: PeerProcess, port: number, tag: string): Promise<void> {
  const payload = Buffer.from(`${tag}-${randomBytes(4).toString('hex')}`);
  const sock = createSocket('udp4');
  sock.on('error', () => undefined); // ICMP port unreachable: expected, nothing listens there
  const seen = tshark.waitFor(new RegExp(`^${port}\\t${payload.length + 8}$`, 'm'), { stream: 'stdout', timeoutMs: 10_000 });
  const send = (): void => sock.send(payload, port, '127.0.0.1');
  send();
  const timer = setInterval(send, 50);
  try {
    await seen;
  } finally {
    clearInterval(timer);
    sock.close();
  }
}

interface Decrypted {
  texts: string[];
  appRecords: number;
}

/** Reads `pcap` with tshark, decoding udp port `port` as DTLS, with the given -o preferences. */
async function readCapture(pcap: string, port: number, prefs: readonly string[]): Promise<Decrypted> {
  const common = [
    '-r', pcap, '-d', `udp.port==${port},dtls`, '-d', `dtls.port==${port},data`, '-o', 'data.show_as_text:TRUE',
    ...prefs.flatMap((p) => ['-o', p]),
  ];
  const data = spawnPeer('tshark', [...common, '-Y', 'data', '-T', 'fields', '-e', 'data.text'], { timeoutMs: 20_000 });
  const records = spawnPeer('tshark', [...common, '-Y', 'dtls.record.content_type == 23', '-T', 'fields', '-e', 'frame.number'], {
    timeoutMs: 20_000,
  });
  const [d, r] = await Promise.all([data.exited, records.exited]);
  expect(d.code, data.describe()).toBe(0);
  expect(r.code, records.describe()).toBe(0);
  return {
    texts: data.stdout.split('\n').filter((l) => l !== ''),
    appRecords: records.stdout.split('\n').filter((l) => l !== '').length,
  };
}

describe.skipIf(!peer('tshark'))('key log + tshark', () => {
  const procs = new ProcessGroup();
  const plaintext = `e2m-keylog-plaintext-${randomBytes(8).toString('hex')}`;
  const reply = `e2m-keylog-reply-${randomBytes(8).toString('hex')}`;
  let dir = '';
  let pcap = '';
  let clientKeyLog = '';
  let serverKeyLog = '';
  let port = 0;

  // One captured session (handshake, one record each way, close_notify) for all the readings below.
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2m-'));
    pcap = join(dir, 'cap.pcapng');
    clientKeyLog = join(dir, 'client.keylog');
    serverKeyLog = join(dir, 'server.keylog');
    port = await freeUdpPort();
    const tshark = await startCapture(procs, port, pcap);

    const serverLog = openKeyLog(serverKeyLog);
    const clientLog = openKeyLog(clientKeyLog);
    const server = new DtlsServer({
      pskLookup: async (id) => (Buffer.from(id).toString('utf8') === IDENTITY ? PSK : undefined),
      keyLog: serverLog,
    });
    try {
      await server.listen(port, '127.0.0.1');
      const established = nextEvent<[DtlsSession]>(server, 'session', 10_000);
      const client = await within(
        DtlsClient.connect({
          host: '127.0.0.1',
          port,
          identity: IDENTITY,
          psk: PSK,
          keyLog: clientLog,
          cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8],
        }),
        10_000,
        'DtlsClient.connect',
      );
      const [session] = await established;
      const got = nextEvent<[Uint8Array]>(session, 'data', 10_000);
      const answered = nextEvent<[Uint8Array]>(client, 'data', 10_000);
      client.send(plaintext);
      expect(Buffer.from((await got)[0]).toString()).toBe(plaintext);
      session.send(reply);
      expect(Buffer.from((await answered)[0]).toString()).toBe(reply);
      const closed = nextEvent(session, 'close', 10_000);
      client.close();
      await closed;
    } finally {
      serverLog?.close();
      clientLog?.close();
      await server.close();
    }
    // Everything sent so far is in the file once a later probe is (the server port is free again).
    await probeUntilSeen(tshark, port, 'e2m-capture-end');
    const exit = await tshark.stop('SIGINT', 10_000);
    expect(exit.signal === null || exit.signal === 'SIGINT', tshark.describe()).toBe(true);
  }, 40_000);

  afterEach(async () => {
    await procs.stopAll();
  });

  afterAll(async () => {
    await procs.stopAll();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('both sides wrote the same single NSS key log line', () => {
    const c = readFileSync(clientKeyLog, 'utf8');
    const s = readFileSync(serverKeyLog, 'utf8');
    expect(c).toMatch(/\n$/);
    const lines = c.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(KEYLOG_LINE);
    expect(s).toBe(c);
  });

  it("tshark decrypts the session with our client's key log", async () => {
    const r = await readCapture(pcap, port, [`tls.keylog_file:${clientKeyLog}`]);
    expect(r.texts).toContain(plaintext);
    expect(r.texts).toContain(reply);
  });

  it("tshark decrypts the session with our server's key log", async () => {
    const r = await readCapture(pcap, port, [`tls.keylog_file:${serverKeyLog}`]);
    expect(r.texts).toContain(plaintext);
    expect(r.texts).toContain(reply);
  });

  it('tshark also decrypts it from the PSK alone (it recomputes the extended master secret)', async () => {
    const r = await readCapture(pcap, port, [`dtls.psk:${PSK_HEX}`]);
    expect(r.texts).toContain(plaintext);
    expect(r.texts).toContain(reply);
  });

  it('without a key log the capture holds the records but not the plaintext', async () => {
    const r = await readCapture(pcap, port, []);
    // The two application_data records are there, still sealed.
    expect(r.appRecords).toBeGreaterThanOrEqual(2);
    expect(r.texts.join('\n')).not.toContain(plaintext);
    expect(r.texts.join('\n')).not.toContain(reply);
    expect(readFileSync(pcap).includes(Buffer.from(plaintext))).toBe(false);
  });
});
