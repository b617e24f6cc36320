/**
 * The UE's two files. The SIM file `{"imsi","k","opc","sqn","identity"}` holds what a USIM holds
 * (K, OPc, SQN_MS; TS 33.102 §6.3) plus the application identity of DESIGN.md §4. The state file
 * `<sim file>.state.json` (mode 0600) holds the outcome of the last attach
 * `{"imsi","kid","rand","e2mIntKey","sqnMs","guti","attachedAt"}`; its sqnMs supersedes the SIM
 * file's sqn, so that a USIM never accepts the same SQN twice (TS 33.102 Annex C).
 * Every field is checked; a bad one is a ConfigError naming it (`sim.k`, `state.kid`).
 */
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from '../crypto/primitives.js';
import { checkIdentityText, isKid } from '../kdf/index.js';
import { fromHex, toHex } from '../util/bytes.js';
import { ConfigError } from '../util/errors.js';
import { SecretBytes } from '../util/secret.js';

/** A SIM as the UE holds it. K and OPc never leave it except into the USIM. */
export interface Sim {
  /** 5..15 digits (ITU-T E.212). */
  readonly imsi: string;
  readonly k: SecretBytes;
  readonly opc: SecretBytes;
  /** SQN_MS from the SIM file, 6 octets (the state file's sqnMs, when present, wins). */
  readonly sqn: Uint8Array;
  /** The application identity sent in psk_identity (DESIGN.md §4). */
  readonly identity: string;
}

/** The outcome of the last successful attach. */
export interface UeState {
  readonly imsi: string;
  /** Key identifier of e2m_int_key (8 lowercase hex digits, DESIGN.md §3). */
  readonly kid: string;
  /** RAND of the challenge that produced the key, 16 octets. */
  readonly rand: Uint8Array;
  /** e2m_int_key = KDF(CK‖IK, …), 32 octets. */
  readonly e2mIntKey: SecretBytes;
  /** The USIM's SQN_MS after the attach, 6 octets. */
  readonly sqnMs: Uint8Array;
  readonly guti: string;
  /** ISO 8601. */
  readonly attachedAt: string;
}

/** DESIGN.md contract: an IMSI is 5..15 digits. */
const IMSI_RE = /^[0-9]{5,15}$/;
/** The roles' contract: at most 114 octets, so that `e2m:<kid>:<identity>` fits 128 (RFC 7925). */
const IDENTITY_MAX_OCTETS = 114;
/** Neither file is anywhere near this; a larger one is not ours. */
const MAX_FILE_OCTETS = 64 * 1024;
const SIM_FIELDS = ['imsi', 'k', 'opc', 'sqn', 'identity'] as const;
const STATE_FIELDS = ['imsi', 'kid', 'rand', 'e2mIntKey', 'sqnMs', 'guti', 'attachedAt'] as const;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Where the state of the SIM file `simPath` lives. */
export function statePathFor(simPath: string): string {
  return `${simPath}.state.json`;
}

/**
 * Reads and checks a SIM file. Throws ConfigError naming `option` when the file cannot be read or
 * is not JSON, `sim.<field>` for a missing, unknown or malformed field.
 */
export function loadSim(path: string, option = 'sim'): Sim {
  const obj = readJsonObject(path, option, 'sim');
  if (obj === undefined) throw new ConfigError(option, `${path}: no such file`);
  checkFields(obj, SIM_FIELDS, 'sim');
  return {
    imsi: checkImsi(obj['imsi'], 'sim.imsi'),
    k: new SecretBytes(hexField(obj['k'], 'sim.k', 16)),
    opc: new SecretBytes(hexField(obj['opc'], 'sim.opc', 16)),
    sqn: hexField(obj['sqn'], 'sim.sqn', 6),
    identity: checkAppIdentity(obj['identity'], 'sim.identity'),
  };
}

/**
 * Reads the state file of `simPath`; undefined when there is none. Throws ConfigError naming
 * `state` (unreadable, not JSON) or `state.<field>`, including an IMSI that is not the SIM's.
 */
export function readState(simPath: string, sim: Sim): UeState | undefined {
  const path = statePathFor(simPath);
  const obj = readJsonObject(path, 'state', 'state');
  if (obj === undefined) return undefined;
  checkFields(obj, STATE_FIELDS, 'state');
  const imsi = checkImsi(obj['imsi'], 'state.imsi');
  if (imsi !== sim.imsi) throw new ConfigError('state.imsi', `${path} belongs to IMSI ${imsi}, not to the SIM's ${sim.imsi}`);
  const kid = obj['kid'];
  if (!isKid(kid)) throw new ConfigError('state.kid', 'expected 8 lowercase hex digits');
  const guti = obj['guti'];
  if (typeof guti !== 'string' || guti.length === 0 || guti.length > 256) throw new ConfigError('state.guti', 'expected a non-empty string');
  const attachedAt = obj['attachedAt'];
  if (typeof attachedAt !== 'string' || !ISO_RE.test(attachedAt) || Number.isNaN(Date.parse(attachedAt))) {
    throw new ConfigError('state.attachedAt', 'expected an ISO 8601 time');
  }
  return {
    imsi,
    kid,
    rand: hexField(obj['rand'], 'state.rand', 16),
    e2mIntKey: new SecretBytes(hexField(obj['e2mIntKey'], 'state.e2mIntKey', 32)),
    sqnMs: hexField(obj['sqnMs'], 'state.sqnMs', 6),
    guti,
    attachedAt,
  };
}

/**
 * Writes the state file of `simPath` atomically: a 0600 temporary file in the same directory,
 * written and fsynced, then renamed over the old one (a reader sees the old or the new file, never
 * half of one).
 */
export function writeState(simPath: string, state: UeState): void {
  const path = statePathFor(simPath);
  const body = {
    imsi: state.imsi,
    kid: state.kid,
    rand: toHex(state.rand),
    e2mIntKey: toHex(state.e2mIntKey.expose()),
    sqnMs: toHex(state.sqnMs),
    guti: state.guti,
    attachedAt: state.attachedAt,
  };
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${toHex(randomBytes(6))}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // not created, or already renamed
    }
    throw new ConfigError('state', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The parsed JSON object in `path`, or undefined if the file does not exist. */
function readJsonObject(path: string, option: string, what: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(option, `${path} is not a regular file`);
    if (st.size > MAX_FILE_OCTETS) throw new ConfigError(option, `${path} is larger than ${MAX_FILE_OCTETS} octets`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(option, `cannot read ${path} (${code ?? String(err)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(option, `${path} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(option, `${path} must hold a JSON object (the ${what} file)`);
  }
  return value as Record<string, unknown>;
}

function checkFields(obj: Record<string, unknown>, fields: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!fields.includes(key)) throw new ConfigError(`${prefix}.${key}`, `unknown field (expected ${fields.join(', ')})`);
  }
  for (const f of fields) if (!(f in obj)) throw new ConfigError(`${prefix}.${f}`, 'missing');
}

function checkImsi(v: unknown, name: string): string {
  if (typeof v !== 'string' || !IMSI_RE.test(v)) throw new ConfigError(name, 'expected 5..15 decimal digits');
  return v;
}

function hexField(v: unknown, name: string, length: number): Uint8Array {
  if (typeof v !== 'string') throw new ConfigError(name, `expected ${length * 2} hex digits`);
  return fromHex(v, name, length);
}

function checkAppIdentity(v: unknown, name: string): string {
  const id = checkIdentityText(v, name);
  if (Buffer.byteLength(id, 'utf8') > IDENTITY_MAX_OCTETS) {
    throw new ConfigError(name, `longer than ${IDENTITY_MAX_OCTETS} octets (psk_identity is at most 128, RFC 7925)`);
  }
  return id;
}
