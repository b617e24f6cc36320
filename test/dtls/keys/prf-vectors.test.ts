/**
 * certs-free-test-vectors/tls12-prf.json: every entry through tls12Prf, and the master-secret and
 * key-expansion entries (OpenSSL's copy of the NIST CAVP TLS 1.2 KDF cases) through masterSecret
 * and keyBlock.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tls12Prf } from '../../../src/crypto/prf.js';
import { TLS_PSK_WITH_AES_128_CCM, TLS_PSK_WITH_AES_128_CCM_8 } from '../../../src/dtls/ciphersuite/cipher-suite.js';
import { keyBlock, keyBlockLength } from '../../../src/dtls/keys/key-block.js';
import { masterSecret } from '../../../src/dtls/keys/master-secret.js';
import { fromHex, toHex, utf8 } from '../../../src/util/bytes.js';
import { SecretBytes } from '../../../src/util/secret.js';

interface PrfEntry {
  id: string;
  secret?: string;
  secret_ascii?: string;
  label: string;
  seed?: string;
  seed_ascii?: string;
  client_random?: string;
  server_random?: string;
  expected: string;
}

const file = JSON.parse(
  readFileSync(new URL('../../../certs-free-test-vectors/tls12-prf.json', import.meta.url), 'utf8'),
) as { entries: PrfEntry[] };
const entries = file.entries.map((e) => [e.id, e] as const);

function bytesOf(hex: string | undefined, ascii: string | undefined): Uint8Array {
  if (hex !== undefined) return fromHex(hex, 'vector');
  if (ascii !== undefined) return utf8(ascii);
  throw new Error('vector has neither hex nor ascii value');
}

const byId = (id: string): PrfEntry => {
  const e = file.entries.find((x) => x.id === id);
  if (!e) throw new Error(`missing vector ${id}`);
  return e;
};

describe('tls12-prf.json', () => {
  it('has entries', () => expect(entries.length).toBeGreaterThanOrEqual(8));

  it.each(entries)('%s through tls12Prf', (_id, e) => {
    const expected = fromHex(e.expected, 'expected');
    const out = tls12Prf(bytesOf(e.secret, e.secret_ascii), e.label, bytesOf(e.seed, e.seed_ascii), expected.length);
    expect(toHex(out)).toBe(e.expected);
  });

  it('nist-cavp-tls12-master-secret through masterSecret', () => {
    const e = byId('nist-cavp-tls12-master-secret');
    const ms = masterSecret(fromHex(e.secret ?? '', 's'), fromHex(e.client_random ?? '', 'c'), fromHex(e.server_random ?? '', 's'));
    expect(ms).toBeInstanceOf(SecretBytes);
    expect(toHex(ms.expose())).toBe(e.expected);
  });

  it('nist-cavp-tls12-key-expansion through keyBlock (CCM suites: 2·16 + 2·4 octets, no MAC keys)', () => {
    const e = byId('nist-cavp-tls12-key-expansion');
    const master = new SecretBytes(fromHex(e.secret ?? '', 'm'));
    const sr = fromHex(e.server_random ?? '', 'sr');
    const cr = fromHex(e.client_random ?? '', 'cr');
    for (const suite of [TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CCM]) {
      expect(keyBlockLength(suite)).toBe(40);
      const kb = keyBlock(master, sr, cr, suite);
      const x = e.expected;
      expect(kb.suite).toBe(suite);
      expect(toHex(kb.clientWriteKey.expose())).toBe(x.slice(0, 32));
      expect(toHex(kb.serverWriteKey.expose())).toBe(x.slice(32, 64));
      expect(toHex(kb.clientWriteIv.expose())).toBe(x.slice(64, 72));
      expect(toHex(kb.serverWriteIv.expose())).toBe(x.slice(72, 80));
    }
  });

  it('keyBlock takes server_random first in the seed (swapping the randoms changes the keys)', () => {
    const e = byId('nist-cavp-tls12-key-expansion');
    const kb = keyBlock(fromHex(e.secret ?? '', 'm'), fromHex(e.client_random ?? '', 'c'), fromHex(e.server_random ?? '', 's'), TLS_PSK_WITH_AES_128_CCM_8);
    expect(toHex(kb.clientWriteKey.expose())).not.toBe(e.expected.slice(0, 32));
  });
});
