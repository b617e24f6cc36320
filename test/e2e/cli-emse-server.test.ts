/**
 * The `emse-server` and `ue-client handshake` binaries as a user runs them: real processes on
 * 127.0.0.1, with libcoap's coap-client as an independent CoAP-over-DTLS peer.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, peer } from '../support/peers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => join(root, 'bin', `${name}.js`);

// libcoap 4.3.1 takes -k as a string, so this identity's key is printable.
const COAP_ID = 'sensor-17@iot.example.com';
const COAP_KEY = 'k3y-for-libcoap-0123456789abcdef';
// A binary key with 0x00 and >= 0x80 octets for our own client.
const BIN_ID = 'ue/binary=key';
const BIN_KEY = '00ff80017f10203040506070809000a0b0c0d0e0f0e0d0c0b0a0009080706050';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: readonly string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const raw = (err as { code?: unknown } | null)?.code;
      resolve({ code: err === null ? 0 : typeof raw === 'number' ? raw : null, stdout, stderr });
    });
  });
}

const run = (file: string, args: readonly string[]): Promise<Run> => exec(process.execPath, [file, ...args], 15_000);
const runPeer = (program: string, args: readonly string[]): Promise<Run> => exec(program, args, 10_000);

/** Resolves with the first stdout line matching `re`; rejects if the process exits first. */
function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms: ${buf}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => re.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${re}`));
    });
  });
}

describe('emse-server (static PSK) served to real clients', () => {
  let server: ChildProcess;
  let port: number;
  let stderr = '';
  const dir = mkdtempSync(join(tmpdir(), 'e2m-emse-'));
  const keylog = join(dir, 'keys.log');

  beforeAll(async () => {
    port = await freeUdpPort();
    server = spawn(
      process.execPath,
      [
        bin('emse-server'),
        '--listen', `127.0.0.1:${port}`,
        '--psk', `${COAP_ID}=${Buffer.from(COAP_KEY).toString('hex')}`,
        '--psk', `${BIN_ID}=${BIN_KEY}`,
        '--keylog', keylog,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForLine(server, /listening on 127\.0\.0\.1:\d+/);
  });

  afterAll(async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it.skipIf(!peer('coap-client-openssl'))('answers a libcoap coaps GET /hello with the authenticated identity', async () => {
    const r = await runPeer('coap-client-openssl', ['-m', 'get', '-u', COAP_ID, '-k', COAP_KEY, `coaps://127.0.0.1:${port}/hello`]);
    expect(r.stdout.trim()).toBe(`Hello, ${COAP_ID}!`);
  });

  it.skipIf(!peer('coap-client-openssl'))('lists its resources in /.well-known/core and echoes a POST /echo', async () => {
    const core = await runPeer('coap-client-openssl', ['-m', 'get', '-u', COAP_ID, '-k', COAP_KEY, `coaps://127.0.0.1:${port}/.well-known/core`]);
    expect(core.stdout).toContain('</hello>');
    const echo = await runPeer('coap-client-openssl', ['-m', 'post', '-e', 'reading=42', '-u', COAP_ID, '-k', COAP_KEY, `coaps://127.0.0.1:${port}/echo`]);
    expect(echo.stdout.trim()).toBe('reading=42');
  });

  it.skipIf(!peer('coap-client-openssl'))('echoes a 3000-byte block-wise POST from libcoap (a new token per block)', async () => {
    const body = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join('');
    const file = join(dir, 'body.txt');
    writeFileSync(file, body);
    const r = await runPeer('coap-client-openssl', ['-m', 'post', '-b', '256', '-f', file, '-u', COAP_ID, '-k', COAP_KEY, `coaps://127.0.0.1:${port}/echo`]);
    expect(r.stdout.trimEnd()).toBe(body);
  });

  it.skipIf(!peer('coap-client-openssl'))('gives libcoap nothing with a wrong key', async () => {
    const r = await runPeer('coap-client-openssl', ['-m', 'get', '-u', COAP_ID, '-k', 'not-the-right-key-0123456789abcd', `coaps://127.0.0.1:${port}/hello`]);
    expect(r.stdout).not.toContain('Hello');
  });

  it('completes ue-client handshake with a binary key and reports the suite as JSON', async () => {
    const r = await run(bin('ue-client'), ['handshake', `127.0.0.1:${port}`, '--psk-identity', BIN_ID, '--psk', BIN_KEY, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out['cipherSuite']).toBe('TLS_PSK_WITH_AES_128_CCM_8');
    expect(out['extendedMasterSecret']).toBe(true);
  });

  it('names the alert when the identity is unknown or the key is wrong', async () => {
    const unknown = await run(bin('ue-client'), ['handshake', `127.0.0.1:${port}`, '--psk-identity', 'nobody', '--psk', BIN_KEY]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown_psk_identity \(115\)/);
    const wrong = await run(bin('ue-client'), ['handshake', `127.0.0.1:${port}`, '--psk-identity', BIN_ID, '--psk', '00'.repeat(32)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/decrypt_error \(51\)/);
  });

  it('writes 0600 NSS key-log lines, and its log never carries key material', () => {
    const lines = readFileSync(keylog, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
    expect(statSync(keylog).mode & 0o777).toBe(0o600);
    expect(stderr).toContain('session established');
    expect(stderr).not.toContain(BIN_KEY);
    expect(stderr).not.toContain(Buffer.from(COAP_KEY).toString('hex'));
    for (const l of lines) expect(stderr).not.toContain(l.split(' ')[2]);
  });
});

describe('emse-server and ue-client refuse bad flags with one line and exit 2', () => {
  it.each([
    ['emse-server', ['--listen', 'nonsense', '--psk', 'a=00'], '--listen'],
    ['emse-server', ['--listen', '127.0.0.1:0', '--psk', 'a=zz'], '--psk'],
    ['emse-server', ['--listen', '127.0.0.1:0', '--psk', 'no-equals-sign'], '--psk'],
    ['emse-server', ['--listen', '127.0.0.1:0'], '--psk'],
    ['emse-server', ['--listen', '127.0.0.1:0', '--psk', 'a=00', '--retransmit', 'fast'], '--retransmit'],
    ['ue-client', ['handshake', '127.0.0.1', '--psk-identity', 'a', '--psk', '00'], '<host:port>'],
    ['ue-client', ['handshake', '127.0.0.1:5684', '--psk-identity', 'a', '--psk', '0'], '--psk'],
    ['ue-client', ['handshake', '127.0.0.1:5684', '--psk', '00'], '--psk-identity'],
  ])('%s %j', async (name, args, flag) => {
    const r = await run(bin(name), args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
