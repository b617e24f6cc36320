/**
 * Independent cross-check of the whole key schedule and of record protection against OpenSSL:
 * extendedMasterSecret(pskPremaster(psk), SHA-256(transcript)) must equal the master secret OpenSSL
 * wrote to its NSS key log; keyBlock + unprotectRecord must open OpenSSL's records; verifyData must
 * equal both Finished messages; protectRecord must reproduce OpenSSL's fragments byte for byte.
 *
 * Always runs on the recorded handshakes in test/dtls/fixtures/openssl-dtls12-psk.json, and on a
 * fresh handshake when an `openssl` binary is installed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../../src/crypto/primitives.js';
import { toHex } from '../../../src/util/bytes.js';
import { captureOpensslHandshake, opensslAvailable, type CapturedDatagram } from './openssl-capture.js';
import { replayHandshake } from './dtls-transcript.js';
import { peer } from '../../support/peers.js';

interface Fixture {
  psk_hex: string;
  captures: { openssl_cipher: string; keylog_line: string; app_data: string; datagrams: CapturedDatagram[] }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/openssl-dtls12-psk.json', import.meta.url), 'utf8'),
) as Fixture;

const SUITE_OF: Record<string, number> = { 'PSK-AES128-CCM8': 0xc0a8, 'PSK-AES128-CCM': 0xc0a4 };

function expectAgreement(
  datagrams: readonly CapturedDatagram[],
  pskHex: string,
  keylogLine: string,
  opensslCipher: string,
  appData: string,
): void {
  const r = replayHandshake(datagrams, pskHex, keylogLine);
  expect(r.suite?.id).toBe(SUITE_OF[opensslCipher]);
  expect(r.serverHelloHasEms).toBe(true);
  expect(r.clientRandom).toBe(r.keylogClientRandom);
  expect(r.keylogMaster).toMatch(/^[0-9a-f]{96}$/);
  expect(r.ourMaster).toBe(r.keylogMaster);
  expect(r.decryptFailures).toBe(0);
  expect(r.finished.map((f) => f.sender)).toEqual(['client', 'server']);
  for (const f of r.finished) expect(f.expected).toBe(f.received);
  // Client Finished, server Finished, one application data record.
  expect(r.reprotected.map((x) => `${x.from}:${x.type}`)).toEqual(['client:22', 'server:22', 'client:23']);
  for (const x of r.reprotected) expect(x.ours).toBe(x.theirs);
  expect(r.appData).toEqual([appData]);
}

describe('recorded OpenSSL 3.0 DTLS 1.2 PSK handshakes', () => {
  it.each(fixture.captures.map((c) => [c.openssl_cipher, c] as const))('%s', (_name, c) => {
    expectAgreement(c.datagrams, fixture.psk_hex, c.keylog_line, c.openssl_cipher, c.app_data);
  });

  it('a wrong PSK gives another master secret and opens no record', () => {
    const c = fixture.captures[0];
    if (!c) throw new Error('empty fixture');
    const r = replayHandshake(c.datagrams, '00'.repeat(16), c.keylog_line);
    expect(r.ourMaster).not.toBe(r.keylogMaster);
    expect(r.decryptFailures).toBe(3);
    expect(r.finished).toEqual([]);
  });
});

describe.skipIf(!peer('openssl') || !opensslAvailable())('a live OpenSSL DTLS 1.2 PSK handshake', () => {
  it.each(['PSK-AES128-CCM8', 'PSK-AES128-CCM'])('%s', async (cipher) => {
    const psk = toHex(randomBytes(16));
    const cap = await captureOpensslHandshake(cipher, psk);
    expectAgreement(cap.datagrams, cap.pskHex, cap.keylogLine, cipher, cap.appData);
  });
});
