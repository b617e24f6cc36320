/**
 * The SQLite store and keys at rest (DESIGN.md §8): retention of the newest N per subscriber,
 * idempotent puts, AES-256-GCM sealing that a raw look at the file cannot see through, rows that no
 * longer open once altered or moved, and persistence across a restart.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/primitives.js';
import { openEmksStore } from '../../src/emks/db.js';
import { openIntKey, sealIntKey } from '../../src/emks/sealing.js';
import { openSqliteStore } from '../../src/emks/sqlite-store.js';
import type { EmksStore, NewIntKey } from '../../src/emks/store.js';
import { toHex } from '../../src/util/bytes.js';
import { ConfigError } from '../../src/util/errors.js';

const IMSI = '001010123456789';
const kek = randomBytes(32);
const T0 = Date.UTC(2025, 0, 1);

const opened: EmksStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'e2m-')), 'emks.db');
}

function open(file = ':memory:'): EmksStore {
  const s = openSqliteStore(file);
  opened.push(s);
  return s;
}

function newKey(kid: string, createdAtMs: number, key = randomBytes(32), imsi = IMSI): NewIntKey & { plain: Uint8Array } {
  return { imsi, kid, sealedKey: sealIntKey(kek, imsi, kid, key), rand: randomBytes(16), createdAtMs, plain: key };
}

describe('retention', () => {
  it('keeps the newest N by createdAt, whatever the arrival order, and prunes in the same put', async () => {
    const s = open();
    const minutes = [3, 1, 4, 2];
    const outcomes = [];
    for (const [i, m] of minutes.entries()) outcomes.push(await s.putIntKey(newKey(`0000000${i}`, T0 + m * 60_000), 3));
    expect(outcomes.map((o) => o.outcome)).toEqual(['inserted', 'inserted', 'inserted', 'inserted']);
    // The fourth put (minute 2) pushed out minute 1 (kid …01).
    expect(outcomes[3]).toEqual({ outcome: 'inserted', pruned: 1, retained: true });
    expect(await s.getIntKey(IMSI, '00000001')).toBeUndefined();
    for (const kid of ['00000000', '00000002', '00000003']) expect(await s.getIntKey(IMSI, kid)).toBeDefined();
    expect(await s.countIntKeys()).toBe(3);
  });

  it('reports a key older than the N it would join as not retained', async () => {
    const s = open();
    for (let i = 0; i < 3; i++) await s.putIntKey(newKey(`1000000${i}`, T0 + (i + 10) * 1000), 3);
    expect(await s.putIntKey(newKey('10000009', T0), 3)).toEqual({ outcome: 'inserted', pruned: 1, retained: false });
    expect(await s.getIntKey(IMSI, '10000009')).toBeUndefined();
  });

  it('prunes per subscriber only', async () => {
    const s = open();
    await s.putIntKey(newKey('aaaaaaaa', T0, undefined, '00101000000001'), 1);
    await s.putIntKey(newKey('bbbbbbbb', T0 + 1, undefined, '00101000000002'), 1);
    await s.putIntKey(newKey('cccccccc', T0 + 2, undefined, '00101000000002'), 1);
    expect(await s.getIntKey('00101000000001', 'aaaaaaaa')).toBeDefined();
    expect(await s.getIntKey('00101000000002', 'bbbbbbbb')).toBeUndefined();
    expect(await s.getIntKey('00101000000002', 'cccccccc')).toBeDefined();
  });

  it('rejects a retain count below 1', async () => {
    await expect(open().putIntKey(newKey('00000000', T0), 0)).rejects.toThrow(RangeError);
  });
});

describe('puts of an existing kid', () => {
  it('leave the stored row untouched and return it for comparison', async () => {
    const s = open();
    const first = newKey('1a2b3c4d', T0);
    await s.putIntKey(first, 3);
    const again = await s.putIntKey(newKey('1a2b3c4d', T0 + 5, first.plain), 3);
    expect(again.outcome).toBe('exists');
    if (again.outcome !== 'exists') return;
    expect(again.existing.sealedKey).toEqual(first.sealedKey);
    expect(again.existing.createdAtMs).toBe(T0);
    expect(openIntKey(kek, IMSI, '1a2b3c4d', again.existing.sealedKey)).toEqual(first.plain);
    expect(await s.countIntKeys()).toBe(1);
  });

  it('replace only a row whose sealed key is still the one read (compare and swap)', async () => {
    const s = open();
    const first = newKey('1a2b3c4d', T0);
    await s.putIntKey(first, 3);
    await s.setAuthResult(IMSI, '1a2b3c4d', 'failure');
    const second = newKey('1a2b3c4d', T0 + 1);
    expect(await s.replaceIntKey(second, randomBytes(first.sealedKey.length), 3)).toBe(false);
    expect(await s.replaceIntKey(second, first.sealedKey, 3)).toBe(true);
    const row = await s.getIntKey(IMSI, '1a2b3c4d');
    expect(row?.sealedKey).toEqual(second.sealedKey);
    expect(row?.authResult).toBe('pending');
  });
});

describe('auth results, identities, EMSEs', () => {
  it('records an AKA outcome for a known kid only', async () => {
    const s = open();
    await s.putIntKey(newKey('1a2b3c4d', T0), 3);
    expect((await s.getIntKey(IMSI, '1a2b3c4d'))?.authResult).toBe('pending');
    expect(await s.setAuthResult(IMSI, '1a2b3c4d', 'success')).toBe(true);
    expect((await s.getIntKey(IMSI, '1a2b3c4d'))?.authResult).toBe('success');
    expect(await s.setAuthResult(IMSI, 'ffffffff', 'success')).toBe(false);
  });

  it('finds the key of an identity in one read: unknown identity, unknown kid, the stored row', async () => {
    const s = open();
    const k = newKey('1a2b3c4d', T0);
    await s.putIntKey(k, 3);
    await s.putIntKey(newKey('0badcafe', T0, randomBytes(32), '00101999'), 3);
    await s.setAuthResult(IMSI, '1a2b3c4d', 'failure');
    expect(await s.intKeyForIdentity('sensor-17@iot.example.com', '1a2b3c4d')).toBeUndefined();
    await s.mapIdentity('sensor-17@iot.example.com', IMSI, T0);
    expect(await s.intKeyForIdentity('sensor-17@iot.example.com', 'ffffffff')).toEqual({ imsi: IMSI, key: undefined });
    // Another subscriber's kid is not this identity's.
    expect(await s.intKeyForIdentity('sensor-17@iot.example.com', '0badcafe')).toEqual({ imsi: IMSI, key: undefined });
    const found = await s.intKeyForIdentity('sensor-17@iot.example.com', '1a2b3c4d');
    expect(found).toEqual({ imsi: IMSI, key: await s.getIntKey(IMSI, '1a2b3c4d') });
    expect(found?.key).toMatchObject({ kid: '1a2b3c4d', sealedKey: k.sealedKey, rand: k.rand, createdAtMs: T0, authResult: 'failure' });
  });

  it('maps identities (created, then updated) and registers EMSEs', async () => {
    const s = open();
    expect(await s.mapIdentity('sensor-17@iot.example.com', IMSI, T0)).toBe('created');
    expect(await s.mapIdentity('sensor-17@iot.example.com', '00101999', T0 + 1)).toBe('updated');
    expect(await s.imsiForIdentity('sensor-17@iot.example.com')).toBe('00101999');
    expect(await s.imsiForIdentity('nobody@iot.example.com')).toBeUndefined();
    expect(await s.registerEmse('emse-b', T0)).toBe('created');
    expect(await s.registerEmse('emse-a', T0 + 1)).toBe('created');
    expect(await s.registerEmse('emse-b', T0 + 2)).toBe('updated');
    expect(await s.listEmses()).toEqual([
      { emseId: 'emse-a', firstSeenMs: T0 + 1, lastSeenMs: T0 + 1 },
      { emseId: 'emse-b', firstSeenMs: T0, lastSeenMs: T0 + 2 },
    ]);
  });

  it('deletes keys created before a time', async () => {
    const s = open();
    await s.putIntKey(newKey('00000001', T0), 3);
    await s.putIntKey(newKey('00000002', T0 + 10), 3);
    expect(await s.deleteIntKeysCreatedBefore(T0 + 10)).toBe(1);
    expect(await s.getIntKey(IMSI, '00000001')).toBeUndefined();
    expect(await s.getIntKey(IMSI, '00000002')).toBeDefined();
  });
});

describe('keys at rest', () => {
  it('never appear in the database files, as hex or as bytes', async () => {
    const file = tempDb();
    const s = openSqliteStore(file);
    const keys = [newKey('1a2b3c4d', T0), newKey('5e6f7a8b', T0 + 1)];
    for (const k of keys) await s.putIntKey(k, 3);
    // Look while the write-ahead log still holds the pages, then after the checkpoint at close.
    const look = (): void => {
      for (const f of [file, `${file}-wal`].filter(existsSync)) {
        const raw = readFileSync(f);
        for (const k of keys) {
          expect(raw.includes(Buffer.from(k.plain))).toBe(false);
          expect(raw.includes(Buffer.from(toHex(k.plain)))).toBe(false);
          expect(raw.includes(Buffer.from(toHex(k.plain).toUpperCase()))).toBe(false);
        }
      }
    };
    look();
    await s.close();
    look();
    // The sealed values are there (so the search above looked at the right file).
    expect(readFileSync(file).includes(Buffer.from(keys[0]?.sealedKey ?? []))).toBe(true);
  });

  it('a row altered in the database, or moved to another kid, does not open', async () => {
    const file = tempDb();
    const s = openSqliteStore(file);
    const a = newKey('1a2b3c4d', T0);
    const b = newKey('5e6f7a8b', T0 + 1);
    await s.putIntKey(a, 3);
    await s.putIntKey(b, 3);
    await s.close();

    const db = new Database(file);
    const row = db.prepare<[], { sealed_key: Buffer }>("SELECT sealed_key FROM int_keys WHERE kid = '1a2b3c4d'").get();
    const flipped = Buffer.from(row?.sealed_key ?? []);
    flipped[20] = (flipped[20] ?? 0) ^ 0x01;
    db.prepare("UPDATE int_keys SET sealed_key = ? WHERE kid = '1a2b3c4d'").run(flipped);
    db.prepare("UPDATE int_keys SET kid = '99999999' WHERE kid = '5e6f7a8b'").run();
    db.close();

    const again = open(file);
    const altered = await again.getIntKey(IMSI, '1a2b3c4d');
    const moved = await again.getIntKey(IMSI, '99999999');
    expect(altered).toBeDefined();
    expect(moved).toBeDefined();
    expect(openIntKey(kek, IMSI, '1a2b3c4d', altered?.sealedKey ?? new Uint8Array())).toBeUndefined();
    expect(openIntKey(kek, IMSI, '99999999', moved?.sealedKey ?? new Uint8Array())).toBeUndefined();
    // The moved bytes still open at their original place, and not under another KEK.
    expect(openIntKey(kek, IMSI, '5e6f7a8b', moved?.sealedKey ?? new Uint8Array())).toEqual(b.plain);
    expect(openIntKey(randomBytes(32), IMSI, '5e6f7a8b', moved?.sealedKey ?? new Uint8Array())).toBeUndefined();
  });

  it('survive closing and reopening a file store, with WAL journaling on disk', async () => {
    const file = tempDb();
    const s = openSqliteStore(file);
    const k = newKey('1a2b3c4d', T0);
    await s.putIntKey(k, 3);
    await s.mapIdentity('sensor-17@iot.example.com', IMSI, T0);
    await s.close();
    await s.close(); // idempotent

    const again = open(file);
    const row = await again.getIntKey(IMSI, '1a2b3c4d');
    expect(row?.rand).toEqual(k.rand);
    expect(row?.createdAtMs).toBe(T0);
    expect(openIntKey(kek, IMSI, '1a2b3c4d', row?.sealedKey ?? new Uint8Array())).toEqual(k.plain);
    expect(await again.imsiForIdentity('sensor-17@iot.example.com')).toBe(IMSI);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});

describe('--db', () => {
  it('opens sqlite:FILE and sqlite::memory:', async () => {
    const file = tempDb();
    const s = openEmksStore(`sqlite:${file}`);
    opened.push(s);
    await s.putIntKey(newKey('1a2b3c4d', T0), 3);
    expect(existsSync(file)).toBe(true);
    const m = openEmksStore('sqlite::memory:');
    opened.push(m);
    expect(await m.countIntKeys()).toBe(0);
  });

  it.each([
    ['postgres://emks@db/emks', /PostgreSQL is planned/],
    ['postgresql://emks@db/emks', /PostgreSQL is planned/],
    ['mysql://emks@db/emks', /PostgreSQL is planned/],
    ['emks.db', /expected sqlite:FILE/],
    ['sqlite:', /file name/],
    ['', /required/],
    ['sqlite:/nonexistent-e2m-dir/sub/emks.db', /cannot open/],
  ])('refuses %j with a ConfigError naming --db', (url, message) => {
    let err: unknown;
    try {
      opened.push(openEmksStore(url));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe('--db');
    expect((err as ConfigError).message).toMatch(message);
  });
});
