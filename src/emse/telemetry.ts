/**
 * /telemetry (DESIGN.md §7): POST stores JSON readings, GET lists the caller's own. Readings are kept
 * in memory per device (the application identity of an `e2m:<kid>:<identity>` psk_identity, so a
 * device keeps its readings across re-attachments; any other psk_identity as a whole), in a ring of
 * the last `perIdentity` readings; the least recently written device is forgotten first when more
 * than `maxIdentities` have written. A device never sees another device's readings.
 *
 * Bad input (RFC 7252 §5.9.2, diagnostic payload §5.5.2):
 *   4.13 Request Entity Too Large (with Size1 = the limit) above `maxBytes`, or a Size1 announcing it
 *   4.15 Unsupported Content-Format for a Content-Format other than application/json (50)
 *   4.00 Bad Request for anything but a JSON object or a non-empty array of objects
 */
import type { IncomingMessage, OutgoingMessage } from 'coap';
import { parseBestPskIdentity } from '../kdf/best.js';
import type { Resource, ResourceContext } from './coap-app.js';

export interface TelemetryOptions {
  /** Largest accepted payload, octets (default 8192). */
  readonly maxBytes?: number;
  /** Readings kept per device (default 100). */
  readonly perIdentity?: number;
  /** Devices kept (default 10 000). */
  readonly maxIdentities?: number;
  /** Wall-clock milliseconds for receivedAt (default Date.now). */
  readonly wallClock?: () => number;
}

/** One stored reading. */
export interface TelemetryReading {
  /** When the EMSE received it (ISO 8601). */
  readonly receivedAt: string;
  readonly reading: Readonly<Record<string, unknown>>;
}

/** The /telemetry resource plus read access to its store. */
export interface TelemetryResource extends Resource {
  /** The readings stored for `device` (oldest first). */
  readingsOf(device: string): readonly TelemetryReading[];
}

/** The device a psk_identity stands for: the application identity of `e2m:<kid>:<identity>`, else itself. */
export function telemetryDevice(identity: string): string {
  try {
    return parseBestPskIdentity(Buffer.from(identity, 'utf8')).appIdentity;
  } catch {
    return identity;
  }
}

/** Creates a /telemetry resource with its own store. */
export function telemetryResource(o: TelemetryOptions = {}): TelemetryResource {
  const maxBytes = o.maxBytes ?? 8_192;
  const perIdentity = o.perIdentity ?? 100;
  const maxIdentities = o.maxIdentities ?? 10_000;
  const wallClock = o.wallClock ?? Date.now;
  const store = new Map<string, TelemetryReading[]>();

  const add = (device: string, readings: readonly Record<string, unknown>[]): number => {
    const ring = store.get(device) ?? [];
    store.delete(device);
    store.set(device, ring);
    const receivedAt = new Date(wallClock()).toISOString();
    for (const reading of readings) ring.push({ receivedAt, reading });
    if (ring.length > perIdentity) ring.splice(0, ring.length - perIdentity);
    while (store.size > maxIdentities) {
      const oldest = store.keys().next().value;
      if (oldest === undefined) break;
      store.delete(oldest);
    }
    return ring.length;
  };

  const post = (req: IncomingMessage, res: OutgoingMessage, ctx: ResourceContext): void => {
    const size1 = req.headers.Size1;
    if (req.payload.length > maxBytes || (typeof size1 === 'number' && size1 > maxBytes)) {
      res.setOption('Size1', maxBytes);
      diagnostic(res, '4.13', `readings larger than ${maxBytes} octets`);
      return;
    }
    const format = req.headers['Content-Format'];
    if (format !== undefined && format !== 'application/json') {
      diagnostic(res, '4.15', `Content-Format must be application/json (50), got ${String(format)}`);
      return;
    }
    const parsed = parseReadings(req.payload);
    if (typeof parsed === 'string') {
      diagnostic(res, '4.00', parsed);
      return;
    }
    const stored = add(telemetryDevice(ctx.identity), parsed);
    res.code = '2.04';
    res.setOption('Content-Format', 'application/json');
    res.end(JSON.stringify({ accepted: parsed.length, stored }));
  };

  const get = (_req: IncomingMessage, res: OutgoingMessage, ctx: ResourceContext): void => {
    const device = telemetryDevice(ctx.identity);
    res.setOption('Content-Format', 'application/json');
    res.end(JSON.stringify({ identity: device, readings: store.get(device) ?? [] }));
  };

  return {
    path: 'telemetry',
    attributes: 'rt="e2m.telemetry";ct=50',
    methods: { GET: get, POST: post },
    readingsOf: (device) => [...(store.get(device) ?? [])],
    close: () => store.clear(),
  };
}

/** A JSON object or a non-empty array of objects, or the reason it is not. */
function parseReadings(payload: Buffer): Record<string, unknown>[] | string {
  if (payload.length === 0) return 'empty payload: send a JSON object or an array of objects';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return 'payload is not UTF-8';
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `payload is not JSON: ${err instanceof Error ? err.message.slice(0, 100) : 'parse error'}`;
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(value)) return [value];
  if (!Array.isArray(value)) return 'expected a JSON object or an array of objects';
  if (value.length === 0) return 'empty array: send at least one reading';
  if (!value.every(isObject)) return 'every element of the array must be a JSON object';
  return value;
}

function diagnostic(res: OutgoingMessage, code: string, text: string): void {
  res.code = code;
  res.end(text);
}
