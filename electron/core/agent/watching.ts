// Which kernels are watched (attached, pinned, or started here) and what their
// watches say: states into the kernel table, deaths confirmed with the host
// before they are told, failed watches shown with their reason and retried
// when the host comes back.
import type { AgentSettings, KernelSummary, LocalChannels } from '../../shared/types';
import type { Host } from '../hosts/host';
import { KernelMonitor, type MonitorOptions } from '../kernels/kernel-monitor';
import { errorText, logger } from '../util/logger';
import type { KernelTable } from './kernel-table';

const log = logger('watching');

export interface WatchingOptions {
  table: KernelTable;
  host: (hostId: string) => Host;
  /** Where a kernel's channels are reached from (see Attachments). */
  tunnelHost?: (k: KernelSummary) => Host;
  isHostUp: (hostId: string) => boolean;
  settings: () => AgentSettings;
  /** Addresses other than its host's loopback allowed for a kernel (its own tunnels may go there). */
  allowed?: (id: string) => readonly string[];
  /** Asks the host now whether this kernel's process still runs (one listing of its host). */
  confirm: (id: string) => Promise<void>;
  /** Beat timing, for tests. */
  monitor?: Pick<MonitorOptions, 'intervalMs' | 'misses'>;
  /** What the watches hear on iopub, for the plot store. */
  onIopub?: MonitorOptions['onIopub'];
}

export class Watching {
  /** Kernels that should be watched while they live. */
  private readonly wanted = new Map<string, { local: LocalChannels | null }>();
  private readonly monitor: KernelMonitor;
  private readonly confirming = new Set<string>();

  constructor(private readonly opts: WatchingOptions) {
    this.monitor = new KernelMonitor({
      ...opts.monitor,
      isHostUp: opts.isHostUp,
      onIopub: opts.onIopub,
      onState: (id, state, extra) => this.onState(id, state, extra),
      onFailed: (id, reason) => {
        log.warn(`watching ${id} failed: ${reason}`);
        this.opts.table.watchFailed(id, reason);
      },
    });
  }

  rtt(hostId: string): number | null {
    return this.monitor.rtt(hostId);
  }

  isWanted(id: string): boolean {
    return this.wanted.has(id);
  }

  /**
   * Watch this kernel while it lives, through `local` (its attachment's
   * listeners) or tunnels of its own when null. Calling again with other
   * listeners moves the watch onto them.
   */
  want(id: string, local: LocalChannels | null, opts: { delayMs?: number } = {}): void {
    this.wanted.set(id, { local });
    const current = this.monitor.sharedChannels(id);
    if (current !== undefined && sameChannels(current, local)) return;
    this.begin(id, opts.delayMs);
  }

  /** Stop watching (unpinned and detached). */
  unwant(id: string): void {
    this.wanted.delete(id);
    this.monitor.unwatch(id);
    this.opts.table.watchStopped(id);
  }

  /** The kernel is dead or gone: nothing to watch until it lives again. */
  dropped(id: string): void {
    this.monitor.unwatch(id);
  }

  /** A fresh watch on a new process (after a restart); kernel_info settles its state. */
  renew(id: string): void {
    if (this.wanted.has(id)) this.begin(id);
  }

  pause(id: string): void {
    this.monitor.pause(id);
  }

  resume(id: string): void {
    this.monitor.resume(id);
  }

  /**
   * The host is back: failed watches are tried again, and live ones asked
   * where they stand (their state is from before the outage).
   */
  hostBack(hostId: string): void {
    for (const [id] of this.wanted) {
      const k = this.opts.table.get(id);
      if (!k || k.host !== hostId || !k.alive) continue;
      if (this.monitor.isWatching(id)) this.monitor.resync(id);
      else this.begin(id);
    }
  }

  close(): void {
    this.monitor.close();
  }

  private begin(id: string, delayMs = 0): void {
    const k = this.opts.table.get(id);
    const want = this.wanted.get(id);
    if (!k || !want || !k.alive) return;
    this.opts.table.watchStarted(id);
    this.monitor
      .watch(id, this.opts.tunnelHost?.(k) ?? this.opts.host(k.host), this.opts.table.info(id), want.local, { connectionFile: k.connectionFile, delayMs, allowedAddresses: this.opts.allowed?.(id) })
      .catch((err: unknown) => this.opts.table.watchFailed(id, errorText(err)));
  }

  private onState(id: string, state: string, extra: { busySeconds?: number; reason?: string }): void {
    const table = this.opts.table;
    if (state === 'dead' || (state === 'unresponsive' && extra.reason === 'gone')) {
      if (table.expectingExit(id)) return;
      // The heartbeat stopped: ask the host whether the process is really gone.
      void this.confirmDeath(id);
      return;
    }
    if (state !== 'starting' && state !== 'idle' && state !== 'busy' && state !== 'unresponsive') return;
    const was = table.get(id)?.state;
    table.observed(id, state);
    const seconds = extra.busySeconds;
    if (was === 'busy' && state === 'idle' && seconds !== undefined && seconds >= this.opts.settings().longRunSeconds) {
      table.runFinished(id, seconds);
    }
  }

  private async confirmDeath(id: string): Promise<void> {
    // The monitor says it again every few missed beats; one question to the host at a time.
    if (this.confirming.has(id)) return;
    this.confirming.add(id);
    try {
      await this.opts.confirm(id);
    } catch (err) {
      log.debug(`could not confirm the death of ${id}: ${errorText(err)}`);
      return;
    } finally {
      this.confirming.delete(id);
    }
    const k = this.opts.table.get(id);
    if (k?.alive && k.state !== 'dead') this.opts.table.observed(id, 'unresponsive');
  }
}

function sameChannels(a: LocalChannels | null, b: LocalChannels | null): boolean {
  if (a === null || b === null) return a === b;
  const p = a.ports;
  const q = b.ports;
  return a.transport === b.transport && a.ip === b.ip && p.shell === q.shell && p.iopub === q.iopub && p.stdin === q.stdin && p.control === q.control && p.hb === q.hb;
}
