import { describe, expect, it } from 'vitest';
import { LossyNetwork, flight, text } from '../../support/lossy-network.js';

describe('smoke', () => {
  it('completes', async () => {
    const net = new LossyNetwork();
    const c = net.client();
    await net.flush();
    expect(c.established).toBe(true);
    console.log(net.log.map((d) => [d.id, d.toServer, d.flight, d.bytes.length]));
    c.session?.send(text('hi'));
    await net.flush();
    expect(net.events.data.length).toBe(1);
    void flight;
  });
});
