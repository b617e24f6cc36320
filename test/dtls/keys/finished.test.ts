/**
 * verify_data (RFC 5246 §7.4.9). Checked against OpenSSL's Finished messages in
 * openssl-interop.test.ts; here: labels, lengths, the constant-time checker.
 */
import { describe, expect, it } from 'vitest';
import { tls12Prf } from '../../../src/crypto/prf.js';
import { checkVerifyData, VERIFY_DATA_LENGTH, verifyData } from '../../../src/dtls/keys/finished.js';
import { toHex } from '../../../src/util/bytes.js';
import { SecretBytes } from '../../../src/util/secret.js';

const master = new SecretBytes(new Uint8Array(48).map((_, i) => i));
const hash = new Uint8Array(32).map((_, i) => 0xff - i);

describe('verifyData', () => {
  it('is 12 octets of PRF(master, "client finished" | "server finished", hash)', () => {
    expect(VERIFY_DATA_LENGTH).toBe(12);
    const c = verifyData(master, 'client', hash);
    const s = verifyData(master, 'server', hash);
    expect(c.length).toBe(12);
    expect(toHex(c)).toBe(toHex(tls12Prf(master.expose(), 'client finished', hash, 12)));
    expect(toHex(s)).toBe(toHex(tls12Prf(master.expose(), 'server finished', hash, 12)));
    expect(toHex(c)).not.toBe(toHex(s));
  });

  it('rejects a master secret or hash of the wrong length', () => {
    expect(() => verifyData(new Uint8Array(47), 'client', hash)).toThrow(RangeError);
    expect(() => verifyData(master, 'client', new Uint8Array(48))).toThrow(RangeError);
  });
});

describe('checkVerifyData', () => {
  const good = verifyData(master, 'server', hash);

  it('accepts the right value', () => {
    expect(checkVerifyData(master, 'server', hash, good)).toBe(true);
  });

  it.each([0, 5, 11])('rejects a bit flip in octet %i', (i) => {
    const bad = good.slice();
    bad[i] = (bad[i] as number) ^ 0x01;
    expect(checkVerifyData(master, 'server', hash, bad)).toBe(false);
  });

  it('rejects the other side\'s value, a truncated value and an empty one', () => {
    expect(checkVerifyData(master, 'client', hash, good)).toBe(false);
    expect(checkVerifyData(master, 'server', hash, good.subarray(0, 11))).toBe(false);
    expect(checkVerifyData(master, 'server', hash, new Uint8Array(0))).toBe(false);
  });
});
