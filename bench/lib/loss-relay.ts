/**
 * A loss-injecting UDP relay for the latency benchmark: it listens on 127.0.0.1, gives every client
 * address:port a socket of its own towards the target (so the target sees one peer per client, as it
 * would without the relay), forwards datagrams both ways, and drops each one independently with the
 * given probability. Drops are drawn from a seeded PRNG, one stream per flow and direction (flows are
 * numbered in order of their first datagram), so a run with the same seed and the same arrival order
 * drops the same datagrams. Datagrams are forwarded as they are: no reordering, delay or duplication.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface LossRelayOptions {
  /** Where the datagrams of the clients go (host:port of the server under test). */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Probability in [0, 1) that any one datagram is dropped, in each direction independently. */
  readonly lossRate: number;
  /** Seed of the drop decisions. */
  readonly seed: number;
  /** Address the relay listens on (default 127.0.0.1, port chosen by the system). */
  readonly host?: string;
}

/** Datagrams seen by the relay; `up` = client → target, `down` = target → client. */
export interface RelayCounts {
  readonly flows: number;
  readonly forwardedUp: number;
  readonly forwardedDown: number;
  readonly droppedUp: number;
  readonly droppedDown: number;
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seed for flow `n`, direction `dir` (0 up, 1 down), mixed from the relay's seed. */
function flowSeed(seed: number, n: number, dir: 0 | 1): number {
  let h = (seed ^ Math.imul(n + 1, 0x9e3779b1) ^ Math.imul(dir + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

interface Flow {
  readonly socket: Socket;
  readonly client: RemoteInfo;
  readonly dropUp: () => boolean;
  readonly dropDown: () => boolean;
}

function bound(socket: Socket, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

export class LossRelay {
  readonly #o: LossRelayOptions;
  readonly #front: Socket;
  readonly #flows = new Map<string, Flow>();
  #forwardedUp = 0;
  #forwardedDown = 0;
  #droppedUp = 0;
  #droppedDown = 0;
  #closed = false;

  private constructor(o: LossRelayOptions, front: Socket) {
    this.#o = o;
    this.#front = front;
    front.on('message', (msg, rinfo) => this.#fromClient(msg, rinfo));
    // A client that went away makes sends fail with ECONNREFUSED on some systems: not the relay's problem.
    front.on('error', () => undefined);
  }

  /** Starts a relay towards the target; read the port to connect to from `port`. */
  static async start(o: LossRelayOptions): Promise<LossRelay> {
    if (!(o.lossRate >= 0 && o.lossRate < 1)) throw new RangeError('lossRate must be in [0, 1)');
    const front = createSocket('udp4');
    await bound(front, o.host ?? '127.0.0.1');
    return new LossRelay(o, front);
  }

  /** The UDP port clients send to. */
  get port(): number {
    return this.#front.address().port;
  }

  get counts(): RelayCounts {
    return {
      flows: this.#flows.size,
      forwardedUp: this.#forwardedUp,
      forwardedDown: this.#forwardedDown,
      droppedUp: this.#droppedUp,
      droppedDown: this.#droppedDown,
    };
  }

  #fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    const flow = this.#flowOf(rinfo);
    if (flow.dropUp()) {
      this.#droppedUp++;
      return;
    }
    this.#forwardedUp++;
    flow.socket.send(msg, this.#o.targetPort, this.#o.targetHost);
  }

  #flowOf(rinfo: RemoteInfo): Flow {
    const key = `${rinfo.address}:${rinfo.port}`;
    const known = this.#flows.get(key);
    if (known) return known;
    const n = this.#flows.size;
    const rate = this.#o.lossRate;
    const up = seededRandom(flowSeed(this.#o.seed, n, 0));
    const down = seededRandom(flowSeed(this.#o.seed, n, 1));
    const socket = createSocket('udp4');
    // Sends issued while the bind is still in progress are queued by node:dgram until it completes.
    socket.bind(0, this.#o.host ?? '127.0.0.1');
    socket.on('error', () => undefined);
    const flow: Flow = { socket, client: rinfo, dropUp: () => up() < rate, dropDown: () => down() < rate };
    socket.on('message', (reply) => {
      if (this.#closed) return;
      if (flow.dropDown()) {
        this.#droppedDown++;
        return;
      }
      this.#forwardedDown++;
      this.#front.send(reply, flow.client.port, flow.client.address);
    });
    this.#flows.set(key, flow);
    return flow;
  }

  /** Closes the listening socket and every flow's socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const sockets = [this.#front, ...[...this.#flows.values()].map((f) => f.socket)];
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
