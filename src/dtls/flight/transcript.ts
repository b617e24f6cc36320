/**
 * The handshake transcript as a running SHA-256 (the PRF hash of every e2m suite, RFC 5246 §7.4.9):
 * its digest is the session_hash of the extended master secret (RFC 7627 §3) and the
 * handshake_messages hash of both Finished messages (RFC 5246 §7.4.9).
 *
 * In DTLS each message enters with its 12-octet handshake header as if it had been sent as a single
 * fragment (fragment_offset 0, fragment_length = length), and the first ClientHello and the
 * HelloVerifyRequest stay out (RFC 6347 §4.2.6). Messages are hashed as they are added, each once;
 * nothing of them is kept.
 */
import { Sha256 } from '../../crypto/sha256.js';
import { HANDSHAKE_HEADER_LENGTH } from '../handshake/header.js';

/** The header of the message being added, and the copy a digest is taken from (calls run to completion). */
const header = new Uint8Array(HANDSHAKE_HEADER_LENGTH);
const snapshot = new Sha256();

export class Transcript {
  private readonly hash = new Sha256();
  /** The digest of the messages so far, until the next one is added. */
  private last: Uint8Array | undefined;

  /** Adds a whole handshake message (RFC 6347 §4.2.2 header, then `body`). */
  add(msgType: number, messageSeq: number, body: Uint8Array): void {
    const n = body.length;
    if (n > 0xffffff) throw new RangeError(`handshake message of ${n} octets does not fit uint24`);
    header[0] = msgType;
    header[1] = n >>> 16;
    header[2] = (n >>> 8) & 0xff;
    header[3] = n & 0xff;
    header[4] = messageSeq >>> 8;
    header[5] = messageSeq & 0xff;
    header[6] = 0; // fragment_offset
    header[7] = 0;
    header[8] = 0;
    header[9] = header[1] as number; // fragment_length = length
    header[10] = header[2] as number;
    header[11] = header[3] as number;
    this.hash.update(header).update(body);
    this.last = undefined;
  }

  /** SHA-256 of the messages added so far; the transcript stays open for more. */
  digest(): Uint8Array {
    if (this.last === undefined) {
      this.last = this.hash.copyInto(snapshot).digest();
      snapshot.wipe();
    }
    return this.last.slice();
  }

  /** Forgets every message (a client starts over with the ClientHello the server answered). */
  reset(): void {
    this.hash.reset();
    this.last = undefined;
  }
}
