// The whole main process, booted against the Electron stub and a REAL agent
// (hosted in-process, or started first as by `ktray`), on a temp home. It
// proves the wiring where no Electron binary exists; e2e/electron-app.test.ts
// does the same in real Electron where one does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectAgent, hostAgent, type HostedAgent } from '../core/agent/agent-host';

type Stub = typeof import('./test/electron-stub');

vi.mock('electron-store', async () => {
  // electron-store = conf + Electron's userData as cwd; the real module would load the real `electron`.
  const { default: Conf } = await import('conf');
  const { stub: s } = await import('./test/electron-stub');
  class Store extends Conf<Record<string, unknown>> {
    constructor(o: Record<string, unknown>) {
      super({ ...o, configName: (o.name as string) ?? 'config', cwd: s.userData });
    }
  }
  return { default: Store };
});

type Item = { label?: string; submenu?: Item[] };
const labels = (items: Item[] | undefined): string[] => (items ?? []).flatMap((i) => [i.label ?? '', ...labels(i.submenu)]);

// Each test loads a fresh module graph (main.ts runs on import), so the stub
// it talks to is loaded fresh too, from the same graph.
let e: Stub;
const menu = () => labels(e.Tray.instances[0]?.contextMenu?.items as Item[] | undefined);

async function boot(): Promise<void> {
  e = await import('./test/electron-stub');
  e.resetElectronStub();
  e.stub.userData = path.join(home, 'userData');
  await import('./main');
}

let tmp: string;
let home: string;
const saved = { ...process.env };
const argv = process.argv;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-main-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeEach(() => {
  vi.resetModules();
  home = fs.mkdtempSync(path.join(tmp, 'home-'));
  process.env.KTRAY_HOME = path.join(home, 'state');
  process.env.JUPYTER_RUNTIME_DIR = path.join(home, 'runtime');
  process.env.XDG_CONFIG_HOME = path.join(home, 'config');
  process.env.HOME = home;
  process.argv = [...argv, '--open-window'];
});
afterEach(() => {
  process.env = { ...saved };
  process.argv = argv;
});

async function quit(): Promise<void> {
  let prevented = false;
  e.app.emit('before-quit', { preventDefault: () => (prevented = true) });
  expect(prevented).toBe(true); // quitting waits for the agent to close
  await vi.waitFor(() => expect(e.stub.quitCalls).toBeGreaterThan(0), { timeout: 20_000 });
}

describe('main process', () => {
  it('hosts the agent, lists the local host in the tray and the window, serves the CLI, and closes on quit', async () => {
    await boot();
    await vi.waitFor(() => expect(menu().some((l) => l.startsWith('local — '))).toBe(true), { timeout: 20_000 });
    expect(menu()).toContain('Open Kernel Tray');
    expect(menu()).toContain('Quit (kernels keep running)');

    // --open-window: the renderer page is loaded in a sandboxed window.
    await vi.waitFor(() => expect(e.BrowserWindow.instances[0]?.visible).toBe(true));
    const win = e.BrowserWindow.instances[0];
    expect(win.loaded[0].target).toBe(path.join(e.stub.appPath, 'dist', 'renderer', 'index.html'));
    const listed = (await e.ipcMain.invoke('ktray:hosts.list', {
      sender: { id: win.webContents.id },
      senderFrame: { url: win.webContents.getURL(), parent: null },
    })) as { ok: boolean; value: Array<{ id: string }> };
    expect(listed.ok).toBe(true);
    expect(listed.value.map((h) => h.id)).toContain('local');

    // A terminal user's `ktray` talks to the same agent.
    const cli = await connectAgent({ home: process.env.KTRAY_HOME });
    expect(cli).not.toBeNull();
    expect((await cli!.status({})).mode).toBe('electron');
    cli!.dispose();

    // Settings were written where electron-store keeps them.
    expect(JSON.parse(fs.readFileSync(path.join(e.stub.userData, 'config.json'), 'utf8')).longRunSeconds).toBe(60);

    await quit();
    expect(await connectAgent({ home: process.env.KTRAY_HOME })).toBeNull();
    expect(e.Tray.instances[0].isDestroyed()).toBe(true);
  });

  it('uses an agent that `ktray` started first, and leaves it running on quit', async () => {
    let headless: HostedAgent | null = await hostAgent({ mode: 'headless', home: process.env.KTRAY_HOME });
    try {
      await boot();
      await vi.waitFor(() => expect(menu()).toContain('Using the agent started by ktray'), { timeout: 20_000 });
      expect(menu().some((l) => l.startsWith('local — '))).toBe(true);
      expect(menu()).toContain('Quit');
      await quit();
      const cli = await connectAgent({ home: process.env.KTRAY_HOME });
      expect(cli).not.toBeNull();
      expect((await cli!.status({})).mode).toBe('headless');
      cli!.dispose();
    } finally {
      await headless?.close();
      headless = null;
    }
  });
});
