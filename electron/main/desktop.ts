// What the app does for the window and the tray menu itself: open a frontend
// or the browser in this (the user's desktop) process, the clipboard, saving a plot.
import { writeFile } from 'node:fs/promises';
import { KtrayError } from '../shared/errors';
import type { AgentApi } from '../shared/agent-api';
import type { PlotSummary } from '../shared/types';
import { plotFileName } from '../core/plots/plot-cache';
import type { DesktopApi } from '../shared/ipc-contract';
import { attachAndOpen, type FrontendOptions } from '../core/frontends/frontends';
import { launchBrowser, openServerInBrowser } from '../core/frontends/browser';

export interface DesktopOptions {
  writeClipboard(text: string): void;
  /** A PNG or JPEG onto the clipboard as an image (Electron: clipboard.writeImage of a nativeImage). */
  writeClipboardImage(bytes: Buffer): void;
  /**
   * Where to save a plot: the desktop's save dialog (Electron: dialog.showSaveDialog), given a
   * suggested file name; null when the user cancels.
   */
  chooseSavePath(suggested: string, plot: PlotSummary): Promise<string | null>;
  /** Spawn and PATH lookup, for tests. */
  frontend?: Pick<FrontendOptions, 'spawn' | 'which' | 'env'>;
  /** Opens a URL in the user's browser (Electron: shell.openExternal); default: $BROWSER or the platform's opener. */
  openUrl?: (url: string) => Promise<void>;
}

export function createDesktop(agent: Pick<AgentApi, 'attach' | 'detach' | 'getSettings' | 'kernels' | 'plot' | 'openServer'>, o: DesktopOptions): DesktopApi {
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
    async savePlot({ id }) {
      const { plot, base64 } = await agent.plot({ id });
      const file = await o.chooseSavePath(plotFileName(plot), plot);
      if (!file) return { id, path: null };
      try {
        await writeFile(file, Buffer.from(base64, 'base64'));
      } catch (err) {
        throw new KtrayError({
          code: 'BAD_INPUT',
          message: `Could not save plot ${id} as ${file}: ${(err as Error).message}`,
          hint: 'Choose a folder you can write to.',
        });
      }
      return { id, path: file };
    },
    openServerInBrowser({ id }) {
      return openServerInBrowser(agent, { id }, o.openUrl ?? ((url) => launchBrowser(url, { env: o.frontend?.env, spawn: o.frontend?.spawn })));
    },
    async copyServerUrl({ id }) {
      // The URL has no token: a browser logged in once (Open in browser) keeps its cookie.
      const { localUrl } = await agent.openServer({ id });
      o.writeClipboard(localUrl);
      return localUrl;
    },
  };
}
