/**
 * The DTLS 1.2 PSK client: `DtlsClient.connect()` resolves with an established session once the
 * handshake completed, or rejects with the alert that ended it (or a timeout). The UDP socket is
 * connected to the server, so datagrams from anyone else never reach the engine.
 */
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AlertError, StackError } from '../../util/errors.js';
import type { SecretBytes } from '../../util/secret.js';
import { alertName } from '../wire/constants.js';
import { decodeRecords } from '../wire/record.js';
import { ClientConnection } from './client-connection.js';
import type { CloseReason } from './connection.js';
import { type CommonOptions, resolveCommon } from './options.js';
import { DtlsSession } from './session.js';

/** A datagram path to one server (a connected UDP socket by default; in-memory in tests). */
export interface ClientTransport {
  send(datagram: Uint8Array): void;
  /** Registers the receiver of every datagram from the server. */
  onDatagram(handler: (datagram: Uint8Array) => void): void;
  close(): void;
}

export interface DtlsConnectOptions extends CommonOptions {
  host: string;
  port: number;
  /** psk_identity (a string is sent as UTF-8). */
  identity: Uint8Array | string;
  psk: Uint8Array | SecretBytes;
  /** Refuse servers without extended_master_secret (RFC 7627 §5.3). Default false. */
  requireExtendedMasterSecret?: boolean;
  /** Use this path instead of a UDP socket. */
  transport?: ClientTransport;
}

/** Raised when a handshake ends without a session. */
export class HandshakeError extends StackError {
  /** The alert description sent or received, if an alert ended it. */
  readonly alert: number | undefined;
  readonly reason: CloseReason['kind'];

  constructor(reason: CloseReason) {
    super(reason.kind === 'timeout' ? 'E_HANDSHAKE_TIMEOUT' : 'E_HANDSHAKE', handshakeMessage(reason));
    this.alert = reason.alert;
    this.reason = reason.kind;
  }
}

function handshakeMessage(r: CloseReason): string {
  if (r.alert === undefined) return r.message;
  if (r.kind === 'alert_received') return `the server sent alert ${alertName(r.alert)} (${r.alert})`;
  return `the client sent alert ${alertName(r.alert)} (${r.alert}): ${r.message}`;
}

/** A client session: the DtlsSession API plus what the handshake learned. */
export class DtlsClientSession extends DtlsSession {
  /** The server's psk_identity_hint, if any. */
  pskIdentityHint: Uint8Array | undefined;
}

/** psk_identity strings are sent as UTF-8 (a fresh array per connection: the connection keeps it). */
const encoder = new TextEncoder();

async function udpTransport(host: string, port: number): Promise<ClientTransport> {
  // An address literal needs no resolver round trip.
  const literal = isIP(host);
  const { address, family } = literal !== 0 ? { address: host, family: literal } : await lookup(host);
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {
    // ICMP port unreachable, failed sends and the like: the handshake retransmits or times out.
  });
  return {
    // No completion callback: a failed send is then dropped like a lost datagram (the handshake
    // retransmits), and a send that completes at once costs no further tick.
    send: (d) => socket.send(d),
    onDatagram: (h) => socket.on('message', (m) => h(new Uint8Array(m.buffer, m.byteOffset, m.byteLength))),
    close: () => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
}

export const DtlsClient = {
  /** Runs a full PSK handshake with host:port and resolves with the session. */
  async connect(options: DtlsConnectOptions): Promise<DtlsClientSession> {
    const common = resolveCommon(options);
    const identity = typeof options.identity === 'string' ? encoder.encode(options.identity) : options.identity;
    if (identity.length === 0 || identity.length > 0xffff) throw new RangeError('identity must be 1..65535 octets');
    const transport = options.transport ?? (await udpTransport(options.host, options.port));
    return new Promise<DtlsClientSession>((resolve, reject) => {
      let session: DtlsClientSession | undefined;
      const conn: ClientConnection = new ClientConnection(
        { ...common, identity, psk: options.psk, requireExtendedMasterSecret: options.requireExtendedMasterSecret ?? false },
        {
          send: (d) => transport.send(d),
          established: () => {
            session = new DtlsClientSession(conn, {
              remoteAddress: options.host,
              remotePort: options.port,
              identity,
              cipherSuite: conn.suite?.name ?? 'unknown',
              extendedMasterSecret: conn.extendedMasterSecret,
            });
            session.pskIdentityHint = conn.pskIdentityHint;
            resolve(session);
          },
          data: (d) => session?.emit('data', d),
          closed: (reason) => {
            transport.close();
            if (session) session.emit('close', reason);
            else reject(new HandshakeError(reason));
          },
        },
      );
      transport.onDatagram((d) => {
        try {
          conn.handleRecords(decodeRecords(d).records);
        } catch (err) {
          conn.end({ kind: 'local', message: err instanceof Error ? err.message : String(err) });
        }
      });
      conn.start();
    });
  },
};

export { AlertError };
