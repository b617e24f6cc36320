/** Runs `count` independent tasks with at most `concurrency` of them in flight at once. */

/**
 * Calls `task(i)` for i = 0..count-1, keeping `concurrency` calls in flight, and resolves with the
 * results in index order. A task must not reject (turn failures into results); `onDone` sees each
 * result as it arrives (progress).
 */
export async function runPool<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
  onDone: (done: number, result: T) => void = () => undefined,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const r = await task(i);
      results[i] = r;
      onDone(++done, r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, () => worker()));
  return results;
}
