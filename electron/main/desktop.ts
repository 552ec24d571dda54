// What the app does for the window and the tray menu itself: open a frontend
// in this (the user's desktop) process, and the clipboard.
import type { AgentApi } from '../shared/agent-api';
import type { DesktopApi } from '../shared/ipc-contract';
import { attachAndOpen, type FrontendOptions } from '../core/frontends/frontends';

export interface DesktopOptions {
  writeClipboard(text: string): void;
  /** A PNG or JPEG onto the clipboard as an image (Electron: clipboard.writeImage of a nativeImage). */
  writeClipboardImage(bytes: Buffer): void;
  /** Spawn and PATH lookup, for tests. */
  frontend?: Pick<FrontendOptions, 'spawn' | 'which' | 'env'>;
}

export function createDesktop(agent: Pick<AgentApi, 'attach' | 'detach' | 'getSettings' | 'kernels' | 'plot'>, o: DesktopOptions): DesktopApi {
  return {
    async openFrontend({ id, frontend }) {
      const { terminal, consoleOtherOutput } = await agent.getSettings({});
      return attachAndOpen(agent, { id, frontend }, { terminal, consoleOtherOutput, ...o.frontend });
    },
    async copyConnectionFile({ id }) {
      const kernel = (await agent.kernels({})).find((k) => k.id === id);
      const file = kernel?.attached && kernel.localConnectionFile ? kernel.localConnectionFile : (await agent.attach({ id })).localConnectionFile;
      o.writeClipboard(file);
      return file;
    },
    async copyPlot({ id }) {
      // The bytes come from the agent, never from the window: it only names the plot.
      const { plot, base64 } = await agent.plot({ id });
      const bytes = Buffer.from(base64, 'base64');
      if (plot.mime === 'image/svg+xml') {
        o.writeClipboard(bytes.toString('utf8'));
        return { id, copied: 'svg-text' };
      }
      o.writeClipboardImage(bytes);
      return { id, copied: 'image' };
    },
  };
}
