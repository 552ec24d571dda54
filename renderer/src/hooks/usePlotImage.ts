import { useEffect, useState } from 'react';
import { PLOT_MIMES, type KtrayErrorData, type PlotSummary } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { toErrorData } from '../ktray-client';

/** Images this window holds as data: URLs, by `id@version`; the oldest go past the cap (the agent keeps them all). */
const cache = new Map<string, string>();
const CACHE_ENTRIES = 40;

function remember(key: string, url: string): void {
  cache.delete(key);
  cache.set(key, url);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

/**
 * A plot's image as a data: URL (the window's CSP allows images from data: only, never
 * from the network), fetched from the agent by id when first shown and again after an update.
 * An SVG drawn by <img> runs no script.
 */
export function usePlotImage(plot: Pick<PlotSummary, 'id' | 'version' | 'mime'>): { url: string | null; error: KtrayErrorData | null } {
  const { client } = useAgent();
  const key = `${plot.id}@${plot.version}`;
  const [state, setState] = useState<{ key: string; url: string | null; error: KtrayErrorData | null }>(() => ({ key, url: cache.get(key) ?? null, error: null }));
  useEffect(() => {
    const known = cache.get(key);
    if (known) {
      setState({ key, url: known, error: null });
      return;
    }
    let cancelled = false;
    setState((s) => (s.key === key ? s : { key, url: null, error: null }));
    client.plots
      .get({ id: plot.id })
      .then(({ plot: got, base64 }) => {
        if (!(PLOT_MIMES as readonly string[]).includes(got.mime)) throw new Error(`The agent sent a plot of type ${got.mime}, which the window does not show.`);
        const url = `data:${got.mime};base64,${base64}`;
        remember(`${got.id}@${got.version}`, url);
        if (!cancelled) setState({ key, url, error: null });
      })
      .catch((err: unknown) => {
        if (!cancelled) setState({ key, url: null, error: toErrorData(err) });
      });
    return () => {
      cancelled = true;
    };
  }, [client, key, plot.id]);
  return state.key === key ? { url: state.url, error: state.error } : { url: cache.get(key) ?? null, error: null };
}
