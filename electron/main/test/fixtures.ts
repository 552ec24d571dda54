// Plain agent data for the adapter tests, and a recording AgentConnection.
// The adapter layer only renders state and forwards intents, so a recorder is
// the right partner here; the agent itself is tested against real hosts.
import type { AgentConnection, AgentEventListener } from '../../shared/agent-api';
import { KtrayError } from '../../shared/errors';
import type { AgentEvent, AgentSettings, HostScheduler, HostSummary, KernelSummary, PlotSummary, ServerSummary, TransportSetting } from '../../shared/types';
import { DEFAULT_PLOT_LIMITS } from '../../core/plots/plot-store';

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export function host(id: string, over: Partial<HostSummary> = {}): HostSummary {
  return {
    id,
    source: id === 'local' ? 'local' : 'ssh-config',
    hostname: id === 'local' ? 'localhost' : `${id}.example.org`,
    user: 'ada',
    port: 22,
    proxyJump: [],
    connection: 'connected',
    error: null,
    since: T0,
    rttMs: 12,
    kernelCount: 0,
    warnings: [],
    ...over,
  };
}

export function kernel(hostId: string, name: string, over: Partial<KernelSummary> = {}): KernelSummary {
  return {
    id: `${hostId}/${name}`,
    host: hostId,
    name,
    connectionFile: `/run/user/1000/jupyter/kernel-${name}.json`,
    kernelName: 'python3',
    pid: 4242,
    alive: true,
    startedAt: T0 - 3_600_000,
    command: 'python3 -m ipykernel_launcher -f ...',
    attached: false,
    localConnectionFile: null,
    localPorts: null,
    localChannels: null,
    listens: 'loopback',
    state: 'idle',
    stateSince: T0 - 60_000,
    busySince: null,
    watched: true,
    watchError: null,
    server: null,
    notebook: null,
    ...over,
  };
}

export function server(hostId: string, name: string, over: Partial<ServerSummary> = {}): ServerSummary {
  return {
    id: `${hostId}/${name}`,
    host: hostId,
    name,
    file: `/run/user/1000/jupyter/${name}.json`,
    app: 'notebook',
    version: null,
    rootDir: '/home/ada/proj',
    pid: 777,
    alive: true,
    startedAt: T0 - 600_000,
    command: 'python3 /usr/bin/jupyter-notebook --no-browser --port=8887',
    endpoint: { kind: 'tcp', address: '127.0.0.1', port: 8887 },
    remoteUrl: 'http://localhost:8887/',
    baseUrl: '/',
    secure: false,
    auth: 'token',
    listens: 'loopback',
    warnings: [],
    tunnelled: false,
    localUrl: null,
    localPort: null,
    kernels: [],
    startedByKtray: false,
    ...over,
  };
}

export interface Call {
  method: string;
  params: unknown;
}

/** A plot of gpu/train as the agent would describe it. */
export function samplePlot(n: number, over: Partial<PlotSummary> = {}): PlotSummary {
  return {
    id: `gpu/train#${n}`,
    kernel: 'gpu/train',
    seq: n,
    at: T0 + n * 1000,
    updatedAt: T0 + n * 1000,
    version: 1,
    mime: 'image/png',
    otherMimes: [],
    bytes: 1234,
    width: 640,
    height: 480,
    source: 'display_data',
    displayId: null,
    code: 'plt.plot([1, 2, 3])',
    executionCount: n,
    client: { session: 'session-a', username: 'ada' },
    ...over,
  };
}

export class FakeAgent implements AgentConnection {
  calls: Call[] = [];
  hostList: HostSummary[] = [host('local')];
  kernelList: KernelSummary[] = [];
  serverList: ServerSummary[] = [];
  settings: AgentSettings = { longRunSeconds: 60, terminal: '', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true };
  failWith: Partial<Record<string, KtrayError>> = {};
  private listeners = new Set<AgentEventListener>();

  onEvent(listener: AgentEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
  emit(event: AgentEvent): void {
    for (const l of this.listeners) l(event);
  }

  private async rec<T>(method: string, params: unknown, value: () => T): Promise<T> {
    this.calls.push({ method, params });
    const failure = this.failWith[method];
    if (failure) throw failure;
    return value();
  }
  private findServer(id: string): ServerSummary {
    const s = this.serverList.find((x) => x.id === id);
    if (!s) throw new KtrayError({ code: 'SERVER_NOT_FOUND', message: `No Jupyter server ${id}.` });
    return s;
  }
  private find(id: string): KernelSummary {
    const k = this.kernelList.find((x) => x.id === id);
    if (!k) throw new KtrayError({ code: 'KERNEL_NOT_FOUND', message: `No kernel ${id}.` });
    return k;
  }
  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  status = (p: Record<string, never>) =>
    this.rec('status', p, () => ({
      pid: 1,
      version: '0.1.0',
      startedAt: T0,
      socket: '/tmp/ktray.sock',
      home: '/tmp',
      hosts: this.hostList.length,
      attached: 0,
      mode: 'electron' as const,
      sshConfigFile: '/home/ada/.ssh/config',
    }));
  hosts = (p: Record<string, never>) => this.rec('hosts', p, () => this.hostList);
  kernels = (p: { host?: string; refresh?: boolean }) =>
    this.rec('kernels', p, () => this.kernelList.filter((k) => !p.host || k.host === p.host));
  start = (p: { host: string }) => this.rec('start', p, () => kernel(p.host, 'new'));
  attach = (p: { id: string }) =>
    this.rec('attach', p, () => {
      const before = this.find(p.id);
      const k = { ...before, attached: true, localConnectionFile: `/local/${p.id.replace('/', '-')}.json` };
      return { kernel: k, localConnectionFile: k.localConnectionFile, newlyAttached: !before.attached };
    });
  detach = (p: { id: string }) => this.rec('detach', p, () => this.find(p.id));
  stop = (p: { id: string }) => this.rec('stop', p, () => this.find(p.id));
  interrupt = (p: { id: string }) => this.rec('interrupt', p, () => this.find(p.id));
  restart = (p: { id: string }) => this.rec('restart', p, () => this.find(p.id));
  pin = (p: { id: string; pinned: boolean }) => this.rec('pin', p, () => this.find(p.id));
  plotList: PlotSummary[] = [];
  plotBytes: Record<string, Buffer> = {};
  plots = (p: { kernel?: string }) =>
    this.rec('plots', p, () => {
      const plots = this.plotList.filter((x) => !p.kernel || x.kernel === p.kernel);
      return { plots, usage: { plots: plots.length, memoryBytes: 0, diskBytes: 0, dropped: 0, cacheDir: '/tmp/plots', limits: { ...DEFAULT_PLOT_LIMITS }, kernels: {} } };
    });
  plot = (p: { id: string }) =>
    this.rec('plot', p, () => {
      const plot = this.plotList.find((x) => x.id === p.id);
      if (!plot) throw new KtrayError({ code: 'PLOT_NOT_FOUND', message: `No plot ${p.id}.` });
      return { plot, base64: (this.plotBytes[p.id] ?? Buffer.alloc(0)).toString('base64') };
    });
  hostKey = (p: { host: string }) =>
    this.rec('hostKey', p, () => ({
      host: p.host,
      hostname: p.host,
      port: 22,
      keyType: 'ssh-ed25519',
      fingerprint: 'SHA256:x',
      knownHostsFile: '~/.ssh/known_hosts',
      known: true,
    }));
  trust = (p: { host: string; fingerprint: string; replace?: boolean }) =>
    this.rec('trust', p, () => ({
      host: p.host,
      hostname: p.host,
      port: 22,
      keyType: 'ssh-ed25519',
      fingerprint: p.fingerprint,
      knownHostsFile: '~/.ssh/known_hosts',
      known: true,
    }));
  reconnect = (p: { host?: string }) => this.rec('reconnect', p, () => this.hostList);
  offer = (p: { host: string }) => this.rec('offer', p, () => ({ host: p.host, kernelspecs: [], pythons: [], home: '/home/ada', preferred: null }));
  saveHost = (p: { id: string; hostname: string }) =>
    this.rec('saveHost', p, () => {
      const h = host(p.id, { source: 'saved', hostname: p.hostname });
      this.hostList = [...this.hostList.filter((x) => x.id !== p.id), h];
      return h;
    });
  removeHost = (p: { id: string }) =>
    this.rec('removeHost', p, () => {
      this.hostList = this.hostList.filter((x) => x.id !== p.id);
    });
  setScheduler = (p: { host: string; scheduler: HostScheduler | null }) =>
    this.rec('setScheduler', p, () => {
      const h = { ...(this.hostList.find((x) => x.id === p.host) ?? host(p.host)), scheduler: p.scheduler };
      this.hostList = [...this.hostList.filter((x) => x.id !== p.host), h];
      return h;
    });
  servers = (p: { host?: string; refresh?: boolean }) =>
    this.rec('servers', p, () => this.serverList.filter((s) => !p.host || s.host === p.host));
  startServer = (p: { host: string }) => this.rec('startServer', p, () => server(p.host, 'jpserver-1'));
  openServer = (p: { id: string }) =>
    this.rec('openServer', p, () => {
      const s = { ...this.findServer(p.id), tunnelled: true, localPort: 50123, localUrl: 'http://127.0.0.1:50123/' };
      return { server: s, localUrl: 'http://127.0.0.1:50123/tree', loginFile: s.auth === 'token' ? `/state/servers/login-${p.id.replace('/', '_')}.html` : null, note: null };
    });
  closeServer = (p: { id: string }) => this.rec('closeServer', p, () => this.findServer(p.id));
  serverKernels = (p: { id: string }) => this.rec('serverKernels', p, () => this.kernelList.filter((k) => k.server === p.id));
  stopServer = (p: { id: string }) =>
    this.rec('stopServer', p, () => ({ server: this.findServer(p.id), kernels: this.kernelList.filter((k) => k.server === p.id), how: 'api' as const }));
  setTransport = (p: { host: string; transport: TransportSetting }) =>
    this.rec('setTransport', p, () => {
      const base = this.hostList.find((x) => x.id === p.host) ?? host(p.host);
      const h: HostSummary = { ...base, ...(p.transport === 'auto' ? {} : { transport: { kind: p.transport, why: 'set by hand', setting: p.transport } }) };
      this.hostList = [...this.hostList.filter((x) => x.id !== p.host), h];
      return h;
    });
  forgetSecrets = (p: { host: string }) => this.rec('forgetSecrets', p, () => ({ host: p.host, removed: 1, keychain: 'the test keychain' }));
  getSettings = (p: Record<string, never>) => this.rec('getSettings', p, () => this.settings);
  setSettings = (p: Partial<AgentSettings>) =>
    this.rec('setSettings', p, () => {
      this.settings = { ...this.settings, ...p };
      return this.settings;
    });
  shutdown = (p: Record<string, never>) => this.rec('shutdown', p, () => undefined);
}
