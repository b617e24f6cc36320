import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/log.js';
import { SecretBytes } from '../../src/util/secret.js';

const KEY = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x80]);

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('SecretBytes', () => {
  it('never prints its value through String, JSON or inspect', () => {
    const s = new SecretBytes(KEY);
    for (const shown of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: { s } })]) {
      expect(shown).toContain('<secret:6 bytes>');
      expect(shown).not.toMatch(/deadbeef|222,\s*173/i);
    }
  });

  it('keeps its own copy and exposes it on request, and wipe() zeroes it', () => {
    const raw = new Uint8Array(KEY);
    const s = new SecretBytes(raw);
    raw.fill(0);
    expect(Array.from(s.expose())).toEqual(Array.from(KEY));
    s.wipe();
    expect(Array.from(s.expose())).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('createLogger', () => {
  it('redacts secret fields and SecretBytes in log lines', async () => {
    const out = capture();
    const log = createLogger({ name: 'test', level: 'info', destination: out.stream });
    log.info({ imsi: '001010000000001', e2mKey: 'deadbeef00', body: { key: 'cafebabe', psk: 'f00d' }, s: new SecretBytes(KEY) }, 'pushed');
    log.flush();
    await new Promise((r) => setImmediate(r));
    const line = out.text();
    expect(line).toContain('001010000000001');
    expect(line).toContain('<secret:6 bytes>');
    expect(line).not.toMatch(/deadbeef|cafebabe|f00d/);
  });
});
