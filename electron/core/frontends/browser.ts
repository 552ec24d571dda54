// Opening a Jupyter server in the local browser, for every face (the CLI, the
// tray menu, the window): the agent tunnels it and writes the 0600 page that
// logs the browser in; the caller's own process starts the browser on that
// page's path. The token is in the page, never in an argv.
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { AgentApi } from '../../shared/agent-api';
import { KtrayError } from '../../shared/errors';
import type { ServerOpened } from '../../shared/types';
import { platform } from '../util/platform';
import type { SpawnFn } from './frontends';

export interface BrowserOptions {
  env?: NodeJS.ProcessEnv;
  spawn?: SpawnFn;
}

/** What the caller hands the browser: the login page's file URL, or the local URL when there is no token. */
export function browserTarget(opened: ServerOpened): string {
  return opened.loginFile ? pathToFileURL(opened.loginFile).href : opened.localUrl;
}

/**
 * The argv that opens a URL in the user's browser: $BROWSER as Python's
 * webbrowser reads it (the first of a `:`-separated list, `%s` for the URL),
 * else the platform's opener.
 */
export function browserArgv(url: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = env.BROWSER?.split(':').map((s) => s.trim()).find(Boolean);
  if (chosen) {
    const words = chosen.split(/\s+/);
    return words.some((w) => w.includes('%s')) ? words.map((w) => w.replace('%s', url)) : [...words, url];
  }
  switch (platform()) {
    case 'darwin':
      return ['open', url];
    case 'win32':
      return ['rundll32', 'url.dll,FileProtocolHandler', url];
    default:
      return ['xdg-open', url];
  }
}

/** Starts the browser detached (it outlives the caller) on the URL. */
export function launchBrowser(url: string, opts: BrowserOptions = {}): Promise<void> {
  const argv = browserArgv(url, opts.env);
  const run = opts.spawn ?? (spawn as unknown as SpawnFn);
  return new Promise<void>((resolve, reject) => {
    const child = run(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', env: opts.env ?? process.env });
    child.once('error', (err: Error) =>
      reject(
        new KtrayError({
          code: 'FRONTEND_FAILED',
          message: `Could not start the browser (${argv[0]}): ${err.message}.`,
          hint: `Set BROWSER to your browser's command, or open ${url} yourself.`,
        }),
      ),
    );
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/** Tunnels the server and opens the browser logged in; `openUrl` is how this face opens a URL (Electron: shell.openExternal). */
export async function openServerInBrowser(
  agent: Pick<AgentApi, 'openServer'>,
  params: { id: string },
  openUrl: (url: string) => Promise<void> = (url) => launchBrowser(url),
): Promise<ServerOpened> {
  const opened = await agent.openServer(params);
  await openUrl(browserTarget(opened));
  return opened;
}
