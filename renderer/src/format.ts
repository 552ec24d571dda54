// Words and numbers for the window: the shared ones every face uses, plus what
// only a 400 px popup needs.
import type { HostSummary, PlotMime, PlotSummary } from '../../electron/shared/types';

import { hostStateLabel } from '../../electron/shared/format';

export { formatDuration, hostStateLabel, transportSentence, transportText, kernelDisplayName, kernelStateHelp, kernelStateLabel, listenWarning, serverAddress, serverAppLabel } from '../../electron/shared/format';

/** `user@hostname:port`, leaving out what is default or unknown. */
export function hostAddress(host: HostSummary): string {
  const user = host.user ? `${host.user}@` : '';
  const port = host.port && host.port !== 22 ? `:${host.port}` : '';
  return `${user}${host.hostname}${port}`;
}

/** Shortens `7f3c…` uuids so a row keeps to one line; pid-named kernels stay whole. */
export function shortKernelName(name: string): string {
  return name.length > 14 ? `${name.slice(0, 8)}…` : name;
}

/** The host's connection as the window shows it: the shared words, and the round trip when measured. */
export function hostConnectionText(host: HostSummary, now: number): string {
  const words = hostStateLabel(host, now);
  return host.connection === 'connected' && host.rttMs !== null && host.id !== 'local' ? `${words} · ${Math.round(host.rttMs)} ms` : words;
}

/** `12 kB`, `1.4 MB`: sizes of images. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${Math.round(n / 1000)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

const PLOT_TYPES: Record<PlotMime, string> = { 'image/png': 'PNG', 'image/jpeg': 'JPEG', 'image/svg+xml': 'SVG' };

export function plotTypeLabel(mime: PlotMime): string {
  return PLOT_TYPES[mime] ?? mime;
}

/** Which frontend's request made the plot: its Jupyter session (short) and user, as iopub named them. */
export function plotClientText(plot: Pick<PlotSummary, 'client'>): string | null {
  const { session, username } = plot.client;
  if (!session && !username) return null;
  return `from ${session ? `client ${session.slice(0, 8)}` : 'a client'}${username ? ` of ${username}` : ''}`;
}
