import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrowserWindow, resetElectronStub, session, stub } from './test/electron-stub';
import { KtrayWindow, WINDOW_SIZE, guardWebContents, hardenSession, windowOptions } from './window';
import type { RendererLocation } from './navigation-policy';

const INDEX = '/opt/kt/dist/renderer/index.html';
const location: RendererLocation = { kind: 'file', url: pathToFileURL(INDEX).href };

function make(platform: 'darwin' | 'win32' | 'linux', now = () => 0) {
  return new KtrayWindow({ location, indexFile: INDEX, preload: '/opt/kt/dist/main/preload.cjs', platform, now });
}

describe('windowOptions', () => {
  it('isolates and sandboxes the page on every platform', () => {
    for (const p of ['darwin', 'win32', 'linux'] as const) {
      const o = windowOptions(p, '/p/preload.cjs');
      expect(o.webPreferences).toMatchObject({ preload: '/p/preload.cjs', contextIsolation: true, nodeIntegration: false, sandbox: true });
      expect([o.width, o.height]).toEqual([WINDOW_SIZE.width, WINDOW_SIZE.height]);
      expect(o.show).toBe(false);
    }
  });
  it('is a frameless popup on macOS and Windows and an ordinary window on Linux', () => {
    expect(windowOptions('darwin', 'p')).toMatchObject({ frame: false, skipTaskbar: true, resizable: false });
    expect(windowOptions('win32', 'p')).toMatchObject({ frame: false, skipTaskbar: true });
    expect(windowOptions('linux', 'p')).toMatchObject({ frame: true, skipTaskbar: false, resizable: true });
  });
});

describe('guardWebContents', () => {
  beforeEach(() => resetElectronStub());

  it('blocks navigation away from our page and sends https links to the browser', () => {
    const win = new BrowserWindow();
    const opened: string[] = [];
    guardWebContents(win.webContents as never, location, (u) => opened.push(u));
    const navigate = (url: string) => {
      let prevented = false;
      win.webContents.emit('will-navigate', { preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    expect(navigate(`${location.url}#host=gpu`)).toBe(false);
    expect(navigate('https://jupyter.org/')).toBe(true);
    expect(navigate('file:///etc/passwd')).toBe(true);
    expect(opened).toEqual(['https://jupyter.org/']);
    expect(win.webContents.windowOpenHandler!({ url: 'https://github.com/' })).toEqual({ action: 'deny' });
    expect(win.webContents.windowOpenHandler!({ url: 'file:///x' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://jupyter.org/', 'https://github.com/']);
    let webviewPrevented = false;
    win.webContents.emit('will-attach-webview', { preventDefault: () => (webviewPrevented = true) });
    expect(webviewPrevented).toBe(true);
  });

  it('adds the CSP header to our page and denies every permission request', async () => {
    hardenSession(session.defaultSession as never, location);
    const respond = (url: string) => {
      let response: { responseHeaders?: Record<string, string[]> } = {};
      session.defaultSession.headersListener!({ url, responseHeaders: { 'X-A': ['1'] } }, (r: typeof response) => {
        response = r;
      });
      return response;
    };
    const ours = respond(`${location.url}#x`).responseHeaders!;
    expect(ours['X-A']).toEqual(['1']);
    expect(ours['Content-Security-Policy'][0]).toContain("default-src 'none'");
    expect(respond('file:///opt/kt/dist/main/passphrase.html')).toEqual({}); // other pages keep their own
    // Opening windows installs it once on their session.
    resetElectronStub();
    const w = make('linux');
    await w.show();
    expect(session.defaultSession.headersListener).not.toBeNull();
    let granted: boolean | null = null;
    session.defaultSession.permissionHandler!({}, 'media', (ok: boolean) => (granted = ok));
    expect(granted).toBe(false);
  });
});

describe('KtrayWindow', () => {
  beforeEach(() => resetElectronStub());

  it('creates the window once, loads our page, and places it under the tray icon', async () => {
    const w = make('darwin');
    await w.show({ trayBounds: { x: 1000, y: 0, width: 22, height: 24 } });
    expect(BrowserWindow.instances).toHaveLength(1);
    const win = BrowserWindow.instances[0];
    expect(win.loaded).toEqual([{ kind: 'file', target: INDEX, options: undefined }]);
    expect(win.visible).toBe(true);
    expect({ x: win.bounds.x, y: win.bounds.y }).toEqual({ x: 811, y: stub.display.workArea.y + 4 });
    await w.show();
    expect(BrowserWindow.instances).toHaveLength(1);
    expect(win.loaded).toHaveLength(1);
  });

  it('opens on a kernel through the hash, also when already open', async () => {
    const w = make('linux');
    await w.show({ target: { kernelId: 'gpu/a', host: 'gpu' } });
    await w.show({ target: { host: 'lab' } });
    const win = BrowserWindow.instances[0];
    expect(win.loaded.map((l) => l.options)).toEqual([{ hash: 'kernel=gpu%2Fa' }, { hash: 'host=lab' }]);
    expect(win.webContents.getURL()).toBe(`${location.url}#host=lab`);
  });

  it('toggles, and a click right after a blur-hide does not reopen the popup', async () => {
    let t = 1000;
    const w = make('win32', () => t);
    await w.toggle(null);
    const win = BrowserWindow.instances[0];
    expect(win.visible).toBe(true);
    await w.toggle(null);
    expect(win.visible).toBe(false);
    await w.toggle(null);
    win.emit('blur');
    expect(win.visible).toBe(false);
    t += 50;
    await w.toggle(null); // the click that caused the blur
    expect(win.visible).toBe(false);
    t += 1000;
    await w.toggle(null);
    expect(win.visible).toBe(true);
  });

  it('keeps the Linux window open on blur and makes a new one after it was closed', async () => {
    const w = make('linux');
    await w.show();
    const first = BrowserWindow.instances[0];
    first.emit('blur');
    expect(first.visible).toBe(true);
    first.close();
    expect(w.current).toBeNull();
    expect(w.webContentsId).toBeNull();
    w.send('ktray:event', { type: 'notice' }); // no window: dropped quietly
    await w.show();
    expect(BrowserWindow.instances).toHaveLength(2);
    w.send('ktray:event', { n: 1 });
    expect(BrowserWindow.instances[1].webContents.sent).toEqual([{ channel: 'ktray:event', args: [{ n: 1 }] }]);
  });

  it('loads the dev server URL with the hash in development', async () => {
    const w = new KtrayWindow({ location: { kind: 'dev', url: 'http://localhost:5173/' }, indexFile: null, preload: 'p', platform: 'linux' });
    await w.show({ target: { host: 'gpu' } });
    expect(BrowserWindow.instances[0].loaded).toEqual([{ kind: 'url', target: 'http://localhost:5173/#host=gpu' }]);
  });
});
