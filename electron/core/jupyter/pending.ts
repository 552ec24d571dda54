// A wait that settles exactly once: by its own work, by its timeout, or by an
// abort (KernelClient.close() aborts every wait still registered in `aborts`).

export type Settle<T> = { resolve: (value: T) => void; reject: (err: unknown) => void };

/**
 * `start` begins the work and returns its cleanup, run once whichever way the
 * wait ends. `onTimeout` decides what a timeout means: reject, or resolve with
 * a fallback.
 */
export function pending<T>(
  aborts: Set<(err: unknown) => void>,
  ms: number,
  onTimeout: (s: Settle<T>) => void,
  start: (s: Settle<T>) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cleanup: () => void = () => undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      aborts.delete(settle.reject);
      cleanup();
      fn();
    };
    const settle: Settle<T> = {
      resolve: (v) => finish(() => resolve(v)),
      reject: (e) => finish(() => reject(e)),
    };
    const timer = setTimeout(() => onTimeout(settle), ms);
    aborts.add(settle.reject);
    try {
      cleanup = start(settle);
    } catch (err) {
      settle.reject(err);
    }
    // `start` may have settled synchronously, before its cleanup was known.
    if (settled) cleanup();
  });
}
