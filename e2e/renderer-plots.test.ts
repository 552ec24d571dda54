// Plots of a shared kernel, from every frontend, here (issue 10). The REAL agent watches a
// kernel on the REAL sshd + ipykernel remote through its tunnel; a real jupyter_client ON THE
// REMOTE BOX (as a `jupyter console` in tmux would be) runs the user's own matplotlib line,
// and another real client runs code through the local connection file of an attachment.
// The plots must reach the agent byte for byte with their pixel size, show in the built
// window in Debian's Chromium (screenshots, light and dark), copy and save, and an updated
// display must replace its image.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSummary, PlotSummary } from '../electron/shared/types';
import { installPlotClient, localPlotClient, remotePlotClient, type ClientImage, type ClientRun } from './harness/plot-client';
import { kernelRow, openTrayFixture, screenshots, type TrayFixture } from './renderer-helpers';

// Safety nets only: nothing below asserts how long anything took.
const SLOW = { timeout: 90_000, interval: 200 };

// The user's notes: the plot they drew from a console on the remote box.
const NOTES_PLOT = 'import matplotlib.pyplot as plt\nplt.plot([1,2,3,4,4,5,6])\nplt.show()';

let f: TrayFixture;
let page: Page;
let kernel: KernelSummary;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function remoteClient(code: string): Promise<ClientRun> {
  const got = await remotePlotClient(f.remote, kernel.connectionFile, code);
  expect(got.error, got.stdout).toBeNull();
  expect(got.status).toBe('ok');
  return got;
}

async function localClient(file: string, code: string): Promise<ClientRun> {
  const got = await localPlotClient(file, code);
  expect(got.error, got.stdout).toBeNull();
  return got;
}

async function plotsOf(id: string): Promise<PlotSummary[]> {
  return (await f.agent.connection.plots({ kernel: id })).plots;
}

async function bytesOf(id: string): Promise<Buffer> {
  return Buffer.from((await f.agent.connection.plot({ id })).base64, 'base64');
}

beforeAll(async () => {
  f = await openTrayFixture();
  page = f.page;
  await installPlotClient(f.remote);
}, 300_000);

afterAll(async () => {
  if (kernel) await f?.agent.connection.stop({ id: kernel.id }).catch(() => {});
  await f?.close();
});

describe('plots of a shared kernel, from every frontend, in the window', () => {
  let notes: PlotSummary;
  let notesRun: ClientRun;

  it('a kernel Kernel Tray watches (Watch, no attachment yet) has no plots and no Plots button', async () => {
    kernel = await f.agent.connection.start({ host: f.remote.alias, python: '/usr/bin/python3', cwd: '/tmp' });
    kernel = await f.agent.connection.pin({ id: kernel.id, pinned: true });
    const row = kernelRow(page, kernel.id);
    await row.waitFor(SLOW);
    await expect.poll(async () => (await f.agent.connection.kernels({})).find((k) => k.id === kernel.id)?.state, SLOW).toBe('idle');
    expect(await plotsOf(kernel.id)).toEqual([]);
    expect(await row.getByTestId('plots-button').count()).toBe(0);
  });

  it("the notes' plt.plot([1,2,3,4,4,5,6]) from a client on the remote box reaches the agent byte for byte, with its size and code", async () => {
    notesRun = await remoteClient(NOTES_PLOT);
    expect(notesRun.images).toHaveLength(1);
    const sent = notesRun.images[0]!;
    expect(sent).toMatchObject({ type: 'display_data', mime: 'image/png' });
    // A real figure, not a placeholder: matplotlib's inline backend draws a few hundred pixels each way.
    expect(sent.width).toBeGreaterThan(200);
    expect(sent.height).toBeGreaterThan(150);
    await expect.poll(async () => (await plotsOf(kernel.id)).length, SLOW).toBe(1);
    [notes] = await plotsOf(kernel.id);
    expect(notes).toMatchObject({
      kernel: kernel.id,
      mime: 'image/png',
      width: sent.width,
      height: sent.height,
      bytes: sent.bytes,
      source: 'display_data',
      code: NOTES_PLOT,
      client: { session: notesRun.session, username: notesRun.username },
    });
    expect(sha256(await bytesOf(notes!.id))).toBe(sent.sha256);
  });

  it('shows it in the Plots view of that kernel, at its own size, with the code that made it', async () => {
    const row = kernelRow(page, kernel.id);
    const button = row.getByTestId('plots-button');
    await button.waitFor(SLOW);
    expect(await button.textContent()).toBe('Plots · 1');
    await button.click();
    const dialog = page.getByRole('dialog', { name: /^Plots of python3 / });
    await dialog.waitFor();
    const img = dialog.getByTestId('plot-image');
    await img.waitFor(SLOW);
    const natural = await img.evaluate((el: HTMLImageElement) => (el.complete ? [el.naturalWidth, el.naturalHeight] : null));
    expect(natural).toEqual([notes.width, notes.height]);
    expect(await dialog.getByTestId('plot-facts').textContent()).toContain(`${notes.width}×${notes.height} · PNG`);
    expect(await dialog.getByTestId('plot-code').textContent()).toContain('plt.plot([1,2,3,4,4,5,6])');
    await screenshots(page, '30-plots-one');
  });

  it('copies it as an image and saves it where the save dialog says, both with the bytes the kernel sent', async () => {
    const dialog = page.getByRole('dialog', { name: /^Plots of / });
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Copied the image.').waitFor(SLOW);
    expect(f.clipboardImages).toHaveLength(1);
    expect(sha256(f.clipboardImages[0]!)).toBe(notesRun.images[0]!.sha256);

    f.saveDialog.answer = null; // cancelled: nothing written
    await dialog.getByRole('button', { name: 'Save as…' }).click();
    await expect.poll(() => f.saveDialog.suggested.length, SLOW).toBe(1);
    expect(f.saveDialog.suggested[0]).toMatch(/^[A-Za-z0-9._-]+-1\.png$/);
    const target = join(f.dir, 'saved-plot.png');
    f.saveDialog.answer = target;
    await dialog.getByRole('button', { name: 'Save as…' }).click();
    await dialog.getByText(`Saved ${target}`).waitFor(SLOW);
    expect(sha256(await readFile(target))).toBe(notesRun.images[0]!.sha256);
  });

  it('adds a plot from another frontend (a client on the attachment here) live, newest first, without reopening', async () => {
    const attached = await f.agent.connection.attach({ id: kernel.id });
    const code = 'import matplotlib.pyplot as plt\nplt.figure(figsize=(3, 2), dpi=100)\nplt.bar([1, 2, 3], [3, 1, 2])\nplt.show()';
    const client = await localClient(attached.localConnectionFile, code);
    expect(client.images).toHaveLength(1);
    await expect.poll(async () => (await plotsOf(kernel.id)).length, SLOW).toBe(2);
    const [newest] = await plotsOf(kernel.id);
    expect(newest).toMatchObject({ seq: 2, width: client.images[0]!.width, height: client.images[0]!.height, client: { session: client.session } });
    expect(newest!.client.session).not.toBe(notesRun.session);
    expect(sha256(await bytesOf(newest!.id))).toBe(client.images[0]!.sha256);
    // The open view follows the newest, and lists both.
    const dialog = page.getByRole('dialog', { name: /^Plots of / });
    await expect.poll(() => dialog.getByTestId('plot-large').getAttribute('data-plot-id'), SLOW).toBe(newest!.id);
    await expect.poll(() => dialog.getByTestId('plot-image').evaluate((el: HTMLImageElement) => el.naturalWidth), SLOW).toBe(newest!.width);
    expect(await dialog.getByRole('list', { name: /newest first/ }).getByRole('button').count()).toBe(2);
    await screenshots(page, '31-plots-two');
    // Picking the older one shows it large.
    await dialog.getByRole('button', { name: new RegExp(`^Plot 1, ${notes.width}×${notes.height}`) }).click();
    await expect.poll(() => dialog.getByTestId('plot-large').getAttribute('data-plot-id'), SLOW).toBe(notes.id);
  });

  it('an updated display (transient.display_id) replaces its image in the agent and in the window', async () => {
    const code = [
      'import io',
      'import matplotlib.pyplot as plt',
      'from IPython.display import Image, display',
      'def fig(n):',
      '    f = plt.figure(figsize=(2 + n, 2), dpi=100); plt.plot(range(n)); b = io.BytesIO(); f.savefig(b, format="png"); plt.close(f); return b.getvalue()',
      'h = display(Image(fig(1)), display_id=True)',
      'h.update(Image(fig(4)))',
    ].join('\n');
    const got = await remoteClient(code);
    expect(got.images.map((i) => i.type)).toEqual(['display_data', 'update_display_data']);
    const [first, second] = got.images as [ClientImage, ClientImage];
    expect(second.displayId).toBe(first.displayId);
    expect(second.width).toBe(600);
    await expect.poll(async () => (await plotsOf(kernel.id)).find((p) => p.displayId === first.displayId)?.version, SLOW).toBe(2);
    const plots = await plotsOf(kernel.id);
    expect(plots).toHaveLength(3);
    const updated = plots.find((p) => p.displayId === first.displayId)!;
    expect(updated).toMatchObject({ seq: 3, version: 2, width: 600, height: 200, source: 'update_display_data' });
    expect(sha256(await bytesOf(updated.id))).toBe(second.sha256);

    const dialog = page.getByRole('dialog', { name: /^Plots of / });
    await dialog.getByRole('button', { name: /^Plot 3, / }).click();
    const large = dialog.getByTestId('plot-large');
    await expect.poll(() => large.getAttribute('data-plot-version'), SLOW).toBe('2');
    await expect.poll(() => dialog.getByTestId('plot-image').evaluate((el: HTMLImageElement) => el.naturalWidth), SLOW).toBe(600);
    expect(await dialog.getByTestId('plot-facts').textContent()).toContain('updated 1×');
    await screenshots(page, '32-plots-updated');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await kernelRow(page, kernel.id).getByTestId('plots-button').textContent()).toBe('Plots · 3');
  });

  it('keeps no secret with the plots: the cache is private and holds images only; the page saw no error', async () => {
    const usage = (await f.agent.connection.plots({})).usage;
    expect(usage.plots).toBe(3);
    expect(usage.cacheDir.startsWith(join(f.dir, 'home'))).toBe(true);
    // Nothing spilled at these sizes; when something has, the folder is 0700 and its files 0600.
    const spilled = await readdir(usage.cacheDir).catch(() => [] as string[]);
    if (spilled.length) {
      expect((await stat(usage.cacheDir)).mode & 0o777).toBe(0o700);
      for (const name of spilled) expect((await stat(join(usage.cacheDir, name))).mode & 0o777).toBe(0o600);
    }
    const key = String((await f.remote.exec(`cat '${kernel.connectionFile}'`)).stdout.match(/"key":\s*"([^"]+)"/)?.[1]);
    expect(key.length).toBeGreaterThan(10);
    const listed = JSON.stringify(await f.agent.connection.plots({}));
    expect(listed).not.toContain(key);
    expect(f.win.pageErrors).toEqual([]);
  });
});
