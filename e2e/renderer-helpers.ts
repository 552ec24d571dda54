// Drives the BUILT renderer page in Debian's Chromium, with Playwright's exposeBinding
// standing in for the Electron preload: the same createBridgeHandlers serve both.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { AgentEvent } from '../electron/core/types';
import { type BridgeServices, createBridgeHandlers, type IpcChannel, toResult } from '../electron/shared/ipc-contract';

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
  const handlers = createBridgeHandlers(services) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const channels = Object.keys(handlers) as IpcChannel[];
  const calls: string[] = [];
  const pageErrors: string[] = [];
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  await page.exposeBinding('__ktrayInvoke', async (_source, channel: string, args: unknown[]) => {
    calls.push(`${channel}(${args.map((a) => (a === undefined ? 'undefined' : JSON.stringify(a))).join(', ')})`);
    const handler = handlers[channel];
    if (!handler) return { ok: false, error: { code: 'INTERNAL', message: `No handler for ${channel}` } };
    return toResult(() => handler(...args));
  });
  await page.addInitScript((names: string[]) => {
    type Listener = (event: unknown) => void;
    const listeners = new Set<Listener>();
    const w = window as unknown as Record<string, unknown> & {
      __ktrayInvoke(channel: string, args: unknown[]): Promise<unknown>;
    };
    const bridge: Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>> = {};
    for (const channel of names) {
      const [group, method] = channel.slice('ktray:'.length).split('.') as [string, string];
      bridge[group] ??= {};
      bridge[group][method] = (...args: unknown[]) => w.__ktrayInvoke(channel, args);
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
