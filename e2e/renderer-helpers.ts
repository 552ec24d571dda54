// Drives the BUILT renderer page in Debian's Chromium, with Playwright's exposeBinding
// standing in for the Electron preload: the same createBridgeHandlers serve both.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import type { AgentEvent } from '../electron/shared/types';
import { BRIDGE_CHANNELS, type BridgeServices, createBridgeHandlers, toResult } from '../electron/shared/ipc-contract';
import { createDesktop } from '../electron/main/desktop';
import { closedPort } from './harness/net';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const RENDERER_DIST = join(REPO, 'dist', 'renderer');
export const SCREENSHOT_DIR = join(REPO, 'test-results', 'renderer');

/** Builds the page exactly as the app ships it. */
export async function buildRenderer(): Promise<void> {
  await promisify(execFile)('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], {
    cwd: REPO,
    // Vitest sets NODE_ENV=test, and Vite would then bundle React's development build.
    env: { ...process.env, NODE_ENV: 'production' },
    maxBuffer: 10 * 1024 * 1024,
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Serves dist/renderer on 127.0.0.1: module scripts do not load from file:// in a plain
 * browser (opaque origin), while Electron's file:// is privileged.
 */
export async function serveDir(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path === root || path === root + sep ? join(root, 'index.html') : path;
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/index.html`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, sized like the tray popup. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'ktray-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 400, height: 560 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface TrayWindow {
  page: Page;
  /** Every bridge call the page made, in order: `channel(args…)`. */
  calls: string[];
  /** Console errors and CSP violations seen in the page. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Opens the page with a window.ktray built from the real handlers: each method sends
 * (channel, args) through the binding and gets a Result back; agent events are pushed
 * into the page's listeners in the order the agent emitted them.
 */
export async function openTrayWindow(context: BrowserContext, url: string, services: BridgeServices): Promise<TrayWindow> {
  const handlers = createBridgeHandlers(services);
  const channels = BRIDGE_CHANNELS.map((c) => ({ channel: c.channel, domain: c.domain, name: c.name }));
  const calls: string[] = [];
  const pageErrors: string[] = [];
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  await page.exposeBinding('__ktrayInvoke', async (_source, channel: string, params: unknown) => {
    calls.push(`${channel}(${JSON.stringify(params)})`);
    const handler = handlers[channel];
    if (!handler) return { ok: false, error: { code: 'INTERNAL', message: `No handler for ${channel}` } };
    return toResult(() => handler(params));
  });
  await page.addInitScript((names: Array<{ channel: string; domain: string; name: string }>) => {
    type Listener = (event: unknown) => void;
    const listeners = new Set<Listener>();
    const w = window as unknown as Record<string, unknown> & {
      __ktrayInvoke(channel: string, params: unknown): Promise<unknown>;
    };
    const bridge: Record<string, Record<string, (params?: unknown) => Promise<unknown>>> = {};
    for (const { channel, domain, name } of names) {
      bridge[domain] ??= {};
      bridge[domain][name] = (params?: unknown) => w.__ktrayInvoke(channel, params ?? {});
    }
    w.__ktrayPush = (event: unknown) => {
      for (const listener of listeners) listener(event);
    };
    w.ktray = Object.freeze({
      ...bridge,
      onEvent(listener: Listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    });
  }, channels);

  // One chain keeps events in the agent's order; a page mid-navigation just misses them,
  // as a real window would (it loads a snapshot after subscribing).
  let chain = Promise.resolve();
  const unsubscribe = services.agent.onEvent((event: AgentEvent) => {
    chain = chain
      .then(() => page.evaluate((e) => (window as unknown as { __ktrayPush(e: unknown): void }).__ktrayPush(e), event))
      .catch(() => undefined);
  });
  await page.goto(url);
  return {
    page,
    calls,
    pageErrors,
    close: async () => {
      unsubscribe();
      await chain;
      await page.close();
    },
  };
}

/** Light and dark screenshots of the page as it is now, saved for people to look at. */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const files: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const file = join(SCREENSHOT_DIR, `${name}-${colorScheme}.png`);
    await page.screenshot({ path: file });
    files.push(file);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return files;
}

/** Everything one test file needs: a real remote, a real agent, the built page in Chromium. */
export interface TrayFixture {
  remote: RemoteHost;
  agent: HostedAgent;
  win: TrayWindow;
  page: Page;
  dir: string;
  /** What the page asked to put on the clipboard. */
  clipboard: string[];
  /** Images the page asked to put on the clipboard (their encoded bytes). */
  clipboardImages: Buffer[];
  /** Stands in for the desktop's save dialog: what it was offered, and the path it answers next (null: cancelled). */
  saveDialog: { suggested: string[]; answer: string | null };
  /** Pages the app opened "in the browser" (Open in browser on a Jupyter server), in this Chromium. */
  browserPages: Page[];
  /** The URLs the app handed the browser, in order. */
  browserUrls: string[];
  /** Same sshd as remote.alias, but its known_hosts starts empty: the unknown-host-key path. */
  untrusted: string;
  untrustedKnownHosts: string;
  /** Nothing listens on its port: the unreachable path. */
  unreachable: string;
  close(): Promise<void>;
}


function hostBlock(o: { alias: string; hostname: string; port: number; user: string; identityFile: string; knownHosts: string }): string {
  return [
    `Host ${o.alias}`,
    `  HostName ${o.hostname}`,
    `  Port ${o.port}`,
    `  User ${o.user}`,
    `  IdentityFile ${o.identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${o.knownHosts}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n');
}

export async function openTrayFixture(): Promise<TrayFixture> {
  const [remote] = await Promise.all([startRemoteHost(), buildRenderer()]);
  const parts: { close(): Promise<void> }[] = [{ close: () => remote.stop() }];
  const close = async () => {
    for (const p of parts.reverse()) await p.close().catch(() => {});
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'ktray-renderer-e2e-'));
    parts.push({ close: () => rm(dir, { recursive: true, force: true }) });
    const untrusted = `${remote.alias}-untrusted`;
    const unreachable = `${remote.alias}-unreachable`;
    const untrustedKnownHosts = join(dir, 'known_hosts_empty');
    await writeFile(untrustedKnownHosts, '', { mode: 0o600 });
    const same = { hostname: remote.hostname, user: remote.user, identityFile: remote.identityFile };
    const sshConfigFile = join(dir, 'ssh_config');
    await writeFile(
      sshConfigFile,
      [
        await readFile(remote.sshConfigFile, 'utf8'),
        hostBlock({ ...same, alias: untrusted, port: remote.port, knownHosts: untrustedKnownHosts }),
        hostBlock({ ...same, alias: unreachable, port: await closedPort(), knownHosts: join(dir, 'known_hosts_unused') }),
      ].join('\n'),
      { mode: 0o600 },
    );
    await mkdir(join(dir, 'runtime'), { mode: 0o700 });
    const agent = await hostAgent({ mode: 'headless', home: join(dir, 'home'), sshConfigFile, runtimeDir: join(dir, 'runtime'), serve: false });
    parts.push(agent);
    const server = await serveDir(RENDERER_DIST);
    parts.push(server);
    const browser = await launchBrowser();
    parts.push(browser);
    const a = agent.connection;
    const clipboard: string[] = [];
    const clipboardImages: Buffer[] = [];
    const saveDialog: TrayFixture['saveDialog'] = { suggested: [], answer: null };
    const browserPages: Page[] = [];
    const browserUrls: string[] = [];
    // As the Electron main process does it (electron/main/app-controller.ts), with a clipboard we can read
    // and "the browser" a new page of this Chromium (Electron hands the same URL to shell.openExternal).
    const openUrl = async (url: string) => {
      browserUrls.push(url);
      const p = await browser.context.newPage();
      await p.setViewportSize({ width: 1280, height: 860 });
      browserPages.push(p);
      await p.goto(url, { waitUntil: 'commit' });
    };
    const win = await openTrayWindow(browser.context, server.url, {
      agent: a,
      desktop: createDesktop(a, {
        writeClipboard: (text) => clipboard.push(text),
        writeClipboardImage: (bytes) => clipboardImages.push(Buffer.from(bytes)),
        chooseSavePath: async (suggested) => {
          saveDialog.suggested.push(suggested);
          return saveDialog.answer;
        },
        openUrl,
      }),
    });
    parts.push(win);
    return { remote, agent, win, page: win.page, dir, clipboard, clipboardImages, saveDialog, browserPages, browserUrls, untrusted, untrustedKnownHosts, unreachable, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export const hostSection = (page: Page, id: string): Locator => page.locator(`section[data-host-id="${id}"]`);
export const kernelRow = (page: Page, id: string): Locator => page.locator(`li[data-kernel-id="${id}"]`);
export const stateOf = (row: Locator) => row.getByTestId('kernel-state').textContent();
