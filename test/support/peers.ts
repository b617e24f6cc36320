/**
 * Third-party peer programs used by the interop tests. Outside CI a missing program skips the tests
 * that need it (with the reason in the test name); in CI (CI=true) a missing program is a failure,
 * so that a broken install never turns into a silently green run.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const cache = new Map<string, boolean>();

/** Whether `program` is on the PATH. */
export function hasProgram(program: string): boolean {
  let found = cache.get(program);
  if (found === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
      found = true;
    } catch {
      found = false;
    }
    cache.set(program, found);
  }
  return found;
}

export const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';

/**
 * For `describe.skipIf(!peer('gnutls-cli'))`: true when present; when absent, false outside CI and a
 * thrown error in CI (install them with scripts/install-test-deps.sh).
 */
export function peer(program: string): boolean {
  if (hasProgram(program)) return true;
  if (inCi) throw new Error(`interop peer '${program}' is missing: run scripts/install-test-deps.sh`);
  return false;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Whether `port` can be bound right now with a UDP and a TCP socket on 127.0.0.1. */
async function bindable(port: number): Promise<boolean> {
  const udp = createSocket('udp4');
  const udpOk = await new Promise<boolean>((resolve) => {
    udp.once('error', () => resolve(false));
    udp.bind(port, '127.0.0.1', () => resolve(true));
  });
  udp.close();
  if (!udpOk) return false;
  const tcp = createServer();
  const tcpOk = await new Promise<boolean>((resolve) => {
    tcp.once('error', () => resolve(false));
    tcp.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (tcpOk) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  return tcpOk;
}

/** P with P and P+1 free for UDP and TCP (coap-server takes coap on P and coaps on P+1, both transports). */
export async function freeCoapPorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await freeUdpPort();
    if (p < 65_535 && (await bindable(p)) && (await bindable(p + 1))) return p;
  }
  throw new Error('no free port pair for coap-server');
}
