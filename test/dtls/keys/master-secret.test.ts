/**
 * Argument checks and label separation. The values themselves are checked against independent
 * sources elsewhere: masterSecret against the NIST CAVP vector (prf-vectors.test.ts), and
 * extendedMasterSecret against OpenSSL's key log (openssl-interop.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { tls12Prf } from '../../../src/crypto/prf.js';
import { extendedMasterSecret, masterSecret } from '../../../src/dtls/keys/master-secret.js';
import { pskPremaster } from '../../../src/dtls/keys/premaster.js';
import { fromHex, toHex } from '../../../src/util/bytes.js';

const premaster = pskPremaster(fromHex('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'psk'));
const cr = new Uint8Array(32).fill(1);
const sr = new Uint8Array(32).fill(2);
const hash = new Uint8Array(32).fill(3);

describe('masterSecret / extendedMasterSecret', () => {
  it('are 48 octets (RFC 5246 §8.1)', () => {
    expect(masterSecret(premaster, cr, sr).length).toBe(48);
    expect(extendedMasterSecret(premaster, hash).length).toBe(48);
  });

  it('use the RFC labels and seeds', () => {
    const pm = premaster.expose();
    const seed = new Uint8Array([...cr, ...sr]);
    expect(toHex(masterSecret(premaster, cr, sr).expose())).toBe(toHex(tls12Prf(pm, 'master secret', seed, 48)));
    expect(toHex(extendedMasterSecret(premaster, hash).expose())).toBe(
      toHex(tls12Prf(pm, 'extended master secret', hash, 48)),
    );
  });

  it('client_random comes first in the seed (swapping the randoms changes the secret)', () => {
    expect(toHex(masterSecret(premaster, cr, sr).expose())).not.toBe(toHex(masterSecret(premaster, sr, cr).expose()));
  });

  it('reject randoms and hashes of the wrong length', () => {
    expect(() => masterSecret(premaster, cr.subarray(1), sr)).toThrow(RangeError);
    expect(() => masterSecret(premaster, cr, new Uint8Array(33))).toThrow(RangeError);
    expect(() => extendedMasterSecret(premaster, new Uint8Array(20))).toThrow(RangeError);
  });
});
