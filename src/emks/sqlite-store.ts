/**
 * The embedded EMKS store (DESIGN.md §8): one SQLite file through better-sqlite3. WAL journal with
 * `synchronous = FULL`, so that a write is on disk before its promise resolves and a key answered
 * 201 survives a crash or a restart (DESIGN.md §9). `secure_delete` overwrites pruned rows.
 * Statements are prepared once; each multi-step write is one transaction.
 */
import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import type {
  AuthResult,
  EmksStore,
  IdentityKey,
  NewIntKey,
  PutIntKeyOutcome,
  RegisteredEmse,
  StoredIntKey,
} from './store.js';

/** The schema this code writes (PRAGMA user_version). */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS int_keys (
  imsi          TEXT    NOT NULL,
  kid           TEXT    NOT NULL,
  sealed_key    BLOB    NOT NULL,
  rand          BLOB    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  auth_result   TEXT    NOT NULL DEFAULT 'pending' CHECK (auth_result IN ('pending', 'success', 'failure')),
  PRIMARY KEY (imsi, kid)
);
CREATE INDEX IF NOT EXISTS int_keys_by_subscriber_age ON int_keys (imsi, created_at_ms);
CREATE INDEX IF NOT EXISTS int_keys_by_age ON int_keys (created_at_ms);
CREATE TABLE IF NOT EXISTS identities (
  app_identity  TEXT    PRIMARY KEY,
  imsi          TEXT    NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS emses (
  emse_id       TEXT    PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL
);
`;

interface IntKeyRow {
  imsi: string;
  kid: string;
  sealed_key: Buffer;
  rand: Buffer;
  created_at_ms: number;
  auth_result: AuthResult;
}

/** A LEFT JOIN row: the key columns are NULL when the subscriber has no such kid. */
type IdentityKeyRow = { imsi: string } & ({ [K in Exclude<keyof IntKeyRow, 'imsi'>]: null } | Omit<IntKeyRow, 'imsi'>);

interface EmseRow {
  emse_id: string;
  first_seen_ms: number;
  last_seen_ms: number;
}

function toStoredIntKey(r: IntKeyRow): StoredIntKey {
  return {
    imsi: r.imsi,
    kid: r.kid,
    sealedKey: new Uint8Array(r.sealed_key),
    rand: new Uint8Array(r.rand),
    createdAtMs: r.created_at_ms,
    authResult: r.auth_result,
  };
}

function checkRetain(retain: number): void {
  if (!Number.isInteger(retain) || retain < 1) throw new RangeError(`retain must be a positive integer, got ${retain}`);
}

const blob = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function prepareStatements(db: Database.Database) {
  return {
    getKey: db.prepare<[string, string], IntKeyRow>('SELECT * FROM int_keys WHERE imsi = ? AND kid = ?'),
    insertKey: db.prepare<[string, string, Buffer, Buffer, number]>(
      'INSERT INTO int_keys (imsi, kid, sealed_key, rand, created_at_ms) VALUES (?, ?, ?, ?, ?)',
    ),
    replaceKey: db.prepare<[Buffer, Buffer, number, string, string, Buffer]>(
      "UPDATE int_keys SET sealed_key = ?, rand = ?, created_at_ms = ?, auth_result = 'pending' WHERE imsi = ? AND kid = ? AND sealed_key = ?",
    ),
    // Keeps the `retain` newest keys of one subscriber: by createdAt, then by arrival (rowid).
    prune: db.prepare<[string, string, number]>(
      'DELETE FROM int_keys WHERE imsi = ? AND rowid NOT IN ' +
        '(SELECT rowid FROM int_keys WHERE imsi = ? ORDER BY created_at_ms DESC, rowid DESC LIMIT ?)',
    ),
    setResult: db.prepare<[AuthResult, string, string]>('UPDATE int_keys SET auth_result = ? WHERE imsi = ? AND kid = ?'),
    deleteOld: db.prepare<[number]>('DELETE FROM int_keys WHERE created_at_ms < ?'),
    countKeys: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM int_keys'),
    getIdentity: db.prepare<[string], { imsi: string }>('SELECT imsi FROM identities WHERE app_identity = ?'),
    // The key fetch in one statement: no row = unknown identity; k.kid NULL = no such kid.
    getKeyForIdentity: db.prepare<[string, string], IdentityKeyRow>(
      'SELECT i.imsi AS imsi, k.kid AS kid, k.sealed_key AS sealed_key, k.rand AS rand, k.created_at_ms AS created_at_ms, k.auth_result AS auth_result ' +
        'FROM identities i LEFT JOIN int_keys k ON k.imsi = i.imsi AND k.kid = ? WHERE i.app_identity = ?',
    ),
    upsertIdentity: db.prepare<[string, string, number]>(
      'INSERT INTO identities (app_identity, imsi, updated_at_ms) VALUES (?, ?, ?) ' +
        'ON CONFLICT (app_identity) DO UPDATE SET imsi = excluded.imsi, updated_at_ms = excluded.updated_at_ms',
    ),
    getEmse: db.prepare<[string], EmseRow>('SELECT * FROM emses WHERE emse_id = ?'),
    upsertEmse: db.prepare<[string, number, number]>(
      'INSERT INTO emses (emse_id, first_seen_ms, last_seen_ms) VALUES (?, ?, ?) ' +
        'ON CONFLICT (emse_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms',
    ),
    listEmses: db.prepare<[], EmseRow>('SELECT * FROM emses ORDER BY emse_id'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;
type Created = 'created' | 'updated';

/** The write transactions (BEGIN IMMEDIATE: the write lock is taken before the first read). */
function prepareTransactions(db: Database.Database, s: Statements) {
  const put = db.transaction((key: NewIntKey, retain: number): PutIntKeyOutcome => {
    const existing = s.getKey.get(key.imsi, key.kid);
    if (existing !== undefined) return { outcome: 'exists', existing: toStoredIntKey(existing) };
    s.insertKey.run(key.imsi, key.kid, blob(key.sealedKey), blob(key.rand), key.createdAtMs);
    const pruned = s.prune.run(key.imsi, key.imsi, retain).changes;
    const retained = s.getKey.get(key.imsi, key.kid) !== undefined;
    return { outcome: 'inserted', pruned, retained };
  });
  const replace = db.transaction((key: NewIntKey, previous: Uint8Array, retain: number): boolean => {
    const changed = s.replaceKey.run(blob(key.sealedKey), blob(key.rand), key.createdAtMs, key.imsi, key.kid, blob(previous)).changes;
    if (changed === 0) return false;
    s.prune.run(key.imsi, key.imsi, retain);
    return true;
  });
  const mapIdentity = db.transaction((appIdentity: string, imsi: string, nowMs: number): Created => {
    const before = s.getIdentity.get(appIdentity);
    s.upsertIdentity.run(appIdentity, imsi, nowMs);
    return before === undefined ? 'created' : 'updated';
  });
  const registerEmse = db.transaction((emseId: string, nowMs: number): Created => {
    const before = s.getEmse.get(emseId);
    s.upsertEmse.run(emseId, nowMs, nowMs);
    return before === undefined ? 'created' : 'updated';
  });
  return { put: put.immediate, replace: replace.immediate, mapIdentity: mapIdentity.immediate, registerEmse: registerEmse.immediate };
}

/** The SQLite implementation of EmksStore. Open it with `openSqliteStore`. */
export class SqliteEmksStore implements EmksStore {
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #tx: ReturnType<typeof prepareTransactions>;
  #closed = false;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#tx = prepareTransactions(db, this.#s);
  }

  async putIntKey(key: NewIntKey, retain: number): Promise<PutIntKeyOutcome> {
    checkRetain(retain);
    return this.#tx.put(key, retain);
  }

  async replaceIntKey(key: NewIntKey, previousSealedKey: Uint8Array, retain: number): Promise<boolean> {
    checkRetain(retain);
    return this.#tx.replace(key, previousSealedKey, retain);
  }

  async getIntKey(imsi: string, kid: string): Promise<StoredIntKey | undefined> {
    const row = this.#s.getKey.get(imsi, kid);
    return row === undefined ? undefined : toStoredIntKey(row);
  }

  async setAuthResult(imsi: string, kid: string, result: Exclude<AuthResult, 'pending'>): Promise<boolean> {
    return this.#s.setResult.run(result, imsi, kid).changes > 0;
  }

  async deleteIntKeysCreatedBefore(createdBeforeMs: number): Promise<number> {
    return this.#s.deleteOld.run(createdBeforeMs).changes;
  }

  async countIntKeys(): Promise<number> {
    return this.#s.countKeys.get()?.n ?? 0;
  }

  async mapIdentity(appIdentity: string, imsi: string, nowMs: number): Promise<'created' | 'updated'> {
    return this.#tx.mapIdentity(appIdentity, imsi, nowMs);
  }

  async imsiForIdentity(appIdentity: string): Promise<string | undefined> {
    return this.#s.getIdentity.get(appIdentity)?.imsi;
  }

  async intKeyForIdentity(appIdentity: string, kid: string): Promise<IdentityKey | undefined> {
    const row = this.#s.getKeyForIdentity.get(kid, appIdentity);
    if (row === undefined) return undefined;
    return { imsi: row.imsi, key: row.kid === null ? undefined : toStoredIntKey(row as IntKeyRow) };
  }

  async registerEmse(emseId: string, nowMs: number): Promise<'created' | 'updated'> {
    return this.#tx.registerEmse(emseId, nowMs);
  }

  async listEmses(): Promise<RegisteredEmse[]> {
    return this.#s.listEmses.all().map((r) => ({ emseId: r.emse_id, firstSeenMs: r.first_seen_ms, lastSeenMs: r.last_seen_ms }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

/**
 * Opens (creating if needed) the SQLite store in `file`, or an in-memory one for ':memory:'.
 * A new file is created 0600 (it holds sealed keys and the identity map). Throws if the file holds
 * a newer schema than this code knows.
 */
export function openSqliteStore(file: string): SqliteEmksStore {
  if (file !== ':memory:') closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('secure_delete = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is newer than this EMKS understands (${SCHEMA_VERSION})`);
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return new SqliteEmksStore(db);
  } catch (err) {
    db.close();
    throw err;
  }
}
