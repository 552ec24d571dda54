// The agent: owns every host session, kernel record and tunnel. The CLI, the
// tray and the window only render its state and send it intents.
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import type { AgentConnection, AgentEventListener } from '../../shared/agent-api';
import { Attachment, localFileName } from '../tunnels/attachment';
import { KtrayError } from '../../shared/errors';
import { launchFrontend, type FrontendOptions } from '../frontends/frontends';
import type { Host } from '../hosts/host';
import { HostRegistry, validateSavedHost } from '../hosts/host-registry';
import { trustHostKey } from '../ssh/host-key-verifier';
import {
  hostOffer,
  interruptKernel,
  launchFromCommand,
  listKernels,
  restartKernel,
  startKernel,
  stopKernel,
  type KernelRef,
} from '../kernels/kernel-ops';
import { KernelMonitor } from '../kernels/kernel-monitor';
import { KernelRecords, type KernelRecord } from './kernel-table';
import { socketPath } from '../util/paths';
import type { PassphrasePrompt } from '../ssh/ssh-auth';
import { quote } from '../util/shell-quote';
import { SshSession } from '../ssh/ssh-session';
import { StateStore, type AgentState } from './state-store';
import {
  LOCAL_HOST,
  type AgentEvent,
  type AgentSettings,
  type AgentStatus,
  type AttachOptions,
  type AttachResult,
  type ConnectionInfo,
  type HostKeyInfo,
  type HostOffer,
  type HostSummary,
  type KernelState,
  type KernelSummary,
  type SavedHost,
  type StartOptions,
} from '../../shared/types';
import { VERSION } from '../../shared/version';

/** After an attach, the user's frontend connects first; the monitor follows this much later. */
const ATTACH_WATCH_DELAY_MS = 1000;

export interface AgentOptions {
  home: string;
  mode: 'electron' | 'headless';
  runtimeDir: string;
  sshConfigFile?: string;
  askPassphrase?: PassphrasePrompt;
  frontend?: FrontendOptions;
  /** Called by `shutdown` after the agent has closed (the host process exits). */
  onShutdown?: () => void;
}


export class Agent implements AgentConnection {
  private readonly events = new EventEmitter();
  private readonly records: KernelRecords;
  private readonly listedHosts = new Set<string>();
  private readonly warnings = new Map<string, string[]>();
  private readonly hostSince = new Map<string, number>();
  private readonly lostHosts = new Set<string>();
  private readonly registry: HostRegistry;
  private readonly monitor: KernelMonitor;
  private readonly startedAt = Date.now();
  private closed = false;

  private constructor(
    private readonly opts: AgentOptions,
    private readonly store: StateStore,
    private state: AgentState,
  ) {
    this.events.setMaxListeners(0);
    this.registry = new HostRegistry({
      sshConfigFile: opts.sshConfigFile,
      savedHosts: () => this.state.savedHosts,
      askPassphrase: opts.askPassphrase,
      wanted: (id) => this.hostWanted(id),
      notice: (host, message) => this.emit({ type: 'notice', at: Date.now(), host, message }),
    });
    this.records = new KernelRecords({
      emit: (event) => this.emit(event),
      unwatch: (id) => this.monitor.unwatch(id),
      rememberedFile: (id) => this.state.attached[id]?.localFile ?? null,
    });
    this.monitor = new KernelMonitor({
      settings: () => this.state.settings,
      isHostUp: (host) => (this.registry.peek(host)?.state ?? 'idle') === 'connected',
      onState: (id, state, extra) => this.onMonitorState(id, state, extra),
    });
  }

  static async create(opts: AgentOptions): Promise<Agent> {
    const store = new StateStore(opts.home);
    const agent = new Agent(opts, store, await store.load());
    await agent.registry.reload();
    return agent;
  }

  // ---- events -------------------------------------------------------------

  onEvent(listener: AgentEventListener): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(event: AgentEvent): void {
    this.events.emit('event', event);
  }

  // ---- status, hosts ------------------------------------------------------

  async status(): Promise<AgentStatus> {
    return {
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt,
      socket: socketPath(this.opts.home),
      home: this.opts.home,
      hosts: this.registry.ids().length,
      attached: this.records.all().filter((r) => r.attachment).length,
      mode: this.opts.mode,
      sshConfigFile: this.registry.configFile,
    };
  }

  async hosts(): Promise<HostSummary[]> {
    await this.registry.reload();
    const ids = new Set([...this.registry.ids(), ...this.state.usedHosts]);
    return [...ids].map((id) => this.hostSummary(id));
  }

  private hostSummary(id: string): HostSummary {
    const host = this.registry.peek(id);
    let hostname = id;
    let user = '';
    let port = 22;
    let proxyJump: string[] = [];
    if (id === LOCAL_HOST) {
      hostname = 'localhost';
      port = 0;
    } else {
      try {
        const p = this.registry.profile(id);
        ({ hostname, user, port } = p);
        proxyJump = p.proxyJump.map((h) => `${h.user ? h.user + '@' : ''}${h.host}${h.port ? ':' + h.port : ''}`);
      } catch {
        // An unparsable profile still lists; connecting will say what is wrong.
      }
    }
    return {
      id,
      source: this.registry.source(id),
      hostname,
      user,
      port,
      proxyJump,
      connection: host?.state ?? (id === LOCAL_HOST ? 'connected' : 'idle'),
      error: host?.lastError ?? null,
      since: this.hostSince.get(id) ?? this.startedAt,
      rttMs: this.monitor.rtt(id),
      kernelCount: this.records.all().filter((r) => r.summary.host === id && r.summary.alive).length,
      warnings: this.warnings.get(id) ?? [],
    };
  }

  private host(id: string): Host {
    const known = this.registry.peek(id);
    if (known) return known;
    const host = this.registry.get(id);
    host.onStateChange((change) => this.onHostState(id, change.state, change.error?.message ?? ''));
    return host;
  }

  private onHostState(id: string, state: string, reason: string): void {
    const now = Date.now();
    const since = this.hostSince.get(id) ?? now;
    const wasLost = this.lostHosts.has(id);
    this.hostSince.set(id, now);
    if (state === 'lost' && !wasLost) {
      this.lostHosts.add(id);
      this.records.markUnknown(id);
      this.emit({ type: 'host-lost', at: now, host: this.hostSummary(id), reason });
    } else if (state === 'connected' && wasLost) {
      this.lostHosts.delete(id);
      this.emit({ type: 'host-back', at: now, host: this.hostSummary(id), downSeconds: Math.round((now - since) / 1000) });
      void this.kernels({ host: id, refresh: true }).catch(() => {});
    }
    this.emit({ type: 'host-state', at: now, host: this.hostSummary(id) });
  }

  private hostWanted(id: string): boolean {
    return this.records.all().some((r) => r.summary.host === id && (r.attachment || r.summary.watched));
  }

  // ---- kernels ------------------------------------------------------------

  async kernels(params: { host?: string; refresh?: boolean }): Promise<KernelSummary[]> {
    if (params.host) {
      if (params.refresh || !this.listedHosts.has(params.host)) await this.refreshHost(params.host);
      return this.records.summaries(params.host);
    }
    const hosts = new Set([LOCAL_HOST, ...this.state.usedHosts, ...this.records.all().map((r) => r.summary.host)]);
    if (params.refresh || [...hosts].some((h) => !this.listedHosts.has(h))) {
      await Promise.all(
        [...hosts].filter((h) => params.refresh || !this.listedHosts.has(h)).map((h) => this.refreshHost(h).catch(() => {})),
      );
    }
    return this.records.summaries();
  }

  /** One round trip: every connection file and process on the host, merged into the records. */
  private async refreshHost(hostId: string): Promise<void> {
    const host = this.host(hostId);
    let listing;
    try {
      listing = await listKernels(host);
    } catch (err) {
      this.records.markUnknown(hostId);
      throw err;
    }
    this.listedHosts.add(hostId);
    this.warnings.set(hostId, listing.warnings);
    this.records.mergeListing(hostId, listing.kernels);
    await this.forgetGone(hostId);
    this.emit({ type: 'kernels-changed', at: Date.now(), host: hostId, kernels: this.records.summaries(hostId) });
  }

  /** Pins and launch notes of kernels whose files are gone from the host: nothing to watch or restart. */
  private async forgetGone(hostId: string): Promise<void> {
    const gone = (id: string) => id.startsWith(`${hostId}/`) && !this.records.has(id);
    const pinned = this.state.pinned.filter((id) => !gone(id));
    const launches = Object.keys(this.state.launches).filter(gone);
    if (pinned.length === this.state.pinned.length && launches.length === 0) return;
    this.state.pinned = pinned;
    for (const id of launches) delete this.state.launches[id];
    await this.save();
  }

  /** Finds a kernel by id, listing its host first if this agent has not yet. */
  private async lookup(id: string): Promise<KernelRecord> {
    const slash = id.indexOf('/');
    if (slash <= 0 || slash === id.length - 1) {
      throw new KtrayError({ code: 'BAD_INPUT', message: `"${id}" is not a kernel id.`, hint: 'Kernel ids look like HOST/KERNEL, as `ktray ls` prints them.' });
    }
    const hostId = id.slice(0, slash);
    if (!this.records.has(id)) await this.refreshHost(hostId);
    return this.records.find(id);
  }

  private requireAlive(r: KernelRecord, action: string): void {
    if (!r.summary.alive) {
      throw new KtrayError({
        code: 'KERNEL_DEAD',
        host: r.summary.host,
        message: `Cannot ${action} ${r.summary.id}: its process is not running (the connection file ${r.summary.connectionFile} is stale).`,
        hint: `\`ktray stop ${r.summary.id}\` removes the stale file; \`ktray start ${r.summary.host}\` starts a new kernel.`,
      });
    }
  }

  async start(params: StartOptions): Promise<KernelSummary> {
    if (params.python && params.kernel) {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.host, message: 'Give either --python or --kernel, not both.' });
    }
    this.registry.validateId(params.host);
    const host = this.host(params.host);
    if (params.transport !== undefined && params.transport !== 'tcp' && params.transport !== 'ipc') {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.host, message: `The transport must be tcp or ipc, not ${params.transport}.` });
    }
    const started = await startKernel(host, { python: params.python, kernel: params.kernel, cwd: params.cwd, transport: params.transport });
    const r = this.records.add(params.host, started.kernel, 'running');
    this.state.launches[r.summary.id] = { python: params.kernel ? undefined : started.python, kernel: params.kernel, cwd: params.cwd };
    if (!this.state.usedHosts.includes(params.host)) this.state.usedHosts.push(params.host);
    // Kernels started here are watched from the start, so their state is live and a death is heard.
    this.state.pinned.push(r.summary.id);
    await this.save();
    this.watch(r);
    this.emit({ type: 'kernel-started', at: Date.now(), kernel: { ...r.summary } });
    this.emit({ type: 'kernels-changed', at: Date.now(), host: params.host, kernels: this.records.summaries(params.host) });
    return { ...r.summary };
  }

  async attach(params: { id: string } & AttachOptions): Promise<AttachResult> {
    const r = await this.lookup(params.id);
    this.requireAlive(r, 'attach');
    const frontend = params.frontend ?? 'none';
    await this.openAttachment(r);
    let launched: AttachResult['launched'] = null;
    if (frontend === 'qtconsole' || (frontend === 'console' && params.newTerminal)) {
      await launchFrontend(frontend, r.summary.localConnectionFile!, { terminal: this.state.settings.terminal, ...this.opts.frontend });
      launched = frontend;
    }
    return { kernel: { ...r.summary }, localConnectionFile: r.summary.localConnectionFile!, launched };
  }

  private async openAttachment(r: KernelRecord): Promise<void> {
    const s = r.summary;
    if (r.attachment) return;
    if (s.host === LOCAL_HOST) {
      // Same machine: the kernel's own file already works for every frontend.
      s.localConnectionFile = s.connectionFile;
      s.attached = true;
    } else {
      const host = this.host(s.host);
      await host.connect();
      r.attachment = await Attachment.open({
        host,
        info: r.info,
        runtimeDir: this.opts.runtimeDir,
        fileName: localFileName(s.host, s.name),
        connectionFile: s.connectionFile,
        wantedPorts: this.state.attached[s.id]?.ports,
      });
      s.attached = true;
      s.localConnectionFile = r.attachment.localFile;
      s.localPorts = r.attachment.ports;
      this.state.attached[s.id] = { ports: r.attachment.ports, localFile: r.attachment.localFile, info: r.info, remoteFile: s.connectionFile };
    }
    if (!this.state.usedHosts.includes(s.host)) this.state.usedHosts.push(s.host);
    await this.save();
    this.watch(r, ATTACH_WATCH_DELAY_MS);
    this.records.changed(r);
  }

  async detach(params: { id: string }): Promise<KernelSummary> {
    const r = await this.lookup(params.id);
    await this.closeAttachment(r, { removeFile: true });
    delete this.state.attached[r.summary.id];
    await this.save();
    this.records.changed(r);
    return { ...r.summary };
  }

  private async closeAttachment(r: KernelRecord, opts: { removeFile: boolean }): Promise<void> {
    const s = r.summary;
    if (r.attachment) await r.attachment.close(opts);
    else if (opts.removeFile && s.localConnectionFile && s.host !== LOCAL_HOST) await rm(s.localConnectionFile, { force: true });
    r.attachment = null;
    s.attached = false;
    s.localPorts = null;
    if (opts.removeFile) s.localConnectionFile = null;
    if (!this.state.pinned.includes(s.id)) this.unwatch(r);
  }

  async stop(params: { id: string }): Promise<KernelSummary> {
    const r = await this.lookup(params.id);
    const s = r.summary;
    const host = this.host(s.host);
    r.expectingExit = true;
    try {
      if (s.alive) {
        await stopKernel(host, kernelRef(r), { removeFile: true });
      } else {
        // Stopping a dead kernel means clearing its stale file: the user asked.
        await host.run(`rm -f -- ${quote(s.connectionFile)}\n`, { timeoutMs: 15_000 });
      }
    } finally {
      r.expectingExit = false;
    }
    await this.closeAttachment(r, { removeFile: true });
    delete this.state.attached[s.id];
    delete this.state.launches[s.id];
    this.state.pinned = this.state.pinned.filter((p) => p !== s.id);
    await this.save();
    s.alive = false;
    this.records.setState(r, 'dead');
    this.records.delete(s.id);
    this.emit({ type: 'kernels-changed', at: Date.now(), host: s.host, kernels: this.records.summaries(s.host) });
    return { ...s };
  }

  async interrupt(params: { id: string }): Promise<KernelSummary> {
    const r = await this.lookup(params.id);
    this.requireAlive(r, 'interrupt');
    await interruptKernel(this.host(r.summary.host), kernelRef(r));
    return { ...r.summary };
  }

  async restart(params: { id: string }): Promise<KernelSummary> {
    const r = await this.lookup(params.id);
    this.requireAlive(r, 'restart');
    const s = r.summary;
    const launch = this.state.launches[s.id] ?? launchFromCommand(s.command);
    if (!launch) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: s.host,
        message: `Kernel Tray does not know how ${s.id} was launched (${s.command ?? 'no command line'}), so it cannot restart it on the same ports.`,
        hint: `Stop it and start a new one with \`ktray start ${s.host}\`.`,
      });
    }
    r.expectingExit = true;
    this.monitor.pause(s.id);
    try {
      const started = await restartKernel(this.host(s.host), kernelRef(r), launch);
      s.pid = started.kernel.pid;
      s.alive = true;
      s.startedAt = started.kernel.startedAt;
      s.command = null;
      this.records.setState(r, s.watched ? 'starting' : 'running');
    } finally {
      r.expectingExit = false;
      this.monitor.resume(s.id);
    }
    if (s.watched) {
      // A fresh watch asks the new process for kernel_info, which settles its state.
      s.watched = false;
      this.watch(r);
    }
    return { ...s };
  }

  async pin(params: { id: string; pinned: boolean }): Promise<KernelSummary> {
    const r = await this.lookup(params.id);
    const pins = this.state.pinned.filter((p) => p !== r.summary.id);
    if (params.pinned) pins.push(r.summary.id);
    this.state.pinned = pins;
    await this.save();
    if (params.pinned) this.watch(r);
    else if (!r.attachment) this.unwatch(r);
    return { ...r.summary };
  }

  // ---- watching (live state) -----------------------------------------------

  private watch(r: KernelRecord, delayMs = 0): void {
    if (r.summary.watched || !r.summary.alive) return;
    r.summary.watched = true;
    void this.monitor.watch(r.summary.id, this.host(r.summary.host), r.info, r.attachment?.ports ?? null, { connectionFile: r.summary.connectionFile, delayMs });
  }

  private unwatch(r: KernelRecord): void {
    if (!r.summary.watched) return;
    r.summary.watched = false;
    this.monitor.unwatch(r.summary.id);
    if (r.summary.alive && r.summary.state !== 'dead') this.records.setState(r, 'running');
  }

  private onMonitorState(id: string, state: KernelState, extra: { busySeconds?: number; reason?: string }): void {
    const r = this.records.get(id);
    if (!r) return;
    if (state === 'dead' || (state === 'unresponsive' && extra.reason === 'gone')) {
      if (r.expectingExit) return;
      // The heartbeat stopped: ask the host whether the process is really gone.
      void this.confirmDeath(r);
      return;
    }
    const was = r.summary.state;
    this.records.setState(r, state);
    if (was === 'busy' && state === 'idle' && extra.busySeconds !== undefined && extra.busySeconds >= this.state.settings.longRunSeconds) {
      this.emit({ type: 'run-finished', at: Date.now(), kernel: { ...r.summary }, seconds: extra.busySeconds });
    }
  }

  private async confirmDeath(r: KernelRecord): Promise<void> {
    try {
      await this.refreshHost(r.summary.host);
    } catch {
      return;
    }
    if (r.summary.alive && r.summary.state !== 'dead') this.records.setState(r, 'unresponsive');
  }

  // ---- hosts: keys, reconnect, offers, saved --------------------------------

  private sshSession(hostId: string): SshSession {
    if (hostId === LOCAL_HOST) {
      throw new KtrayError({ code: 'BAD_INPUT', host: hostId, message: 'The local host needs no host key: it does not use SSH.' });
    }
    const host = this.host(hostId);
    if (!(host instanceof SshSession)) throw new KtrayError({ code: 'INTERNAL', host: hostId, message: `${hostId} is not an SSH host.` });
    return host;
  }

  async hostKey(params: { host: string }): Promise<HostKeyInfo> {
    const seen = await this.sshSession(params.host).fetchHostKey();
    return { host: params.host, hostname: seen.hostname, port: seen.port, keyType: seen.keyType, fingerprint: seen.fingerprint, knownHostsFile: seen.knownHostsFile, known: seen.known };
  }

  async trust(params: { host: string; fingerprint: string }): Promise<HostKeyInfo> {
    const session = this.sshSession(params.host);
    const seen = await session.fetchHostKey();
    await trustHostKey(seen, params.fingerprint, params.host);
    // Start afresh so the next connect reads the updated known_hosts.
    if (session.state !== 'connected') await this.dropSession(params.host);
    return { host: params.host, hostname: seen.hostname, port: seen.port, keyType: seen.keyType, fingerprint: seen.fingerprint, knownHostsFile: seen.knownHostsFile, known: true };
  }

  private async dropSession(hostId: string): Promise<void> {
    await this.registry.drop(hostId);
  }

  async reconnect(params: { host?: string }): Promise<HostSummary[]> {
    const ids = params.host ? [params.host] : [...new Set([...this.state.usedHosts, ...this.records.all().map((r) => r.summary.host)])];
    await Promise.all(ids.filter((id) => id !== LOCAL_HOST).map((id) => this.host(id).check()));
    return ids.map((id) => this.hostSummary(id));
  }

  async offer(params: { host: string }): Promise<HostOffer> {
    return hostOffer(this.host(params.host));
  }

  async saveHost(params: SavedHost): Promise<HostSummary> {
    validateSavedHost(params);
    this.state.savedHosts = [...this.state.savedHosts.filter((h) => h.id !== params.id), params];
    await this.save();
    await this.dropSession(params.id);
    return this.hostSummary(params.id);
  }

  async removeHost(params: { id: string }): Promise<void> {
    const before = this.state.savedHosts.length;
    this.state.savedHosts = this.state.savedHosts.filter((h) => h.id !== params.id);
    if (before === this.state.savedHosts.length) {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.id, message: `${params.id} is not a host saved in Kernel Tray (hosts from ~/.ssh/config are edited there).` });
    }
    await this.save();
  }

  async getSettings(): Promise<AgentSettings> {
    return { ...this.state.settings };
  }

  async setSettings(patch: Partial<AgentSettings>): Promise<AgentSettings> {
    if (patch.longRunSeconds !== undefined && !(typeof patch.longRunSeconds === 'number' && patch.longRunSeconds > 0)) {
      throw new KtrayError({ code: 'BAD_INPUT', message: 'The long-run threshold must be a positive number of seconds.' });
    }
    this.state.settings = { ...this.state.settings, ...patch };
    await this.save();
    return { ...this.state.settings };
  }

  // ---- lifecycle ------------------------------------------------------------

  /** After an agent restart: tunnels again for kernels attached before, on the same ports. */
  async restoreAttachments(): Promise<void> {
    const byHost = new Map<string, string[]>();
    for (const id of [...Object.keys(this.state.attached), ...this.state.pinned]) {
      const host = id.slice(0, id.indexOf('/'));
      byHost.set(host, [...(byHost.get(host) ?? []), id]);
    }
    await Promise.all(
      [...byHost].map(async ([hostId, ids]) => {
        try {
          await this.refreshHost(hostId);
        } catch (err) {
          this.emit({ type: 'notice', at: Date.now(), host: hostId, message: `Could not re-attach kernels on ${hostId}: ${(err as Error).message}` });
          return;
        }
        for (const id of ids) {
          const r = this.records.get(id);
          if (!r || !r.summary.alive) continue;
          if (this.state.attached[id]) await this.openAttachment(r).catch(() => {});
          else this.watch(r);
        }
      }),
    );
  }

  async shutdown(): Promise<void> {
    await this.close();
    this.opts.onShutdown?.();
  }

  /** Closes tunnels and SSH sessions; remote kernels keep running, local files stay for a restart. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.monitor.close();
    for (const r of this.records.all()) await r.attachment?.close({ removeFile: false });
    await this.registry.closeAll();
    this.events.removeAllListeners();
  }

  private save(): Promise<void> {
    return this.store.save(this.state);
  }
}

function kernelRef(r: KernelRecord): KernelRef {
  return { info: r.info, pid: r.summary.pid, connectionFile: r.summary.connectionFile, controlPort: r.attachment?.ports.control ?? null };
}
