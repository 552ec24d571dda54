// Starting the browser: the argv carries a URL that holds no secret (the login
// page's path), $BROWSER as Python's webbrowser reads it, the platform's opener else.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { setPlatformForTests } from '../util/platform';
import { browserArgv, browserTarget, launchBrowser, openServerInBrowser } from './browser';
import type { SpawnFn } from './frontends';
import type { ServerOpened } from '../../shared/types';

afterEach(() => setPlatformForTests(null));

function recordingSpawn(fail?: Error) {
  const calls: Array<{ command: string; args: string[]; detached: unknown }> = [];
  const spawn: SpawnFn = (command, args, options) => {
    calls.push({ command, args, detached: options.detached });
    const child = Object.assign(new EventEmitter(), { pid: 1, unref() {} });
    setImmediate(() => (fail ? child.emit('error', fail) : child.emit('spawn')));
    return child as unknown as ReturnType<SpawnFn>;
  };
  return { calls, spawn };
}

const opened = (over: Partial<ServerOpened> = {}): ServerOpened => ({
  server: {} as ServerOpened['server'],
  localUrl: 'http://127.0.0.1:50123/tree',
  loginFile: '/home/ada/.local/state/ktray/servers/login-gpu_nbserver-1.html',
  note: null,
  ...over,
});

describe('browser', () => {
  it('hands the browser the login page as a file URL, or the local URL when there is no token', () => {
    expect(browserTarget(opened())).toBe('file:///home/ada/.local/state/ktray/servers/login-gpu_nbserver-1.html');
    expect(browserTarget(opened({ loginFile: null }))).toBe('http://127.0.0.1:50123/tree');
  });

  it('uses $BROWSER like Python does (first of a list, %s for the URL), else the platform opener', () => {
    expect(browserArgv('file:///x.html', { BROWSER: 'firefox --new-window:chromium' })).toEqual(['firefox', '--new-window', 'file:///x.html']);
    expect(browserArgv('file:///x.html', { BROWSER: 'open -a Safari %s' })).toEqual(['open', '-a', 'Safari', 'file:///x.html']);
    setPlatformForTests('linux');
    expect(browserArgv('file:///x.html', {})).toEqual(['xdg-open', 'file:///x.html']);
    setPlatformForTests('darwin');
    expect(browserArgv('file:///x.html', {})).toEqual(['open', 'file:///x.html']);
    setPlatformForTests('win32');
    expect(browserArgv('file:///x.html', {})).toEqual(['rundll32', 'url.dll,FileProtocolHandler', 'file:///x.html']);
  });

  it('starts it detached, and says what failed and what to open by hand', async () => {
    setPlatformForTests('linux');
    const ok = recordingSpawn();
    await launchBrowser('file:///x.html', { env: {}, spawn: ok.spawn });
    expect(ok.calls).toEqual([{ command: 'xdg-open', args: ['file:///x.html'], detached: true }]);
    const bad = recordingSpawn(Object.assign(new Error('spawn xdg-open ENOENT'), { code: 'ENOENT' }));
    await expect(launchBrowser('file:///x.html', { env: {}, spawn: bad.spawn })).rejects.toMatchObject({
      code: 'FRONTEND_FAILED',
      message: 'Could not start the browser (xdg-open): spawn xdg-open ENOENT.',
      hint: 'Set BROWSER to your browser\'s command, or open file:///x.html yourself.',
    });
  });

  it('opens what the agent wrote, never a URL with a token', async () => {
    const urls: string[] = [];
    const agent = { openServer: async () => opened() };
    const result = await openServerInBrowser(agent, { id: 'gpu/nbserver-1' }, async (u) => void urls.push(u));
    expect(result.localUrl).toBe('http://127.0.0.1:50123/tree');
    expect(urls).toEqual(['file:///home/ada/.local/state/ktray/servers/login-gpu_nbserver-1.html']);
  });
});
