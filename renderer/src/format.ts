// Words and numbers for the window: the shared ones every face uses, plus what
// only a 400 px popup needs.
import type { HostSummary } from '../../electron/shared/types';

import { hostStateLabel } from '../../electron/shared/format';

export { formatDuration, hostStateLabel, kernelStateHelp, kernelStateLabel, listenWarning } from '../../electron/shared/format';

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
