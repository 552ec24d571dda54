import { describe, expect, it } from 'vitest';
import { pending } from './pending';

describe('pending', () => {
  it('settles once, runs cleanup once and unregisters its abort', async () => {
    const aborts = new Set<(err: unknown) => void>();
    let cleanups = 0;
    const p = pending<number>(aborts, 60_000, ({ reject }) => reject(new Error('timeout')), ({ resolve }) => {
      resolve(1);
      resolve(2);
      return () => cleanups++;
    });
    expect(await p).toBe(1);
    expect(cleanups).toBe(1);
    expect(aborts.size).toBe(0);
  });

  it('lets the timeout handler choose a fallback value', async () => {
    const aborts = new Set<(err: unknown) => void>();
    const p = pending<string>(aborts, 1, ({ resolve }) => resolve('fallback'), () => () => undefined);
    expect(await p).toBe('fallback');
    expect(aborts.size).toBe(0);
  });

  it('rejects through its registered abort', async () => {
    const aborts = new Set<(err: unknown) => void>();
    const p = pending<void>(aborts, 60_000, () => undefined, () => () => undefined);
    expect(aborts.size).toBe(1);
    for (const abort of aborts) abort(new Error('closed'));
    await expect(p).rejects.toThrow('closed');
    expect(aborts.size).toBe(0);
  });

  it('rejects when start throws', async () => {
    const p = pending<void>(new Set(), 60_000, () => undefined, () => {
      throw new Error('boom');
    });
    await expect(p).rejects.toThrow('boom');
  });
});
