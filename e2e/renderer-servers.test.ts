// Jupyter servers in the tray window, against the REAL agent and a REAL
// sshd + jupyter-notebook 6.4 host: the user's final recipe with nothing typed
// by hand. "Open in browser" goes the tray's own way (window -> bridge ->
// desktop -> agent: tunnel and 0600 login page -> the browser), the browser
// being this same headless Chromium; there the notebook UI creates
// analysis.ipynb and runs `x = 6*7`; then a real `jupyter console --existing`
// on the tunnelled kernel of that notebook prints 42.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteRuntimeDir, startNotebookByHand, watchArgv, type HandServer } from './harness/jupyter-servers';
import { runJupyterCheck, runJupyterConsole } from './harness/jupyter';
import { hostSection, kernelRow, openTrayFixture, screenshots, SCREENSHOT_DIR, type TrayFixture } from './renderer-helpers';

const SLOW = { timeout: 90_000 };

let f: TrayFixture;
let page: Page;
let notes: HandServer;
let notebookPage: Page;

beforeAll(async () => {
  f = await openTrayFixture();
  page = f.page;
  const port = (n: number) => (f.remote.isolated ? n : n + 10_000);
  notes = await startNotebookByHand(f.remote, { port: port(8887), dir: `${f.remote.home}/proj` });
  // Two that need a word of warning: one the network can reach, one whose file is stale.
  await startNotebookByHand(f.remote, { port: port(8891), args: '--ip=0.0.0.0' });
  await f.remote.exec(`sed 's/"pid": ${notes.pid}/"pid": 999999/' '${notes.file}' > '${remoteRuntimeDir(f.remote)}/nbserver-999999.json'`);
}, 300_000);

afterAll(async () => {
  await f?.close();
});

const serverRow = (id: string) => page.locator(`li[data-server-id="${id}"]`);

describe('tray window: Jupyter servers on a host', () => {
  const id = () => `${f.remote.alias}/nbserver-${notes.pid}`;

  it("lists the host's servers with where they listen, and the warnings they need", async () => {
    const host = hostSection(page, f.remote.alias);
    await host.getByRole('button', { name: `Refresh kernels on ${f.remote.alias}` }).click();
    await serverRow(id()).waitFor(SLOW);
    expect(await serverRow(id()).getByTestId('server-state').textContent()).toBe('running');
    expect(await serverRow(id()).textContent()).toContain(`127.0.0.1:${notes.port}`);
    const stale = serverRow(`${f.remote.alias}/nbserver-999999`);
    expect(await stale.getByTestId('server-state').textContent()).toBe('dead');
    expect(await stale.getByRole('button', { name: /^Open / }).isDisabled()).toBe(true);
    const wide = host.locator('li.server', { hasText: '0.0.0.0' });
    expect(await wide.getByTestId('server-warning').textContent()).toMatch(/so the network can reach it/);
    await host.scrollIntoViewIfNeeded();
    await screenshots(page, '20-servers');
  });

  it('opens the server in the browser, logged in, through the tray’s own path, the token in no argv', async () => {
    const watch = watchArgv(f.remote, [notes.token]);
    await serverRow(id()).getByRole('button', { name: /^Open .* in the browser$/ }).click();
    await serverRow(id()).getByText(/^Opened http:\/\/127\.0\.0\.1:\d+\/tree$/).waitFor(SLOW);
    const browser = f.browserPages.at(-1)!;
    await browser.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/tree/, SLOW);
    await browser.getByText('Select items to perform actions on them.').waitFor(SLOW);
    const seen = await watch.stop();
    expect(seen.rounds).toBeGreaterThan(0);
    expect(seen.hits).toEqual([]);
    // The browser was handed the login page's path, never a URL with the token.
    expect(f.browserUrls.at(-1)).toMatch(/^file:\/\/.*\/servers\/login-.*\.html$/);
    expect(f.browserUrls.join(' ')).not.toContain(notes.token);
    expect(await serverRow(id()).getByTestId('server-local-url').textContent()).toMatch(/^here: http:\/\/127\.0\.0\.1:\d+\/$/);
    await screenshots(page, '21-server-open');
  });

  it('copies the local URL without the token; the browser that opened it once stays logged in there', async () => {
    await serverRow(id()).getByRole('button', { name: /^Copy the URL of / }).click();
    const note = serverRow(id()).getByText(/^Copied http:\/\/127\.0\.0\.1:\d+\/tree \(no token in it; Open logs the browser in\)$/);
    await note.waitFor(SLOW);
    const copied = f.clipboard.at(-1)!;
    // The page Open lands on, without the token.
    expect(copied).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tree$/);
    expect(copied).not.toContain(notes.token);
    expect(await serverRow(id()).getByTestId('server-local-url').textContent()).toBe(`here: ${new URL('/', copied).toString()}`);
    // Pasted in the browser that Open logged in: its cookie takes it to the file tree, not the login form.
    const browser = f.browserPages.at(-1)!;
    await browser.goto(copied);
    await browser.waitForURL(/\/tree/, SLOW);
    await browser.getByText('Select items to perform actions on them.').waitFor(SLOW);
    // Without that cookie the same URL is the login form: the URL alone opens nothing.
    const bare = await fetch(copied, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toMatch(/\/login\?next=/);
    await screenshots(page, '21b-server-copied');
  });

  it('creates a notebook there and runs x = 6*7 in a cell', async () => {
    const tree = f.browserPages.at(-1)!;
    await tree.locator('#new-dropdown-button').click();
    const [nb] = await Promise.all([tree.context().waitForEvent('page'), tree.locator('#kernel-python3 a').click()]);
    notebookPage = nb;
    await nb.setViewportSize({ width: 1280, height: 860 });
    await nb.waitForURL(/\/notebooks\/Untitled\.ipynb/, SLOW);
    await nb.locator('#kernel_indicator_icon.kernel_idle_icon').waitFor(SLOW);
    await nb.locator('#notebook_name').click();
    const rename = nb.locator('.modal-dialog input');
    await rename.fill('analysis');
    await nb.locator('.modal-footer button.btn-primary').click();
    await nb.waitForURL(/\/notebooks\/analysis\.ipynb/, SLOW);
    await nb.locator('.cell .CodeMirror').first().click();
    await nb.keyboard.type('x = 6*7');
    await nb.keyboard.press('Shift+Enter');
    await nb.locator('.cell .CodeMirror').nth(1).click();
    await nb.keyboard.type('x');
    await nb.keyboard.press('Shift+Enter');
    await nb.locator('.output_area .output_subarea', { hasText: /^42$/ }).waitFor(SLOW);
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await nb.screenshot({ path: path.join(SCREENSHOT_DIR, '22-notebook-6x7.png') });
  });

  it("lists the notebook's kernel by its name, and a real jupyter console on it prints 42", async () => {
    const host = hostSection(page, f.remote.alias);
    await host.getByRole('button', { name: `Refresh kernels on ${f.remote.alias}` }).click();
    const row = host.locator('li.kernel', { hasText: 'analysis.ipynb' });
    await row.waitFor(SLOW);
    expect(await serverRow(id()).getByTestId('server-notebooks').textContent()).toBe('analysis.ipynb');
    const kernelId = (await row.getAttribute('data-kernel-id'))!;
    expect(await row.textContent()).toContain(`server nbserver-${notes.pid}`);
    await kernelRow(page, kernelId).getByRole('button', { name: /with tunnels only$/ }).click();
    await kernelRow(page, kernelId).getByText(/^Tunnels open: /).waitFor(SLOW);
    const k = (await f.agent.connection.kernels({})).find((x) => x.id === kernelId)!;
    expect(k).toMatchObject({ notebook: 'analysis.ipynb', server: id(), attached: true });
    expect(await runJupyterConsole(k.localConnectionFile!, 'print(x)\n')).toMatch(/In \[\d+\]: 42/);
    expect(await runJupyterCheck(k.localConnectionFile!, 'x')).toMatchObject({ status: 'ok', result: '42' });
    await row.scrollIntoViewIfNeeded();
    await screenshots(page, '23-notebook-kernel');
  });

  it("shows a plot drawn in the notebook's cell in the kernel's Plots view, with the bytes the notebook got", async () => {
    const nb = notebookPage;
    await nb.locator('.cell .CodeMirror').nth(2).click();
    await nb.keyboard.type('import matplotlib.pyplot as plt; plt.plot([1,2,3,4,4,5,6]); plt.show()');
    await nb.keyboard.press('Shift+Enter');
    const shown = nb.locator('.output_area img').first();
    await shown.waitFor(SLOW);
    const src = (await shown.getAttribute('src'))!;
    expect(src).toMatch(/^data:image\/png;base64,/);
    const sent = Buffer.from(src.slice(src.indexOf(',') + 1), 'base64');
    const kernelId = (await hostSection(page, f.remote.alias).locator('li.kernel', { hasText: 'analysis.ipynb' }).getAttribute('data-kernel-id'))!;
    const button = kernelRow(page, kernelId).getByTestId('plots-button');
    await button.waitFor(SLOW);
    expect(await button.textContent()).toBe('Plots · 1');
    const [plot] = (await f.agent.connection.plots({ kernel: kernelId })).plots;
    expect(plot).toMatchObject({ mime: 'image/png', code: expect.stringContaining('plt.plot([1,2,3,4,4,5,6])') });
    expect(Buffer.from((await f.agent.connection.plot({ id: plot!.id })).base64, 'base64').equals(sent)).toBe(true);
    await button.click();
    // Named as its row is: by the notebook it serves.
    const dialog = page.getByRole('dialog', { name: /^Plots of analysis\.ipynb / });
    const img = dialog.getByTestId('plot-image');
    await img.waitFor(SLOW);
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => (el.complete ? [el.naturalWidth, el.naturalHeight] : null)), SLOW).toEqual([plot!.width, plot!.height]);
    await screenshots(page, '26-notebook-plot');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  it('stops the server after saying which kernels go with it', async () => {
    await serverRow(id()).getByRole('button', { name: /^Stop .*nbserver-\d+$/ }).click();
    const confirm = serverRow(id()).getByRole('group', { name: /^Stop nbserver-\d+\?/ });
    expect(await confirm.getAttribute('aria-label')).toBe(`Stop nbserver-${notes.pid}? Its kernel goes with it: analysis.ipynb.`);
    await screenshots(page, '24-server-stop');
    await confirm.getByRole('button', { name: 'Stop server' }).click();
    await serverRow(id())
      .waitFor({ state: 'detached', ...SLOW })
      .catch(async (err: Error) => {
        // Say what the window shows instead (an error from the stop, a dead row), not just that it timed out.
        const shown = await serverRow(id()).textContent().catch(() => null);
        throw new Error(`${err.message}\nthe row still shows: ${shown}`);
      });
    expect((await f.remote.exec(`kill -0 ${notes.pid}`)).code).not.toBe(0);
    await notebookPage?.close();
  });

  it('starts one from the host row (Server): detached, on a unix socket in the private runtime dir; Stop goes through its API', async () => {
    const host = hostSection(page, f.remote.alias);
    const before = new Set((await f.agent.connection.servers({ host: f.remote.alias })).map((s) => s.id));
    await host.getByRole('button', { name: `Start a Jupyter server on ${f.remote.alias}` }).click();
    const row = host.locator('li.server', { hasText: 'unix:' });
    await row.waitFor(SLOW);
    const started = (await f.agent.connection.servers({ host: f.remote.alias })).find((s) => !before.has(s.id))!;
    expect(started).toMatchObject({ startedByKtray: true, alive: true, auth: 'token', endpoint: { kind: 'unix' } });
    expect(await row.getAttribute('data-server-id')).toBe(started.id);
    expect(await row.textContent()).toContain(`unix:${remoteRuntimeDir(f.remote)}/ktray-`);
    await row.scrollIntoViewIfNeeded();
    await screenshots(page, '25-server-started');
    await row.getByRole('button', { name: /^Stop / }).click();
    await row.getByRole('button', { name: 'Stop server' }).click();
    await serverRow(started.id).waitFor({ state: 'detached', ...SLOW });
    expect((await f.remote.exec(`kill -0 ${started.pid}`)).code).not.toBe(0);
    expect((await f.remote.exec(`cat ~/.cache/ktray/server-*.log`)).stdout).toContain('Shutting down on /api/shutdown request');
  });
});
