// The agent: a thin facade over the services that own its state (hosts, the
// kernel table, attachments, watching, settings). The CLI, the tray and the
// window only render what it says and send it intents.
import path from 'node:path';
import type { AgentConnection, AgentEventListener } from '../../shared/agent-api';
import type {
  AgentSettings,
  AgentStatus,
  AttachOptions,
  AttachResult,
  HostKeyInfo,
  HostOffer,
  HostScheduler,
  TransportSetting,
  HostSummary,
  KernelSummary,
  PlotData,
  PlotLimits,
  PlotList,
  SavedHost,
  ServerOpened,
  ServerStartOptions,
  ServerStopped,
  ServerSummary,
  StartOptions,
  ForgottenSecrets,
} from '../../shared/types';
import { KtrayError } from '../../shared/errors';
import { VERSION } from '../../shared/version';
import type { Host } from '../hosts/host';
import { PlotStore } from '../plots/plot-store';
import type { AnswerPrompt } from '../keychain/kept-answers';
import { systemKeychain, type Keychain } from '../keychain/keychain';
import { logger } from '../util/logger';
import { privateSocketDir, socketPath, unixSocketsHere } from '../util/paths';
import { sweepDeadSockets } from '../util/socket-sweep';
import { AddressAllowances } from './address-allowances';
import { Attachments } from './attachments';
import { EventBus } from './event-bus';
import { Hosts } from './hosts';
import { Jobs } from './jobs';
import { KernelTable } from './kernel-table';
import { Kernels } from './kernels';
import { Persisted } from './persisted';
import { Servers } from './servers';
import { ServerTable } from './server-table';
import { Settings } from './settings';
import { StateStore } from './state-store';
import { Watching, type WatchingOptions } from './watching';

const log = logger('agent');

export interface AgentOptions {
  home: string;
  mode: 'electron' | 'headless';
  runtimeDir: string;
  sshConfigFile?: string;
  askPassphrase?: AnswerPrompt;
  /** Where answers the user chose to keep go; default: this system's (KTRAY_KEYCHAIN=none: none). */
  keychain?: Keychain;
  /** Called by `shutdown` after the agent has closed (the host process exits). */
  onShutdown?: () => void;
  /** Beat timing of the monitor, for tests. */
  monitor?: WatchingOptions['monitor'];
  /** Sessions of a kind of our own, for tests (a fake host); default LocalHost and SshSession. */
  createHost?: (hostId: string) => Host | undefined;
  /** Limits of the plot store, for tests; default DEFAULT_PLOT_LIMITS. */
  plotLimits?: Partial<PlotLimits>;
}

export class Agent implements AgentConnection {
  private readonly events = new EventBus();
  private readonly startedAt = Date.now();
  private closed = false;
  readonly table: KernelTable;
  readonly serverTable: ServerTable;
  private readonly hostService: Hosts;
  private readonly serverService: Servers;
  private readonly attachments: Attachments;
  private readonly watching: Watching;
  private readonly kernelService: Kernels;
  private readonly jobs: Jobs;
  private readonly settings: Settings;
  /** Image outputs of watched kernels: the one writer of plot state and plot events. */
  readonly plotStore: PlotStore;
  /** Addresses other than a host's loopback that kernels may be forwarded to (granted by the user or by agent code). */
  readonly allowances: AddressAllowances;
  private readonly keychain: Keychain;

  private constructor(
    private readonly opts: AgentOptions,
    private readonly persisted: Persisted,
  ) {
    const events = this.events;
    this.keychain = opts.keychain ?? systemKeychain();
    this.settings = new Settings(persisted);
    this.plotStore = new PlotStore({ events, cacheDir: path.join(opts.home, 'plots'), limits: opts.plotLimits });
    const plotStore = this.plotStore;
    this.allowances = new AddressAllowances(persisted);
    const allowances = this.allowances;
    this.table = new KernelTable({ events, rememberedFile: (id) => this.attachments.rememberedFile(id) });
    const table = this.table;
    this.serverTable = new ServerTable({ events, startedHere: (id) => persisted.state.servers[id]?.started !== undefined });
    this.hostService = new Hosts({
      events,
      persisted,
      sshConfigFile: opts.sshConfigFile,
      askPassphrase: opts.askPassphrase,
      keychain: this.keychain,
      wanted: (host) => this.attachments.wantsHost(host) || this.serverService.wantsHost(host) || table.ids(host).some((id) => this.watching.isWanted(id) && table.get(id)?.alive),
      kernelCount: (host) => table.summaries(host).filter((k) => k.alive).length,
      scheduler: (host) => this.jobs.config(host),
      rtt: (host) => this.watching.rtt(host),
      onLost: (host) => table.hostUnreachable(host),
      createHost: opts.createHost,
      onBack: (host) => {
        this.watching.hostBack(host);
        void this.kernelService.refresh(host).catch(() => {});
      },
    });
    const host = (id: string) => this.hostService.get(id);
    // A cluster with nodeSsh on: a job's kernel is reached by SSH to its node, through the login node.
    const tunnelHost = (k: KernelSummary) => (k.job?.node && this.jobs.config(k.host)?.nodeSsh ? this.hostService.node(k.host, k.job.node) : host(k.host));
    this.attachments = new Attachments({ table, host, tunnelHost, runtimeDir: opts.runtimeDir, persisted, allowances });
    this.watching = new Watching({
      table,
      host,
      tunnelHost,
      isHostUp: (id) => this.hostService.isUp(id),
      settings: () => this.settings.current,
      confirm: (id) => this.kernelService.refresh(table.require(id).host),
      allowed: (id) => allowances.of(id),
      monitor: opts.monitor,
      onIopub: (id, msg) => plotStore.observe(id, msg),
    });
    this.jobs = new Jobs({
      table,
      hosts: this.hostService,
      persisted,
      allowances,
      settings: () => this.settings.current,
      refresh: (host) => this.kernelService.refresh(host),
    });
    this.serverService = new Servers({
      table: this.serverTable,
      kernels: table,
      hosts: this.hostService,
      persisted,
      home: opts.home,
      refresh: (h) => this.kernelService.refresh(h),
      stopKernel: (id) => this.kernelService.stop({ id }),
    });
    this.kernelService = new Kernels({ table, hosts: this.hostService, attachments: this.attachments, watching: this.watching, persisted, allowances, jobs: this.jobs, servers: this.serverService, tunnelHost });
  }

  static async create(opts: AgentOptions): Promise<Agent> {
    const store = new StateStore(opts.home);
    return new Agent(opts, new Persisted(store, await store.load()));
  }

  onEvent(listener: AgentEventListener): () => void {
    return this.events.on(listener);
  }

  async status(): Promise<AgentStatus> {
    return {
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt,
      socket: socketPath(this.opts.home),
      home: this.opts.home,
      hosts: this.hostService.count(),
      attached: this.table.summaries().filter((k) => k.attached).length,
      mode: this.opts.mode,
      sshConfigFile: this.hostService.configFile,
      sshConfigError: this.hostService.configError(),
    };
  }

  hosts = (): Promise<HostSummary[]> => this.hostService.list();
  hostKey = (p: { host: string }): Promise<HostKeyInfo> => this.hostService.hostKey(p);
  trust = (p: { host: string; fingerprint: string; replace?: boolean }): Promise<HostKeyInfo> => this.hostService.trust(p);
  reconnect = (p: { host?: string }): Promise<HostSummary[]> => this.hostService.reconnect(p, this.table.hosts());
  offer = (p: { host: string }): Promise<HostOffer> => this.hostService.offer(p);
  saveHost = (p: SavedHost): Promise<HostSummary> => this.hostService.save(p);
  removeHost = (p: { id: string }): Promise<void> => this.hostService.remove(p);
  setTransport = (p: { host: string; transport: TransportSetting }): Promise<HostSummary> => this.hostService.setTransport(p);
  forgetSecrets = async (p: { host: string }): Promise<ForgottenSecrets> => {
    if (typeof p?.host !== 'string' || p.host === '' || /[\0\n]/.test(p.host)) {
      throw new KtrayError({ code: 'BAD_INPUT', message: 'forgetSecrets needs the name of a host.', hint: '`ktray hosts` lists them.' });
    }
    const keyFiles = this.hostService.keyFiles(p.host);
    const why = await this.keychain.unavailable();
    if (why) return { host: p.host, removed: 0, keychain: this.keychain.name, unavailable: why, keyFiles };
    const removed = await this.keychain.forgetHost(p.host);
    log.info(`${p.host}: ${removed} kept secret(s) removed from ${this.keychain.name}`);
    return { host: p.host, removed, keychain: this.keychain.name, keyFiles };
  };
  setScheduler = async (p: { host: string; scheduler: HostScheduler | null }): Promise<HostSummary> => {
    await this.jobs.setScheduler(p.host, p.scheduler);
    return this.hostService.summary(p.host);
  };

  kernels = (p: { host?: string; refresh?: boolean }): Promise<KernelSummary[]> => this.kernelService.list(p);
  start = (p: StartOptions): Promise<KernelSummary> => this.kernelService.start(p);
  attach = (p: AttachOptions): Promise<AttachResult> => this.kernelService.attach(p);
  detach = (p: { id: string }): Promise<KernelSummary> => this.kernelService.detach(p);
  stop = (p: { id: string }): Promise<KernelSummary> => this.kernelService.stop(p);
  interrupt = (p: { id: string }): Promise<KernelSummary> => this.kernelService.interrupt(p);
  restart = (p: { id: string }): Promise<KernelSummary> => this.kernelService.restart(p);
  pin = (p: { id: string; pinned: boolean }): Promise<KernelSummary> => this.kernelService.pin(p);

  plots = async (p: { kernel?: string }): Promise<PlotList> => {
    const plots = this.plotStore.list(p.kernel);
    if (p.kernel && plots.length === 0 && !this.table.get(p.kernel)) {
      throw new KtrayError({ code: 'KERNEL_NOT_FOUND', message: `No kernel ${p.kernel}: the agent knows none by that id.`, hint: '`ktray ls` lists kernels with their ids (HOST/KERNEL).' });
    }
    return { plots, usage: this.plotStore.usage() };
  };
  plot = async (p: { id: string }): Promise<PlotData> => {
    const plot = this.plotStore.get(p.id);
    return { plot, base64: (await this.plotStore.read(p.id)).toString('base64') };
  };
  servers = (p: { host?: string; refresh?: boolean }): Promise<ServerSummary[]> => this.serverService.list(p, (q) => this.kernelService.list(q));
  startServer = (p: ServerStartOptions): Promise<ServerSummary> => this.serverService.start(p);
  openServer = (p: { id: string }): Promise<ServerOpened> => this.serverService.open(p);
  closeServer = (p: { id: string }): Promise<ServerSummary> => this.serverService.close(p);
  serverKernels = async (p: { id: string }): Promise<KernelSummary[]> => this.serverService.kernelsOf(p.id);
  stopServer = (p: { id: string }): Promise<ServerStopped> => this.serverService.stop(p);

  getSettings = (): Promise<AgentSettings> => this.settings.get();
  setSettings = (p: Partial<AgentSettings>): Promise<AgentSettings> => this.settings.set(p);

  /** After an agent restart: tunnels again for kernels attached and servers open before, on the same ports. */
  async restoreAttachments(): Promise<void> {
    await this.sweepSockets();
    await Promise.all([this.kernelService.restore(), this.serverService.restore()]);
  }

  /** Sockets a killed agent left in our folders, except those re-attaching will take again. */
  private async sweepSockets(): Promise<void> {
    const keep = Object.values(this.persisted.state.attached).flatMap((r) => (r.localTransport === 'ipc' && r.localIp ? [r.localIp] : []));
    const dirs = [this.opts.runtimeDir];
    if (unixSocketsHere()) dirs.push(await privateSocketDir().catch(() => this.opts.runtimeDir));
    const removed = await sweepDeadSockets(dirs, keep).catch(() => []);
    if (removed.length) log.info(`removed ${removed.length} socket(s) nobody listened on, left by an agent that ended without closing them: ${removed.join(', ')}`);
  }

  async shutdown(): Promise<void> {
    await this.close();
    this.opts.onShutdown?.();
  }

  /** Closes tunnels and SSH sessions; remote kernels keep running, local files stay for a restart. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.jobs.close();
    this.watching.close();
    await this.attachments.closeAll();
    await this.serverService.closeAll();
    await this.hostService.closeAll();
    await this.plotStore.close();
    this.events.close();
  }
}
