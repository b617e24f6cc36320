/**
 * The process launcher of src/cli/e2m/stack.ts, loaded from the built package (dist/). Its `binPath`
 * resolves bin/ relative to its own file, which is right for dist/cli/e2m/ but not for the copy that
 * tsc -p tsconfig.bench.json compiles into dist-bench/src/cli/e2m/ (there is no dist-bench/bin).
 * The bin/ shims run dist/ anyway, so the launcher is taken from there; its types come from src.
 */
import type * as StackModule from '../../src/cli/e2m/stack.js';

export type { Stack, Subscriber } from '../../src/cli/e2m/stack.js';
export type RoleProcess = StackModule.RoleProcess;

/** stack.js of dist/ (built by `npm run build`, which `npm run bench` runs first). */
export async function builtStack(): Promise<typeof StackModule> {
  // dist-bench/bench/lib/ → the package root.
  const url = new URL('../../../dist/cli/e2m/stack.js', import.meta.url);
  return (await import(url.href)) as typeof StackModule;
}
