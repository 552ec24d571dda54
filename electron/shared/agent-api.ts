import type {
  AgentEvent,
  AgentSettings,
  AgentStatus,
  AttachOptions,
  AttachResult,
  HostKeyInfo,
  HostOffer,
  HostSummary,
  KernelSummary,
  SavedHost,
  StartOptions,
} from './types';

/**
 * Everything a face (CLI, tray menu, window) may ask of the agent. Each method
 * takes one plain params object and returns plain data, so the same map types
 * the local-socket RPC and the Electron IPC bridge. Failures are KtrayErrors.
 */
export interface AgentApi {
  status(params: Record<string, never>): Promise<AgentStatus>;
  hosts(params: Record<string, never>): Promise<HostSummary[]>;
  /** Kernels of one host or all; `refresh` asks the host(s) now (one round trip each). */
  kernels(params: { host?: string; refresh?: boolean }): Promise<KernelSummary[]>;
  start(params: StartOptions): Promise<KernelSummary>;
  attach(params: { id: string } & AttachOptions): Promise<AttachResult>;
  detach(params: { id: string }): Promise<KernelSummary>;
  stop(params: { id: string }): Promise<KernelSummary>;
  interrupt(params: { id: string }): Promise<KernelSummary>;
  restart(params: { id: string }): Promise<KernelSummary>;
  /** Watch a kernel's live state without attaching a frontend. */
  pin(params: { id: string; pinned: boolean }): Promise<KernelSummary>;
  /** The host's key as offered now, and whether known_hosts already trusts it. */
  hostKey(params: { host: string }): Promise<HostKeyInfo>;
  /** Add the host's key to known_hosts, only if it still has this fingerprint. */
  trust(params: { host: string; fingerprint: string }): Promise<HostKeyInfo>;
  /** Check connections now (after sleep/resume or a network change); one host or all. */
  reconnect(params: { host?: string }): Promise<HostSummary[]>;
  /** Kernelspecs and Pythons (conda/venv) the host offers for a new kernel. */
  offer(params: { host: string }): Promise<HostOffer>;
  saveHost(params: SavedHost): Promise<HostSummary>;
  removeHost(params: { id: string }): Promise<void>;
  getSettings(params: Record<string, never>): Promise<AgentSettings>;
  setSettings(params: Partial<AgentSettings>): Promise<AgentSettings>;
  /** Stop the agent: tunnels close, remote kernels keep running. */
  shutdown(params: Record<string, never>): Promise<void>;
}

export type AgentMethod = keyof AgentApi;
export type AgentParams<M extends AgentMethod> = Parameters<AgentApi[M]>[0];
export type AgentResult<M extends AgentMethod> = Awaited<ReturnType<AgentApi[M]>>;

/** Every method name, checked complete by the compiler. */
const METHODS: Record<AgentMethod, true> = {
  status: true,
  hosts: true,
  kernels: true,
  start: true,
  attach: true,
  detach: true,
  stop: true,
  interrupt: true,
  restart: true,
  pin: true,
  hostKey: true,
  trust: true,
  reconnect: true,
  offer: true,
  saveHost: true,
  removeHost: true,
  getSettings: true,
  setSettings: true,
  shutdown: true,
};
export const AGENT_METHODS = Object.keys(METHODS) as AgentMethod[];

export type AgentEventListener = (event: AgentEvent) => void;

/** What a face needs: the API plus the event stream. `onEvent` returns an unsubscribe. */
export interface AgentConnection extends AgentApi {
  onEvent(listener: AgentEventListener): () => void;
}
