/**
 * Who is calling (DESIGN.md §5): the role and name come only from the client certificate's
 * subjectAltName URI, `urn:e2m:emse:<EMSE_Id>` or `urn:e2m:hss:<name>`, never from the request.
 */
import type { TLSSocket } from 'node:tls';
import { certificateUris, ROLE_ID_PATTERN } from '../crypto/pki.js';

export type CallerRole = 'emse' | 'hss';

/** An authenticated caller. */
export interface Caller {
  readonly role: CallerRole;
  readonly name: string;
}

const ROLE_URI = /^urn:e2m:(emse|hss):(.+)$/;

/**
 * The caller named by a certificate's URIs: exactly one role URI with a valid id, else undefined
 * (a certificate naming two roles is refused, not guessed).
 */
export function callerFromUris(uris: readonly string[]): Caller | undefined {
  const found: Caller[] = [];
  for (const uri of uris) {
    const m = ROLE_URI.exec(uri);
    if (m === null) continue;
    const [, role, name] = m as unknown as [string, CallerRole, string];
    if (!ROLE_ID_PATTERN.test(name)) return undefined;
    found.push({ role, name });
  }
  return found.length === 1 ? found[0] : undefined;
}

const byConnection = new WeakMap<object, Caller | null>();

/**
 * The caller of a verified TLS connection, or undefined. Cached per connection under `key`: the
 * socket for HTTP/1.1, the session for HTTP/2 (whose requests each see their own socket proxy).
 */
export function callerOf(socket: TLSSocket | undefined, key: object | undefined = socket): Caller | undefined {
  if (socket === undefined || key === undefined) return undefined;
  const known = byConnection.get(key);
  if (known !== undefined) return known ?? undefined;
  let caller: Caller | undefined;
  if (socket.authorized) {
    const raw = socket.getPeerCertificate().raw as Buffer | undefined;
    if (raw !== undefined && raw.length > 0) {
      try {
        caller = callerFromUris(certificateUris(new Uint8Array(raw)));
      } catch {
        caller = undefined;
      }
    }
  }
  byConnection.set(key, caller ?? null);
  return caller;
}
