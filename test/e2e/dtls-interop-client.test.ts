/**
 * Our DTLS 1.2 PSK client (src/dtls) against independent servers: OpenSSL s_server, gnutls-serv
 * (echo mode) and libcoap's coap-server (OpenSSL build), on 127.0.0.1. The client offers only
 * TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655), which is also how a libcoap server is brought to that suite.
 * Command lines follow shared/peers/README.md. Each server also meets a wrong key: the handshake
 * must reject with HandshakeError, and with the alert the server sends when it sends one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CipherSuiteId,
  DtlsClient,
  type DtlsClientSession,
  type DtlsConnectOptions,
  HandshakeError,
} from '../../src/dtls/index.js';
import { freeCoapPorts, freeUdpPort, peer } from '../support/peers.js';
import { nextEvent, type PeerProcess, ProcessGroup, within } from '../support/processes.js';

/** 32 octets with 0x00 and >= 0x80 octets: peers that take hex keys must not treat it as text. */
const PSK_HEX = 'b66ccece404e53002d732967b74914a3ebffa6e1b4217562dab11f2f2b282971';
const PSK = new Uint8Array(Buffer.from(PSK_HEX, 'hex'));
/** A wrong key of the same length (one bit differs). */
const WRONG_PSK = new Uint8Array(Buffer.from(`${PSK_HEX.slice(0, -1)}0`, 'hex'));
/** A 100-octet identity with ':' and other separators that a naive parser might split on. */
const IDENTITY = 'urn:e2m:ue:imsi-001010123456789@ims.mnc001.mcc001.3gppnetwork.org;kid=0x5f3a;ctx=interop/peer-test-1';
/**
 * gnutls-serv's --pskpasswd file is `identity:hexkey` split at the first ':', so the identity it
 * serves cannot contain ':' (shared/peers/README.md): the gnutls-serv cells use this 100-octet one.
 */
const GNUTLS_SERV_IDENTITY = 'urn.e2m.ue.imsi-001010123456789@ims.mnc001.mcc001.3gppnetwork.org;kid=0x5f3a;ctx=interop/peer-test-1';
/** libcoap 4.3.1 takes `-k` as a string (no hex form), so its cells use this printable 32-char key. */
const COAP_KEY = 'e2m-coap-interop-psk-0123456789!';
const SUITE = 'TLS_PSK_WITH_AES_128_CCM_8';
const GNUTLS_PRIORITY = 'NONE:+VERS-DTLS1.2:+PSK:+AES-128-CCM-8:+AEAD:+SIGN-ALL:+COMP-NULL:+CURVE-ALL';
const OPENSSL_CIPHER = 'PSK-AES128-CCM8:@SECLEVEL=0';

/**
 * Short retransmission timing, so that a server that drops our flight silently (instead of
 * alerting) ends the handshake in seconds; the handshakes themselves take milliseconds on loopback.
 */
const FAST: Pick<DtlsConnectOptions, 'retransmit' | 'cipherSuites'> = {
  retransmit: { initialMs: 500, maxMs: 2_000, handshakeTimeoutMs: 3_000 },
  cipherSuites: [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8],
};

const procs = new ProcessGroup();
const sessions: DtlsClientSession[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await procs.stopAll();
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function connect(port: number, identity: string, psk: Uint8Array): Promise<DtlsClientSession> {
  const s = await within(DtlsClient.connect({ host: '127.0.0.1', port, identity, psk, ...FAST }), 15_000, 'DtlsClient.connect');
  sessions.push(s);
  return s;
}

/** The HandshakeError a connection attempt ends with (fails the test if it succeeds). */
async function refused(port: number, identity: string, psk: Uint8Array): Promise<HandshakeError> {
  try {
    const s = await connect(port, identity, psk);
    throw new Error(`handshake unexpectedly succeeded (${s.cipherSuite})`);
  } catch (err) {
    if (!(err instanceof HandshakeError)) throw err;
    return err;
  }
}

/** The next application record on `s`, as text. */
async function nextData(s: DtlsClientSession): Promise<string> {
  const [d] = await nextEvent<[Uint8Array]>(s, 'data', 10_000);
  return Buffer.from(d).toString('latin1');
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'e2m-'));
  tempDirs.push(d);
  return d;
}

it('uses the inputs the matrix promises', () => {
  expect(PSK.length).toBe(32);
  expect(PSK.includes(0)).toBe(true);
  expect(PSK.some((b) => b >= 0x80)).toBe(true);
  expect(Buffer.byteLength(IDENTITY)).toBe(100);
  expect(Buffer.byteLength(GNUTLS_SERV_IDENTITY)).toBe(100);
  expect(GNUTLS_SERV_IDENTITY).not.toContain(':');
  expect(COAP_KEY.length).toBe(32);
});

describe.skipIf(!peer('openssl'))('our client → openssl s_server', () => {
  /** A fresh s_server per test (it serves one peer at a time); stdin stays open until stopAll(). */
  async function server(keyHex: string): Promise<{ port: number; proc: PeerProcess }> {
    const port = await freeUdpPort();
    const proc = procs.spawn(
      'openssl',
      [
        's_server', '-dtls1_2', '-nocert', '-psk', keyHex, '-psk_identity', IDENTITY, '-psk_hint', 'e2m-openssl-hint',
        '-cipher', OPENSSL_CIPHER, '-accept', `127.0.0.1:${port}`,
      ],
      { stdin: 'pipe', timeoutMs: 20_000 },
    );
    await proc.waitFor(/^ACCEPT$/m, { stream: 'stdout' });
    return { port, proc };
  }

  it('handshakes with CCM_8 and extended master secret, and exchanges data both ways', async () => {
    const { port, proc } = await server(PSK_HEX);
    const s = await connect(port, IDENTITY, PSK);
    expect(s.cipherSuite).toBe(SUITE);
    expect(s.extendedMasterSecret).toBe(true);
    expect(Buffer.from(s.pskIdentityHint ?? []).toString()).toBe('e2m-openssl-hint');
    s.send('hello from e2m\n');
    await proc.waitFor(/^hello from e2m$/m, { stream: 'stdout' });
    const reply = nextData(s);
    proc.write('hello from s_server\n');
    expect(await reply).toBe('hello from s_server\n');
    expect(proc.stdout).toMatch(/CIPHER is PSK-AES128-CCM8/);
    const closed = proc.waitFor(/DONE|shutting down SSL|CONNECTION CLOSED/);
    s.close();
    await closed;
  });

  it('with a wrong key: HandshakeError', async () => {
    const { port, proc } = await server(PSK_HEX);
    const err = await refused(port, IDENTITY, WRONG_PSK);
    // OpenSSL drops a DTLS record that fails authentication (RFC 6347 §4.1.2.7) without an alert,
    // so our client gives up when its handshake timer runs out.
    expect(err.reason).toBe('timeout');
    expect(err.alert).toBeUndefined();
    expect(proc.stdout).not.toMatch(/^hello/m);
  });
});

describe.skipIf(!peer('gnutls-serv'))('our client → gnutls-serv --echo', () => {
  /** A fresh gnutls-serv per test; it binds every address, we only ever use 127.0.0.1. */
  async function server(): Promise<{ port: number; proc: PeerProcess }> {
    const port = await freeUdpPort();
    const dir = tempDir();
    const passwd = join(dir, 'psk.passwd');
    writeFileSync(passwd, `${GNUTLS_SERV_IDENTITY}:${PSK_HEX}\n`, { mode: 0o600 });
    const proc = procs.spawn(
      'gnutls-serv',
      ['--udp', '--echo', '--port', String(port), '--pskpasswd', passwd, '--priority', GNUTLS_PRIORITY],
      { timeoutMs: 20_000 },
    );
    await proc.waitFor(/listening on IPv4 [^\n]* port \d+\.\.\.done/);
    return { port, proc };
  }

  it('handshakes with CCM_8 and gets its data echoed', async () => {
    const { port } = await server();
    const s = await connect(port, GNUTLS_SERV_IDENTITY, PSK);
    expect(s.cipherSuite).toBe(SUITE);
    expect(s.extendedMasterSecret).toBe(true);
    const echo = nextData(s);
    s.send('hello from e2m to gnutls\n');
    expect(await echo).toBe('hello from e2m to gnutls\n');
  });

  it('with a wrong key: HandshakeError', async () => {
    const { port, proc } = await server();
    const err = await refused(port, GNUTLS_SERV_IDENTITY, WRONG_PSK);
    // gnutls-serv, too, discards the undecryptable Finished and sends nothing. (It treats an unknown
    // identity the same way, with a random key and no unknown_psk_identity alert, so that identities
    // cannot be probed.)
    expect(err.reason).toBe('timeout');
    expect(err.alert).toBeUndefined();
    expect(proc.stderr).toMatch(/Discarded message\[\d+\] due to invalid decryption/);
  });
});


let nextMessageId = 0x2e00;

/** Sends one confirmable CoAP request over `s` and resolves with the parsed answer. */
async function coapRequest(s: DtlsClientSession, path: readonly string[]): Promise<ParsedPacket> {
  // A fresh Message ID per request: a repeated one is a duplicate to the server (RFC 7252 §4.5).
  const messageId = nextMessageId++;
  const token = Buffer.from([0x5e, 0x2e, messageId >> 8, messageId & 0xff]);
  const answer = nextData(s);
  s.send(
    generate({
      code: 'GET',
      confirmable: true,
      messageId,
      token,
      options: path.map((segment) => ({ name: 'Uri-Path', value: Buffer.from(segment) })),
    }),
  );
  const res = parse(Buffer.from(await answer, 'latin1'));
  expect(res.messageId).toBe(messageId);
  expect(res.token.equals(token)).toBe(true);
  return res;
}

describe.skipIf(!peer('coap-server-openssl'))('our client → libcoap coap-server-openssl', () => {
  const key = new Uint8Array(Buffer.from(COAP_KEY, 'latin1'));

  /** Starts coap-server on P (coap) / P+1 (coaps) and resolves with the coaps port once it listens. */
  async function server(): Promise<{ port: number; proc: PeerProcess }> {
    const p = await freeCoapPorts();
    // -v 7 logs "created DTLS endpoint …" once the socket is bound, and the TLS alerts it sends.
    const proc = procs.spawn('coap-server-openssl', ['-A', '127.0.0.1', '-p', String(p), '-k', COAP_KEY, '-v', '7'], { timeoutMs: 20_000 });
    await proc.waitFor(new RegExp(`created DTLS endpoint 127\\.0\\.0\\.1:${p + 1}`));
    return { port: p + 1, proc };
  }

  it('handshakes with CCM_8 and answers GET /.well-known/core and GET /time with 2.05', async () => {
    const { port } = await server();
    const s = await connect(port, IDENTITY, key);
    expect(s.cipherSuite).toBe(SUITE);
    expect(Buffer.from(s.pskIdentityHint ?? []).toString()).toBe('CoAP');
    const core = await coapRequest(s, ['.well-known', 'core']);
    expect(core.code).toBe('2.05');
    expect(core.ack).toBe(true);
    expect(core.payload.toString()).toContain('</time>');
    const time = await coapRequest(s, ['time']);
    expect(time.code).toBe('2.05');
  });

  it('with a wrong key: HandshakeError', async () => {
    const { port, proc } = await server();
    const err = await refused(port, IDENTITY, new Uint8Array(Buffer.from('e2m-coap-interop-psk-0123456789?', 'latin1')));
    // libcoap (OpenSSL underneath) discards the undecryptable Finished and sends no alert: it only
    // resends its flight 4 while our client keeps resending flight 5, until our handshake timer ends it.
    expect(err.reason).toBe('timeout');
    expect(err.alert).toBeUndefined();
    expect(proc.stdout).toMatch(/SSL_accept:SSLv3\/TLS read client key exchange/);
    expect(proc.stdout).not.toMatch(/SSL_accept:SSLv3\/TLS write finished/);
  });
});
