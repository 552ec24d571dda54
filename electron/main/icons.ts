// Which tray picture shows which state, per platform. Pure, so tested without images.
import type { HostSummary, KernelSummary } from '../shared/types';
import type { Platform } from './platform';

export type OverallState = 'idle' | 'busy' | 'problem';
export const OVERALL_STATES: readonly OverallState[] = ['idle', 'busy', 'problem'];

/**
 * problem: a host is lost or carries an error, or a kernel we watch died or
 * stopped answering; busy: some kernel computes; idle: otherwise. Stale
 * connection files of unwatched dead kernels do not count, or the icon would
 * stay red for a file nobody looks at.
 */
export function overallState(hosts: readonly HostSummary[], kernels: readonly KernelSummary[]): OverallState {
  const hostTrouble = hosts.some((h) => h.connection === 'lost' || h.error !== null);
  const kernelTrouble = kernels.some((k) => k.watched && (k.state === 'dead' || k.state === 'unresponsive'));
  if (hostTrouble || kernelTrouble) return 'problem';
  if (kernels.some((k) => k.state === 'busy')) return 'busy';
  return 'idle';
}

export interface TrayIconSpec {
  /** File in the assets directory; Electron picks up a `@2x` sibling by itself. */
  file: string;
  /** macOS template image: black + alpha, recoloured by the menu bar for light and dark. */
  template: boolean;
}

/**
 * macOS: idle is a template image, busy/problem are coloured (a template
 * cannot carry a colour). Windows: coloured PNGs with @2x for high DPI.
 * Linux: one bitmap at scale 1 and no @2x sibling, because AppIndicator gets
 * a single pixmap and a multi-resolution image may be sent at the wrong size.
 */
export function trayIconSpec(platform: Platform, state: OverallState): TrayIconSpec {
  if (platform === 'darwin') {
    return state === 'idle' ? { file: 'trayTemplate.png', template: true } : { file: `tray-${state}.png`, template: false };
  }
  if (platform === 'win32') return { file: `tray-${state}.png`, template: false };
  return { file: `tray-linux-${state}.png`, template: false };
}

export function trayToolTip(state: OverallState, hosts: readonly HostSummary[], kernels: readonly KernelSummary[]): string {
  const busy = kernels.filter((k) => k.state === 'busy').length;
  const alive = kernels.filter((k) => k.alive).length;
  const lost = hosts.filter((h) => h.connection === 'lost').map((h) => h.id);
  const parts = [`Kernel Tray: ${alive} kernel${alive === 1 ? '' : 's'}`];
  if (busy) parts.push(`${busy} busy`);
  if (lost.length) parts.push(`lost: ${lost.join(', ')}`);
  else if (state === 'problem') parts.push('needs attention');
  return parts.join(', ');
}
