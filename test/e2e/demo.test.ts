/** `npm run demo` (= `e2m demo`) runs the whole flow across real processes and exits 0. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('e2m demo', () => {
  it('attaches, fetches the key mid-handshake, and runs GET, POST and Observe over the session', async () => {
    const started = Date.now();
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'bin', 'e2m.js'), 'demo'], { timeout: 30_000 }, (err, out, errOut) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: out, stderr: errOut });
      });
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const kid = /attached with kid ([0-9a-f]{8})/.exec(stdout)?.[1];
    expect(kid).toBeDefined();
    expect(stdout).toContain(`e2m_int_key pushed to the EMKS before the answer: true`);
    expect(stdout).toMatch(new RegExp(`5-7 +emse-server: GET /v1/e2m-keys \\(identity, kid ${kid}\\) -> 201`));
    expect(stdout).toContain(`GET /hello -> 2.05 "Hello, e2m:${kid}:sensor-17@iot.example.com!"`);
    expect(stdout).toMatch(/POST \/telemetry .* -> 2\.04/);
    expect(stdout).toMatch(/Observe \/time notification 3: 2\.05/);
    expect(stdout).toContain('every process stopped');
  });
});
