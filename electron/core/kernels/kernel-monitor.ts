// Live state of watched kernels over the Jupyter wire protocol: heartbeat for
// liveness, iopub status for idle/busy. Heartbeat timeouts follow the measured
// round trip, so a slow link or a busy kernel never looks dead, while a dead
// one is noticed within a few beats.
import { KtrayError } from '../../shared/errors';
import type { Channel, ConnectionInfo, KernelState, LocalChannels } from '../../shared/types';
import type { Host } from '../hosts/host';
import { withLocalChannels } from '../jupyter/connection-file';
import { KernelClient } from '../jupyter/kernel-client';
import type { JupyterMessage } from '../jupyter/message';
import { PrivateChannels } from '../tunnels/channel-tunnel';
import { checkForwardable } from '../tunnels/forward-policy';

export interface MonitorOptions {
  isHostUp: (hostId: string) => boolean;
  /** `dead` means the heartbeat stopped; the agent confirms with the host before calling it a death. */
  onState: (id: string, state: KernelState, extra: { busySeconds?: number; reason?: string }) => void;
  /** The watch could not go on: its own tunnels failed (cannot listen, or the host refused the forward). */
  onFailed: (id: string, reason: string) => void;
  /** Every iopub message of a watched kernel, from any of its clients (iopub is a broadcast): plots. */
  onIopub?: (id: string, msg: JupyterMessage) => void;
  /** Beat period in ms (default 2000). */
  intervalMs?: number;
  /** Missed beats in a row before the kernel is suspected dead (default 2). */
  misses?: number;
}

interface Watch {
  id: string;
  host: Host;
  /** The attachment's local ends it uses, or null when it has tunnels of its own. */
  shared: LocalChannels | null;
  client: KernelClient;
  own: PrivateChannels | null;
  timer: NodeJS.Timeout | null;
  missed: number;
  paused: boolean;
  busySince: number | null;
  stopped: boolean;
  beating: boolean;
}

/** Smoothed round trip per host, from heartbeats (ms). */
class RttEstimate {
  private value: number | null = null;
  add(ms: number): void {
    this.value = this.value === null ? ms : 0.8 * this.value + 0.2 * ms;
  }
  get(): number | null {
    return this.value;
  }
}

export class KernelMonitor {
  private readonly watches = new Map<string, Watch>();
  /**
   * A watch being replaced (moved onto an attachment's listeners, renewed): it keeps
   * hearing iopub until its successor does, so no output in between is lost (plots).
   */
  private readonly retiring = new Map<string, { w: Watch; timer: NodeJS.Timeout }>();
  private readonly rtts = new Map<string, RttEstimate>();

  constructor(private readonly opts: MonitorOptions) {}

  rtt(hostId: string): number | null {
    const v = this.rtts.get(hostId)?.get();
    return v === null || v === undefined ? null : Math.round(v);
  }

  /** Heartbeat timeout: four round trips plus slack, within 1 s .. 15 s. */
  timeoutFor(hostId: string): number {
    const rtt = this.rtts.get(hostId)?.get() ?? 250;
    return Math.min(15_000, Math.max(1000, 4 * rtt + 500));
  }

  isWatching(id: string): boolean {
    return this.watches.has(id);
  }

  /** The attachment's local ends a watch goes through (null: its own tunnels); undefined when not watched. */
  sharedChannels(id: string): LocalChannels | null | undefined {
    return this.watches.get(id)?.shared;
  }

  /**
   * Watches a kernel: through `shared` (an attachment's listeners) or tunnels of
   * its own, as private as the attachment's (unix sockets in a 0700 folder).
   * Failures to set up end in onFailed, never in silence.
   */
  async watch(
    id: string,
    host: Host,
    info: ConnectionInfo,
    shared: LocalChannels | null,
    opts: { connectionFile?: string; delayMs?: number; allowedAddresses?: readonly string[] } = {},
  ): Promise<void> {
    const connectionFile = opts.connectionFile;
    this.retire(id);
    const w: Watch = { id, host, shared, client: null as unknown as KernelClient, own: null, timer: null, missed: 0, paused: false, busySince: null, stopped: false, beating: false };
    this.watches.set(id, w);
    if (opts.delayMs) {
      // A frontend attached this very moment gets the link to itself first.
      await new Promise((resolve) => setTimeout(resolve, opts.delayMs).unref?.());
      if (w.stopped) return;
    }
    let local = shared;
    if (!local) {
      // Pinned but not attached: private tunnels for heartbeat, iopub, shell and control.
      const forward = { connectionFile, kernel: id, allowedAddresses: opts.allowedAddresses };
      try {
        checkForwardable(info, { kernel: id, host: host.id, allowed: opts.allowedAddresses });
      } catch (err) {
        const e = err as KtrayError;
        this.fail(w, e.hint ? `${e.message} ${e.hint}` : e.message);
        return;
      }
      let own: PrivateChannels;
      try {
        own = await PrivateChannels.open(host, info, ['hb', 'iopub', 'shell', 'control'], { ...forward, onError: (channel, err) => this.tunnelFailed(w, channel, err) });
      } catch (err) {
        this.fail(w, `could not open its tunnels here: ${(err as Error).message}`);
        return;
      }
      if (w.stopped) {
        void own.close();
        return;
      }
      w.own = own;
      local = own.local;
    }
    w.client = new KernelClient(withLocalChannels(info, local), { host: host.id });
    w.client.onStatus((state) => this.onStatus(w, state));
    const onIopub = this.opts.onIopub;
    if (onIopub) w.client.onIopub((msg) => onIopub(id, msg));
    this.opts.onState(id, 'starting', {});
    this.settle(w);
    this.schedule(w, 0);
  }

  /** Asks a watched kernel where it stands now (after the host came back, its state is stale). */
  resync(id: string): void {
    const w = this.watches.get(id);
    if (w?.client) this.settle(w);
  }

  /** kernel_info makes the kernel publish a status; no reply while a cell runs means busy. */
  private settle(w: Watch): void {
    w.client.kernelInfo(Math.max(3000, this.timeoutFor(w.host.id))).then(
      () => {
        if (!w.stopped && w.busySince === null) this.opts.onState(w.id, 'idle', {});
      },
      () => {
        if (!w.stopped && w.busySince === null && !w.missed) {
          w.busySince = Date.now();
          this.opts.onState(w.id, 'busy', {});
        }
      },
    );
  }

  /** A refused forward will not get better by retrying each beat: the watch fails, with the host's words. */
  private tunnelFailed(w: Watch, channel: Channel, err: Error): void {
    if (w.stopped || !(err instanceof KtrayError) || err.code !== 'FORWARD_REFUSED') return;
    this.fail(w, `${channel} channel: ${err.message}${err.hint ? ` ${err.hint}` : ''}`);
  }

  private fail(w: Watch, reason: string): void {
    if (w.stopped) return;
    this.unwatch(w.id);
    this.opts.onFailed(w.id, reason);
  }

  private onStatus(w: Watch, state: string): void {
    if (w.stopped) return;
    // The new watch hears iopub: the one it replaced can go.
    this.closeRetired(w.id);
    if (state === 'busy') {
      if (w.busySince === null) w.busySince = Date.now();
      this.opts.onState(w.id, 'busy', {});
    } else if (state === 'idle') {
      const busySeconds = w.busySince === null ? undefined : (Date.now() - w.busySince) / 1000;
      w.busySince = null;
      this.opts.onState(w.id, 'idle', { busySeconds });
    } else if (state === 'starting') {
      this.opts.onState(w.id, 'starting', {});
    }
  }

  private schedule(w: Watch, delay = this.opts.intervalMs ?? 2000): void {
    if (w.stopped) return;
    w.timer = setTimeout(() => void this.beat(w), delay);
    w.timer.unref?.();
  }

  private async beat(w: Watch): Promise<void> {
    if (w.stopped) return;
    if (w.paused || !this.opts.isHostUp(w.host.id)) {
      // Nothing to learn while the host is away; its kernels show as unknown.
      w.missed = 0;
      this.schedule(w);
      return;
    }
    const rtt = await w.client.heartbeat(this.timeoutFor(w.host.id)).catch(() => null);
    if (w.stopped) return;
    if (rtt !== null) {
      this.est(w.host.id).add(rtt);
      if (w.missed >= (this.opts.misses ?? 2)) this.opts.onState(w.id, w.busySince === null ? 'idle' : 'busy', {});
      w.missed = 0;
    } else if (this.opts.isHostUp(w.host.id)) {
      w.missed++;
      // Told again every few misses: a confirmation that could not ask the host (its link was
      // failing too) must not leave a silent kernel shown as it was.
      const misses = this.opts.misses ?? 2;
      if (w.missed % misses === 0) this.opts.onState(w.id, 'dead', { reason: 'heartbeat stopped' });
    }
    this.schedule(w);
  }

  private est(hostId: string): RttEstimate {
    let e = this.rtts.get(hostId);
    if (!e) this.rtts.set(hostId, (e = new RttEstimate()));
    return e;
  }

  pause(id: string): void {
    const w = this.watches.get(id);
    if (w) w.paused = true;
  }

  resume(id: string): void {
    const w = this.watches.get(id);
    if (w) {
      w.paused = false;
      w.missed = 0;
    }
  }

  unwatch(id: string): void {
    this.closeRetired(id);
    const w = this.watches.get(id);
    if (!w) return;
    this.stop(w);
    w.client?.close();
    void w.own?.close();
  }

  private stop(w: Watch): void {
    w.stopped = true;
    this.watches.delete(w.id);
    if (w.timer) clearTimeout(w.timer);
  }

  /**
   * Make before break: the current watch stops beating and saying states, but its
   * client stays subscribed to iopub until the next watch's first status (or 15 s).
   * Both hear the same messages meanwhile; the plot store drops repeats by msg_id.
   */
  private retire(id: string): void {
    this.closeRetired(id);
    const w = this.watches.get(id);
    if (!w) return;
    this.stop(w);
    if (!w.client || !this.opts.onIopub) {
      w.client?.close();
      void w.own?.close();
      return;
    }
    const timer = setTimeout(() => this.closeRetired(id), 15_000);
    timer.unref?.();
    this.retiring.set(id, { w, timer });
  }

  private closeRetired(id: string): void {
    const r = this.retiring.get(id);
    if (!r) return;
    this.retiring.delete(id);
    clearTimeout(r.timer);
    r.w.client?.close();
    void r.w.own?.close();
  }

  close(): void {
    for (const id of [...this.retiring.keys()]) this.closeRetired(id);
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }
}
