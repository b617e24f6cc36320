import { describe, expect, it } from 'vitest';
import { DtlsSession, type SessionConnection } from '../../../src/dtls/endpoint/session.js';
import { utf8 } from '../../../src/util/bytes.js';

const conn: SessionConnection = { send: () => undefined, close: () => undefined, closed: false };

function session(identity: Uint8Array): DtlsSession {
  return new DtlsSession(conn, {
    remoteAddress: '192.0.2.1',
    remotePort: 5684,
    identity,
    cipherSuite: 'TLS_PSK_WITH_AES_128_CCM_8',
    extendedMasterSecret: true,
  });
}

describe('DtlsSession identity', () => {
  it('gives back the identity octets, every value 0..255 included, as the same array each time', () => {
    const octets = Uint8Array.from({ length: 256 }, (_, i) => i);
    const s = session(octets);
    octets.fill(0); // the session keeps its own copy
    expect(s.identity).toEqual(Uint8Array.from({ length: 256 }, (_, i) => i));
    expect(s.identity).toBe(s.identity);
  });

  it('reads the identity as UTF-8 text: ASCII, multi-octet characters, and U+FFFD for invalid sequences', () => {
    expect(session(utf8('e2m:1a2b3c4d:sensor-17@iot.example.com')).identityText).toBe('e2m:1a2b3c4d:sensor-17@iot.example.com');
    expect(session(utf8('e2m:1a2b3c4d:capteur-é-温度')).identityText).toBe('e2m:1a2b3c4d:capteur-é-温度');
    expect(session(new Uint8Array([0x61, 0xff, 0x62])).identityText).toBe('a\ufffdb');
  });

  it('copies a view of a larger buffer, not the whole buffer', () => {
    const datagram = utf8('xxdevice-1yy');
    const s = session(datagram.subarray(2, 10));
    expect(s.identityText).toBe('device-1');
    expect(s.identity).toEqual(utf8('device-1'));
  });
});
