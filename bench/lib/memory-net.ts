/**
 * An in-memory datagram network between one DtlsServer (through `attach` + `handleDatagram`) and
 * many DtlsClients (through `transport`), each client at its own synthetic address:port. Delivery is
 * asynchronous (one setImmediate per batch of datagrams, like a socket read) and every datagram is
 * copied into a fresh buffer on the way, as a UDP receive would hand over: nothing either side keeps
 * can alias the sender's memory.
 */
import type { ClientTransport, DatagramSink, DtlsServer } from '../../src/dtls/index.js';

export class MemoryNetwork {
  private readonly clients = new Map<string, (datagram: Uint8Array) => void>();
  private queue: (() => void)[] = [];
  private scheduled = false;
  /** Datagrams carried each way. */
  readonly carried = { toServer: 0, toClients: 0 };

  constructor(private readonly server: DtlsServer) {
    const sink: DatagramSink = {
      send: (datagram, address, port) => {
        const copy = new Uint8Array(datagram);
        this.carried.toClients++;
        this.post(() => this.clients.get(`${address}|${port}`)?.(copy));
      },
    };
    server.attach(sink);
  }

  /** A client transport at address:port (the server sees datagrams coming from there). */
  transport(address: string, port: number): ClientTransport {
    const key = `${address}|${port}`;
    return {
      send: (datagram) => {
        const copy = new Uint8Array(datagram);
        this.carried.toServer++;
        this.post(() => this.server.handleDatagram(copy, address, port));
      },
      onDatagram: (handler) => {
        this.clients.set(key, handler);
      },
      close: () => {
        this.clients.delete(key);
      },
    };
  }

  /** Forgets every client endpoint (their later datagrams from the server are dropped). */
  forgetClients(): void {
    this.clients.clear();
  }

  /** Client endpoints still attached. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Resolves once no datagram is in flight. */
  async drain(): Promise<void> {
    while (this.scheduled || this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private post(deliver: () => void): void {
    this.queue.push(deliver);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    for (const deliver of batch) deliver();
  }
}
