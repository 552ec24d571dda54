import { useCallback, useEffect, useReducer, useState } from 'react';
import type { AgentEvent, KtrayErrorData } from '../../../electron/shared/types';
import { type AgentAction, type AgentState, initialAgentState, reduceAgentState } from '../agent-state';
import { type KtrayClient, toErrorData } from '../ktray-client';

export interface AgentStateHandle {
  state: AgentState;
  /** Why the first load failed; the window shows it instead of the host list. */
  loadError: KtrayErrorData | null;
  /** Fold an answer the window got (a started kernel, a saved host) into the state. */
  apply(action: AgentAction): void;
  reload(): void;
}

/**
 * Loads hosts, kernels and the plots' metadata once, then follows the agent's pushed events; it never polls.
 * Events that arrive while the snapshot is in flight are held and replayed on top of it,
 * in order, so a change made during the load is not lost.
 */
export function useAgentState(client: KtrayClient): AgentStateHandle {
  const [state, dispatch] = useReducer(reduceAgentState, initialAgentState);
  const [loadError, setLoadError] = useState<KtrayErrorData | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let held: AgentEvent[] | null = [];
    let cancelled = false;
    const unsubscribe = client.onEvent((event) => {
      if (cancelled) return;
      if (held) held.push(event);
      else dispatch({ type: 'event', event });
    });
    setLoadError(null);
    Promise.all([client.hosts.list({}), client.kernels.list({}), client.plots.list({}), client.servers.list({})])
      .then(([hosts, kernels, plots, servers]) => {
        const queued = held ?? [];
        held = null;
        if (cancelled) return;
        dispatch({ type: 'loaded', hosts, kernels, servers, plots: plots.plots });
        for (const event of queued) dispatch({ type: 'event', event });
      })
      .catch((err: unknown) => {
        held = null;
        if (!cancelled) setLoadError(toErrorData(err));
      });
    return () => {
      cancelled = true;
      unsubscribe();
    };
  }, [client, generation]);

  const apply = useCallback((action: AgentAction) => dispatch(action), []);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { state, loadError, apply, reload };
}
