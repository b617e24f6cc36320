/**
 * Packet capture with tshark on loopback (command lines of shared/peers/README.md), with markers:
 * probe datagrams to a port nothing listens on, captured along with the traffic, that cut the capture
 * into phases. `mark()` resolves once tshark has printed its probe, which means dumpcap has written
 * it and every packet before it (as test/e2e/keylog-tshark.test.ts does): no fixed sleeps.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { type PeerProcess, spawnPeer } from '../../test/support/processes.js';

export interface Capture {
  readonly pcap: string;
  /** Sends a marker datagram (again every 50 ms) until tshark shows it; bounded at 10 s. */
  mark(tag: string): Promise<void>;
  /** Stops tshark with SIGINT and waits for it to exit. */
  stop(): Promise<void>;
}

export interface CaptureOptions {
  /** UDP ports to capture (besides the marker port). */
  readonly ports: readonly number[];
  /** A free UDP port that receives nothing but markers. */
  readonly markerPort: number;
  readonly pcap: string;
  /** tshark is killed after this long whatever happens. */
  readonly timeoutMs: number;
}

const MARK_PREFIX = 'e2m-mark:';

/** Starts tshark on `lo` and resolves once it demonstrably captures (a first marker went through). */
export async function startCapture(o: CaptureOptions): Promise<Capture> {
  const filter = [...o.ports, o.markerPort].map((p) => `udp port ${p}`).join(' or ');
  const tshark = spawnPeer('tshark', ['-i', 'lo', '-f', filter, '-w', o.pcap, '-P', '-l', '-T', 'fields', '-e', 'udp.dstport', '-e', 'data.data'], {
    timeoutMs: o.timeoutMs,
  });
  const capture: Capture = {
    pcap: o.pcap,
    mark: (tag) => probeUntilSeen(tshark, o.markerPort, tag),
    stop: async () => {
      const exit = await tshark.stop('SIGINT', 10_000);
      if (exit.code !== 0 && exit.signal !== 'SIGINT') throw new Error(`tshark did not stop cleanly:\n${tshark.describe()}`);
    },
  };
  try {
    await tshark.waitFor(/Capturing on/, { stream: 'stderr', timeoutMs: 15_000 });
    await capture.mark('start');
  } catch (err) {
    await tshark.stop('SIGKILL');
    throw err;
  }
  return capture;
}

async function probeUntilSeen(tshark: PeerProcess, port: number, tag: string): Promise<void> {
  const payload = Buffer.from(`${MARK_PREFIX}${tag}:${randomBytes(4).toString('hex')}`);
  const sock = createSocket('udp4');
  sock.on('error', () => undefined); // ICMP port unreachable: expected, nothing listens there
  const seen = tshark.waitFor(new RegExp(`^${port}\\t${payload.toString('hex')}$`, 'm'), { stream: 'stdout', timeoutMs: 10_000 });
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

/** One captured datagram. */
export interface Frame {
  readonly number: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** UDP payload octets (udp.length - 8). */
  readonly payload: number;
  /** DTLS record content types in the datagram, in order (empty for a marker). */
  readonly contentTypes: readonly number[];
  /** The marker's tag, for a marker datagram. */
  readonly marker?: string;
}

/** Reads a capture back, decoding `dtlsPorts` as DTLS. */
export async function readFrames(pcap: string, dtlsPorts: readonly number[]): Promise<Frame[]> {
  const out = await runTshark([
    '-r', pcap, ...dtlsPorts.flatMap((p) => ['-d', `udp.port==${p},dtls`]),
    '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'frame.number', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'udp.length', '-e', 'dtls.record.content_type', '-e', 'data.data',
  ]);
  return out.map((cols) => {
    const [number, src, dst, len, types, data] = cols;
    const text = data ? Buffer.from(data.split(',')[0] ?? '', 'hex').toString('latin1') : '';
    const marker = text.startsWith(MARK_PREFIX) ? text.slice(MARK_PREFIX.length).replace(/:[0-9a-f]{8}$/, '') : undefined;
    return {
      number: Number(number),
      srcPort: Number(src),
      dstPort: Number(dst),
      payload: Number(len) - 8,
      contentTypes: types ? types.split(',').map(Number) : [],
      ...(marker === undefined ? {} : { marker }),
    };
  });
}

/** One CoAP message found in a capture decrypted with the PSK. */
export interface CoapFrame {
  readonly number: number;
  readonly srcPort: number;
  readonly code: number;
  /** Block1/Block2 options in the message (RFC 7959 §2.2: NUM and the M flag). */
  readonly blocks: readonly { readonly num: number; readonly more: boolean }[];
  readonly payloadLength: number;
}

/**
 * The CoAP messages of a capture, decrypted by tshark from the PSK itself (it recomputes the
 * extended master secret; the whole handshake must be in the capture).
 */
export async function readCoap(pcap: string, port: number, pskHex: string): Promise<CoapFrame[]> {
  const out = await runTshark([
    '-r', pcap, '-o', `dtls.psk:${pskHex}`, '-d', `udp.port==${port},dtls`, '-d', `dtls.port==${port},coap`, '-Y', 'coap',
    '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'frame.number', '-e', 'udp.srcport', '-e', 'coap.code', '-e', 'coap.opt.block_number', '-e', 'coap.opt.block_mflag',
    '-e', 'coap.payload_length',
  ]);
  return out.map(([number, src, code, nums, mflags, payloadLength]) => {
    const more = mflags ? mflags.split(',') : [];
    return {
      number: Number(number),
      srcPort: Number(src),
      code: Number(code),
      blocks: nums ? nums.split(',').map((n, i) => ({ num: Number(n), more: more[i] === '1' || more[i] === 'True' })) : [],
      payloadLength: payloadLength ? Number(payloadLength) : 0,
    };
  });
}

async function runTshark(args: readonly string[]): Promise<string[][]> {
  const p = spawnPeer('tshark', args, { timeoutMs: 60_000 });
  const exit = await p.exited;
  if (exit.code !== 0) throw new Error(`tshark failed:\n${p.describe()}`);
  return p.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}
