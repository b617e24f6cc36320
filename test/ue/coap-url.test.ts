/** coaps URIs (RFC 7252 §6.2, §6.4), Content-Format names and response code names as the UE uses them. */
import { describe, expect, it } from 'vitest';
import { describeCoapCode, isTextFormat, parseCoapsUrl, parseContentFormat } from '../../src/ue/coap-url.js';

describe('parseCoapsUrl', () => {
  it('splits host, port, path and query, percent-decoding each segment', () => {
    expect(parseCoapsUrl('coaps://emse.example:61616/a/b%2Fc/?x=1&y=%C3%A9')).toEqual({
      host: 'emse.example',
      port: 61616,
      path: ['a', 'b/c'],
      query: ['x=1', 'y=é'],
    });
  });

  it('defaults to port 5684 and takes IPv6 literals without brackets', () => {
    expect(parseCoapsUrl('coaps://[::1]/hello')).toMatchObject({ host: '::1', port: 5684, path: ['hello'], query: [] });
    expect(parseCoapsUrl('coaps://127.0.0.1:5684')).toMatchObject({ path: [], query: [] });
  });

  it.each([
    ['coap://127.0.0.1/hello', /only coaps/],
    ['https://127.0.0.1/hello', /only coaps/],
    ['coaps://127.0.0.1/hello#frag', /fragment/],
    ['coaps://user@127.0.0.1/hello', /user information/],
    ['coaps://127.0.0.1:0/hello', /port/],
    ['not a url', /not a URL/],
    ['coaps://127.0.0.1/%E0%A4%A', /percent-encoding/],
    [`coaps://127.0.0.1/${'a'.repeat(256)}`, /255 octets/],
  ])('refuses %s, naming the option', (url, why) => {
    expect(() => parseCoapsUrl(url, '<url>')).toThrow(why);
    expect(() => parseCoapsUrl(url, '<url>')).toThrow(/^<url>: /);
  });
});

describe('Content-Format and codes', () => {
  it('takes names and numbers, refuses the rest naming the flag', () => {
    expect(parseContentFormat('text/plain')).toBe(0);
    expect(parseContentFormat('application/json')).toBe(50);
    expect(parseContentFormat('60')).toBe(60);
    expect(() => parseContentFormat('text/html', '--content-format')).toThrow(/^--content-format: unknown format/);
    expect(() => parseContentFormat('70000', '--content-format')).toThrow(/0\.\.65535/);
  });

  it('prints text formats as text and binary payloads as binary', () => {
    expect(isTextFormat('text/plain', Buffer.from('hi'))).toBe(true);
    expect(isTextFormat(undefined, Buffer.from('hi\n'))).toBe(true);
    expect(isTextFormat(undefined, Uint8Array.of(0, 1, 2))).toBe(false);
    expect(isTextFormat('application/cbor', Buffer.from('hi'))).toBe(false);
    expect(isTextFormat('text/plain', Uint8Array.of(0xff))).toBe(false);
  });

  it('names the codes of RFC 7252 §12.1.2', () => {
    expect(describeCoapCode('2.05')).toBe('2.05 Content');
    expect(describeCoapCode('4.04')).toBe('4.04 Not Found');
    expect(describeCoapCode('4.99')).toBe('4.99');
  });
});
