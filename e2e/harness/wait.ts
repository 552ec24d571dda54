// Waiting in tests: poll a condition until it holds, and fail with words when
// it does not in time (never by hanging until the test runner's timeout).
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface UntilOptions {
  /** Default 15 s: a safety net, not a measurement. */
  timeoutMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
  intervalMs?: number;
}

/** Resolves once `cond` holds; rejects with `what` after the timeout. */
export async function until(cond: () => boolean | Promise<boolean>, opts: UntilOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs ?? 15_000} ms waiting for ${opts.what ?? 'a condition'}`);
    await sleep(opts.intervalMs ?? 10);
  }
}

/** The first value `get` returns that is not undefined; rejects like until(). */
export async function eventually<T>(get: () => T | undefined | Promise<T | undefined>, opts: UntilOptions = {}): Promise<T> {
  let value: T | undefined;
  await until(async () => (value = await get()) !== undefined, opts);
  return value as T;
}
