// The one definition of what a face (CLI, tray menu, window) may ask of the
// agent. Each method takes one plain params object and returns plain data, so
// the same definition types the local-socket RPC, the Electron IPC bridge, the
// preload and the window's client, all derived from it: adding a method is an
// entry here, its implementation in the agent, and its use.
import type {
  AgentEvent,
  AgentSettings,
  AgentStatus,
  AttachOptions,
  AttachResult,
  HostKeyInfo,
  HostOffer,
  HostScheduler,
  HostSummary,
  KernelSummary,
  PlotData,
  PlotList,
  SavedHost,
  ServerOpened,
  ServerStartOptions,
  ServerStopped,
  ServerSummary,
  StartOptions,
  TransportSetting,
  ForgottenSecrets,
} from './types';

export interface AgentApi {
  status(params: Record<string, never>): Promise<AgentStatus>;
  /** Stop the agent: tunnels close, remote kernels keep running. */
  shutdown(params: Record<string, never>): Promise<void>;

  hosts(params: Record<string, never>): Promise<HostSummary[]>;
  /** The host's key as offered now, and whether known_hosts already trusts it. */
  hostKey(params: { host: string }): Promise<HostKeyInfo>;
  /**
   * Add the host's key to known_hosts, only if it still has this fingerprint.
   * Over a key that CHANGED, only with `replace`, which removes the old line.
   */
  trust(params: { host: string; fingerprint: string; replace?: boolean }): Promise<HostKeyInfo>;
  /** Check connections now (after sleep/resume or a network change); one host or all. */
  reconnect(params: { host?: string }): Promise<HostSummary[]>;
  /** Kernelspecs and Pythons (conda/venv) the host offers for a new kernel. */
  offer(params: { host: string }): Promise<HostOffer>;
  saveHost(params: SavedHost): Promise<HostSummary>;
  removeHost(params: { id: string }): Promise<void>;
  /**
   * Makes the host a cluster whose kernels are batch jobs of this scheduler,
   * submitted from it with these default arguments (null: plain kernels again).
   */
  setScheduler(params: { host: string; scheduler: HostScheduler | null }): Promise<HostSummary>;
  /** ssh2 or the system's OpenSSH for this host, or `auto` (its ssh config decides); kept in the agent's state. */
  setTransport(params: { host: string; transport: TransportSetting }): Promise<HostSummary>;
  /** Removes the passwords and key passphrases kept in the OS keychain for a host (nothing else changes). */
  forgetSecrets(params: { host: string }): Promise<ForgottenSecrets>;

  /** Kernels of one host or all; `refresh` asks the host(s) now (one round trip each). */
  kernels(params: { host?: string; refresh?: boolean }): Promise<KernelSummary[]>;
  start(params: StartOptions): Promise<KernelSummary>;
  /**
   * Tunnels and a local connection file; the caller opens the frontend it wants on that file.
   * Local ends are unix sockets only this user can reach unless `localTransport: 'tcp'`;
   * an address other than the host's loopback is forwarded only once allowed (`allowAddress`).
   */
  attach(params: AttachOptions): Promise<AttachResult>;
  detach(params: { id: string }): Promise<KernelSummary>;
  stop(params: { id: string }): Promise<KernelSummary>;
  interrupt(params: { id: string }): Promise<KernelSummary>;
  restart(params: { id: string }): Promise<KernelSummary>;
  /** Watch a kernel's live state without attaching a frontend. */
  pin(params: { id: string; pinned: boolean }): Promise<KernelSummary>;

  /**
   * Image outputs the agent saw on iopub of the kernels it watches, from any of their
   * clients, newest first (one kernel's or all), and what the plot store holds.
   */
  plots(params: { kernel?: string }): Promise<PlotList>;
  /** One plot with its bytes (base64), as the kernel sent them. */
  plot(params: { id: string }): Promise<PlotData>;
  /** Jupyter servers of one host or all, found in the same round trip as the kernels. */
  servers(params: { host?: string; refresh?: boolean }): Promise<ServerSummary[]>;
  /** Starts a Jupyter server detached on the host, on its loopback (or a unix socket), with a fresh token. */
  startServer(params: ServerStartOptions): Promise<ServerSummary>;
  /** Forwards the server to 127.0.0.1 here and writes the page that logs a browser in; the caller opens the browser. */
  openServer(params: { id: string }): Promise<ServerOpened>;
  /** Closes the server's tunnel; the server keeps running. */
  closeServer(params: { id: string }): Promise<ServerSummary>;
  /** The live kernels that stopping this server would stop, to tell the user first. */
  serverKernels(params: { id: string }): Promise<KernelSummary[]>;
  /** Shuts the server down (its REST API, then signals), its kernels with it. */
  stopServer(params: { id: string }): Promise<ServerStopped>;

  getSettings(params: Record<string, never>): Promise<AgentSettings>;
  setSettings(params: Partial<AgentSettings>): Promise<AgentSettings>;
}

export type AgentMethod = keyof AgentApi;
export type AgentParams<M extends AgentMethod> = Parameters<AgentApi[M]>[0];
export type AgentResult<M extends AgentMethod> = Awaited<ReturnType<AgentApi[M]>>;

/** The window groups methods by domain (`kernels.start`); `no-window` ones are for the CLI only. */
export type Domain = 'agent' | 'hosts' | 'kernels' | 'plots' | 'servers' | 'settings';
type Placement = readonly [Domain, string] | readonly [Domain, string, 'no-window'];

/** Where each method sits; the compiler checks that every method has its place. */
export const AGENT_METHODS = {
  status: ['agent', 'status'],
  shutdown: ['agent', 'shutdown', 'no-window'],
  hosts: ['hosts', 'list'],
  hostKey: ['hosts', 'hostKey'],
  trust: ['hosts', 'trust'],
  reconnect: ['hosts', 'reconnect'],
  offer: ['hosts', 'offer'],
  saveHost: ['hosts', 'save'],
  removeHost: ['hosts', 'remove'],
  setScheduler: ['hosts', 'setScheduler'],
  setTransport: ['hosts', 'setTransport'],
  forgetSecrets: ['hosts', 'forgetSecrets'],
  kernels: ['kernels', 'list'],
  start: ['kernels', 'start'],
  attach: ['kernels', 'attach'],
  detach: ['kernels', 'detach'],
  stop: ['kernels', 'stop'],
  interrupt: ['kernels', 'interrupt'],
  restart: ['kernels', 'restart'],
  pin: ['kernels', 'pin'],
  plots: ['plots', 'list'],
  plot: ['plots', 'get'],
  servers: ['servers', 'list'],
  startServer: ['servers', 'start'],
  openServer: ['servers', 'tunnel'],
  closeServer: ['servers', 'close'],
  serverKernels: ['servers', 'kernels'],
  stopServer: ['servers', 'stop'],
  getSettings: ['settings', 'get'],
  setSettings: ['settings', 'set'],
} as const satisfies Record<AgentMethod, Placement>;

export const AGENT_METHOD_NAMES = Object.keys(AGENT_METHODS) as AgentMethod[];

/**
 * An API regrouped by domain, with each result wrapped: `Grouped<AgentApi,
 * typeof AGENT_METHODS, 'promise'>` has `kernels.start(params)`.
 */
type Wrapped<T, W extends 'promise' | 'result'> = W extends 'promise' ? Promise<T> : Promise<Result<T>>;
type PlacementOf<P> = P extends readonly [infer D, infer N, ...unknown[]] ? [D, N] : never;
export type Grouped<Api, Table extends Record<keyof Api, Placement>, W extends 'promise' | 'result'> = {
  [D in Domain]: {
    [M in keyof Api & keyof Table as Table[M] extends readonly [Domain, string, 'no-window']
      ? never
      : PlacementOf<Table[M]>[0] extends D
        ? PlacementOf<Table[M]>[1] & string
        : never]: Api[M] extends (params: infer P) => Promise<infer R> ? (params: P) => Wrapped<R, W> : never;
  };
};

/** Errors do not survive contextBridge as classes, so every window call resolves to a Result. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: import('./types').KtrayErrorData };

export type AgentEventListener = (event: AgentEvent) => void;

/** What a face needs: the API plus the event stream. `onEvent` returns an unsubscribe. */
export interface AgentConnection extends AgentApi {
  onEvent(listener: AgentEventListener): () => void;
}
