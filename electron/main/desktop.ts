// What the app does for the window and the tray menu itself: open a frontend
// in this (the user's desktop) process, and the clipboard.
import type { AgentApi } from '../shared/agent-api';
import type { DesktopApi } from '../shared/ipc-contract';
import { attachAndOpen, type FrontendOptions } from '../core/frontends/frontends';

export interface DesktopOptions {
  writeClipboard(text: string): void;
  /** Spawn and PATH lookup, for tests. */
  frontend?: Pick<FrontendOptions, 'spawn' | 'which' | 'env'>;
}

export function createDesktop(agent: Pick<AgentApi, 'attach' | 'detach' | 'getSettings' | 'kernels'>, o: DesktopOptions): DesktopApi {
  return {
    async openFrontend({ id, frontend }) {
      const { terminal } = await agent.getSettings({});
      return attachAndOpen(agent, { id, frontend }, { terminal, ...o.frontend });
    },
    async copyConnectionFile({ id }) {
      const kernel = (await agent.kernels({})).find((k) => k.id === id);
      const file = kernel?.attached && kernel.localConnectionFile ? kernel.localConnectionFile : (await agent.attach({ id })).localConnectionFile;
      o.writeClipboard(file);
      return file;
    },
  };
}
