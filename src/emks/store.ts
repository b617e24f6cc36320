/**
 * The EMKS store (DESIGN.md §8): intermediate keys per subscriber, the application identity → IMSI
 * map, and the registered EMSEs. Every method is asynchronous so that a networked database
 * (PostgreSQL, for several EMKS instances) can implement the same interface as the embedded SQLite
 * store. The store never sees a key in clear: `sealedKey` is AES-256-GCM sealed by the caller
 * (src/emks/sealing.ts), so sealing is the same whatever the backend.
 */

/** The HSS's report on the AKA run that produced a key (DESIGN.md §5, "auth result"). */
export type AuthResult = 'pending' | 'success' | 'failure';

/** One stored intermediate key (e2m_int_key), sealed. */
export interface StoredIntKey {
  /** 5..15 digits. */
  readonly imsi: string;
  /** 8 lowercase hex digits (DESIGN.md §3). */
  readonly kid: string;
  /** nonce ‖ ciphertext ‖ tag of the 32-octet e2m_int_key, additional data "imsi|kid". */
  readonly sealedKey: Uint8Array;
  /** The 16-octet RAND of the AKA run. */
  readonly rand: Uint8Array;
  /** When the HSS made the key (milliseconds since the Unix epoch): "newest" is by this time. */
  readonly createdAtMs: number;
  readonly authResult: AuthResult;
}

/** A key to add: a new key is always `pending` until the HSS reports the outcome. */
export type NewIntKey = Omit<StoredIntKey, 'authResult'>;

/**
 * What `putIntKey` did: `inserted` (and how many older keys of the subscriber it pruned, and whether
 * the new key itself is among the newest N), or `exists` when the subscriber already has that kid
 * (the row is returned untouched, for the caller to compare keys).
 */
export type PutIntKeyOutcome =
  | { readonly outcome: 'inserted'; readonly pruned: number; readonly retained: boolean }
  | { readonly outcome: 'exists'; readonly existing: StoredIntKey };

/** What `intKeyForIdentity` found: the subscriber, and its key with that kid if it has one. */
export interface IdentityKey {
  readonly imsi: string;
  readonly key: StoredIntKey | undefined;
}

/** A registered EMSE (POST /v1/emse/register). */
export interface RegisteredEmse {
  readonly emseId: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

/** Persistence of the EMKS. A resolved write is durable (it survives a crash of the process). */
export interface EmksStore {
  /**
   * Adds a key unless the subscriber already holds `kid`; then keeps only the `retain` newest keys of
   * the subscriber (by createdAt, then by arrival), in the same transaction.
   */
  putIntKey(key: NewIntKey, retain: number): Promise<PutIntKeyOutcome>;
  /**
   * Replaces the row (imsi, kid) only if its sealed key is still `previousSealedKey` (compare and
   * swap; used when a stored row no longer opens). The auth result goes back to `pending`.
   * Returns false if the row changed or vanished meanwhile.
   */
  replaceIntKey(key: NewIntKey, previousSealedKey: Uint8Array, retain: number): Promise<boolean>;
  /** The key (imsi, kid), or undefined. */
  getIntKey(imsi: string, kid: string): Promise<StoredIntKey | undefined>;
  /** Records the outcome of the AKA run of (imsi, kid); false if there is no such key. */
  setAuthResult(imsi: string, kid: string, result: Exclude<AuthResult, 'pending'>): Promise<boolean>;
  /** Deletes every key created before `createdBeforeMs`; returns how many. */
  deleteIntKeysCreatedBefore(createdBeforeMs: number): Promise<number>;
  /** Number of stored keys (all subscribers). */
  countIntKeys(): Promise<number>;
  /** Maps an application identity to an IMSI: `created` for a new identity, `updated` otherwise. */
  mapIdentity(appIdentity: string, imsi: string, nowMs: number): Promise<'created' | 'updated'>;
  /** The IMSI an application identity maps to, or undefined. */
  imsiForIdentity(appIdentity: string): Promise<string | undefined>;
  /**
   * The key `kid` of the subscriber `appIdentity` maps to, in one read (the EMSE's key fetch):
   * undefined for an unknown identity, `key` undefined when that subscriber holds no such kid.
   */
  intKeyForIdentity(appIdentity: string, kid: string): Promise<IdentityKey | undefined>;
  /** Records an EMSE's registration: `created` the first time, `updated` afterwards. */
  registerEmse(emseId: string, nowMs: number): Promise<'created' | 'updated'>;
  /** The registered EMSEs, by EMSE_Id. */
  listEmses(): Promise<RegisteredEmse[]>;
  /** Releases the database; further calls fail. Idempotent. */
  close(): Promise<void>;
}
