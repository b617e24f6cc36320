/**
 * node-coap's Agent over one DTLS client session through CoapClientSocket, against our own EMSE in
 * static-PSK mode on 127.0.0.1: a plain GET, Block1 (RFC 7959 §2.5) and Block2 (§2.4) transfers of
 * 3000 octets, and an Observe (RFC 7641) registration that receives three notifications.
 */
import coap from 'coap';
import type { IncomingMessage, ObserveReadStream, OutgoingMessage } from 'coap';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoapClientSocket } from '../../src/coap/client-socket.js';
import { DtlsClient, type DtlsClientSession } from '../../src/dtls/index.js';
import { createEmseServer, defaultResources, type EmseServer, type Resource, staticPskLookup } from '../../src/emse/index.js';
import { within } from '../support/processes.js';

const IDENTITY = 'e2m:0a0b0c0d:sensor-17@iot.example.com';
const PSK = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const BIG = Buffer.from(Array.from({ length: 3000 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join(''));

/** GET /big: 3000 octets, more than one block (node-coap answers with Block2 by itself). */
const bigResource: Resource = {
  path: 'big',
  methods: { GET: (_req, res) => res.end(BIG) },
};

/** GET /ticks with Observe: the registration response and then two more notifications. */
const ticksResource: Resource = {
  path: 'ticks',
  methods: {
    GET: (req, res) => {
      if (req.headers['Observe'] !== 0) {
        res.end('not observing');
        return;
      }
      res.setOption('Content-Format', 'text/plain');
      let n = 0;
      const tick = (): void => {
        n += 1;
        res.write(`tick ${n}`);
        if (n < 3) setImmediate(tick);
      };
      tick();
    },
  },
};

let emse: EmseServer;
const sessions: DtlsClientSession[] = [];

beforeAll(async () => {
  emse = await createEmseServer({
    host: '127.0.0.1',
    port: 0,
    pskLookup: staticPskLookup(new Map([[IDENTITY, PSK]])),
    resources: [...defaultResources, bigResource, ticksResource],
  });
});

afterEach(() => {
  for (const s of sessions.splice(0)) if (!s.closed) s.close();
});

afterAll(async () => {
  await emse.close();
});

async function agentOverSession(): Promise<{ agent: coap.Agent; socket: CoapClientSocket; session: DtlsClientSession }> {
  const session = await DtlsClient.connect({ host: '127.0.0.1', port: emse.address.port, identity: IDENTITY, psk: PSK });
  sessions.push(session);
  const socket = new CoapClientSocket(session);
  const agent = new coap.Agent({ socket: socket as never });
  return { agent, socket, session };
}

function send(req: OutgoingMessage): Promise<IncomingMessage> {
  return within(
    new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    }),
    10_000,
    'CoAP response',
  );
}

describe('CoapClientSocket: node-coap Agent over a DTLS client session', () => {
  it('looks like a udp4 socket to node-coap and names the session as the sender', async () => {
    const { socket, session } = await agentOverSession();
    expect(socket.type).toBe('udp4');
    expect(socket.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: 0 });
    const got = new Promise<[Buffer, { address: string; port: number }]>((resolve) => socket.once('message', (b, r) => resolve([b, r])));
    // A raw (non-CoAP) datagram is echoed by the EMSE: it must come back through the socket.
    socket.send(Buffer.from('xxping'), 2, 4, 0, 'ignored', () => undefined);
    const [buf, rinfo] = await within(got, 5_000, 'echo');
    expect(buf.toString()).toBe('ping');
    expect(rinfo).toMatchObject({ address: '127.0.0.1', port: emse.address.port });
    socket.close();
    expect(session.listenerCount('data')).toBe(0);
  });

  it('GET /hello answers 2.05 with the authenticated identity', async () => {
    const { agent } = await agentOverSession();
    const res = await send(agent.request({ hostname: '127.0.0.1', port: emse.address.port, pathname: '/hello', agent }));
    expect(res.code).toBe('2.05');
    expect(res.payload.toString()).toBe(`Hello, ${IDENTITY}!`);
  });

  it('POST /echo with 3000 octets goes out Block1 and comes back Block2, intact', async () => {
    const { agent } = await agentOverSession();
    const req = agent.request({ hostname: '127.0.0.1', port: emse.address.port, pathname: '/echo', method: 'POST', agent });
    req.setOption('Block1', Buffer.of(6));
    req.write(BIG);
    const res = await send(req);
    // The first Block2 response carries the handler's 2.04; node-coap's server answers the later
    // blocks from its Block2 cache with its default 2.05, and the client reports the last block's code.
    expect(res.code).toMatch(/^2\.0[45]$/);
    expect(res.payload.length).toBe(BIG.length);
    expect(res.payload.equals(BIG)).toBe(true);
  });

  it('GET /big reassembles a 3000-octet Block2 response', async () => {
    const { agent } = await agentOverSession();
    const res = await send(agent.request({ hostname: '127.0.0.1', port: emse.address.port, pathname: '/big', agent }));
    expect(res.code).toBe('2.05');
    expect(res.payload.equals(BIG)).toBe(true);
  });

  it('Observe delivers the three notifications in order', async () => {
    const { agent } = await agentOverSession();
    const res = (await send(
      agent.request({ hostname: '127.0.0.1', port: emse.address.port, pathname: '/ticks', observe: true, agent }),
    )) as ObserveReadStream;
    const seen: string[] = [];
    await within(
      new Promise<void>((resolve) => {
        res.on('data', (chunk: Buffer) => {
          seen.push(chunk.toString());
          if (seen.length === 3) resolve();
        });
      }),
      10_000,
      'three notifications',
    );
    res.close();
    expect(seen).toEqual(['tick 1', 'tick 2', 'tick 3']);
  });

  it('fails a send once the session is closed and reports the close', async () => {
    const { socket, session } = await agentOverSession();
    const closed = new Promise<string>((resolve) => socket.once('close', (r) => resolve(r.kind)));
    session.close();
    expect(await within(closed, 5_000, 'close')).toBe('local');
    const err = await new Promise<Error | null>((resolve) => socket.send(Buffer.from('x'), 0, 1, 0, 'h', (e) => resolve(e)));
    expect(err?.message).toMatch(/closed/);
  });
});
