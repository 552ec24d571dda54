// The agent's table of kernels: the only writer of kernel summaries and the
// only emitter of kernel events. Everyone else tells it what happened, by
// intent (`attached`, `watchFailed`, `died`, ...), and reads copies.
import { KtrayError } from '../../shared/errors';
import { hostOfKernel, kernelId } from '../../shared/kernel-id';
import { serverId } from '../../shared/server-id';
import type { ConnectionInfo, KernelState, KernelSummary, LocalChannels } from '../../shared/types';
import type { FoundKernel, ListedKernel } from '../kernels/kernel-ops';
import { listenScope } from '../tunnels/forward-policy';
import type { EventBus } from './event-bus';

interface Entry {
  summary: KernelSummary;
  /** null while a batch job's kernel has not written its connection file (queued, starting). */
  info: ConnectionInfo | null;
  /** The kernel process's start time where the host tells it (Linux), to guard signals against a reused pid. */
  processStart: string | null;
  /** A stop or restart asked by the user is under way: its exit is not a death. */
  expectingExit: boolean;
  /** Its submit still waits for it to run, and will say so itself: no job-started event. */
  startAwaited?: boolean;
}

export interface KernelTableOptions {
  events: EventBus;
  /** The local connection file a kernel had when last attached (before an agent restart), if any. */
  rememberedFile?: (id: string) => string | null;
}

/** What a host's listing changed. */
export interface ListingChange {
  /** Kernels that were alive and are not any more. */
  died: string[];
  /** Kernels whose files are gone, dropped from the table. */
  removed: string[];
  /** Batch jobs' kernels that came alive (their job runs and their file is there): watch them now. */
  started: string[];
}

/** The monitor's states: a live kernel's, which a listing leaves as they are. */
const LIVE_STATES: ReadonlySet<KernelState> = new Set(['starting', 'running', 'idle', 'busy', 'unresponsive']);

/** States the monitor observes; `dead` is never observed, only confirmed (`died`). */
export type ObservedState = Extract<KernelState, 'starting' | 'idle' | 'busy' | 'unresponsive'>;

export class KernelTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: KernelTableOptions) {}

  // ---- reading ---------------------------------------------------------------

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** A copy of the kernel's summary, or undefined. */
  get(id: string): KernelSummary | undefined {
    const e = this.entries.get(id);
    return e ? { ...e.summary } : undefined;
  }

  /** A copy of the kernel's summary, or KERNEL_NOT_FOUND. */
  require(id: string): KernelSummary {
    const s = this.get(id);
    if (!s) {
      const host = hostOfKernel(id);
      throw new KtrayError({
        code: 'KERNEL_NOT_FOUND',
        host,
        message: `No kernel ${id}.`,
        hint: `\`ktray ls ${host}\` lists the kernels there; ids look like HOST/KERNEL.`,
      });
    }
    return s;
  }

  /** Its connection info; KERNEL_QUEUED while a batch job's kernel has none yet. */
  info(id: string): ConnectionInfo {
    const e = this.entries.get(id);
    if (!e) this.require(id);
    if (!e!.info) {
      const s = e!.summary;
      const job = s.job;
      throw new KtrayError({
        code: 'KERNEL_QUEUED',
        host: s.host,
        message: job
          ? `${id} has no connection file yet: its job ${job.jobId} is ${job.state.toLowerCase()}${job.reason ? ` (${job.reason})` : ''}.`
          : `${id} has no connection file yet.`,
        hint: '`ktray ls` shows when it runs; `ktray events` tells you.',
      });
    }
    return e!.info;
  }

  /** The pid to signal and its start time, for the host to check it is still this kernel. */
  process(id: string): { pid: number | null; start: string | null } {
    const e = this.entries.get(id);
    return { pid: e?.summary.pid ?? null, start: e?.processStart ?? null };
  }

  expectingExit(id: string): boolean {
    return this.entries.get(id)?.expectingExit ?? false;
  }

  /** Copies, in a stable order: by host, then oldest first. */
  summaries(host?: string): KernelSummary[] {
    return [...this.entries.values()]
      .filter((e) => !host || e.summary.host === host)
      .map((e) => ({ ...e.summary }))
      .sort((a, b) => a.host.localeCompare(b.host) || (a.startedAt ?? 0) - (b.startedAt ?? 0));
  }

  ids(host?: string): string[] {
    return [...this.entries.values()].filter((e) => !host || e.summary.host === host).map((e) => e.summary.id);
  }

  hosts(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.summary.host))];
  }

  // ---- what hosts said ---------------------------------------------------------

  /**
   * Merges one host's listing: new kernels added, known ones updated, vanished
   * ones dropped, except those `keep` asks for, which stay visible as dead.
   */
  listed(host: string, kernels: ListedKernel[], keep: (id: string) => boolean): ListingChange {
    const change: ListingChange = { died: [], removed: [], started: [] };
    const seen = new Set<string>();
    for (const k of kernels) {
      const id = kernelId(host, k.name);
      seen.add(id);
      let e = this.entries.get(id);
      if (!e) {
        e = this.add(host, k);
        if (k.job) this.jobListed(e, k, change, { fresh: true });
        continue;
      }
      const s = e.summary;
      const restarted = k.alive && s.pid !== null && k.pid !== null && k.pid !== s.pid;
      if (k.info) e.info = k.info;
      if (k.pid !== null) e.processStart = k.processStart ?? null;
      if (k.info) s.listens = listenScope(k.info);
      if (k.connectionFile) s.connectionFile = k.connectionFile;
      if (k.info?.kernel_name) s.kernelName = k.info.kernel_name;
      s.pid = k.pid ?? s.pid;
      s.command = k.command ?? s.command;
      // undefined: the server could not be asked this time; its kernels keep their names.
      if (k.server !== undefined) s.server = k.server ? serverId(host, k.server) : null;
      if (k.notebook !== undefined) s.notebook = k.notebook;
      if (!s.server) s.notebook = null;
      if (restarted || (k.startedAt && !s.startedAt)) s.startedAt = k.startedAt;
      if (k.job || s.job) {
        this.jobListed(e, k, change, { fresh: false });
        continue;
      }
      s.alive = k.alive;
      if (!k.alive && s.state !== 'dead') {
        if (this.markDead(e, 'its process is gone')) change.died.push(id);
      } else if (k.alive && (s.state === 'dead' || s.state === 'unknown')) {
        this.setState(e, s.watched ? 'starting' : 'running');
      }
    }
    for (const e of [...this.entries.values()]) {
      const id = e.summary.id;
      // A kernel being stopped or restarted may be between files (ipykernel removes the file it
      // wrote at exit, the relaunch writes it again): the operation settles it, not this listing.
      if (e.summary.host !== host || seen.has(id) || e.expectingExit) continue;
      // The file is gone: a kernel that shut down cleanly. Attached ones stay visible as dead.
      if (keep(id)) {
        if (this.markDead(e, 'its connection file was removed')) change.died.push(id);
      } else {
        this.entries.delete(id);
        change.removed.push(id);
      }
    }
    this.announce(host);
    return change;
  }

  /**
   * A batch job's kernel as the queue tells it: queued while the job waits,
   * starting until it runs with its connection file there, then live (the
   * monitor's states from then on), dead with the scheduler's reason once the
   * job ends; unknown when the queue could not be read.
   */
  private jobListed(e: Entry, k: ListedKernel, change: ListingChange, opts: { fresh: boolean }): void {
    const s = e.summary;
    const id = s.id;
    if (k.unknown) {
      s.alive = false;
      if (s.state !== 'dead') this.setState(e, 'unknown', { quiet: opts.fresh });
      return;
    }
    const wasQueued = s.state === 'queued' || (s.job !== undefined && s.job.state === 'PENDING' && !opts.fresh);
    const wasAlive = s.alive;
    const before = s.job;
    const stateBefore = s.state;
    if (k.job) s.job = { ...k.job };
    const news = !opts.fresh && jobNews(before, s.job);
    const told = () => {
      // Same state, new facts (a reason, a node, a longer limit): faces hear it.
      if (news && s.state === stateBefore) this.changed(e);
    };
    if (k.endReason !== undefined) {
      s.alive = false;
      if (s.state !== 'dead' && this.markDead(e, k.endReason)) change.died.push(id);
      else told();
      return;
    }
    if (k.waiting) {
      s.alive = false;
      this.setState(e, 'queued', { quiet: opts.fresh });
      told();
      return;
    }
    if (!k.alive || !e.info) {
      s.alive = false;
      this.setState(e, 'starting', { quiet: opts.fresh });
      if (wasQueued && !opts.fresh && !e.startAwaited) this.opts.events.emit({ type: 'job-started', at: Date.now(), kernel: { ...s } });
      told();
      return;
    }
    s.alive = true;
    if (!wasAlive || !LIVE_STATES.has(s.state)) {
      this.setState(e, 'running', { quiet: opts.fresh });
      change.started.push(id);
      if (wasQueued && !opts.fresh && !e.startAwaited) this.opts.events.emit({ type: 'job-started', at: Date.now(), kernel: { ...s } });
    }
    told();
  }

  /**
   * A batch job this agent just submitted for a kernel (it waits in the queue);
   * its submit waits for it to run and says itself whether it does, until
   * `startReturned`.
   */
  submitted(host: string, k: ListedKernel): KernelSummary {
    const e = this.add(host, k);
    e.startAwaited = true;
    this.setState(e, 'queued', { quiet: true });
    this.opts.events.emit({ type: 'kernel-started', at: Date.now(), kernel: { ...e.summary } });
    this.announce(host);
    return { ...e.summary };
  }

  /** The submit returned (running, or queued still): from now on, its job's start is news. */
  startReturned(id: string): void {
    const e = this.entries.get(id);
    if (e) e.startAwaited = false;
  }

  /** A batch job's time limit is near: said once per job by the jobs service. */
  timeWarning(id: string, minutesLeft: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.opts.events.emit({ type: 'job-time-warning', at: Date.now(), kernel: { ...e.summary }, minutesLeft });
  }

  /** A kernel this agent just launched. */
  started(host: string, k: FoundKernel, launchedWith?: string): KernelSummary {
    const e = this.add(host, k);
    if (launchedWith) e.summary.launchedWith = launchedWith;
    this.setState(e, 'running', { quiet: true });
    this.opts.events.emit({ type: 'kernel-started', at: Date.now(), kernel: { ...e.summary } });
    this.announce(host);
    return { ...e.summary };
  }

  /**
   * A kernel remembered from before an agent restart whose host cannot be
   * reached now: shown as unknown until a listing says what it is.
   */
  remembered(host: string, k: FoundKernel): void {
    if (this.entries.has(kernelId(host, k.name))) return;
    this.setState(this.add(host, k), 'unknown', { quiet: true });
    this.announce(host);
  }

  /** The host cannot be reached: nobody knows the state of its live kernels (nor of its queued jobs). */
  hostUnreachable(host: string): void {
    for (const e of this.entries.values()) {
      const s = e.summary;
      if (s.host === host && (s.alive || (s.job && s.state !== 'dead'))) this.setState(e, 'unknown');
    }
  }

  // ---- what the agent did --------------------------------------------------------

  attached(id: string, local: { file: string; channels: LocalChannels | null }): void {
    const e = this.entry(id);
    e.summary.attached = true;
    e.summary.localConnectionFile = local.file;
    e.summary.localChannels = local.channels;
    e.summary.localPorts = local.channels?.ports ?? null;
    this.changed(e);
  }

  detached(id: string, opts: { fileKept: boolean }): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.summary.attached = false;
    e.summary.localPorts = null;
    e.summary.localChannels = null;
    if (!opts.fileKept) e.summary.localConnectionFile = null;
    this.changed(e);
  }

  watchStarted(id: string): void {
    const e = this.entries.get(id);
    if (!e || (e.summary.watched && e.summary.watchError === null)) return;
    e.summary.watched = true;
    e.summary.watchError = null;
    this.changed(e);
  }

  /** The kernel should be watched but cannot be now (its tunnels failed): say why. */
  watchFailed(id: string, reason: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.summary.watched = false;
    e.summary.watchError = reason;
    if (e.summary.alive && e.summary.state !== 'dead' && e.summary.state !== 'unknown') this.setState(e, 'running', { quiet: true });
    this.changed(e);
  }

  watchStopped(id: string): void {
    const e = this.entries.get(id);
    if (!e || (!e.summary.watched && e.summary.watchError === null)) return;
    e.summary.watched = false;
    e.summary.watchError = null;
    if (e.summary.alive && e.summary.state !== 'dead' && e.summary.state !== 'unknown') this.setState(e, 'running', { quiet: true });
    this.changed(e);
  }

  /** What the monitor saw on the wire. */
  observed(id: string, state: ObservedState): void {
    const e = this.entries.get(id);
    if (!e || !e.summary.alive) return;
    this.setState(e, state);
  }

  runFinished(id: string, seconds: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.opts.events.emit({ type: 'run-finished', at: Date.now(), kernel: { ...e.summary }, seconds });
  }

  /** A stop or restart asked by the user begins (true) or ends (false). */
  exitExpected(id: string, expecting: boolean): void {
    const e = this.entries.get(id);
    if (e) e.expectingExit = expecting;
  }

  /** Its process is confirmed gone. */
  died(id: string, reason: string): void {
    const e = this.entries.get(id);
    if (e) this.markDead(e, reason);
  }

  restarted(id: string, k: { pid: number | null; processStart?: string | null; startedAt: number | null }): void {
    const e = this.entry(id);
    e.processStart = k.processStart ?? null;
    Object.assign(e.summary, { pid: k.pid, startedAt: k.startedAt, alive: true, command: null });
    this.setState(e, e.summary.watched ? 'starting' : 'running');
  }

  /** Stopped by the user: gone from the table. */
  stopped(id: string): KernelSummary {
    const e = this.entry(id);
    const s = e.summary;
    s.alive = false;
    s.watched = false;
    s.watchError = null;
    s.attached = false;
    s.localPorts = null;
    s.localChannels = null;
    s.localConnectionFile = null;
    this.setState(e, 'dead');
    this.entries.delete(id);
    this.announce(s.host);
    return { ...s };
  }

  /** Something about this kernel a user should hear (a tunnel refused, a re-attach failed). */
  notice(id: string, message: string): void {
    this.opts.events.emit({ type: 'notice', at: Date.now(), host: hostOfKernel(id), kernel: id, message });
  }

  // ---- inside ------------------------------------------------------------------

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) this.require(id);
    return e!;
  }

  private add(host: string, k: ListedKernel): Entry {
    const id = kernelId(host, k.name);
    const e: Entry = {
      info: k.info,
      processStart: k.processStart ?? null,
      expectingExit: false,
      summary: {
        id,
        host,
        name: k.name,
        connectionFile: k.connectionFile,
        kernelName: k.info?.kernel_name || 'python3',
        pid: k.pid,
        alive: k.alive,
        startedAt: k.startedAt,
        command: k.command,
        attached: false,
        localConnectionFile: this.opts.rememberedFile?.(id) ?? null,
        localPorts: null,
        localChannels: null,
        listens: k.info ? listenScope(k.info) : 'other-address',
        state: k.alive ? 'running' : 'dead',
        stateSince: Date.now(),
        busySince: null,
        watched: false,
        watchError: null,
        ...(k.job ? { job: { ...k.job } } : {}),
        server: k.server ? serverId(host, k.server) : null,
        notebook: k.server ? (k.notebook ?? null) : null,
      },
    };
    this.entries.set(id, e);
    return e;
  }

  /** true when it was not dead already; the death is news (an event) unless an exit was asked for. */
  private markDead(e: Entry, reason: string): boolean {
    const s = e.summary;
    const wasDead = s.state === 'dead';
    s.alive = false;
    s.watched = false;
    s.watchError = null;
    this.setState(e, 'dead');
    if (wasDead) return false;
    if (!e.expectingExit) this.opts.events.emit({ type: 'kernel-died', at: Date.now(), kernel: { ...s }, reason });
    return true;
  }

  private setState(e: Entry, state: KernelState, opts: { quiet?: boolean } = {}): void {
    const s = e.summary;
    if (s.state === state) return;
    const now = Date.now();
    s.state = state;
    s.stateSince = now;
    s.busySince = state === 'busy' ? now : null;
    if (!opts.quiet) this.changed(e);
  }

  private changed(e: Entry): void {
    this.opts.events.emit({ type: 'kernel-state', at: Date.now(), kernel: { ...e.summary } });
  }

  private announce(host: string): void {
    this.opts.events.emit({ type: 'kernels-changed', at: Date.now(), host, kernels: this.summaries(host) });
  }
}

/** A job's facts changed enough to tell: anything but the end time drifting with each look. */
function jobNews(a: KernelSummary['job'], b: KernelSummary['job']): boolean {
  if (!a || !b) return a !== b;
  const drift = a.endsAt !== null && b.endsAt !== null ? Math.abs(a.endsAt - b.endsAt) : a.endsAt === b.endsAt ? 0 : Infinity;
  return a.state !== b.state || a.reason !== b.reason || a.node !== b.node || a.partition !== b.partition || a.timeLimit !== b.timeLimit || drift > 60_000;
}
