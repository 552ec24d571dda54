// Kernels as batch jobs on cluster hosts: which hosts are clusters (and their
// default arguments), the jobs Kernel Tray submitted (remembered in
// state.json, found again by name in the queue too), submitting and waiting
// for a job to run, ending, interrupting and restarting one, the queue asked
// again while jobs wait or run, and the time-limit warning. What happens is
// told to the kernel table; the scheduler module knows the commands.
import { randomUUID } from 'node:crypto';
import { KtrayError } from '../../shared/errors';
import { kernelId } from '../../shared/kernel-id';
import type { AgentSettings, HostScheduler, KernelSummary, StartOptions } from '../../shared/types';
import type { ListedKernel } from '../kernels/kernel-ops';
import type { RememberedJob } from '../kernels/schedulers/job-kernels';
import type { Scheduler } from '../kernels/schedulers/scheduler';
import { genFile, slurm } from '../kernels/schedulers/slurm';
import { errorText, logger } from '../util/logger';
import { listenScope } from '../tunnels/forward-policy';
import type { AddressAllowances } from './address-allowances';
import type { Hosts } from './hosts';
import type { KernelTable } from './kernel-table';
import type { Persisted } from './persisted';

const log = logger('jobs');

const SCHEDULERS: Record<HostScheduler['kind'], Scheduler> = { slurm };

const DEFAULT_WAIT_SEC = 60;
/** A start waits on the login node in spells this long, with a listing after each (the table hears a queued job's reason). */
const WAIT_SPELL_SEC = 10;

export interface JobsOptions {
  table: KernelTable;
  hosts: Hosts;
  persisted: Persisted;
  /** A job's kernel listens on its node's address: allowed for that kernel alone, as the user would with --allow-address. */
  allowances: AddressAllowances;
  settings: () => AgentSettings;
  /** One listing of the host (discovery and its queue, one round trip), merged into the table. */
  refresh: (hostId: string) => Promise<void>;
}

export class Jobs {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Why each job's kernel ended, from the listing that saw it end (for a failed start's error). */
  private readonly endings = new Map<string, string>();
  private closed = false;

  constructor(private readonly o: JobsOptions) {}

  // ---- which hosts are clusters -----------------------------------------------------

  /** The host's scheduler: configured, or that of jobs remembered there. */
  schedulerOf(hostId: string): Scheduler | null {
    const { state } = this.o.persisted;
    const config = state.schedulers[hostId];
    if (config) return SCHEDULERS[config.kind];
    const job = Object.entries(state.jobs).find(([id]) => id.startsWith(`${hostId}/`))?.[1];
    return job ? SCHEDULERS[job.scheduler] : null;
  }

  config(hostId: string): HostScheduler | null {
    return this.o.persisted.state.schedulers[hostId] ?? null;
  }

  async setScheduler(hostId: string, config: HostScheduler | null): Promise<void> {
    this.o.hosts.validateId(hostId);
    const { state } = this.o.persisted;
    if (config === null) {
      delete state.schedulers[hostId];
    } else {
      const scheduler = SCHEDULERS[config.kind];
      if (!scheduler) throw new KtrayError({ code: 'BAD_INPUT', host: hostId, message: `Kernel Tray knows no scheduler "${String(config.kind)}" (it knows: ${Object.keys(SCHEDULERS).join(', ')}).` });
      scheduler.parseArgs(config.args, hostId);
      // nodeSsh stays as it was unless given (the window's "add to defaults" sends arguments only).
      const nodeSsh = config.nodeSsh ?? state.schedulers[hostId]?.nodeSsh ?? false;
      state.schedulers[hostId] = { kind: config.kind, args: config.args.trim(), ...(nodeSsh ? { nodeSsh: true } : {}) };
    }
    await this.o.persisted.save();
  }

  /** Jobs remembered on this host, by kernel name. */
  remembered(hostId: string): Map<string, RememberedJob> {
    const out = new Map<string, RememberedJob>();
    for (const [id, r] of Object.entries(this.o.persisted.state.jobs)) {
      if (id.startsWith(`${hostId}/`)) out.set(id.slice(hostId.length + 1), r);
    }
    return out;
  }

  /** Whether `start` on this host submits a job. */
  submits(params: StartOptions): boolean {
    if (params.loginNode) return false;
    return params.slurm !== undefined || this.config(params.host) !== null;
  }

  // ---- after each listing of a cluster host ---------------------------------------------

  /**
   * A job's kernel listens on its node's address, which forwarding refuses
   * unless allowed for that kernel: allowed here, before the table (and the
   * monitor) see it, for a kernel whose file is that of a job running in the
   * user's own queue under Kernel Tray's name (submitted here, or by another
   * agent of theirs: found again), whose supervisor wrote the node's address
   * into a 0600 file in the user's own 0700 runtime dir. Any other file's
   * address stays refused.
   */
  async allowNodes(hostId: string, listed: ListedKernel[]): Promise<void> {
    const mine = this.remembered(hostId);
    for (const k of listed) {
      if (!k.job || !k.info || !k.alive || mine.get(k.name)?.dismissed || listenScope(k.info) !== 'other-address') continue;
      await this.o.allowances.allow(kernelId(hostId, k.name), k.info.ip.trim());
    }
  }

  /**
   * Forgets jobs gone from both the queue and the shared home (`present`: the
   * names the queue or a connection file still shows; null when the queue
   * could not be read), warns of time limits, and asks the queue again while
   * jobs wait or run.
   */
  async afterListing(hostId: string, listed: ListedKernel[], present: ReadonlySet<string> | null): Promise<void> {
    const { state } = this.o.persisted;
    let dirty = false;
    for (const k of listed) if (k.endReason) this.endings.set(kernelId(hostId, k.name), k.endReason);
    if (present) {
      for (const [name] of this.remembered(hostId)) {
        if (present.has(name)) continue;
        delete state.jobs[kernelId(hostId, name)];
        dirty = true;
      }
      for (const id of Object.keys(state.warnedJobs)) {
        if (!id.startsWith(`${hostId}/`) || present.has(id.slice(hostId.length + 1))) continue;
        delete state.warnedJobs[id];
        dirty = true;
      }
    }
    const { jobWarningMinutes, jobPollSeconds } = this.o.settings();
    const warnMs = jobWarningMinutes * 60_000;
    const now = Date.now();
    let wakeAt = Infinity;
    for (const k of this.o.table.summaries(hostId)) {
      if (!k.job || k.state === 'dead') continue;
      wakeAt = Math.min(wakeAt, now + jobPollSeconds * 1000);
      // Any Kernel Tray job of the user's own queue: submitted here (remembered) or found again.
      const r = state.jobs[k.id];
      if (!k.alive || k.job.endsAt === null || r?.dismissed) continue;
      if (r ? r.warned : state.warnedJobs[k.id] === k.job.jobId) continue;
      const left = k.job.endsAt - now;
      if (left <= warnMs) {
        this.o.table.timeWarning(k.id, Math.max(0, Math.ceil(left / 60_000)));
        if (r) r.warned = true;
        else state.warnedJobs[k.id] = k.job.jobId;
        dirty = true;
      } else {
        wakeAt = Math.min(wakeAt, k.job.endsAt - warnMs);
      }
    }
    if (dirty) await this.o.persisted.save();
    this.schedule(hostId, wakeAt);
  }

  private schedule(hostId: string, at: number): void {
    const old = this.timers.get(hostId);
    if (old) clearTimeout(old);
    this.timers.delete(hostId);
    if (this.closed || at === Infinity) return;
    const t = setTimeout(() => {
      this.timers.delete(hostId);
      this.o.refresh(hostId).catch((err: unknown) => {
        log.debug(`asking ${hostId}'s queue failed: ${errorText(err)}`);
        // Down: ask again later (the host's own reconnect brings it back, then a listing).
        this.schedule(hostId, Date.now() + this.o.settings().jobPollSeconds * 1000);
      });
    }, Math.max(0, at - Date.now()));
    t.unref();
    this.timers.set(hostId, t);
  }

  // ---- submitting -------------------------------------------------------------------------

  /** Submits the kernel's job and waits (up to `waitSec`) for it to run; a job still queued then is returned queued. */
  async submit(params: StartOptions, watch: (id: string) => void): Promise<KernelSummary> {
    const hostId = params.host;
    const { state } = this.o.persisted;
    const config = this.config(hostId);
    const scheduler = config ? SCHEDULERS[config.kind] : slurm;
    const args = [...scheduler.parseArgs(config?.args ?? '', hostId), ...scheduler.parseArgs(params.slurm ?? '', hostId)];
    const waitSec = params.waitSec ?? DEFAULT_WAIT_SEC;
    if (!(Number.isFinite(waitSec) && waitSec >= 0)) throw new KtrayError({ code: 'BAD_INPUT', host: hostId, message: 'The wait for a job to run must be a number of seconds (0 or more).' });
    const host = this.o.hosts.get(hostId);
    const name = randomUUID();
    const sub = await scheduler.submit(host, { name, args, python: params.python ?? 'python3', kernel: params.kernel, cwd: params.cwd });
    const id = kernelId(hostId, name);
    if (!config) state.schedulers[hostId] = { kind: scheduler.kind, args: (params.slurm ?? '').trim() };
    state.jobs[id] = { scheduler: scheduler.kind, jobId: sub.jobId, logFile: sub.logFile, connectionFile: sub.connectionFile, submittedAt: Date.now() };
    // Watched from the start, as kernels started here are: its state is live once it runs.
    if (!state.pinned.includes(id)) state.pinned.push(id);
    await this.o.persisted.save();
    await this.o.hosts.markUsed(hostId);
    this.o.table.submitted(hostId, {
      name,
      connectionFile: sub.connectionFile,
      info: null,
      pid: null,
      alive: false,
      startedAt: null,
      command: null,
      job: { scheduler: scheduler.kind, jobId: sub.jobId, state: 'PENDING', reason: null, node: null, partition: null, endsAt: null, timeLimit: null, logFile: sub.logFile, ended: null },
    });
    watch(id);
    try {
      return await this.untilRunning(id, sub.jobId, sub.logFile, scheduler, waitSec);
    } finally {
      this.o.table.startReturned(id);
    }
  }

  /** Waits on the login node (no round trip per look) until the kernel answers or the job ends, then lists the host. */
  private async untilRunning(id: string, jobId: string, logFile: string, scheduler: Scheduler, waitSec: number): Promise<KernelSummary> {
    const hostId = id.slice(0, id.indexOf('/'));
    const host = this.o.hosts.get(hostId);
    const deadline = Date.now() + waitSec * 1000;
    for (;;) {
      const left = (deadline - Date.now()) / 1000;
      try {
        if (left > 0) await scheduler.waitUp(host, { jobId, logFile }, Math.min(left, WAIT_SPELL_SEC));
        await this.o.refresh(hostId);
      } catch (err) {
        log.warn(`waiting for ${id} to run on ${hostId}: ${errorText(err)}`);
      }
      const k = this.o.table.get(id);
      if (!k) {
        throw new KtrayError({ code: 'JOB_FAILED', host: hostId, message: `${scheduler.label} job ${jobId} for ${id} left the queue before its kernel ran.`, hint: `Its output: ${logFile} on ${hostId}.` });
      }
      if (k.state === 'dead') throw await this.failedStart(id, k, scheduler);
      if (k.alive || Date.now() >= deadline) return k;
      if (k.state === 'unknown') await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** The job ended before its kernel ran: say why (the scheduler's words, its output's tail); nothing stays queued. */
  private async failedStart(id: string, k: KernelSummary, scheduler: Scheduler): Promise<KtrayError> {
    const why = this.endings.get(id) ?? `${scheduler.label} job ${k.job?.jobId} ended`;
    await this.dismiss(id);
    this.o.table.stopped(id);
    const [first, ...rest] = why.split('\n');
    return new KtrayError({
      code: 'JOB_FAILED',
      host: k.host,
      message: `The kernel's job on ${k.host} ended before the kernel ran: ${first}`,
      hint: rest.length ? rest.join('\n') : `Its output: ${k.job?.logFile} on ${k.host}.`,
      detail: { jobId: k.job?.jobId, log: rest.join('\n') },
    });
  }

  /** Not listed again, though the queue may show the job for a while; forgotten once it does not. */
  async dismiss(id: string): Promise<void> {
    const { state } = this.o.persisted;
    const r = state.jobs[id];
    state.pinned = state.pinned.filter((p) => p !== id);
    if (r) r.dismissed = true;
    await this.o.persisted.save();
  }

  // ---- ending, interrupting, restarting ------------------------------------------------------

  /** scancel, after the caller's clean shutdown; waits until the queue lets the job go. */
  async cancel(k: KernelSummary): Promise<void> {
    const scheduler = this.schedulerOf(k.host) ?? slurm;
    const job = k.job!;
    const r = this.o.persisted.state.jobs[k.id];
    const files = [k.connectionFile, genFile(r?.logFile ?? job.logFile)].filter(Boolean);
    await scheduler.cancel(this.o.hosts.get(k.host), job.jobId, files);
  }

  async interrupt(k: KernelSummary): Promise<boolean> {
    const scheduler = this.schedulerOf(k.host) ?? slurm;
    return scheduler.interrupt(this.o.hosts.get(k.host), k.job!.jobId);
  }

  async restart(k: KernelSummary): Promise<void> {
    const scheduler = this.schedulerOf(k.host) ?? slurm;
    const job = k.job!;
    const out = await scheduler.restart(this.o.hosts.get(k.host), { jobId: job.jobId, logFile: this.o.persisted.state.jobs[k.id]?.logFile ?? job.logFile });
    if (!out.ok) {
      throw new KtrayError({
        code: 'REMOTE_COMMAND_FAILED',
        host: k.host,
        message: `Cannot restart ${k.id} inside its ${scheduler.label} allocation (job ${job.jobId}): ${out.why}.`,
        hint: `\`ktray stop ${k.id}\` ends the job; \`ktray start ${k.host}\` submits a new one.`,
      });
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
