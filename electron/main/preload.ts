// The window's only door to the main process, exposed as `window.ktray`:
// intent-level methods by domain (`kernels.start(params)`), built from the one
// channel list of the contract; no generic send. Bundled to CommonJS, because
// sandboxed preloads cannot load ES modules.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AgentEvent } from '../shared/types';
import { EVENT_CHANNEL, groupChannels, type KtrayBridge } from '../shared/ipc-contract';

const api = {
  ...groupChannels((channel, params) => ipcRenderer.invoke(channel, params)),
  onEvent(listener: (event: AgentEvent) => void): () => void {
    // The page gets the event only, never Electron's IpcRendererEvent (it carries `sender`).
    const wrapped = (_e: IpcRendererEvent, event: AgentEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
    };
  },
} as unknown as KtrayBridge;

/** What the page sees as `window.ktray` (renderer/src/global.d.ts declares it as KtrayBridge). */
export type KtrayApi = typeof api;

contextBridge.exposeInMainWorld('ktray', api);
