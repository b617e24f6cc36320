/**
 * libcoap as the peer of the latency benchmark (command lines of shared/peers/README.md):
 * `coap-server-openssl` with one static PSK (coaps on its port + 1), and one `coap-client-openssl`
 * GET per bootstrap, timed from spawn to the response payload on its stdout.
 */
import { performance } from 'node:perf_hooks';
import { createSocket } from 'node:dgram';
import { freeUdpPort } from '../../test/support/peers.js';
import { type PeerProcess, spawnPeer } from '../../test/support/processes.js';

/** A printable key: libcoap 4.3.1 takes `-k` as a string. */
export const LIBCOAP_KEY = 'e2m-bench-psk-0123456789abcdefgh';
export const LIBCOAP_IDENTITY = 'e2m:00000000:bench@iot.example.com';
/** The start of what coap-server answers on GET / (its banner). */
const BANNER = /test server made with libcoap/;

function bindable(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** coap-server needs two ports: P (coap) and P + 1 (coaps). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await freeUdpPort();
    if (p < 65_535 && (await bindable(p)) && (await bindable(p + 1))) return p;
  }
  throw new Error('no free UDP port pair for coap-server-openssl');
}

export interface LibcoapGet {
  readonly ok: boolean;
  /** Spawn to response payload on stdout (ok), or to exit. */
  readonly ms: number;
  readonly detail?: string;
}

/** One `coap-client-openssl` GET coaps://127.0.0.1:port/, bounded by `budgetMs` (its -B, plus a hard kill). */
export async function libcoapGet(port: number, budgetMs: number): Promise<LibcoapGet> {
  const started = performance.now();
  const client = spawnPeer(
    'coap-client-openssl',
    ['-m', 'get', '-u', LIBCOAP_IDENTITY, '-k', LIBCOAP_KEY, '-B', String(Math.ceil(budgetMs / 1000)), `coaps://127.0.0.1:${port}/`],
    { timeoutMs: budgetMs + 5_000 },
  );
  try {
    await client.waitFor(BANNER, { stream: 'stdout', timeoutMs: budgetMs + 2_000 });
    const ms = performance.now() - started;
    return ms <= budgetMs ? { ok: true, ms } : { ok: false, ms, detail: 'over budget' };
  } catch {
    const exit = await client.exited;
    // libcoap reports why it gave up on an ERR line (e.g. "cannot send CoAP pdu" once its DTLS
    // session setup failed); -B expiring ends it silently.
    const errLine = /ERR\s+(.+)$/m.exec(client.stderr + client.stdout)?.[1]?.trim();
    return { ok: false, ms: performance.now() - started, detail: errLine ?? `no answer (exit ${exit.code ?? exit.signal})` };
  } finally {
    await client.stop('SIGTERM', 1_000);
  }
}

/**
 * What starting coap-client-openssl costs by itself: spawn to exit of a run that only prints its
 * usage (exec, dynamic linking, libcoap and OpenSSL initialisation), ms.
 */
export async function libcoapStartMs(): Promise<number> {
  const started = performance.now();
  const p = spawnPeer('coap-client-openssl', [], { timeoutMs: 10_000 });
  await p.exited;
  return performance.now() - started;
}

/** A running coap-server-openssl. */
export interface LibcoapServer {
  /** The coaps port. */
  readonly port: number;
  readonly process: PeerProcess;
  stop(): Promise<void>;
}

/**
 * Starts coap-server-openssl on 127.0.0.1 and waits until a direct GET succeeds (at most
 * `attempts` tries of 2 s each), so the first measured run never meets a server still starting.
 */
export async function startLibcoapServer(lifetimeMs: number, attempts = 10): Promise<LibcoapServer> {
  const p = await freePortPair();
  const proc = spawnPeer('coap-server-openssl', ['-A', '127.0.0.1', '-p', String(p), '-k', LIBCOAP_KEY], { timeoutMs: lifetimeMs });
  const stop = async (): Promise<void> => {
    await proc.stop('SIGTERM', 2_000);
  };
  try {
    for (let i = 0; i < attempts; i++) {
      if (proc.exit) throw new Error(`coap-server-openssl exited:\n${proc.describe()}`);
      if ((await libcoapGet(p + 1, 2_000)).ok) return { port: p + 1, process: proc, stop };
    }
    throw new Error(`coap-server-openssl did not answer within ${attempts} tries:\n${proc.describe()}`);
  } catch (err) {
    await stop();
    throw err;
  }
}
