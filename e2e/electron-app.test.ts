// The tray app in real Electron (Playwright's _electron), against the real
// sshd/ipykernel harness: the window lists the hosts, a kernel started from
// the window runs on the remote, and quitting the app leaves it running.
// Where no Electron binary is installed, the tests skip and say why.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSummary } from '../electron/shared/types';
import type { KtrayBridge, Result } from '../electron/shared/ipc-contract';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function electronBinary(): { path: string | null; why: string } {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    if (typeof p === 'string' && fs.existsSync(p)) return { path: p, why: '' };
    return { path: null, why: `the electron package points at ${String(p)}, which does not exist` };
  } catch (err) {
    return { path: null, why: `node_modules/electron has no binary (${err instanceof Error ? err.message : String(err)})` };
  }
}

const electron = electronBinary();
const SKIP = electron.path
  ? null
  : `Electron app e2e skipped: ${electron.why}. npm never runs Electron's own download (package.json allowScripts), ` +
    'and `npm test` could not fetch the binary here (no access to its download host); ' +
    'run `node node_modules/electron/install.js` where the download works to enable these tests.';
if (SKIP) console.warn(SKIP);

/** A private X display for the app when none is set (CI): Xvfb picks a free number and tells us. */
async function ensureDisplay(): Promise<{ display: string; stop(): void }> {
  if (process.platform !== 'linux' || process.env.DISPLAY) return { display: process.env.DISPLAY ?? '', stop: () => {} };
  const xvfb: ChildProcess = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    xvfb.stderr!.on('data', (d) => (err += d));
    xvfb.stdio[3]!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    xvfb.on('exit', (code) => reject(new Error(`Xvfb exited (${code}) before giving a display: ${err}`)));
  });
  return { display, stop: () => xvfb.kill() };
}

interface Launched {
  app: ElectronApplication;
  page: Page;
  dir: string;
}

let remote: RemoteHost | null = null;
let x: { display: string; stop(): void } | null = null;

async function launch(extraArgs: string[], env: Record<string, string>): Promise<Launched> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-app-'));
  const userData = path.join(dir, 'user-data');
  fs.mkdirSync(userData, { recursive: true });
  // Seeded settings: what a user who turned notifications off would have.
  fs.writeFileSync(
    path.join(userData, 'config.json'),
    JSON.stringify({
      notifications: { kernelDied: false, hostLost: false, hostBack: false, runFinished: false },
      longRunSeconds: 120,
      __internal__: { migrations: { version: '0.1.0' } },
    }),
  );
  const args = ['.', `--user-data-dir=${userData}`, '--open-window', ...extraArgs];
  // Chromium refuses to run as root with its OS sandbox; the renderer's own sandbox (sandbox: true) still applies.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  const app = await _electron.launch({
    executablePath: electron.path!,
    args,
    cwd: ROOT,
    env: {
      ...(process.env as Record<string, string>),
      DISPLAY: x?.display ?? '',
      KTRAY_HOME: path.join(dir, 'state'),
      JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'),
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      SSH_AUTH_SOCK: '',
      ...env,
    },
    timeout: 60_000,
  });
  const page = await app.firstWindow();
  return { app, page, dir };
}

async function bridge<T>(page: Page, call: (k: KtrayBridge) => Promise<Result<T>>): Promise<T> {
  const r = (await page.evaluate(`(${call.toString()})(window.ktray)`)) as Result<T>;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

describe.skipIf(SKIP !== null)('Kernel Tray app in Electron', () => {
  beforeAll(async () => {
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`build failed:\n${built.stdout}\n${built.stderr}`);
    x = await ensureDisplay();
    remote = await startRemoteHost();
  });

  afterAll(async () => {
    await remote?.stop();
    x?.stop();
  });

  it('opens its window, which lists the local and the remote host, and reads the seeded settings', async () => {
    const { app, page, dir } = await launch(['--ssh-config', remote!.sshConfigFile], {});
    try {
      await page.locator('section[data-host-id="local"]').waitFor({ timeout: 60_000 });
      await page.locator(`section[data-host-id="${remote!.alias}"]`).waitFor({ timeout: 60_000 });
      expect(await bridge(page, (k) => k.settings.get({}))).toMatchObject({ longRunSeconds: 120 });
      const status = await bridge(page, (k) => k.agent.status({}));
      expect(status.mode).toBe('electron');
      // The window is sandboxed: no Node in the page.
      expect(await page.evaluate('typeof require')).toBe('undefined');
      expect(await page.evaluate('typeof process')).toBe('undefined');
    } finally {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts a kernel on the remote from the window; quitting the app leaves it running', async () => {
    const { app, page, dir } = await launch(['--ssh-config', remote!.sshConfigFile], {});
    let pid: number | null = null;
    try {
      await page.locator(`section[data-host-id="${remote!.alias}"]`).waitFor({ timeout: 60_000 });
      const started = (await page.evaluate(
        `window.ktray.kernels.start({ host: ${JSON.stringify(remote!.alias)}, python: ${JSON.stringify(remote!.python)} })`,
      )) as Result<KernelSummary>;
      if (!started.ok) throw new Error(`start failed: ${started.error.message}`);
      pid = started.value.pid;
      await page.locator(`li[data-kernel-id="${started.value.id}"]`).waitFor({ timeout: 60_000 });
    } finally {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(pid).not.toBeNull();
    expect((await remote!.exec(`kill -0 ${pid}`)).code).toBe(0);
    await remote!.exec(`kill ${pid}`);
  });
});
