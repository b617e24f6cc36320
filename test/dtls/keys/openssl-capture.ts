/**
 * Runs a real OpenSSL DTLS 1.2 PSK handshake on the loopback interface and records every datagram
 * through a UDP relay between `openssl s_client` and `openssl s_server`, plus the master secret from
 * s_client's NSS key log. Test support only: the relay and the processes live no longer than one call.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One captured datagram. */
export interface CapturedDatagram {
  from: 'client' | 'server';
  hex: string;
}

/** What one handshake left behind. */
export interface OpensslCapture {
  opensslCipher: string;
  pskHex: string;
  /** The CLIENT_RANDOM line s_client wrote to its -keylogfile. */
  keylogLine: string;
  /** Application data s_client sent after the handshake (one line, with its newline). */
  appData: string;
  datagrams: CapturedDatagram[];
}

/** Whether an `openssl` binary that speaks DTLS 1.2 is on the PATH. */
export function opensslAvailable(): boolean {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 && /OpenSSL [13]\./.test(r.stdout);
}

async function bindUdp(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return s;
}

async function freeUdpPort(): Promise<number> {
  const s = await bindUdp();
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A relay on a free port: client datagrams go to serverPort, server datagrams back to the client. */
async function startRelay(serverPort: number, log: CapturedDatagram[]): Promise<Socket> {
  const relay = await bindUdp();
  let client: RemoteInfo | undefined;
  relay.on('message', (msg, rinfo) => {
    if (rinfo.port === serverPort) {
      log.push({ from: 'server', hex: msg.toString('hex') });
      if (client) relay.send(msg, client.port, client.address);
    } else {
      client = rinfo;
      log.push({ from: 'client', hex: msg.toString('hex') });
      relay.send(msg, serverPort, '127.0.0.1');
    }
  });
  return relay;
}

function collect(child: ChildProcess): { text: () => string } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return { text: () => out };
}

/** Client records of epoch 1 with content type `type`, seen in the log. */
function clientSent(log: readonly CapturedDatagram[], type: number): boolean {
  // Record header: type(1) version(2) epoch(2) ... (RFC 6347 §4.1); one record per datagram suffices here.
  return log.some((d) => d.from === 'client' && d.hex.startsWith(type.toString(16).padStart(2, '0') + 'fefd0001'));
}

/**
 * Runs s_server and s_client with `opensslCipher` (e.g. PSK-AES128-CCM8), sends one line of
 * application data, and returns the capture. Both processes are killed before returning.
 */
export async function captureOpensslHandshake(opensslCipher: string, pskHex: string): Promise<OpensslCapture> {
  const dir = mkdtempSync(join(tmpdir(), 'e2m-openssl-'));
  const keylog = join(dir, 'keylog.txt');
  const cipher = `${opensslCipher}:@SECLEVEL=0`;
  const datagrams: CapturedDatagram[] = [];
  const appData = 'e2m interop check\n';
  const children: ChildProcess[] = [];
  let relay: Socket | undefined;
  try {
    const serverPort = await freeUdpPort();
    const server = spawn('openssl', ['s_server', '-dtls1_2', '-nocert', '-psk', pskHex, '-cipher', cipher,
      '-accept', `127.0.0.1:${serverPort}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(server);
    const serverOut = collect(server);
    await waitFor('s_server to listen', () => serverOut.text().includes('ACCEPT'));
    relay = await startRelay(serverPort, datagrams);
    const client = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${relay.address().port}`,
      '-psk', pskHex, '-cipher', cipher, '-keylogfile', keylog], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(client);
    const keylogLine = (): string | undefined => {
      try {
        return readFileSync(keylog, 'utf8').split('\n').find((l) => l.startsWith('CLIENT_RANDOM '));
      } catch {
        return undefined;
      }
    };
    await waitFor('the handshake', () => keylogLine() !== undefined && serverOut.text().includes('CIPHER is'));
    client.stdin?.write(appData);
    await waitFor('application data', () => clientSent(datagrams, 23) && serverOut.text().includes(appData));
    return { opensslCipher, pskHex, keylogLine: keylogLine() as string, appData, datagrams };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    relay?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
