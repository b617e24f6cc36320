/**
 * Our DTLS 1.2 PSK server (src/dtls) against independent clients: OpenSSL s_client, gnutls-cli,
 * libcoap's coap-client (OpenSSL build) and node-dtls-client, on 127.0.0.1 with
 * TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655). Command lines follow shared/peers/README.md.
 * Each peer also meets a wrong key (our server must fail the peer's Finished with decrypt_error 51,
 * DESIGN.md §6) and an unknown identity (unknown_psk_identity 115, RFC 4279 §2).
 */
import { generate, parse } from 'coap-packet';
import { dtls } from 'node-dtls-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertDescription, DtlsServer, type DtlsSession } from '../../src/dtls/index.js';
import { freeUdpPort, peer } from '../support/peers.js';
import { nextEvent, ProcessGroup, within } from '../support/processes.js';

/** 32 octets with 0x00 and >= 0x80 octets: peers that take hex keys must not treat it as text. */
const PSK_HEX = 'b66ccece404e53002d732967b74914a3ebffa6e1b4217562dab11f2f2b282971';
const PSK = new Uint8Array(Buffer.from(PSK_HEX, 'hex'));
/** A wrong key of the same length (one bit differs). */
const WRONG_PSK_HEX = `${PSK_HEX.slice(0, -1)}0`;
/** A 100-octet identity with ':' and other separators that a naive parser might split on. */
const IDENTITY = 'urn:e2m:ue:imsi-001010123456789@ims.mnc001.mcc001.3gppnetwork.org;kid=0x5f3a;ctx=interop/peer-test-1';
const IDENTITY_BYTES = new Uint8Array(Buffer.from(IDENTITY, 'utf8'));
/** libcoap 4.3.1 takes `-k` as a string (no hex form), so its cells use this printable 32-char key. */
const COAP_KEY = 'e2m-coap-interop-psk-0123456789!';
const SUITE = 'TLS_PSK_WITH_AES_128_CCM_8';
const GNUTLS_PRIORITY = 'NONE:+VERS-DTLS1.2:+PSK:+AES-128-CCM-8:+AEAD:+SIGN-ALL:+COMP-NULL:+CURVE-ALL';
const OPENSSL_CIPHER = 'PSK-AES128-CCM8:@SECLEVEL=0';

interface HandshakeFailure {
  address: string;
  port: number;
  alert?: number;
  message: string;
}

interface Running {
  server: DtlsServer;
  port: number;
  sessions: DtlsSession[];
  received: string[];
  failures: HandshakeFailure[];
}

const procs = new ProcessGroup();
let running: Running | undefined;

afterEach(async () => {
  await procs.stopAll();
  await running?.server.close();
  running = undefined;
});

interface ServerSetup {
  /**
   * The answer to each application record; default: an echo with a prefix, so that the reply cannot
   * be confused with the peer's own terminal echo.
   */
  reply?: (session: DtlsSession, data: Uint8Array) => Uint8Array | string;
  /** psk_identity_hint; null: none, and so no ServerKeyExchange (RFC 4279 §2). Default 'e2m-interop'. */
  hint?: string | null;
}

/** Starts our server on a free port of 127.0.0.1, knowing IDENTITY with `key`. */
async function startServer(key: Uint8Array, { reply, hint = 'e2m-interop' }: ServerSetup = {}): Promise<Running> {
  const server = new DtlsServer({
    pskLookup: async (identity) => (Buffer.from(identity).equals(Buffer.from(IDENTITY_BYTES)) ? key : undefined),
    ...(hint !== null ? { pskIdentityHint: hint } : {}),
  });
  const port = await freeUdpPort();
  await server.listen(port, '127.0.0.1');
  const r: Running = { server, port, sessions: [], received: [], failures: [] };
  running = r;
  server.on('session', (s) => r.sessions.push(s));
  server.on('handshakeError', (f) => r.failures.push(f));
  server.on('data', (session, data) => {
    r.received.push(Buffer.from(data).toString('latin1'));
    session.send(reply ? reply(session, data) : `e2m-echo: ${Buffer.from(data).toString('latin1')}`);
  });
  return r;
}

/** The first handshake failure on `r` (one that already happened counts). */
async function failure(r: Running): Promise<HandshakeFailure> {
  const seen = r.failures[0];
  if (seen) return seen;
  const [f] = await nextEvent<[HandshakeFailure]>(r.server, 'handshakeError', 15_000);
  return f;
}

/** The first established session on `r` (one that already happened counts). */
async function session(r: Running): Promise<DtlsSession> {
  const seen = r.sessions[0];
  if (seen) return seen;
  const [s] = await nextEvent<[DtlsSession]>(r.server, 'session', 15_000);
  return s;
}

function expectOurSession(s: DtlsSession): void {
  expect(s.identityText).toBe(IDENTITY);
  expect(s.cipherSuite).toBe(SUITE);
}

it('uses the inputs the matrix promises', () => {
  expect(PSK.length).toBe(32);
  expect(PSK.includes(0)).toBe(true);
  expect(PSK.some((b) => b >= 0x80)).toBe(true);
  expect(IDENTITY_BYTES.length).toBe(100);
  expect(COAP_KEY.length).toBe(32);
});

describe.skipIf(!peer('openssl'))('openssl s_client → our server', () => {
  const client = (port: number, keyHex: string, identity = IDENTITY) =>
    procs.spawn(
      'openssl',
      ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-psk', keyHex, '-psk_identity', identity, '-cipher', OPENSSL_CIPHER],
      { stdin: 'pipe', timeoutMs: 20_000 },
    );

  it('handshakes with CCM_8 and extended master secret, and exchanges data both ways', async () => {
    const r = await startServer(PSK);
    const c = client(r.port, PSK_HEX);
    await c.waitFor(/Cipher is (\S+)/, { stream: 'stdout' });
    expect(c.stdout).toMatch(/New, TLSv1\.2, Cipher is PSK-AES128-CCM8/);
    expect(c.stdout).toMatch(/Extended master secret: yes/);
    const s = await session(r);
    expectOurSession(s);
    expect(s.extendedMasterSecret).toBe(true);
    const closed = nextEvent(s, 'close', 10_000);
    c.write('hello from openssl\n');
    await c.waitFor(/e2m-echo: hello from openssl/, { stream: 'stdout' });
    expect(r.received).toEqual(['hello from openssl\n']);
    c.endInput(); // s_client sends close_notify on EOF
    await closed;
    expect((await c.exited).code).toBe(0);
  });

  it('with a wrong key: our server answers the Finished with decrypt_error (51)', async () => {
    const r = await startServer(PSK);
    const c = client(r.port, WRONG_PSK_HEX);
    const f = await failure(r);
    expect(f.alert).toBe(AlertDescription.decrypt_error);
    await c.waitFor(/alert decrypt error.*SSL alert number 51/, { stream: 'stderr' });
    expect((await c.exited).code).not.toBe(0);
    expect(r.sessions).toEqual([]);
  });

  it('with an unknown identity: unknown_psk_identity (115)', async () => {
    const r = await startServer(PSK);
    const c = client(r.port, PSK_HEX, 'nobody-we-know');
    const f = await failure(r);
    expect(f.alert).toBe(AlertDescription.unknown_psk_identity);
    await c.waitFor(/alert unknown psk identity.*SSL alert number 115/, { stream: 'stderr' });
    expect((await c.exited).code).not.toBe(0);
    expect(r.sessions).toEqual([]);
  });
});

describe.skipIf(!peer('gnutls-cli'))('gnutls-cli → our server', () => {
  const client = (port: number, keyHex: string, identity = IDENTITY) =>
    procs.spawn(
      'gnutls-cli',
      ['--udp', '--port', String(port), '127.0.0.1', '--pskusername', identity, '--pskkey', keyHex, '--priority', GNUTLS_PRIORITY],
      { stdin: 'pipe', timeoutMs: 20_000 },
    );

  it('handshakes with CCM_8 and gets its line echoed', async () => {
    const r = await startServer(PSK);
    const c = client(r.port, PSK_HEX);
    await c.waitFor(/Handshake was completed/);
    expect(c.describe()).toMatch(/AES-128-CCM-8/);
    const s = await session(r);
    expectOurSession(s);
    expect(s.extendedMasterSecret).toBe(true);
    c.write('hello from gnutls\n');
    await c.waitFor(/e2m-echo: hello from gnutls/, { stream: 'stdout' });
    expect(r.received).toEqual(['hello from gnutls\n']);
    const closed = nextEvent(s, 'close', 10_000);
    c.endInput();
    await closed;
  });

  it('with a wrong key: decrypt_error (51)', async () => {
    const r = await startServer(PSK);
    const c = client(r.port, WRONG_PSK_HEX);
    const f = await failure(r);
    expect(f.alert).toBe(AlertDescription.decrypt_error);
    await c.waitFor(/A TLS fatal alert has been received/);
    expect(r.sessions).toEqual([]);
  });

  it('with an unknown identity: unknown_psk_identity (115)', async () => {
    const r = await startServer(PSK);
    const c = client(r.port, PSK_HEX, 'nobody-we-know');
    const f = await failure(r);
    expect(f.alert).toBe(AlertDescription.unknown_psk_identity);
    await c.waitFor(/A TLS fatal alert has been received/);
    expect(r.sessions).toEqual([]);
  });
});

/** A piggybacked 2.05 Content answer to a confirmable CoAP request (RFC 7252 §5.2.1), "hi <identity>". */
function coapHello(session: DtlsSession, data: Uint8Array): Uint8Array {
  const req = parse(Buffer.from(data));
  return generate({
    code: '2.05',
    ack: req.confirmable,
    confirmable: false,
    messageId: req.messageId,
    token: req.token,
    options: [{ name: 'Content-Format', value: Buffer.from([0]) }], // text/plain;charset=utf-8
    payload: Buffer.from(`hi ${session.identityText}`, 'utf8'),
  });
}

describe.skipIf(!peer('coap-client-openssl'))('libcoap coap-client-openssl → our server', () => {
  const key = new Uint8Array(Buffer.from(COAP_KEY, 'latin1'));
  const client = (port: number, keyText: string, identity = IDENTITY) =>
    procs.spawn(
      'coap-client-openssl',
      ['-m', 'get', '-B', '8', '-u', identity, '-k', keyText, `coaps://127.0.0.1:${port}/hello`],
      { timeoutMs: 20_000 },
    );

  it('gets a CoAP 2.05 answer over a CCM_8 session', async () => {
    const r = await startServer(key, { reply: coapHello });
    const c = client(r.port, COAP_KEY);
    await c.waitFor(new RegExp(`hi ${IDENTITY.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), { stream: 'stdout' });
    const s = await session(r);
    expectOurSession(s);
    expect(s.extendedMasterSecret).toBe(true);
    const req = parse(Buffer.from(r.received[0] ?? '', 'latin1'));
    expect(req.code).toBe('0.01');
    expect(req.options.filter((o) => o.name === 'Uri-Path').map((o) => o.value.toString())).toEqual(['hello']);
    expect((await c.exited).code).toBe(0);
  });

  it('with a wrong key: decrypt_error (51)', async () => {
    const r = await startServer(key, { reply: coapHello });
    client(r.port, 'e2m-coap-interop-psk-0123456789?');
    const f = await failure(r);
    expect(f.alert).toBe(AlertDescription.decrypt_error);
    expect(r.sessions).toEqual([]);
  });

  it('with an unknown identity: unknown_psk_identity (115)', async () => {
    const r = await startServer(key, { reply: coapHello });
    client(r.port, COAP_KEY, 'nobody-we-know');
    const f = await failure(r);
    expect(f.alert).toBe(AlertDescription.unknown_psk_identity);
    expect(r.sessions).toEqual([]);
  });
});

/**
 * Runs node-dtls-client against `port` until it connects (message undefined) or gets an answer to
 * `message`, or fails; bounded at 12 s.
 */
async function nodeDtlsClient(
  port: number,
  identity: string,
  key: Uint8Array,
  message: string | undefined,
): Promise<{ connected: boolean; reply?: string; error?: string }> {
  const socket = dtls.createSocket({
    type: 'udp4',
    address: '127.0.0.1',
    port,
    // Typed as string, but a Buffer is taken as raw octets (a string would be read as 'ascii').
    psk: { [identity]: Buffer.from(key) as unknown as string },
    ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
    timeout: 8_000,
  });
  let connected = false;
  let ended = false; // after 'error' or 'close' the library has closed its UDP socket itself
  try {
    return await within(
      new Promise<{ connected: boolean; reply?: string; error?: string }>((resolve) => {
        socket.on('connected', () => {
          connected = true;
          if (message === undefined) resolve({ connected });
          else socket.send(Buffer.from(message, 'utf8'));
        });
        socket.on('message', (msg: Buffer) => resolve({ connected, reply: msg.toString('utf8') }));
        socket.on('error', (err: Error) => {
          ended = true;
          resolve({ connected, error: err.message });
        });
        socket.on('close', () => {
          ended = true;
          resolve({ connected, error: 'closed' });
        });
      }),
      12_000,
      'node-dtls-client',
    );
  } finally {
    // close() sends close_notify, so it only works on a live connection.
    if (connected && !ended) {
      await within(new Promise<void>((resolve) => socket.close(() => resolve())), 5_000, 'node-dtls-client close');
    }
  }
}

/**
 * node-dtls-client 1.1.1 cannot parse a ServerKeyExchange (type 12 is missing from its
 * HandshakeMessages table: "unsupported message type 12", thrown out of its socket handler), so
 * our server sends it no psk_identity_hint, which leaves ServerKeyExchange out (RFC 4279 §2).
 */
const NO_HINT = { hint: null };

describe('node-dtls-client → our server', () => {
  it('connects with CCM_8 and gets its message echoed', async () => {
    const r = await startServer(PSK, NO_HINT);
    const result = await nodeDtlsClient(r.port, IDENTITY, PSK, 'hello from node-dtls-client');
    expect(result).toEqual({ connected: true, reply: 'e2m-echo: hello from node-dtls-client' });
    const s = await session(r);
    expectOurSession(s);
    // node-dtls-client sends no extensions (shared/peers/README.md).
    expect(s.extendedMasterSecret).toBe(false);
    expect(r.received).toEqual(['hello from node-dtls-client']);
  });

  it('with a wrong key: decrypt_error (51)', async () => {
    const r = await startServer(PSK, NO_HINT);
    const [result, f] = await Promise.all([
      nodeDtlsClient(r.port, IDENTITY, new Uint8Array(Buffer.from(WRONG_PSK_HEX, 'hex')), undefined),
      failure(r),
    ]);
    expect(f.alert).toBe(AlertDescription.decrypt_error);
    expect(result.connected).toBe(false);
    expect(result.error).toBeDefined();
    expect(r.sessions).toEqual([]);
  });

  it('with an unknown identity: unknown_psk_identity (115)', async () => {
    const r = await startServer(PSK, NO_HINT);
    const [result, f] = await Promise.all([nodeDtlsClient(r.port, 'nobody-we-know', PSK, undefined), failure(r)]);
    expect(f.alert).toBe(AlertDescription.unknown_psk_identity);
    expect(result.connected).toBe(false);
    expect(r.sessions).toEqual([]);
  });
});
