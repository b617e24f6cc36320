import { describe, expect, it } from 'vitest';
import {
  PSK_IDENTITY_MAX_OCTETS,
  akmaPskIdentity,
  bestPskIdentity,
  parseAkid,
  parseAkmaPskIdentity,
  parseBestPskIdentity,
  parseScefPskIdentity,
  renderAkid,
  scefPskIdentity,
} from '../../src/kdf/index.js';
import { ConfigError, DecodeError, toHex, utf8 } from '../../src/util/index.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectConfigError(fn: () => unknown, option: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(ConfigError);
  expect((e as ConfigError).option).toBe(option);
}

function expectDecodeError(fn: () => unknown, offset?: number): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(DecodeError);
  expect((e as DecodeError).code).toBe('E_DECODE');
  expect((e as DecodeError).field).toBe('psk_identity');
  if (offset !== undefined) expect((e as DecodeError).offset).toBe(offset);
}

const bytes = (...octets: number[]): Uint8Array => Uint8Array.from(octets);

describe('best psk_identity: e2m:<kid>:<application identity>', () => {
  it('formats the DESIGN.md §4 example', () => {
    const id = bestPskIdentity('1a2b3c4d', 'sensor-17@iot.example.com');
    expect(Buffer.from(id).toString('utf8')).toBe('e2m:1a2b3c4d:sensor-17@iot.example.com');
  });

  it('allows exactly 128 octets and rejects 129', () => {
    const app128 = 'a'.repeat(PSK_IDENTITY_MAX_OCTETS - 13);
    expect(bestPskIdentity('00000000', app128).length).toBe(128);
    expectConfigError(() => bestPskIdentity('00000000', `${app128}b`), 'appIdentity');
  });

  it('counts octets, not characters', () => {
    const app = `${'a'.repeat(PSK_IDENTITY_MAX_OCTETS - 13 - 2)}é`; // 114 characters, 115 octets
    expect(bestPskIdentity('00000000', app).length).toBe(128);
    expectConfigError(() => bestPskIdentity('00000000', `a${app}`), 'appIdentity');
  });

  it.each([
    ['uppercase', 'AE47BF35'],
    ['seven digits', 'ae47bf3'],
    ['nine digits', 'ae47bf351'],
    ['not hex', 'ae47bfzz'],
    ['empty', ''],
  ])('rejects a kid that is %s', (_n, kid) => {
    expectConfigError(() => bestPskIdentity(kid, 'dev@example.com'), 'kid');
  });

  it.each([
    ['empty', ''],
    ['with a space', 'dev 1@example.com'],
    ['with a newline', 'dev\n@example.com'],
    ['with NUL', 'dev\u0000'],
    ['with a zero-width space', 'dev\u200b@example.com'],
    ['with a lone surrogate', 'dev\ud800'],
    ['not a string', 17 as unknown as string],
  ])('rejects an application identity %s', (_n, app) => {
    expectConfigError(() => bestPskIdentity('00000000', app), 'appIdentity');
  });

  it.each([
    ['sensor-17@iot.example.com'],
    ['urn:dev:ops:17'],
    ['capteur-été@usine.example.fr'],
    ['工場-センサー@例え.jp'],
    ['x'],
  ])('round-trips %s', (app) => {
    expect(parseBestPskIdentity(bestPskIdentity('deadbeef', app))).toEqual({ kid: 'deadbeef', appIdentity: app });
  });

  it('parses a 128-octet identity', () => {
    const id = utf8(`e2m:01234567:${'z'.repeat(115)}`);
    expect(id.length).toBe(128);
    expect(parseBestPskIdentity(id).appIdentity).toBe('z'.repeat(115));
  });

  it.each([
    ['129 octets', utf8(`e2m:01234567:${'z'.repeat(116)}`), 0],
    ['empty', new Uint8Array(0), 0],
    ['invalid UTF-8 (0xFF)', Uint8Array.from([...utf8('e2m:01234567:ab'), 0xff]), 0],
    ['overlong UTF-8', Uint8Array.from([...utf8('e2m:01234567:'), 0xc0, 0xaf]), 0],
    ['truncated UTF-8', Uint8Array.from([...utf8('e2m:01234567:a'), 0xe2, 0x82]), 0],
    ['encoded surrogate', Uint8Array.from([...utf8('e2m:01234567:a'), 0xed, 0xa0, 0x80]), 0],
    ['wrong prefix case', utf8('E2M:01234567:dev'), 0],
    ['wrong prefix', utf8('e2n:01234567:dev'), 0],
    ['BOM before the prefix', Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('e2m:01234567:dev')]), 0],
    ['uppercase kid', utf8('e2m:0123456A:dev'), 4],
    ['short kid', utf8('e2m:0123456:dev'), 4],
    ['no separator after kid', utf8('e2m:01234567-dev'), 12],
    ['long kid', utf8('e2m:012345678:dev'), 12],
    ['empty identity', utf8('e2m:01234567:'), 13],
    ['identity with space', utf8('e2m:01234567:de v'), 13],
    ['identity with control', utf8('e2m:01234567:dev\u0007'), 13],
  ])('rejects %s', (_n, b, offset) => {
    expectDecodeError(() => parseBestPskIdentity(b), offset);
  });

  it('rejects a non-Uint8Array', () => {
    expectDecodeError(() => parseBestPskIdentity('e2m:01234567:dev' as unknown as Uint8Array));
  });
});

describe('scef psk_identity: guti:<GUTI>', () => {
  it('formats and parses', () => {
    const id = scefPskIdentity('00101-8001-01-c0ffee01');
    expect(toHex(id)).toBe(toHex(utf8('guti:00101-8001-01-c0ffee01')));
    expect(parseScefPskIdentity(id)).toEqual({ guti: '00101-8001-01-c0ffee01' });
  });

  it('rejects bad GUTIs and over-long identities', () => {
    expectConfigError(() => scefPskIdentity(''), 'guti');
    expectConfigError(() => scefPskIdentity('a b'), 'guti');
    expect(scefPskIdentity('g'.repeat(123)).length).toBe(128);
    expectConfigError(() => scefPskIdentity('g'.repeat(124)), 'guti');
  });

  it('rejects malformed received identities', () => {
    expectDecodeError(() => parseScefPskIdentity(utf8('guti:')), 5);
    expectDecodeError(() => parseScefPskIdentity(utf8('GUTI:123')), 0);
    expectDecodeError(() => parseScefPskIdentity(bytes(0x67, 0x75, 0x74, 0x69, 0x3a, 0x80)), 0);
  });
});

describe('AKMA: A-KID and psk_identity 3GPP-AKMA ‖ A-KID', () => {
  const aTid = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const realm = 'mnc001.mcc001.3gppnetwork.org';

  it('renders <RID>.<A-TID base64url>@<realm> and parses it back', () => {
    const akid = renderAkid('0', aTid, realm);
    expect(akid).toBe(`0.${Buffer.from(aTid).toString('base64url')}@${realm}`);
    expect(akid.includes('=')).toBe(false);
    const parsed = parseAkid(akid);
    expect(parsed.rid).toBe('0');
    expect(toHex(parsed.aTid)).toBe(toHex(aTid));
    expect(parsed.realm).toBe(realm);
    const psk = akmaPskIdentity(akid);
    expect(Buffer.from(psk).toString('utf8')).toBe(`3GPP-AKMA${akid}`);
  });

  it.each([
    ['rid', () => renderAkid('12345', aTid, realm)],
    ['rid', () => renderAkid('a1', aTid, realm)],
    ['rid', () => renderAkid('', aTid, realm)],
    ['aTid', () => renderAkid('1', new Uint8Array(0), realm)],
    ['realm', () => renderAkid('1', aTid, 'bad realm')],
    ['realm', () => renderAkid('1', aTid, '-x.example')],
    ['realm', () => renderAkid('1', aTid, 'a..example')],
    ['realm', () => renderAkid('1', aTid, '')],
    ['akid', () => akmaPskIdentity('1.AAAA')],
    ['akid', () => akmaPskIdentity(`1.AAAA@${'a'.repeat(63)}.${'b'.repeat(60)}`)],
  ])('rejects a bad %s', (option, fn) => {
    expectConfigError(fn, option);
  });

  it.each([
    ['padding', `1.AAE=@${realm}`],
    ['non-canonical trailing bits', `1.AB@${realm}`],
    ['standard base64 characters', `1.A+/A@${realm}`],
    ['empty A-TID', `1.@${realm}`],
    ['no realm', '1.AAAA@'],
    ['no dot', `1AAAA@${realm}`],
  ])('parseAkid rejects %s', (_n, akid) => {
    expect(thrown(() => parseAkid(akid))).toBeInstanceOf(DecodeError);
  });

  it('parseAkmaPskIdentity rejects a wrong prefix and a bad A-KID', () => {
    expectDecodeError(() => parseAkmaPskIdentity(utf8(`3GPP-AKMX1.AAAA@${realm}`)), 0);
    expectDecodeError(() => parseAkmaPskIdentity(utf8(`3GPP-AKMA12345.AAAA@${realm}`)), 9);
  });
});
