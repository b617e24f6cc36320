import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addEmseCertificates, certificateUris, checkRoleId, createDevPki, loadTlsMaterial, type PkiPaths } from '../../src/crypto/pki.js';
import { ConfigError } from '../../src/util/errors.js';
import { peer } from '../support/peers.js';

describe('development PKI', () => {
  let dir: string;
  let p: PkiPaths;

  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'e2m-pki-')), 'pki');
    p = await createDevPki({ dir, emseIds: ['emse-a.example.com', 'emse-b'] });
  });

  it.skipIf(!peer('openssl'))('issues certificates that OpenSSL verifies against the CA, with the right usages', () => {
    for (const cert of [p.emks.cert, p.hss.cert, p.emse('emse-a.example.com').cert, p.emse('emse-b').cert]) {
      expect(execFileSync('openssl', ['verify', '-CAfile', p.ca.cert, cert]).toString()).toContain(': OK');
    }
    const emks = execFileSync('openssl', ['x509', '-in', p.emks.cert, '-noout', '-ext', 'subjectAltName,extendedKeyUsage']).toString();
    expect(emks).toMatch(/DNS:localhost/);
    expect(emks).toMatch(/IP Address:127\.0\.0\.1/);
    expect(emks).toMatch(/TLS Web Server Authentication/);
    const emse = execFileSync('openssl', ['x509', '-in', p.emse('emse-b').cert, '-noout', '-ext', 'extendedKeyUsage']).toString();
    expect(emse).toMatch(/TLS Web Client Authentication/);
  });

  it('puts the role URI in subjectAltName', () => {
    expect(certificateUris(readFileSync(p.emse('emse-a.example.com').cert, 'utf8'))).toEqual(['urn:e2m:emse:emse-a.example.com']);
    expect(certificateUris(readFileSync(p.hss.cert, 'utf8'))).toEqual(['urn:e2m:hss:hss-sim']);
    expect(certificateUris(readFileSync(p.emks.cert, 'utf8'))).toEqual([]);
  });

  it('writes private keys and the KEK with mode 0600', () => {
    for (const f of [p.ca.key, p.emks.key, p.hss.key, p.emse('emse-b').key, p.kek]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(p.kek, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses to overwrite an existing CA and names the flag', async () => {
    await expect(createDevPki({ dir, emseIds: ['x'] })).rejects.toThrow(/--dir: .*already holds a CA/);
  });

  it('adds an EMSE certificate to an existing PKI', async () => {
    await addEmseCertificates(dir, ['emse-c']);
    expect(certificateUris(readFileSync(p.emse('emse-c').cert, 'utf8'))).toEqual(['urn:e2m:emse:emse-c']);
  });

  it('loads a role\'s material and names a missing file', () => {
    const m = loadTlsMaterial(dir, { emse: 'emse-b' });
    expect(m.cert).toContain('BEGIN CERTIFICATE');
    expect(m.key).toContain('BEGIN PRIVATE KEY');
    expect(() => loadTlsMaterial(dir, { emse: 'emse-zzz' })).toThrow(/emse-emse-zzz\.pem is missing/);
  });

  it('accepts DNS-like ids only', () => {
    expect(checkRoleId('emse-1.example.com', '--emse-id')).toBe('emse-1.example.com');
    for (const bad of ['', 'has space', 'a/b', '-lead', 'trail-', 'x'.repeat(129), 'ü']) {
      expect(() => checkRoleId(bad, '--emse-id')).toThrow(ConfigError);
    }
  });
});
