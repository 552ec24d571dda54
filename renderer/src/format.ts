// Words and numbers for the window: short enough for a 400 px popup.
import type { HostConnection, HostSummary, KernelState, KernelSummary } from '../../electron/shared/types';

/** `45s`, `12m 3s`, `3h 20m`, `2d 4h`: two units at most. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

const STATE_WORDS: Record<KernelState, string> = {
  starting: 'starting',
  running: 'running',
  idle: 'idle',
  busy: 'busy',
  unresponsive: 'unresponsive',
  dead: 'dead',
  unknown: 'unknown',
};

/** The state as shown, with how long for the states where that matters. */
export function kernelStateText(kernel: KernelSummary, now: number): string {
  const word = STATE_WORDS[kernel.state];
  if (kernel.state === 'busy') return `busy ${formatDuration(now - (kernel.busySince ?? kernel.stateSince))}`;
  if (kernel.state === 'unresponsive') return `unresponsive ${formatDuration(now - kernel.stateSince)}`;
  return word;
}

/** Why a kernel shows `unknown`, for its tooltip. */
export function kernelStateHelp(kernel: KernelSummary): string {
  switch (kernel.state) {
    case 'starting':
      return 'Launched, not answering yet.';
    case 'running':
      return 'The process is alive; attach to see whether it is idle or busy.';
    case 'idle':
      return 'Ready for code.';
    case 'busy':
      return 'Running code.';
    case 'unresponsive':
      return 'The process is alive but its heartbeat stopped answering.';
    case 'dead':
      return 'The kernel process is gone.';
    case 'unknown':
      return 'The host cannot be reached right now.';
  }
}

const CONNECTION_WORDS: Record<HostConnection, string> = {
  idle: 'not connected',
  connecting: 'connecting…',
  connected: 'connected',
  lost: 'connection lost',
};

export function hostConnectionText(host: HostSummary): string {
  const words = CONNECTION_WORDS[host.connection];
  if (host.connection === 'connected' && host.rttMs !== null) return `${words} · ${Math.round(host.rttMs)} ms`;
  return words;
}

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

/** Ages in minutes at most: `<1m`, `42m`, `3h 20m`, `2d 4h`. */
export function formatAge(ms: number): string {
  if (ms < 60_000) return '<1m';
  const text = formatDuration(ms);
  return ms < 3_600_000 ? text.split(' ')[0]! : text;
}
