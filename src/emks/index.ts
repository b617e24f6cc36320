/** The EMKS (key server) of DESIGN.md §2, §5 and §8, as a library. */
export { createEmksServer, DEFAULT_KEY_TTL_SECONDS, DEFAULT_RETAIN, MAX_KEY_TTL_SECONDS, MAX_RETAIN } from './server.js';
export type { EmksServer, EmksServerOptions } from './server.js';
export { createEmksApp } from './app.js';
export type { EmksAppOptions } from './app.js';
export { callerFromUris } from './caller.js';
export type { Caller, CallerRole } from './caller.js';
export { openEmksStore } from './db.js';
export { openSqliteStore, SqliteEmksStore } from './sqlite-store.js';
export type { AuthResult as EmksAuthResult, EmksStore, IdentityKey, NewIntKey, PutIntKeyOutcome, RegisteredEmse, StoredIntKey } from './store.js';
export { KEK_LENGTH, openIntKey, sealIntKey } from './sealing.js';
export { loadKek } from './kek.js';
export type { KekSource, KekSources } from './kek.js';
export { createEmksMetrics } from './metrics.js';
export type { EmksMetrics, KeyFetchOutcome } from './metrics.js';
export { HttpProblem as EmksHttpProblem, MAX_BODY_OCTETS as EMKS_MAX_BODY_OCTETS, PROBLEM_TYPE_PREFIX } from './http.js';
export type { ProblemDetails } from './http.js';
