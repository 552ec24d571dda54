// Words for states and durations, shared by the menu, the tooltip and notifications.
import type { HostSummary, KernelSummary } from '../shared/types';

/** `45s`, `3m`, `1h 5m`, `2d 3h`: short enough for a menu line. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** `busy 3m`, `idle`, `dead`, ... as the kernel's line in the menu shows it. */
export function kernelStateLabel(k: KernelSummary, now: number): string {
  if (k.state === 'busy') return `busy ${formatDuration(now - (k.busySince ?? k.stateSince))}`;
  if (k.state === 'unresponsive') return `unresponsive ${formatDuration(now - k.stateSince)}`;
  if (k.state === 'unknown') return 'state unknown';
  return k.state;
}

export function hostStateLabel(h: HostSummary, now: number): string {
  switch (h.connection) {
    case 'connected':
      return 'connected';
    case 'connecting':
      return 'connecting…';
    case 'idle':
      return 'not connected';
    case 'lost':
      return `lost ${formatDuration(now - h.since)} ago`;
  }
}
