// The kernels the faces ask about: listing hosts, and start, attach, detach,
// stop, interrupt, restart and pin, each told to the kernel table as it
// happens.
import { KtrayError } from '../../shared/errors';
import { parseKernelId } from '../../shared/kernel-id';
import { LOCAL_HOST, type AttachOptions, type AttachResult, type KernelSummary, type StartOptions } from '../../shared/types';
import {
  interruptKernel,
  launchFromCommand,
  listKernels,
  restartKernel,
  startKernel,
  stopKernel,
  type KernelRef,
  type ListedKernel,
} from '../kernels/kernel-ops';
import type { Host } from '../hosts/host';
import { withJobs } from '../kernels/schedulers/job-kernels';
import { listenScope } from '../tunnels/forward-policy';
import { quote } from '../util/shell-quote';
import { errorText, logger } from '../util/logger';
import type { AddressAllowances } from './address-allowances';
import type { Attachments } from './attachments';
import type { Hosts } from './hosts';
import type { Jobs } from './jobs';
import type { KernelTable } from './kernel-table';
import type { Persisted } from './persisted';
import type { Servers } from './servers';
import type { Watching } from './watching';

const log = logger('kernels');

/** After an attach, the user's frontend connects first; the monitor follows this much later. */
const ATTACH_WATCH_DELAY_MS = 1000;

export interface KernelsOptions {
  table: KernelTable;
  hosts: Hosts;
  attachments: Attachments;
  watching: Watching;
  persisted: Persisted;
  allowances: AddressAllowances;
  jobs: Jobs;
  servers: Servers;
  /** Where a kernel's channels are reached from (a cluster's nodeSsh: its compute node); default its host. */
  tunnelHost?: (k: KernelSummary) => Host;
}

export class Kernels {
  /** Hosts listed at least once by this agent. */
  private readonly listed = new Set<string>();
  /** Per host, kernels to take up again once a listing reaches it (their host was down when the agent started). */
  private readonly pendingRestore = new Map<string, string[]>();
  /** Listings under way for `list` (kernels and servers asked at once share one round trip). */
  private readonly listing = new Map<string, Promise<void>>();

  constructor(private readonly o: KernelsOptions) {}

  // ---- listing -------------------------------------------------------------------

  async list(params: { host?: string; refresh?: boolean }): Promise<KernelSummary[]> {
    const { table } = this.o;
    if (params.host) {
      if (params.refresh || !this.listed.has(params.host)) {
        try {
          await this.listOnce(params.host);
        } catch (err) {
          // Unreachable: what is known of its kernels, shown as unknown (the host's error
          // is in its summary). Nothing known: nothing to show but the error.
          if (table.ids(params.host).length === 0) throw err;
        }
      }
      return table.summaries(params.host);
    }
    const hosts = new Set([LOCAL_HOST, ...this.o.hosts.used(), ...table.hosts()]);
    const due = [...hosts].filter((h) => params.refresh || !this.listed.has(h));
    await Promise.all(due.map((h) => this.listOnce(h).catch(() => {})));
    return table.summaries();
  }

  /** A listing of the host, or the one already under way for another reader. */
  private listOnce(hostId: string): Promise<void> {
    const running = this.listing.get(hostId);
    if (running) return running;
    const p = this.refresh(hostId).finally(() => this.listing.delete(hostId));
    this.listing.set(hostId, p);
    return p;
  }

  /**
   * One round trip: every connection file, server file and process on the
   * host, merged into the tables; on a cluster host its queue too, in the same script.
   */
  async refresh(hostId: string): Promise<void> {
    const { table, watching, jobs } = this.o;
    const host = this.o.hosts.get(hostId);
    const scheduler = jobs.schedulerOf(hostId);
    let listing;
    // The sessions of servers known alive are asked meanwhile, over the same connection.
    const early = this.o.servers.prefetch(hostId);
    try {
      const mine = [...jobs.remembered(hostId).values()].filter((r) => !r.dismissed).map((r) => r.jobId);
      listing = await listKernels(host, [], scheduler ?? undefined, mine);
    } catch (err) {
      table.hostUnreachable(hostId);
      throw err;
    }
    this.listed.add(hostId);
    await this.o.servers.annotate(hostId, listing, early);
    let kernels: ListedKernel[] = listing.kernels;
    const warnings = [...listing.warnings];
    let present: Set<string> | null = null;
    if (scheduler) {
      kernels = withJobs(listing.kernels, listing.queue, jobs.remembered(hostId), scheduler, { home: listing.home });
      if (listing.queue && !listing.queue.ok) warnings.push(`${scheduler.label}: ${listing.queue.error}; the state of its jobs is unknown.`);
      if (listing.queue?.ok) present = new Set([...listing.kernels.map((k) => k.name), ...listing.queue.jobs.map((j) => j.name)]);
      await jobs.allowNodes(hostId, kernels);
    }
    this.o.hosts.setWarnings(hostId, warnings);
    const change = table.listed(hostId, kernels, (id) => this.o.attachments.has(id));
    for (const id of change.died) watching.dropped(id);
    for (const id of change.removed) watching.unwant(id);
    // A batch job's kernel that came alive: the watch it was promised at submit begins now.
    for (const id of change.started) watching.renew(id);
    await this.forget(change.removed);
    if (scheduler) await jobs.afterListing(hostId, kernels, present);
    await this.o.servers.merge(hostId, listing);
    const pending = this.pendingRestore.get(hostId);
    if (pending) {
      this.pendingRestore.delete(hostId);
      void this.reattach(pending);
    }
  }

  /** Pins and launch notes of kernels whose files are gone from the host: nothing to watch or restart. */
  private async forget(ids: string[]): Promise<void> {
    const { state } = this.o.persisted;
    const gone = new Set(ids);
    const pinned = state.pinned.filter((id) => !gone.has(id));
    const launches = Object.keys(state.launches).filter((id) => gone.has(id));
    const allowances = this.o.allowances.forget(gone);
    if (pinned.length === state.pinned.length && launches.length === 0 && !allowances) return;
    state.pinned = pinned;
    for (const id of launches) delete state.launches[id];
    await this.o.persisted.save();
  }

  /** The kernel's summary, listing its host first if this agent has not seen the kernel yet. */
  private async lookup(id: string): Promise<KernelSummary> {
    const { host } = parseKernelId(id);
    if (!this.o.table.has(id)) await this.refresh(host);
    if (!this.o.table.has(id)) {
      // The same file name in two runtime dirs: each has its own id, and a bare name picks neither.
      const alike = this.o.table.summaries(host).filter((k) => k.id.startsWith(`${id}@`));
      // HOST/analysis.ipynb: the kernel a server runs for that notebook.
      const { name } = parseKernelId(id);
      const forNotebook = this.o.table.summaries(host).filter((k) => k.alive && k.notebook !== null && (k.notebook === name || k.notebook.split('/').pop() === name));
      if (forNotebook.length === 1) return forNotebook[0]!;
      if (forNotebook.length > 1) {
        throw new KtrayError({
          code: 'BAD_INPUT',
          host,
          message: `${forNotebook.length} kernels on ${host} run a notebook named ${name}.`,
          hint: `Use one of: ${forNotebook.map((k) => `${k.id} (${k.notebook}, ${k.server})`).join(', ')}.`,
        });
      }
      if (alike.length) {
        throw new KtrayError({
          code: 'BAD_INPUT',
          host,
          message: `${id} names ${alike.length} kernels whose files share a name in different runtime dirs.`,
          hint: `Use one of: ${alike.map((k) => `${k.id} (${k.connectionFile})`).join(', ')}.`,
        });
      }
    }
    return this.o.table.require(id);
  }

  private requireAlive(k: KernelSummary, action: string): void {
    if (!k.alive && k.job && (k.state === 'queued' || k.state === 'starting')) {
      const j = k.job;
      throw new KtrayError({
        code: 'KERNEL_QUEUED',
        host: k.host,
        message: `Cannot ${action} ${k.id} yet: its job ${j.jobId} is ${k.state === 'queued' ? `queued${j.reason ? ` (${j.reason})` : ''}` : `starting${j.node ? ` on ${j.node}` : ''}`}.`,
        hint: `\`ktray ls ${k.host}\` shows when it runs (\`ktray events\` says so too).`,
      });
    }
    if (!k.alive && k.job) {
      throw new KtrayError({
        code: 'KERNEL_DEAD',
        host: k.host,
        message: `Cannot ${action} ${k.id}: its job ${k.job.jobId} has ${k.job.ended ? `ended (${k.job.ended})` : k.state === 'unknown' ? 'an unknown state (the queue could not be read)' : 'ended'}${action === 'restart' ? ', and its allocation with it' : ''}.`,
        hint: `\`ktray start ${k.host}\` submits a new job; \`ktray stop ${k.id}\` clears this one.`,
      });
    }
    if (!k.alive) {
      throw new KtrayError({
        code: 'KERNEL_DEAD',
        host: k.host,
        message: `Cannot ${action} ${k.id}: its process is not running (the connection file ${k.connectionFile} is stale).`,
        hint: `\`ktray stop ${k.id}\` removes the stale file; \`ktray start ${k.host}\` starts a new kernel.`,
      });
    }
  }

  private ref(k: KernelSummary): KernelRef {
    const proc = this.o.table.process(k.id);
    return {
      info: this.o.table.info(k.id),
      pid: proc.pid,
      processStart: proc.start,
      connectionFile: k.connectionFile,
      local: this.o.attachments.local(k.id),
      allowedAddresses: this.o.allowances.of(k.id),
    };
  }

  // ---- lifecycle -----------------------------------------------------------------

  async start(params: StartOptions): Promise<KernelSummary> {
    if (params.python && params.kernel) {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.host, message: 'Give either --python or --kernel, not both.' });
    }
    this.o.hosts.validateId(params.host);
    if (params.transport !== undefined && params.transport !== 'tcp' && params.transport !== 'ipc') {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.host, message: `The transport must be tcp or ipc, not ${params.transport}.` });
    }
    if (this.o.jobs.submits(params)) {
      if (params.transport === 'ipc') {
        throw new KtrayError({ code: 'BAD_INPUT', host: params.host, message: 'A batch job\'s kernel listens on its node\'s address, reached from the login node: --transport ipc cannot reach it.', hint: 'Leave out --transport, or pass --login-node to run the kernel on the login node itself.' });
      }
      return this.o.jobs.submit(params, (id) => this.o.watching.want(id, null));
    }
    const host = this.o.hosts.get(params.host);
    const started = await startKernel(host, { python: params.python, kernel: params.kernel, cwd: params.cwd, transport: params.transport });
    const k = this.o.table.started(params.host, started.kernel, started.how);
    const { state } = this.o.persisted;
    // A restart launches it the same way: from the kernelspec it came from, else with the same Python.
    state.launches[k.id] = started.kernelspec ? { kernel: started.kernelspec, cwd: params.cwd } : { python: started.python, cwd: params.cwd };
    // Kernels started here are watched from the start, so their state is live and a death is heard.
    if (!state.pinned.includes(k.id)) state.pinned.push(k.id);
    await this.o.persisted.save();
    await this.o.hosts.markUsed(params.host);
    this.o.watching.want(k.id, null);
    return this.o.table.require(k.id);
  }

  async attach(params: AttachOptions): Promise<AttachResult> {
    const k = await this.lookup(params.id);
    if (params.localTransport !== undefined && params.localTransport !== 'tcp' && params.localTransport !== 'ipc') {
      throw new KtrayError({ code: 'BAD_INPUT', host: k.host, message: `The local transport must be tcp or ipc, not ${String(params.localTransport)}.` });
    }
    this.requireAlive(k, 'attach');
    if (params.allowAddress !== undefined) await this.allowAddress(k, params.allowAddress);
    const newlyAttached = await this.o.attachments.attach(k.id, { localTransport: params.localTransport });
    await this.o.hosts.markUsed(k.host);
    if (newlyAttached) this.o.watching.want(k.id, this.o.attachments.local(k.id), { delayMs: ATTACH_WATCH_DELAY_MS });
    const now = this.o.table.require(k.id);
    return { kernel: now, localConnectionFile: now.localConnectionFile!, newlyAttached };
  }

  /** The user allows the address this kernel's file names (only that one: an allowance is for a kernel's own address). */
  private async allowAddress(k: KernelSummary, address: string): Promise<void> {
    const info = this.o.table.info(k.id);
    const ip = info.ip.trim();
    if (listenScope(info) !== 'other-address') {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: k.host,
        message: `${k.id} listens on ${info.transport === 'ipc' ? 'unix sockets' : `${ip}, ${k.host}'s own loopback or all its interfaces`}: it needs no --allow-address.`,
        hint: `\`ktray attach ${k.id}\` attaches it.`,
      });
    }
    if (address.trim() !== ip) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: k.host,
        message: `${k.id} listens on ${ip}, not ${address}: an allowance is for the address its connection file names.`,
        hint: `If you trust ${ip}: \`ktray attach ${k.id} --allow-address ${ip}\`.`,
      });
    }
    await this.o.allowances.allow(k.id, ip);
  }

  async detach(params: { id: string }): Promise<KernelSummary> {
    const k = await this.lookup(params.id);
    await this.o.attachments.detach(k.id);
    this.afterDetach(k.id);
    return this.o.table.require(k.id);
  }

  /** A pinned kernel goes on being watched, on tunnels of its own; others are let go. */
  private afterDetach(id: string): void {
    if (this.o.persisted.state.pinned.includes(id)) this.o.watching.want(id, null);
    else this.o.watching.unwant(id);
  }

  async stop(params: { id: string }): Promise<KernelSummary> {
    const k = await this.lookup(params.id);
    const { table } = this.o;
    const host = this.o.hosts.get(k.host);
    table.exitExpected(k.id, true);
    try {
      if (k.job) {
        // A clean shutdown first, through the login node to the kernel on its node; then scancel,
        // whatever the kernel did, and wait until the queue lets the job go.
        // (The job's kernel has no pid here: only its control channel is used, reached as its tunnels are.)
        if (k.alive) await stopKernel(this.o.tunnelHost?.(k) ?? host, this.ref(k), { removeFile: false }).catch(() => {});
        await this.o.jobs.cancel(k);
      } else if (k.alive) {
        await stopKernel(host, this.ref(k), { removeFile: true });
      } else {
        // Stopping a dead kernel means clearing its stale file: the user asked.
        await host.run(`rm -f -- ${quote(k.connectionFile)}\n`, { timeoutMs: 15_000 });
      }
    } finally {
      table.exitExpected(k.id, false);
    }
    this.o.watching.unwant(k.id);
    await this.o.attachments.detach(k.id);
    const { state } = this.o.persisted;
    delete state.launches[k.id];
    state.pinned = state.pinned.filter((p) => p !== k.id);
    if (k.job) await this.o.jobs.dismiss(k.id);
    await this.o.persisted.save();
    return table.stopped(k.id);
  }

  async interrupt(params: { id: string }): Promise<KernelSummary> {
    const k = await this.lookup(params.id);
    this.requireAlive(k, 'interrupt');
    // A batch job's kernel: SIGINT through the scheduler to its supervisor, else interrupt_request.
    if (k.job && (await this.o.jobs.interrupt(k))) return this.o.table.require(k.id);
    await interruptKernel(this.o.hosts.get(k.host), this.ref(k));
    return this.o.table.require(k.id);
  }

  async restart(params: { id: string }): Promise<KernelSummary> {
    const k = await this.lookup(params.id);
    this.requireAlive(k, 'restart');
    if (k.job) return this.restartJob(k);
    const launch = this.o.persisted.state.launches[k.id] ?? launchFromCommand(k.command);
    if (!launch) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: k.host,
        message: `Kernel Tray does not know how ${k.id} was launched (${k.command ?? 'no command line'}), so it cannot restart it on the same ports.`,
        hint: `Stop it and start a new one with \`ktray start ${k.host}\`.`,
      });
    }
    const { table, watching } = this.o;
    table.exitExpected(k.id, true);
    watching.pause(k.id);
    try {
      const started = await restartKernel(this.o.hosts.get(k.host), this.ref(k), launch);
      table.restarted(k.id, { pid: started.kernel.pid, processStart: started.kernel.processStart, startedAt: started.kernel.startedAt });
    } finally {
      table.exitExpected(k.id, false);
      watching.resume(k.id);
    }
    // A fresh watch asks the new process for kernel_info, which settles its state.
    watching.renew(k.id);
    return table.require(k.id);
  }

  /** Inside the job's allocation, on the same connection file: frontends carry on with a fresh namespace. */
  private async restartJob(k: KernelSummary): Promise<KernelSummary> {
    const { table, watching } = this.o;
    table.exitExpected(k.id, true);
    watching.pause(k.id);
    try {
      await this.o.jobs.restart(k);
      table.restarted(k.id, { pid: null, startedAt: Date.now() });
    } finally {
      table.exitExpected(k.id, false);
      watching.resume(k.id);
    }
    watching.renew(k.id);
    return table.require(k.id);
  }

  async pin(params: { id: string; pinned: boolean }): Promise<KernelSummary> {
    const k = await this.lookup(params.id);
    const { state } = this.o.persisted;
    state.pinned = state.pinned.filter((p) => p !== k.id);
    if (params.pinned) state.pinned.push(k.id);
    await this.o.persisted.save();
    if (params.pinned) this.o.watching.want(k.id, this.o.attachments.local(k.id));
    else if (!this.o.attachments.has(k.id)) this.o.watching.unwant(k.id);
    return this.o.table.require(k.id);
  }

  // ---- after an agent restart ------------------------------------------------------

  /** Tunnels again for kernels attached before, on the same ports; watches again for pinned ones. */
  async restore(): Promise<void> {
    const { state } = this.o.persisted;
    const byHost = new Map<string, string[]>();
    // Hosts with jobs remembered: listed now, so their queue is watched again (warnings, ends).
    for (const id of Object.keys(state.jobs)) byHost.set(parseKernelId(id).host, byHost.get(parseKernelId(id).host) ?? []);
    for (const id of new Set([...this.o.attachments.remembered(), ...state.pinned])) {
      const { host } = parseKernelId(id);
      byHost.set(host, [...(byHost.get(host) ?? []), id]);
    }
    await Promise.all(
      [...byHost].map(async ([hostId, ids]) => {
        try {
          await this.refresh(hostId);
        } catch (err) {
          this.o.table.hostUnreachable(hostId);
          // Shown as they were last known, in state unknown, and taken up again by the first listing that reaches the host.
          for (const id of ids) {
            const rec = state.attached[id];
            if (rec) this.o.table.remembered(hostId, { name: parseKernelId(id).name, connectionFile: rec.remoteFile, info: rec.info, pid: null, alive: true, startedAt: null, command: null });
          }
          this.pendingRestore.set(hostId, ids);
          for (const id of ids) {
            this.o.table.notice(id, `Could not re-attach ${id}: ${errorText(err)}. It is shown as unknown until ${hostId} answers; Kernel Tray re-attaches it then.`);
          }
          return;
        }
        await this.reattach(ids);
      }),
    );
  }

  /** After a listing: attach again what was attached before the agent restarted, watch what was pinned. */
  private async reattach(ids: string[]): Promise<void> {
    const { state } = this.o.persisted;
    for (const id of ids) {
      const k = this.o.table.get(id);
      if (!k?.alive || k.attached) continue;
      if (state.attached[id]) {
        try {
          await this.attach({ id });
        } catch (err) {
          log.warn(`re-attaching ${id} failed: ${errorText(err)}`);
          this.o.table.notice(id, `Could not re-attach ${id}: ${errorText(err)}`);
        }
      } else {
        this.o.watching.want(id, null);
      }
    }
  }

}
