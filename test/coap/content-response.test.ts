/**
 * The plain-GET path's 2.05 Content message against coap-packet, node-coap's own codec: the same
 * octets as its encoder for every shape the path sends, and its parser reads back every field.
 */
import { generate, parse } from 'coap-packet';
import { describe, expect, it } from 'vitest';
import { contentResponseHeaderLength, writeContentResponseHeader } from '../../src/coap/content-response.js';

function ours(ack: boolean, messageId: number, token: Uint8Array, contentFormat: number | undefined, payload: Uint8Array): Buffer {
  const r = { ack, messageId, token, contentFormat };
  const out = Buffer.alloc(contentResponseHeaderLength(r, payload.length) + payload.length, 0xee);
  const at = writeContentResponseHeader(out, r, payload.length);
  out.set(payload, at);
  expect(at + payload.length).toBe(out.length);
  return out;
}

function uint(n: number): Buffer {
  const o: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) o.unshift(v % 256);
  return Buffer.from(o);
}

describe('the 2.05 Content message of the plain-GET path', () => {
  const tokens = [0, 1, 4, 8].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => 0xa0 + i)));
  const formats = [undefined, 0, 40, 255, 256, 11_542, 65_535];
  const payloads = [0, 1, 12, 13, 268, 269, 1_024].map((n) => Buffer.alloc(n, 0x61));
  const cases = tokens.flatMap((token) => formats.flatMap((cf) => payloads.flatMap((payload) => [true, false].map((ack) => ({ token, cf, payload, ack })))));

  it.each(cases.map((c) => [`tkl ${c.token.length}, cf ${String(c.cf)}, ${c.payload.length} octets, ${c.ack ? 'ACK' : 'NON'}`, c] as const))('%s', (_name, c) => {
    const messageId = (c.token.length * 7919 + c.payload.length) & 0xffff;
    const mine = ours(c.ack, messageId, c.token, c.cf, c.payload);
    const theirs = generate({
      code: '2.05',
      ack: c.ack,
      confirmable: false,
      messageId,
      token: c.token,
      options: c.cf === undefined ? [] : [{ name: 'Content-Format', value: uint(c.cf) }],
      payload: c.payload,
    }, 2_048);
    expect(mine.toString('hex')).toBe(theirs.toString('hex'));
    const p = parse(mine);
    expect(p.code).toBe('2.05');
    expect([p.ack, p.confirmable, p.reset]).toEqual([c.ack, false, false]);
    expect(p.messageId).toBe(messageId);
    expect(p.token.toString('hex')).toBe(c.token.toString('hex'));
    expect(p.payload.length).toBe(c.payload.length);
    const cf = p.options.find((o) => o.name === 'Content-Format');
    expect(cf === undefined ? undefined : cf.value.length === 0 ? 0 : cf.value.readUIntBE(0, cf.value.length)).toBe(c.cf);
  });

  it('refuses a token longer than 8 octets, a message ID or Content-Format out of range', () => {
    const out = Buffer.alloc(64);
    expect(() => writeContentResponseHeader(out, { ack: true, messageId: 1, token: Buffer.alloc(9), contentFormat: undefined }, 0)).toThrow(RangeError);
    expect(() => writeContentResponseHeader(out, { ack: true, messageId: 0x10000, token: Buffer.alloc(0), contentFormat: undefined }, 0)).toThrow(RangeError);
    expect(() => writeContentResponseHeader(out, { ack: true, messageId: 1, token: Buffer.alloc(0), contentFormat: 0x10000 }, 0)).toThrow(RangeError);
    expect(() => writeContentResponseHeader(out, { ack: true, messageId: 1, token: Buffer.alloc(0), contentFormat: 1.5 }, 0)).toThrow(RangeError);
  });
});
