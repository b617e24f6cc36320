/** `npm run demo` (= `e2m demo`) runs the flow end to end and exits 0. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('e2m demo', () => {
  it('attaches, derives, handshakes and gets a CoAP 2.05 greeting naming the psk_identity', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'bin', 'e2m.js'), 'demo'], { timeout: 20_000 }, (err, out) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: out });
      });
    });
    expect(code).toBe(0);
    const identity = /psk_identity = (e2m:[0-9a-f]{8}:\S+)/.exec(stdout)?.[1];
    expect(identity).toBeDefined();
    expect(stdout).toContain('handshake complete: TLS_PSK_WITH_AES_128_CCM_8');
    expect(stdout).toContain(`2.05 "Hello, ${identity}!"`);
  });
});
