import Conf from 'conf';
import type { MenuItemConstructorOptions } from 'electron';
import fs from 'node:fs';
import os from 'node:os';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KtrayError } from '../shared/errors';
import type { AgentLink } from './agent-link';
import { AppController } from './app-controller';
import type { Autostart } from './autostart';
import { Settings, settingsStoreOptions, type AppSettings } from './settings';
import { BrowserWindow, Notification, Tray, ipcMain, powerMonitor, resetElectronStub, stub } from './test/electron-stub';
import { FakeAgent, T0, host, kernel, samplePlot } from './test/fixtures';
import type { PlotSummary } from '../shared/types';

type Item = MenuItemConstructorOptions;
const INDEX = '/opt/kt/dist/renderer/index.html';

function menuOf(tray: Tray): Item[] {
  return tray.contextMenu!.items as Item[];
}
function find(items: Item[], label: string | RegExp): Item {
  for (const i of items) {
    if (typeof label === 'string' ? i.label === label : label.test(i.label ?? '')) return i;
    const inner = Array.isArray(i.submenu) ? (i.submenu as Item[]) : null;
    if (inner) {
      try {
        return find(inner, label);
      } catch {
        /* keep looking */
      }
    }
  }
  throw new Error(`no menu item ${label}`);
}
const click = (i: Item) => (i.click as unknown as () => void)();
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('AppController', () => {
  let dir: string;
  let settings: Settings;
  let agent: FakeAgent;
  let autostartOn: boolean;
  let closedLinks: number;
  let quits: number;
  let linkResult: () => Promise<AgentLink>;

  const autostart: Autostart = { isEnabled: () => autostartOn, setEnabled: (on) => void (autostartOn = on) };

  let forgotten: string[][];
  function make(): AppController {
    return new AppController({
      settings,
      autostart,
      forgetKeyPassphrases: (files) => (forgotten.push(files), files.filter((f) => f.endsWith('kept')).length),
      linkAgent: () => linkResult(),
      askPassphrase: async () => null,
      assetsDir: '/assets',
      preload: '/p.cjs',
      renderer: { location: { kind: 'file', url: `file://${INDEX}` }, indexFile: INDEX },
      quit: () => void quits++,
      platform: 'linux',
      now: () => T0,
    });
  }

  beforeEach(() => {
    resetElectronStub();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-ctl-'));
    settings = new Settings(new Conf<AppSettings>({ ...settingsStoreOptions(), configName: 'config', cwd: dir }));
    agent = new FakeAgent();
    forgotten = [];
    agent.hostList = [host('local'), host('gpu')];
    agent.kernelList = [kernel('gpu', 'train')];
    autostartOn = false;
    closedLinks = 0;
    quits = 0;
    linkResult = async () => ({ connection: agent, mode: 'hosted', close: async () => void closedLinks++ });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('says it is starting, then shows hosts and kernels once the agent is linked', async () => {
    const c = make();
    const tray = Tray.instances[0];
    expect(menuOf(tray)[0]).toEqual({ label: 'Starting the agent…', enabled: false });
    await c.start();
    expect(find(menuOf(tray), 'local — connected')).toBeTruthy();
    expect(find(menuOf(tray), /^train \(python3\) — idle/)).toBeTruthy();
    expect(agent.calls.find((x) => x.method === 'setSettings')?.params).toEqual({ longRunSeconds: 60, terminal: '', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true });
    expect(ipcMain.handlers.size).toBeGreaterThan(10);
    await c.shutdown();
  });

  it('redraws the icon and menu on agent events, once per burst', async () => {
    const c = make();
    await c.start();
    const tray = Tray.instances[0];
    const before = tray.setContextMenuCalls;
    agent.emit({ type: 'kernel-state', at: T0, kernel: kernel('gpu', 'train', { state: 'busy', busySince: T0 - 180_000 }) });
    agent.emit({ type: 'kernel-started', at: T0, kernel: kernel('gpu', 'eval') });
    await flush();
    expect(tray.setContextMenuCalls).toBe(before + 1);
    expect(find(menuOf(tray), /^train \(python3\) — busy 3m/)).toBeTruthy();
    expect(find(menuOf(tray), /^eval /)).toBeTruthy();
    expect((tray.image as unknown as { path: string }).path).toBe('/assets/tray-linux-busy.png');
    await c.shutdown();
  });

  it('sends menu clicks to the agent and reports failures as notifications with the hint', async () => {
    const c = make();
    await c.start();
    const tray = Tray.instances[0];
    click(find(menuOf(tray), 'Interrupt'));
    await flush();
    expect(agent.calls.at(-1)).toEqual({ method: 'interrupt', params: { id: 'gpu/train' } });
    agent.failWith.stop = new KtrayError({ code: 'HOST_DOWN', message: 'gpu does not answer.', host: 'gpu', hint: 'Check the VPN.' });
    click(find(menuOf(tray), 'Stop'));
    await vi.waitFor(() => expect(Notification.instances).toHaveLength(1));
    expect(Notification.instances[0].options).toEqual({ title: 'Could not stop gpu/train', body: 'gpu does not answer.\n  Check the VPN.' });
    click(find(menuOf(tray), 'Copy connection file path'));
    await vi.waitFor(() => expect(stub.clipboardText).toBe('/local/gpu-train.json'));
    await c.shutdown();
  });

  it('notifies a dead kernel and opens the window on it when clicked; events reach the window', async () => {
    const c = make();
    await c.start();
    agent.emit({ type: 'kernel-died', at: T0, kernel: kernel('gpu', 'train', { alive: false, state: 'dead' }), reason: 'killed' });
    expect(Notification.instances).toHaveLength(1);
    Notification.instances[0].emit('click', {});
    await vi.waitFor(() => expect(BrowserWindow.instances).toHaveLength(1));
    const win = BrowserWindow.instances[0];
    await vi.waitFor(() => expect(win.visible).toBe(true));
    expect(win.loaded[0].options).toEqual({ hash: 'kernel=gpu%2Ftrain' });
    agent.emit({ type: 'notice', at: T0, host: null, message: 'hi' });
    expect(win.webContents.sent.at(-1)).toEqual({ channel: 'ktray:event', args: [{ type: 'notice', at: T0, host: null, message: 'hi' }] });
    // The window's IPC is served to it: its webContents is the trusted one.
    const result = await ipcMain.invoke('ktray:hosts.list', { sender: { id: win.webContents.id }, senderFrame: { url: win.webContents.getURL(), parent: null } });
    expect(result).toMatchObject({ ok: true });
    await c.shutdown();
  });

  it("the window's Forget secrets also forgets the key passphrases the app kept for that host's key files", async () => {
    const c = make();
    await c.start();
    await c.openWindow();
    const win = BrowserWindow.instances[0];
    const from = { sender: { id: win.webContents.id }, senderFrame: { url: win.webContents.getURL(), parent: null } };
    agent.forgetSecrets = async (p) => ({ host: p.host, removed: 1, keychain: 'the test keychain', keyFiles: ['/k/id_kept', '/k/id_other'] });
    expect(await ipcMain.invoke('ktray:hosts.forgetSecrets', from, { host: 'gpu' })).toEqual({
      ok: true,
      value: { host: 'gpu', removed: 2, keychain: 'the test keychain', keyFiles: ['/k/id_kept', '/k/id_other'] },
    });
    expect(forgotten).toEqual([['/k/id_kept', '/k/id_other']]);
    // Every other call still reaches the agent as it is.
    expect(await ipcMain.invoke('ktray:hosts.list', from, {})).toMatchObject({ ok: true });
    await c.shutdown();
  });

  it('copies a plot the window names onto the clipboard: PNG as an image, SVG as text, undecodable bytes refused', async () => {
    const c = make();
    await c.start();
    await c.openWindow();
    const win = BrowserWindow.instances[0];
    const from = { sender: { id: win.webContents.id }, senderFrame: { url: win.webContents.getURL(), parent: null } };
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(40, 7)]);
    const plot = (n: number, mime: PlotSummary['mime']) => ({ ...samplePlot(n), mime });
    agent.plotList = [plot(1, 'image/png'), plot(2, 'image/svg+xml'), plot(3, 'image/png')];
    agent.plotBytes = { 'gpu/train#1': png, 'gpu/train#2': Buffer.from('<svg/>'), 'gpu/train#3': Buffer.from('not an image') };
    expect(await ipcMain.invoke('ktray:plots.copy', from, { id: 'gpu/train#1' })).toEqual({ ok: true, value: { id: 'gpu/train#1', copied: 'image' } });
    expect(stub.clipboardImage?.equals(png)).toBe(true);
    expect(await ipcMain.invoke('ktray:plots.copy', from, { id: 'gpu/train#2' })).toEqual({ ok: true, value: { id: 'gpu/train#2', copied: 'svg-text' } });
    expect(stub.clipboardText).toBe('<svg/>');
    expect(await ipcMain.invoke('ktray:plots.copy', from, { id: 'gpu/train#3' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    await c.shutdown();
  });

  it('saves a plot where the save dialog says, over the window, with its bytes; a cancelled dialog writes nothing', async () => {
    const c = make();
    await c.start();
    await c.openWindow();
    const win = BrowserWindow.instances[0];
    const from = { sender: { id: win.webContents.id }, senderFrame: { url: win.webContents.getURL(), parent: null } };
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(40, 7)]);
    agent.plotList = [{ ...samplePlot(4), kernel: 'gpu/kernel-train', id: 'gpu/kernel-train#4' }];
    agent.plotBytes = { 'gpu/kernel-train#4': png };
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ktray-save-'));
    try {
      expect(await ipcMain.invoke('ktray:plots.save', from, { id: 'gpu/kernel-train#4' })).toEqual({ ok: true, value: { id: 'gpu/kernel-train#4', path: null } });
      expect(stub.saveDialogs).toEqual([{ parent: true, options: expect.objectContaining({ defaultPath: path.join(stub.userData, 'pictures', 'train-4.png'), filters: [{ name: 'PNG image', extensions: ['png'] }] }) }]);
      expect(await readdir(dir)).toEqual([]);
      const file = path.join(dir, 'mine.png');
      stub.saveDialogAnswer = { canceled: false, filePath: file };
      expect(await ipcMain.invoke('ktray:plots.save', from, { id: 'gpu/kernel-train#4' })).toEqual({ ok: true, value: { id: 'gpu/kernel-train#4', path: file } });
      expect((await readFile(file)).equals(png)).toBe(true);
      stub.saveDialogAnswer = { canceled: false, filePath: path.join(dir, 'no-such-dir', 'x.png') };
      expect(await ipcMain.invoke('ktray:plots.save', from, { id: 'gpu/kernel-train#4' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringContaining('no-such-dir') } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await c.shutdown();
  });

  it('switches start at login and notification kinds from the menu, and the menu follows', async () => {
    const c = make();
    await c.start();
    const tray = Tray.instances[0];
    click(find(menuOf(tray), 'Start at login'));
    expect(autostartOn).toBe(true);
    expect(settings.get('startAtLogin')).toBe(true);
    expect(find(menuOf(tray), 'Start at login').checked).toBe(true);
    click(find(menuOf(tray), 'Kernel died'));
    expect(settings.get('notifications').kernelDied).toBe(false);
    expect(find(menuOf(tray), 'Kernel died').checked).toBe(false);
    agent.emit({ type: 'kernel-died', at: T0, kernel: kernel('gpu', 'train', { alive: false, state: 'dead' }), reason: 'x' });
    expect(Notification.instances).toHaveLength(0);
    click(find(menuOf(tray), 'console'));
    expect(settings.get('preferredFrontend')).toBe('console');
    expect((find(menuOf(tray), /^train /).submenu as Item[]).slice(0, 2).map((i) => i.label)).toEqual(['Attach console', 'Attach qtconsole']);
    await c.shutdown();
  });

  it('checks connections after resume', async () => {
    const c = make();
    await c.start();
    powerMonitor.emit('resume');
    await flush();
    expect(agent.methods()).toContain('reconnect');
    await c.shutdown();
  });

  it('shows a failed start in the menu and links on "Try again"', async () => {
    linkResult = async () => {
      throw new KtrayError({ code: 'INTERNAL', message: 'EACCES: /state', hint: 'Check the permissions.' });
    };
    const c = make();
    await c.start();
    const tray = Tray.instances[0];
    expect(menuOf(tray)[0]).toEqual({ label: 'Agent not available: EACCES: /state (Check the permissions.)', enabled: false });
    expect(ipcMain.handlers.size).toBe(0);
    linkResult = async () => ({ connection: agent, mode: 'hosted', close: async () => void closedLinks++ });
    click(find(menuOf(tray), 'Try again'));
    await vi.waitFor(() => expect(find(menuOf(tray), 'local — connected')).toBeTruthy());
    await c.shutdown();
  });

  it('notices when the CLI agent it used has gone, and offers to start one', async () => {
    linkResult = async () => ({ connection: agent, mode: 'client', close: async () => void closedLinks++ });
    const c = make();
    await c.start();
    const tray = Tray.instances[0];
    expect(menuOf(tray)[0]).toEqual({ label: 'Using the agent started by ktray', enabled: false });
    agent.failWith.interrupt = new KtrayError({ code: 'AGENT_UNAVAILABLE', message: 'The ktray agent closed the connection.' });
    click(find(menuOf(tray), 'Interrupt'));
    await vi.waitFor(() => expect(menuOf(tray)[0].label).toBe('The ktray agent stopped: The ktray agent closed the connection.'));
    expect(find(menuOf(tray), 'Try again')).toBeTruthy();
    expect(closedLinks).toBe(1);
    expect(ipcMain.handlers.size).toBe(0);
    await c.shutdown();
  });

  it('on shutdown closes the link (tunnels, socket) but never stops kernels', async () => {
    const c = make();
    await c.start();
    await c.openWindow();
    click(find(menuOf(Tray.instances[0]), 'Quit (kernels keep running)'));
    expect(quits).toBe(1);
    await c.shutdown();
    await c.shutdown();
    expect(closedLinks).toBe(1);
    expect(agent.methods()).not.toContain('shutdown');
    expect(agent.methods()).not.toContain('stop');
    expect(Tray.instances[0].isDestroyed()).toBe(true);
    expect(BrowserWindow.instances[0].isDestroyed()).toBe(true);
    expect(ipcMain.handlers.size).toBe(0);
    expect(agent.listenerCount).toBe(0);
  });
});
