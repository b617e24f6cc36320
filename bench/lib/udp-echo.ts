/**
 * Child program of the CoAP section: the floor of Node's datagram path on this machine.
 *   `node udp-echo.js server PORT`: a node:dgram socket that sends every datagram straight back
 *     (no DTLS, no CoAP; sends without a lookup or a callback, as our DtlsServer does). Prints "ready".
 *   `node udp-echo.js client PORT INFLIGHT WARMUP_MS DURATION_MS SIZE`: keeps INFLIGHT datagrams of
 *     SIZE octets outstanding (a new one for each echo); after the warm-up prints "window start" and
 *     counts echoes for DURATION_MS, then prints `result {"echoes", "windowMs"}` (the parent reads
 *     the server's CPU time at both lines).
 * The server's CPU per echoed datagram is what any Node server spends to receive one datagram and
 * send one, before it does any work of its own.
 */
import { createSocket } from 'node:dgram';

function server(port: number): void {
  const s = createSocket({
    type: 'udp4',
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
    lookup: ((address: string, _o: unknown, cb: (e: null, a: string, f: number) => void) => cb(null, address, 4)) as never,
  });
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'));
}

function client(port: number, inflight: number, warmupMs: number, durationMs: number, size: number): void {
  const c = createSocket('udp4');
  const payload = Buffer.alloc(size, 0x17);
  let echoes = 0;
  c.on('message', () => {
    echoes++;
    c.send(payload);
  });
  c.connect(port, '127.0.0.1', () => {
    for (let i = 0; i < inflight; i++) c.send(payload);
    setTimeout(() => {
      const start = echoes;
      const t0 = performance.now();
      process.stdout.write('window start\n');
      setTimeout(() => {
        const result = { echoes: echoes - start, windowMs: performance.now() - t0 };
        process.stdout.write(`result ${JSON.stringify(result)}\n`);
        c.close();
      }, durationMs);
    }, warmupMs);
  });
}

const [mode, ...args] = process.argv.slice(2);
const n = args.map(Number);
if (mode === 'server') server(n[0] as number);
else if (mode === 'client') client(n[0] as number, n[1] as number, n[2] as number, n[3] as number, n[4] as number);
else {
  process.stderr.write('usage: udp-echo.js server PORT | client PORT INFLIGHT WARMUP_MS DURATION_MS SIZE\n');
  process.exitCode = 2;
}
