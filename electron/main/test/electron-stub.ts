// THE Electron stub: aliased as `electron` in the `electron` vitest project.
// Every object records what was asked of it so tests assert on calls, not on
// pixels. Only what the adapter layer uses is here; state lives in `stub` and
// is reset with resetElectronStub().
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

type Listener = (...args: any[]) => unknown;

/** Knobs and records shared by the stubbed modules. */
export const stub = {
  singleInstance: true,
  // Tests set their own; KTRAY_STUB_USER_DATA serves a process that runs the built app on the stub.
  userData: process.env.KTRAY_STUB_USER_DATA ?? path.join(os.tmpdir(), 'ktray-stub-user-data'),
  appPath: process.cwd(),
  isPackaged: false,
  online: true,
  encryptionAvailable: true,
  storageBackend: 'gnome_libsecret' as 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown',
  loginItem: { openAtLogin: false, args: [] as string[] },
  display: {
    bounds: { x: 0, y: 0, width: 1920, height: 1080 } as Rect,
    workArea: { x: 0, y: 25, width: 1920, height: 1055 } as Rect,
  },
  cursor: { x: 100, y: 10 },
  clipboardText: '',
  /** The bytes of the last image written to the clipboard. */
  clipboardImage: null as Buffer | null,
  exposed: {} as Record<string, unknown>,
  invokeResults: new Map<string, unknown>(),
  invoked: [] as Array<{ channel: string; args: unknown[] }>,
  sent: [] as Array<{ channel: string; args: unknown[] }>,
  openedExternal: [] as string[],
  errorBoxes: [] as Array<{ title: string; content: string }>,
  messageBoxes: [] as unknown[],
  /** Save dialogs asked for (their options), and what the next one answers. */
  saveDialogs: [] as Array<{ parent: boolean; options: { defaultPath?: string; filters?: unknown } }>,
  saveDialogAnswer: { canceled: true, filePath: '' } as { canceled: boolean; filePath: string },
  quitCalls: 0,
};

export function resetElectronStub(): void {
  stub.singleInstance = true;
  stub.isPackaged = false;
  stub.online = true;
  stub.encryptionAvailable = true;
  stub.storageBackend = 'gnome_libsecret';
  stub.loginItem = { openAtLogin: false, args: [] };
  stub.clipboardText = '';
  stub.clipboardImage = null;
  stub.exposed = {};
  stub.invokeResults.clear();
  stub.invoked = [];
  stub.sent = [];
  stub.openedExternal = [];
  stub.errorBoxes = [];
  stub.messageBoxes = [];
  stub.saveDialogs = [];
  stub.saveDialogAnswer = { canceled: true, filePath: '' };
  stub.quitCalls = 0;
  Tray.instances = [];
  BrowserWindow.instances = [];
  Notification.instances = [];
  ipcMain.handlers.clear();
  ipcMain.removeAllListeners();
  ipcRenderer.removeAllListeners();
  powerMonitor.removeAllListeners();
  app.removeAllListeners();
  app.calls = [];
  session.defaultSession.reset();
}

// ---------------------------------------------------------------- images

export class NativeImage {
  template = false;
  readonly representations: Array<{ scaleFactor: number; path: string }> = [];
  constructor(
    readonly path: string,
    /** From createFromBuffer: the encoded bytes, when Electron could decode them (PNG, JPEG). */
    readonly bytes: Buffer | null = null,
  ) {}
  setTemplateImage(on: boolean): void {
    this.template = on;
  }
  isTemplateImage(): boolean {
    return this.template;
  }
  isEmpty(): boolean {
    return this.path === '' && this.bytes === null;
  }
  addRepresentation(r: { scaleFactor: number; path?: string }): void {
    this.representations.push({ scaleFactor: r.scaleFactor, path: r.path ?? '' });
  }
}

export const nativeImage = {
  createFromPath: (p: string) => new NativeImage(p),
  // Like Electron, an empty image for bytes it cannot decode (it reads PNG and JPEG).
  createFromBuffer: (b: Buffer) => new NativeImage('', /^\x89PNG|^\xff\xd8/.test(b.subarray(0, 4).toString('latin1')) ? Buffer.from(b) : null),
  createEmpty: () => new NativeImage(''),
};

// ---------------------------------------------------------------- app

class App extends EventEmitter {
  calls: Array<{ method: string; args: unknown[] }> = [];
  name = 'Kernel Tray';
  dock = { hide: () => this.record('dock.hide', []), show: () => this.record('dock.show', []) };
  get isPackaged(): boolean {
    return stub.isPackaged;
  }
  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
  }
  requestSingleInstanceLock(): boolean {
    this.record('requestSingleInstanceLock', []);
    return stub.singleInstance;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  quit(): void {
    stub.quitCalls++;
    this.record('quit', []);
  }
  exit(code?: number): void {
    this.record('exit', [code]);
  }
  getPath(name: string): string {
    return name === 'userData' ? stub.userData : path.join(stub.userData, name);
  }
  getAppPath(): string {
    return stub.appPath;
  }
  getVersion(): string {
    return '0.1.0';
  }
  setAppUserModelId(id: string): void {
    this.record('setAppUserModelId', [id]);
  }
  setLoginItemSettings(settings: { openAtLogin?: boolean; args?: string[] }): void {
    this.record('setLoginItemSettings', [settings]);
    stub.loginItem = { openAtLogin: Boolean(settings.openAtLogin), args: settings.args ?? [] };
  }
  getLoginItemSettings(_options?: unknown): { openAtLogin: boolean } {
    return { openAtLogin: stub.loginItem.openAtLogin };
  }
}
export const app = new App();

// ---------------------------------------------------------------- menus and tray

export interface StubMenuItem {
  label?: string;
  type?: string;
  enabled?: boolean;
  checked?: boolean;
  click?: (...args: unknown[]) => unknown;
  submenu?: StubMenuItem[] | StubMenu;
  [key: string]: unknown;
}

export class StubMenu {
  constructor(readonly template: StubMenuItem[]) {}
  get items(): StubMenuItem[] {
    return this.template;
  }
}

export const Menu = {
  buildFromTemplate: (template: StubMenuItem[]) => new StubMenu(template),
  setApplicationMenu: (_menu: StubMenu | null) => undefined,
};

export class Tray extends EventEmitter {
  static instances: Tray[] = [];
  image: NativeImage;
  toolTip = '';
  contextMenu: StubMenu | null = null;
  setContextMenuCalls = 0;
  poppedUp: StubMenu[] = [];
  destroyed = false;
  bounds: Rect = { x: 1800, y: 0, width: 22, height: 22 };
  constructor(image: NativeImage | string) {
    super();
    this.image = typeof image === 'string' ? new NativeImage(image) : image;
    Tray.instances.push(this);
  }
  setImage(image: NativeImage): void {
    this.image = image;
  }
  setToolTip(text: string): void {
    this.toolTip = text;
  }
  setContextMenu(menu: StubMenu | null): void {
    this.setContextMenuCalls++;
    this.contextMenu = menu;
  }
  popUpContextMenu(menu?: StubMenu): void {
    if (menu) this.poppedUp.push(menu);
  }
  setIgnoreDoubleClickEvents(_ignore: boolean): void {}
  getBounds(): Rect {
    return this.bounds;
  }
  destroy(): void {
    this.destroyed = true;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

// ---------------------------------------------------------------- notifications

export class Notification extends EventEmitter {
  static instances: Notification[] = [];
  static supported = true;
  static isSupported(): boolean {
    return Notification.supported;
  }
  shown = false;
  closed = false;
  constructor(readonly options: { title: string; body?: string; silent?: boolean }) {
    super();
    Notification.instances.push(this);
  }
  show(): void {
    this.shown = true;
  }
  close(): void {
    this.closed = true;
    this.emit('close', {});
  }
}

// ---------------------------------------------------------------- windows

let nextWebContentsId = 1;

export class WebFrameMain {
  parent: WebFrameMain | null = null;
  constructor(public url: string) {}
}

export class WebContents extends EventEmitter {
  readonly id = nextWebContentsId++;
  readonly mainFrame = new WebFrameMain('');
  readonly session = session.defaultSession;
  sent: Array<{ channel: string; args: unknown[] }> = [];
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null = null;
  destroyed = false;
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.mainFrame.url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isDevToolsOpened(): boolean {
    return false;
  }
  openDevTools(): void {}
}

export class BrowserWindow extends EventEmitter {
  static instances: BrowserWindow[] = [];
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.instances.filter((w) => !w.destroyed);
  }
  readonly webContents = new WebContents();
  loaded: Array<{ kind: 'file' | 'url'; target: string; options?: unknown }> = [];
  visible = false;
  focused = false;
  destroyed = false;
  bounds: Rect;
  constructor(readonly options: Record<string, any> = {}) {
    super();
    this.bounds = { x: 0, y: 0, width: options.width ?? 800, height: options.height ?? 600 };
    BrowserWindow.instances.push(this);
  }
  async loadFile(file: string, options?: { hash?: string; query?: Record<string, string> }): Promise<void> {
    this.loaded.push({ kind: 'file', target: file, options });
    const url = new URL(`file://${path.resolve(file)}`);
    if (options?.query) for (const [k, v] of Object.entries(options.query)) url.searchParams.set(k, v);
    if (options?.hash) url.hash = options.hash;
    this.webContents.mainFrame.url = url.href;
  }
  async loadURL(url: string): Promise<void> {
    this.loaded.push({ kind: 'url', target: url });
    this.webContents.mainFrame.url = url;
  }
  show(): void {
    this.visible = true;
    this.emit('show');
  }
  hide(): void {
    this.visible = false;
    this.emit('hide');
  }
  focus(): void {
    this.focused = true;
  }
  isVisible(): boolean {
    return this.visible;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setPosition(x: number, y: number): void {
    this.bounds = { ...this.bounds, x, y };
  }
  getBounds(): Rect {
    return this.bounds;
  }
  center(): void {}
  setAlwaysOnTop(_on: boolean): void {}
  close(): void {
    this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.visible = false;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
}

class Session {
  headersListener: ((details: any, callback: (response: any) => void) => void) | null = null;
  permissionHandler: ((...args: any[]) => void) | null = null;
  readonly webRequest = {
    onHeadersReceived: (listener: (details: any, callback: (response: any) => void) => void) => {
      this.headersListener = listener;
    },
  };
  setPermissionRequestHandler(handler: (...args: any[]) => void): void {
    this.permissionHandler = handler;
  }
  reset(): void {
    this.headersListener = null;
    this.permissionHandler = null;
  }
}
export const session = { defaultSession: new Session() };

// ---------------------------------------------------------------- IPC

class IpcMain extends EventEmitter {
  readonly handlers = new Map<string, Listener>();
  handle(channel: string, handler: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** Test helper: call a handler as a renderer would, with a fake event. */
  async invoke(channel: string, event: unknown, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(event, ...args);
  }
}
export const ipcMain = new IpcMain();

class IpcRenderer extends EventEmitter {
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    stub.invoked.push({ channel, args });
    return stub.invokeResults.has(channel) ? stub.invokeResults.get(channel) : { ok: true, value: undefined };
  }
  send(channel: string, ...args: unknown[]): void {
    stub.sent.push({ channel, args });
  }
}
export const ipcRenderer = new IpcRenderer();

export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown): void {
    if (key in stub.exposed) throw new Error(`Cannot bind an API on top of an existing property: ${key}`);
    stub.exposed[key] = api;
  },
};

// ---------------------------------------------------------------- OS services

export const safeStorage = {
  isEncryptionAvailable: () => stub.encryptionAvailable,
  getSelectedStorageBackend: () => stub.storageBackend,
  // Reversible but not plain, so a test can tell "encrypted" from "stored as is".
  encryptString: (text: string) => Buffer.from(`stub-enc:${Buffer.from(text).toString('hex')}`),
  decryptString: (data: Buffer) => {
    const s = data.toString();
    if (!s.startsWith('stub-enc:')) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    return Buffer.from(s.slice('stub-enc:'.length), 'hex').toString();
  },
};

export const powerMonitor = new EventEmitter();

export const screen = {
  getDisplayNearestPoint: (_point: { x: number; y: number }) => ({ ...stub.display }),
  getDisplayMatching: (_rect: Rect) => ({ ...stub.display }),
  getPrimaryDisplay: () => ({ ...stub.display }),
  getCursorScreenPoint: () => ({ ...stub.cursor }),
};

export const shell = {
  openExternal: async (url: string) => {
    stub.openedExternal.push(url);
  },
  openPath: async (_p: string) => '',
  showItemInFolder: (_p: string) => undefined,
};

export const clipboard = {
  writeText: (text: string) => {
    stub.clipboardText = text;
  },
  readText: () => stub.clipboardText,
  writeImage: (image: NativeImage) => {
    stub.clipboardImage = image.bytes;
  },
};

export const dialog = {
  showErrorBox: (title: string, content: string) => {
    stub.errorBoxes.push({ title, content });
  },
  showSaveDialog: async (...args: unknown[]) => {
    const options = (args.length > 1 ? args[1] : args[0]) as { defaultPath?: string; filters?: unknown };
    stub.saveDialogs.push({ parent: args.length > 1, options });
    return { ...stub.saveDialogAnswer };
  },
  showMessageBox: async (...args: unknown[]) => {
    stub.messageBoxes.push(args);
    return { response: 0, checkboxChecked: false };
  },
};

export const net = {
  isOnline: () => stub.online,
  get online() {
    return stub.online;
  },
};

// electron-store and friends use the default export.
export default {
  app,
  BrowserWindow,
  Menu,
  Notification,
  Tray,
  clipboard,
  contextBridge,
  dialog,
  ipcMain,
  ipcRenderer,
  nativeImage,
  net,
  powerMonitor,
  safeStorage,
  screen,
  session,
  shell,
};
