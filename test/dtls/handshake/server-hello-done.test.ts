import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';
import { decodeServerHelloDone, encodeServerHelloDone } from '../../../src/dtls/handshake/server-hello-done.js';
import { pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeBody, hex } from '../fixtures/helpers.js';

describe('ServerHelloDone (RFC 5246 §7.4.5)', () => {
  it('accepts the empty body OpenSSL sent', () => {
    const body = handshakeBody(pskCcm8.serverFlight, HandshakeType.server_hello_done);
    expect(body).toHaveLength(0);
    expect(() => decodeServerHelloDone(body)).not.toThrow();
  });

  it('encodes an empty body', () => {
    expect(encodeServerHelloDone()).toHaveLength(0);
  });

  it('throws DecodeError on any content', () => {
    expect(() => decodeServerHelloDone(hex('00'))).toThrow(DecodeError);
  });
});
