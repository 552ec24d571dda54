// The window's only door to the main process, exposed as `window.ktray`.
// Intent-level methods per domain; no generic send. Bundled to CommonJS,
// because sandboxed preloads cannot load ES modules.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AgentEvent } from '../shared/types';
import { EVENT_CHANNEL, type IpcArgs, type IpcChannel, type IpcResult, type KtrayBridge, type Result } from '../shared/ipc-contract';

function call<C extends IpcChannel>(channel: C, ...args: IpcArgs<C>): Promise<Result<IpcResult<C>>> {
  return ipcRenderer.invoke(channel, ...args) as Promise<Result<IpcResult<C>>>;
}

const api = {
  agent: {
    status: () => call('ktray:agent.status'),
  },
  hosts: {
    list: () => call('ktray:hosts.list'),
    hostKey: (host: string) => call('ktray:hosts.hostKey', host),
    trust: (host: string, fingerprint: string) => call('ktray:hosts.trust', host, fingerprint),
    reconnect: (host?: string) => call('ktray:hosts.reconnect', host),
    offer: (host: string) => call('ktray:hosts.offer', host),
    save: (host) => call('ktray:hosts.save', host),
    remove: (id: string) => call('ktray:hosts.remove', id),
    sshConfigHosts: () => call('ktray:hosts.sshConfigHosts'),
  },
  kernels: {
    list: (host?: string, refresh?: boolean) => call('ktray:kernels.list', host, refresh),
    start: (options) => call('ktray:kernels.start', options),
    attach: (id, frontend) => call('ktray:kernels.attach', id, frontend),
    detach: (id: string) => call('ktray:kernels.detach', id),
    stop: (id: string) => call('ktray:kernels.stop', id),
    interrupt: (id: string) => call('ktray:kernels.interrupt', id),
    restart: (id: string) => call('ktray:kernels.restart', id),
    pin: (id: string, pinned: boolean) => call('ktray:kernels.pin', id, pinned),
    copyConnectionFile: (id: string) => call('ktray:kernels.copyConnectionFile', id),
  },
  settings: {
    get: () => call('ktray:settings.get'),
    set: (patch) => call('ktray:settings.set', patch),
  },
  onEvent(listener: (event: AgentEvent) => void): () => void {
    // The page gets the event only, never Electron's IpcRendererEvent (it carries `sender`).
    const wrapped = (_e: IpcRendererEvent, event: AgentEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
    };
  },
} satisfies KtrayBridge;

/** What the page sees as `window.ktray` (renderer/src/global.d.ts declares it as KtrayBridge, which this satisfies). */
export type KtrayApi = typeof api;

contextBridge.exposeInMainWorld('ktray', api);
