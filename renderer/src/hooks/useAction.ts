import { useCallback, useEffect, useRef, useState } from 'react';
import type { KtrayErrorData } from '../../../electron/shared/types';
import { toErrorData } from '../ktray-client';

export interface ActionHandle {
  /** Label of the action in flight, e.g. `Interrupting…`; null when none. */
  pending: string | null;
  /** The last failure, shown where the action was asked. */
  error: KtrayErrorData | null;
  /** A short success note, e.g. the copied path. */
  note: string | null;
  run<T>(pendingLabel: string, action: () => Promise<T>, noteOf?: (value: T) => string | null): Promise<T | undefined>;
  clear(): void;
}

/** One async action at a time for a row or form, with its progress and its error kept together. */
export function useAction(): ActionHandle {
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<KtrayErrorData | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = useCallback(
    async <T,>(label: string, action: () => Promise<T>, noteOf?: (value: T) => string | null) => {
      setPending(label);
      setError(null);
      setNote(null);
      try {
        const value = await action();
        if (mounted.current) setNote(noteOf ? noteOf(value) : null);
        return value;
      } catch (err) {
        if (mounted.current) setError(toErrorData(err));
        return undefined;
      } finally {
        if (mounted.current) setPending(null);
      }
    },
    [],
  );
  const clear = useCallback(() => {
    setError(null);
    setNote(null);
  }, []);
  return { pending, error, note, run, clear };
}
