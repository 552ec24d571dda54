// The one contract between the Electron main process and the window.
// No electron import here: the same handlers serve Electron's ipcMain and, in
// the browser tests, Playwright's exposeBinding.
import type { AgentConnection } from './agent-api';
import { KtrayError } from './errors';
import type {
  AgentEvent,
  AgentSettings,
  AgentStatus,
  AttachResult,
  Frontend,
  HostKeyInfo,
  HostOffer,
  HostSummary,
  KernelSummary,
  KtrayErrorData,
  SavedHost,
  StartOptions,
} from './types';

/** Errors do not survive contextBridge as classes, so every call resolves to a Result. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: KtrayErrorData };

/** Request channels: name -> [argument tuple, result]. */
export interface IpcRequests {
  'ktray:agent.status': [[], AgentStatus];
  'ktray:hosts.list': [[], HostSummary[]];
  'ktray:hosts.hostKey': [[host: string], HostKeyInfo];
  'ktray:hosts.trust': [[host: string, fingerprint: string], HostKeyInfo];
  'ktray:hosts.reconnect': [[host?: string], HostSummary[]];
  'ktray:hosts.offer': [[host: string], HostOffer];
  'ktray:hosts.save': [[host: SavedHost], HostSummary];
  'ktray:hosts.remove': [[id: string], void];
  'ktray:hosts.sshConfigHosts': [[], string[]];
  'ktray:kernels.list': [[host?: string, refresh?: boolean], KernelSummary[]];
  'ktray:kernels.start': [[options: StartOptions], KernelSummary];
  'ktray:kernels.attach': [[id: string, frontend: Frontend], AttachResult];
  'ktray:kernels.detach': [[id: string], KernelSummary];
  'ktray:kernels.stop': [[id: string], KernelSummary];
  'ktray:kernels.interrupt': [[id: string], KernelSummary];
  'ktray:kernels.restart': [[id: string], KernelSummary];
  'ktray:kernels.pin': [[id: string, pinned: boolean], KernelSummary];
  'ktray:kernels.copyConnectionFile': [[id: string], string];
  'ktray:settings.get': [[], AgentSettings];
  'ktray:settings.set': [[patch: Partial<AgentSettings>], AgentSettings];
}

export type IpcChannel = keyof IpcRequests;
export type IpcArgs<C extends IpcChannel> = IpcRequests[C][0];
export type IpcResult<C extends IpcChannel> = IpcRequests[C][1];

/** Main -> window push channel carrying AgentEvents. */
export const EVENT_CHANNEL = 'ktray:event';

/** What the preload exposes as `window.ktray`, grouped by domain, intent-level. */
export interface KtrayBridge {
  agent: {
    status(): Promise<Result<AgentStatus>>;
  };
  hosts: {
    list(): Promise<Result<HostSummary[]>>;
    hostKey(host: string): Promise<Result<HostKeyInfo>>;
    trust(host: string, fingerprint: string): Promise<Result<HostKeyInfo>>;
    reconnect(host?: string): Promise<Result<HostSummary[]>>;
    offer(host: string): Promise<Result<HostOffer>>;
    save(host: SavedHost): Promise<Result<HostSummary>>;
    remove(id: string): Promise<Result<void>>;
    sshConfigHosts(): Promise<Result<string[]>>;
  };
  kernels: {
    list(host?: string, refresh?: boolean): Promise<Result<KernelSummary[]>>;
    start(options: StartOptions): Promise<Result<KernelSummary>>;
    attach(id: string, frontend: Frontend): Promise<Result<AttachResult>>;
    detach(id: string): Promise<Result<KernelSummary>>;
    stop(id: string): Promise<Result<KernelSummary>>;
    interrupt(id: string): Promise<Result<KernelSummary>>;
    restart(id: string): Promise<Result<KernelSummary>>;
    /** Watch live state without attaching (or stop watching). */
    pin(id: string, pinned: boolean): Promise<Result<KernelSummary>>;
    /** Copies the local connection file's path to the clipboard and returns it. */
    copyConnectionFile(id: string): Promise<Result<string>>;
  };
  settings: {
    get(): Promise<Result<AgentSettings>>;
    set(patch: Partial<AgentSettings>): Promise<Result<AgentSettings>>;
  };
  /** Subscribe to the agent's events; returns the unsubscribe function. */
  onEvent(listener: (event: AgentEvent) => void): () => void;
}

/** What the host of the handlers provides besides the agent (clipboard, ssh config). */
export interface BridgeServices {
  agent: AgentConnection;
  writeClipboard(text: string): void;
  sshConfigHosts(): Promise<string[]>;
}

type Handlers = { [C in IpcChannel]: (...args: IpcArgs<C>) => Promise<IpcResult<C>> };

/** The main-side implementation of every channel; the compiler checks completeness. */
export function createBridgeHandlers(s: BridgeServices): Handlers {
  const a = s.agent;
  return {
    'ktray:agent.status': () => a.status({}),
    'ktray:hosts.list': () => a.hosts({}),
    'ktray:hosts.hostKey': (host) => a.hostKey({ host }),
    'ktray:hosts.trust': (host, fingerprint) => a.trust({ host, fingerprint }),
    'ktray:hosts.reconnect': (host) => a.reconnect({ host }),
    'ktray:hosts.offer': (host) => a.offer({ host }),
    'ktray:hosts.save': (host) => a.saveHost(host),
    'ktray:hosts.remove': (id) => a.removeHost({ id }),
    'ktray:hosts.sshConfigHosts': () => s.sshConfigHosts(),
    'ktray:kernels.list': (host, refresh) => a.kernels({ host, refresh }),
    'ktray:kernels.start': (options) => a.start(options),
    'ktray:kernels.attach': (id, frontend) => a.attach({ id, frontend, newTerminal: true }),
    'ktray:kernels.detach': (id) => a.detach({ id }),
    'ktray:kernels.stop': (id) => a.stop({ id }),
    'ktray:kernels.interrupt': (id) => a.interrupt({ id }),
    'ktray:kernels.restart': (id) => a.restart({ id }),
    'ktray:kernels.pin': (id, pinned) => a.pin({ id, pinned }),
    'ktray:kernels.copyConnectionFile': async (id) => {
      const kernel = (await a.kernels({})).find((k) => k.id === id);
      if (!kernel) throw new KtrayError({ code: 'KERNEL_NOT_FOUND', message: `No kernel ${id}.` });
      const file = kernel.localConnectionFile ?? (await a.attach({ id, frontend: 'none' })).localConnectionFile;
      s.writeClipboard(file);
      return file;
    },
    'ktray:settings.get': () => a.getSettings({}),
    'ktray:settings.set': (patch) => a.setSettings(patch),
  };
}

/** Runs a handler and folds any failure into a Result, so the window gets words, not a stack. */
export async function toResult<T>(run: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: KtrayError.from(err).toData() };
  }
}
