/**
 * The development PKI (DESIGN.md §5): one project CA, the EMKS server certificate (localhost,
 * 127.0.0.1, ::1), one client certificate per EMSE carrying `URI:urn:e2m:emse:<EMSE_Id>`, an HSS
 * client certificate carrying `URI:urn:e2m:hss:<name>`, and the EMKS key-encryption key. Keys are
 * ECDSA P-256, certificates are made with @peculiar/x509; private keys are written 0600.
 *
 * Layout of a PKI folder:
 *   ca.pem  ca.key  emks.pem  emks.key  hss.pem  hss.key  emse-<id>.pem  emse-<id>.key  kek.key
 */
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as never);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** EMSE_Id and HSS names: DNS-like labels, so they fit a URI and a file name unchanged. */
export const ROLE_ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;

/** Checks an EMSE_Id or HSS name; `option` names the flag or field in the error. */
export function checkRoleId(id: string, option: string): string {
  if (typeof id !== 'string' || !ROLE_ID_PATTERN.test(id)) {
    throw new ConfigError(option, `'${String(id).slice(0, 40)}' is not a valid id (letters, digits, '.', '_', '-'; 1..128 characters)`);
  }
  return id;
}

export interface CertAndKey {
  readonly cert: string;
  readonly key: string;
}

/** Where each file of a PKI folder lives. */
export interface PkiPaths {
  readonly dir: string;
  readonly ca: CertAndKey;
  readonly emks: CertAndKey;
  readonly hss: CertAndKey;
  readonly kek: string;
  emse(id: string): CertAndKey;
}

/** The file paths of the PKI in `dir`. */
export function pkiPaths(dir: string): PkiPaths {
  const pair = (name: string): CertAndKey => ({ cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) });
  return {
    dir,
    ca: pair('ca'),
    emks: pair('emks'),
    hss: pair('hss'),
    kek: join(dir, 'kek.key'),
    emse: (id) => pair(`emse-${checkRoleId(id, 'emseId')}`),
  };
}

/** PEM material for a TLS endpoint: its certificate and key, and the CA that signs its peers. */
export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Reads one role's TLS material from a PKI folder, with a clear error naming the missing file. */
export function loadTlsMaterial(dir: string, role: 'emks' | 'hss' | { emse: string }, option = '--pki'): TlsMaterial {
  const p = pkiPaths(dir);
  const pair = role === 'emks' ? p.emks : role === 'hss' ? p.hss : p.emse(role.emse);
  const read = (file: string): string => {
    if (!existsSync(file)) throw new ConfigError(option, `${file} is missing (create the PKI with: e2m pki init --dir ${dir} …)`);
    return readFileSync(file, 'utf8');
  };
  return { ca: read(p.ca.cert), cert: read(pair.cert), key: read(pair.key) };
}

/** The URI subjectAltNames of a PEM or DER certificate. */
export function certificateUris(cert: string | Uint8Array): string[] {
  const san = new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert)).subjectAltName ?? '';
  return san
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function serial(): string {
  // A positive 16-octet serial (RFC 5280 §4.1.2.2).
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}

async function issue(
  issuer: Issuer,
  subject: string,
  san: x509.JsonGeneralName[],
  usage: 'server' | 'client',
  days: number,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { cert, key: keys.privateKey };
}

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

async function writePair(pair: CertAndKey, made: { cert: x509.X509Certificate; key: CryptoKey }): Promise<void> {
  writeFileSync(pair.cert, made.cert.toString('pem'), { mode: 0o644 });
  writeSecret(pair.key, await privatePem(made.key));
}

export interface DevPkiOptions {
  readonly dir: string;
  readonly emseIds: readonly string[];
  /** The HSS's name in `urn:e2m:hss:<name>` (default "hss-sim"). */
  readonly hssName?: string;
  /** Validity of every certificate, days (default 365). */
  readonly days?: number;
}

/**
 * Creates a development PKI in `dir` (made if missing). Refuses to overwrite an existing CA, so a
 * PKI in use is never replaced by accident.
 */
export async function createDevPki(o: DevPkiOptions): Promise<PkiPaths> {
  const emseIds = o.emseIds.map((id) => checkRoleId(id, '--emse-id'));
  if (emseIds.length === 0) throw new ConfigError('--emse-id', 'give at least one EMSE_Id');
  const hssName = checkRoleId(o.hssName ?? 'hss-sim', '--hss-name');
  const days = o.days ?? 365;
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const p = pkiPaths(o.dir);
  if (existsSync(p.ca.cert)) throw new ConfigError('--dir', `${o.dir} already holds a CA (ca.pem); choose an empty folder`);

  const caKeys = await keyPair();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=e2m development CA',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * DAY_MS),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca: Issuer = { cert: caCert, key: caKeys.privateKey };
  await writePair(p.ca, { cert: caCert, key: caKeys.privateKey });
  await writePair(
    p.emks,
    await issue(ca, 'CN=e2m EMKS', [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }], 'server', days),
  );
  await writePair(p.hss, await issue(ca, `CN=e2m HSS ${hssName}`, [{ type: 'url', value: `urn:e2m:hss:${hssName}` }], 'client', days));
  for (const id of emseIds) {
    await writePair(p.emse(id), await issue(ca, `CN=e2m EMSE ${id}`, [{ type: 'url', value: `urn:e2m:emse:${id}` }], 'client', days));
  }
  writeSecret(p.kek, `${Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString('hex')}\n`);
  return p;
}

/** Adds client certificates for more EMSEs to an existing PKI (needs ca.key). */
export async function addEmseCertificates(dir: string, emseIds: readonly string[], days = 365): Promise<void> {
  const p = pkiPaths(dir);
  const caCert = new x509.X509Certificate(readFileSync(p.ca.cert, 'utf8'));
  const der = x509.PemConverter.decodeFirst(readFileSync(p.ca.key, 'utf8'));
  const caKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
  for (const id of emseIds.map((e) => checkRoleId(e, '--emse-id'))) {
    await writePair(p.emse(id), await issue({ cert: caCert, key: caKey }, `CN=e2m EMSE ${id}`, [{ type: 'url', value: `urn:e2m:emse:${id}` }], 'client', days));
  }
}
