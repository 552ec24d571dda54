// The React window: a frameless popup under the tray icon on macOS and
// Windows, a small ordinary window on Linux (no tray click to anchor it).
import {
  BrowserWindow,
  screen,
  shell,
  type BrowserWindowConstructorOptions,
  type Rectangle,
  type Session,
  type WebContents,
} from 'electron';
import type { FocusTarget } from './notifications';
import {
  contentSecurityPolicy,
  focusHash,
  isRendererUrl,
  navigationDecision,
  windowOpenDecision,
  type RendererLocation,
} from './navigation-policy';
import { currentPlatform, type Platform } from './platform';
import { popupPosition } from './window-position';

export const WINDOW_SIZE = { width: 400, height: 560 };

export function windowOptions(platform: Platform, preload: string): BrowserWindowConstructorOptions {
  const popup = platform !== 'linux';
  return {
    ...WINDOW_SIZE,
    title: 'Kernel Tray',
    show: false,
    frame: !popup,
    resizable: !popup,
    movable: !popup,
    minimizable: !popup,
    maximizable: false,
    fullscreenable: false,
    skipTaskbar: popup,
    alwaysOnTop: popup,
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      spellcheck: false,
    },
  };
}

/** Navigation, new windows and webviews: only our page, web links go to the browser. */
export function guardWebContents(
  wc: WebContents,
  loc: RendererLocation,
  openExternal: (url: string) => void = (url) => void shell.openExternal(url),
): void {
  const onNavigate = (event: { preventDefault(): void }, url: string) => {
    const decision = navigationDecision(url, loc);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'open-external') openExternal(url);
  };
  wc.on('will-navigate', onNavigate);
  wc.on('will-redirect', onNavigate);
  wc.on('will-attach-webview', (event) => event.preventDefault());
  wc.setWindowOpenHandler(({ url }) => {
    if (windowOpenDecision(url) === 'open-external') openExternal(url);
    return { action: 'deny' };
  });
}

/** CSP as a header too on our page's responses (covers the dev server), and no permission is ever granted. */
export function hardenSession(session: Session, loc: RendererLocation): void {
  const csp = contentSecurityPolicy(loc);
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isRendererUrl(details.url, loc)) return callback({});
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
}

const hardened = new WeakSet<object>();

export interface KtrayWindowOptions {
  location: RendererLocation;
  /** File path of index.html for `file` locations (loadFile keeps Windows paths right). */
  indexFile: string | null;
  preload: string;
  platform?: Platform;
  createWindow?: (options: BrowserWindowConstructorOptions) => BrowserWindow;
  workAreaNear?: (point: { x: number; y: number }) => Rectangle;
  /** Called with the new window's webContents (IPC pushes, sender checks). */
  onCreated?: (win: BrowserWindow) => void;
  now?: () => number;
}

/** How long after a blur-hide a tray click counts as "close", not "open again". */
const BLUR_CLICK_WINDOW_MS = 250;

export class KtrayWindow {
  private win: BrowserWindow | null = null;
  private readonly platform: Platform;
  private hiddenByBlurAt = -Infinity;

  constructor(private readonly o: KtrayWindowOptions) {
    this.platform = o.platform ?? currentPlatform();
  }

  get current(): BrowserWindow | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  get webContentsId(): number | null {
    return this.current?.webContents.id ?? null;
  }

  isVisible(): boolean {
    return this.current?.isVisible() ?? false;
  }

  /** Shows the window, near the tray icon when its bounds are known, on `target` if given. */
  async show(options: { target?: FocusTarget | null; trayBounds?: Rectangle | null } = {}): Promise<void> {
    const created = !this.current;
    const win = this.current ?? this.create();
    if (created || options.target) await this.load(win, options.target ?? null);
    if (this.platform !== 'linux') this.place(win, options.trayBounds ?? null);
    win.show();
    win.focus();
  }

  async toggle(trayBounds: Rectangle | null): Promise<void> {
    // Clicking the icon of an open popup blurs it first, which hides it; the
    // click that follows must not bring it straight back.
    const justHidden = this.now() - this.hiddenByBlurAt < BLUR_CLICK_WINDOW_MS;
    if (this.isVisible()) this.hide();
    else if (!justHidden) await this.show({ trayBounds });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  hide(): void {
    this.current?.hide();
  }

  send(channel: string, payload: unknown): void {
    const win = this.current;
    if (win && !win.webContents.isDestroyed()) win.webContents.send(channel, payload);
  }

  destroy(): void {
    this.current?.destroy();
    this.win = null;
  }

  private create(): BrowserWindow {
    const opts = windowOptions(this.platform, this.o.preload);
    const win = (this.o.createWindow ?? ((x) => new BrowserWindow(x)))(opts);
    if (!hardened.has(win.webContents.session)) {
      hardenSession(win.webContents.session, this.o.location);
      hardened.add(win.webContents.session);
    }
    guardWebContents(win.webContents, this.o.location);
    if (this.platform !== 'linux') {
      // A popup goes away when the user clicks elsewhere, like a menu.
      win.on('blur', () => {
        if (win.webContents.isDevToolsOpened()) return;
        this.hiddenByBlurAt = this.now();
        win.hide();
      });
    }
    win.on('closed', () => {
      if (this.win === win) this.win = null;
    });
    this.win = win;
    this.o.onCreated?.(win);
    return win;
  }

  private async load(win: BrowserWindow, target: FocusTarget | null): Promise<void> {
    const hash = focusHash(target);
    if (this.o.location.kind === 'file' && this.o.indexFile) {
      await win.loadFile(this.o.indexFile, hash ? { hash } : undefined);
    } else {
      const url = new URL(this.o.location.url);
      url.hash = hash;
      await win.loadURL(url.href);
    }
  }

  private place(win: BrowserWindow, trayBounds: Rectangle | null): void {
    const anchor = trayBounds ?? screen.getCursorScreenPoint();
    const workArea = (this.o.workAreaNear ?? ((p) => screen.getDisplayNearestPoint(p).workArea))({ x: anchor.x, y: anchor.y });
    const { x, y } = popupPosition(trayBounds, workArea, WINDOW_SIZE);
    win.setPosition(x, y);
  }
}
