/**
 * The handshake states of RFC 6347 §4.2.4 (Figure 1). Each endpoint is in exactly one:
 *  - preparing: building the next flight (or waiting for an asynchronous PSK lookup);
 *  - sending:   transmitting the flight (momentary here: sending is synchronous);
 *  - waiting:   the flight is out, its retransmission timer runs; a timer expiry or a retransmitted
 *               previous flight from the peer sends it again;
 *  - finished:  the handshake is done; the last flight is kept to answer a retransmitted final flight.
 */
export const HandshakeState = {
  preparing: 'preparing',
  sending: 'sending',
  waiting: 'waiting',
  finished: 'finished',
} as const;

export type HandshakeState = (typeof HandshakeState)[keyof typeof HandshakeState];
