// The tray window, built as shipped, in Debian's Chromium, driven against the REAL agent
// (hostAgent, in this process) and a REAL sshd + ipykernel remote. Playwright's exposeBinding
// stands in for the Electron preload; the handlers are the app's own createBridgeHandlers.
// Here: a kernel's life from the window. Error paths: renderer-errors.test.ts.
import { stat } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSummary } from '../electron/shared/types';
import { runJupyterCheck } from './harness/jupyter';
import { hostSection, kernelRow, openTrayFixture, screenshots, stateOf, type TrayFixture } from './renderer-helpers';

// Safety nets only: nothing below asserts how long anything took.
const SLOW = { timeout: 90_000, interval: 200 };

let f: TrayFixture;
let page: Page;

beforeAll(async () => {
  f = await openTrayFixture();
  page = f.page;
}, 300_000);

afterAll(async () => {
  await f?.close();
});

async function remoteAlive(pid: number): Promise<boolean> {
  return (await f.remote.exec(`kill -0 ${pid}`)).code === 0;
}

async function kernelOf(id: string): Promise<KernelSummary> {
  const k = (await f.agent.connection.kernels({})).find((x) => x.id === id);
  if (!k) throw new Error(`the agent does not list ${id}`);
  return k;
}

describe('tray window: a kernel’s life against the real agent and a real sshd/ipykernel host', () => {
  let kernelId: string;
  let pid: number;
  let localFile: string;

  it('lists the hosts with their connection state', async () => {
    for (const id of ['local', f.remote.alias, f.untrusted, f.unreachable]) await hostSection(page, id).waitFor();
    expect(await hostSection(page, f.remote.alias).getByTestId('host-connection').textContent()).toBe('not connected');
    expect(await hostSection(page, 'local').getByTestId('host-connection').textContent()).toBe('connected');
    await screenshots(page, '01-hosts');
  });

  it('works from the keyboard: Tab to a button, Enter opens the dialog, Escape closes it and focus returns', async () => {
    const focusedText = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? null);
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await focusedText()).toBe('Start kernel');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await focusedText()).toBe('Start kernel');
  });

  it('starts a kernel on the remote host with a Python the host offers', async () => {
    await hostSection(page, f.remote.alias).getByRole('button', { name: `Start a kernel on ${f.remote.alias}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    expect(await dialog.getByLabel('Host', { exact: true }).inputValue()).toBe(f.remote.alias);
    // The list comes from the remote: its /usr/bin/python3 has ipykernel.
    const python = dialog.getByRole('radio', { name: /\/usr\/bin\/python3(\s|$)/ }).first();
    await python.waitFor(SLOW);
    await python.check();
    await dialog.getByLabel('Working directory').fill('/tmp');
    await screenshots(page, '02-start-form');
    await dialog.getByRole('button', { name: 'Start kernel' }).click();
    await page.getByRole('dialog', { name: 'Kernel started' }).waitFor(SLOW);
    await screenshots(page, '03-started');
    await page.getByRole('button', { name: 'Done' }).click();

    const row = hostSection(page, f.remote.alias).locator('li.kernel').first();
    await row.waitFor();
    kernelId = (await row.getAttribute('data-kernel-id'))!;
    const k = await kernelOf(kernelId);
    expect(k.pid).not.toBeNull();
    pid = k.pid!;
    expect(await remoteAlive(pid)).toBe(true);
    // The kernel runs in the directory the form asked for.
    expect((await f.remote.exec(`readlink /proc/${pid}/cwd`)).stdout.trim()).toBe('/tmp');
    expect(await row.textContent()).toContain(`pid ${pid}`);
    expect(await row.textContent()).toContain('not attached');
  });

  it('attaches with tunnels only; the state goes live and a real Jupyter client runs code', async () => {
    const row = kernelRow(page, kernelId);
    await row.getByRole('button', { name: /with tunnels only$/ }).click();
    await row.locator('.badge', { hasText: 'attached' }).waitFor(SLOW);
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    localFile = (await kernelOf(kernelId)).localConnectionFile!;
    // The badge comes with the agent's event; the status line with the attach call's answer, a moment later.
    await expect.poll(() => row.getByRole('status').textContent(), SLOW).toContain(localFile);
    expect((await stat(localFile)).mode & 0o777).toBe(0o600);
    expect((await runJupyterCheck(localFile, '6*7')).result).toBe('42');
    await screenshots(page, '04-attached');
  });

  it('copies the connection file path', async () => {
    await kernelRow(page, kernelId).getByRole('button', { name: /^Copy connection file path/ }).click();
    await kernelRow(page, kernelId).getByText(`Copied ${localFile}`).waitFor();
    expect(f.clipboard.at(-1)).toBe(localFile);
  });

  it('brings the kernel a notification points at (#kernel=ID) into view and focus', async () => {
    await page.evaluate((id) => {
      window.location.hash = `kernel=${encodeURIComponent(id)}`;
    }, kernelId);
    const row = kernelRow(page, kernelId);
    await expect.poll(() => row.evaluate((el) => el === document.activeElement && el.hasAttribute('data-focus-target')), SLOW).toBe(true);
    await page.evaluate(() => history.replaceState(null, '', window.location.pathname));
  });

  it('shows a busy kernel ticking, and Interrupt brings it back to idle', async () => {
    const row = kernelRow(page, kernelId);
    const sleeping = runJupyterCheck(localFile, 'import time\ntime.sleep(600)', { timeoutSec: 900 });
    await expect.poll(() => stateOf(row), SLOW).toMatch(/^busy \d+s$/);
    // The busy time counts up on screen from busySince, with no request to the agent.
    const callsBefore = f.win.calls.length;
    const first = await stateOf(row);
    await expect.poll(() => stateOf(row), SLOW).not.toBe(first);
    expect(f.win.calls.slice(callsBefore)).toEqual([]);
    await screenshots(page, '05-busy');

    await row.getByRole('button', { name: /^Interrupt/ }).click();
    expect((await sleeping).ename).toBe('KeyboardInterrupt');
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    expect((await runJupyterCheck(localFile, '6*7')).result).toBe('42');
  });

  it('restarts the kernel in place: new process, same connection file, the client still works', async () => {
    const row = kernelRow(page, kernelId);
    await row.getByRole('button', { name: /^Restart/ }).click();
    await expect.poll(async () => (await kernelOf(kernelId)).pid, SLOW).not.toBe(pid);
    const restarted = await kernelOf(kernelId);
    expect(await remoteAlive(pid)).toBe(false);
    pid = restarted.pid!;
    expect(restarted.localConnectionFile).toBe(localFile);
    await row.getByText(`pid ${pid}`).waitFor(SLOW);
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    expect((await runJupyterCheck(localFile, 'x = 6*7\nx')).result).toBe('42');
  });

  it('asks before stopping: Escape keeps the kernel, confirming stops it on the host', async () => {
    const row = kernelRow(page, kernelId);
    await row.getByRole('button', { name: /^Stop/ }).click();
    const confirm = row.getByRole('group', { name: /^Stop .*\?/ });
    await confirm.waitFor();
    await screenshots(page, '06-confirm-stop');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^Stop /);
    expect(await remoteAlive(pid)).toBe(true);

    await row.getByRole('button', { name: /^Stop/ }).click();
    await row.getByRole('button', { name: 'Stop kernel' }).click();
    await row.waitFor({ state: 'detached', ...SLOW });
    await expect.poll(() => remoteAlive(pid), SLOW).toBe(false);
    expect((await f.agent.connection.kernels({ host: f.remote.alias })).map((k) => k.id)).not.toContain(kernelId);
  });

  it('never polled the agent and met no page errors (CSP included)', async () => {
    // Hosts and kernels were loaded once; everything else was a click.
    expect(f.win.calls.filter((c) => c.startsWith('ktray:hosts.list('))).toEqual(['ktray:hosts.list({})']);
    expect(f.win.calls.filter((c) => c.startsWith('ktray:kernels.list('))).toEqual(['ktray:kernels.list({})']);
    expect(f.win.pageErrors).toEqual([]);
  });

  it('watches a kernel started by hand without attaching it, and stops watching', async () => {
    await f.remote.exec('mkdir -p ~/.local/share/jupyter/runtime && cd ~ && (nohup /usr/bin/python3 -m ipykernel_launcher -f "$HOME/.local/share/jupyter/runtime/kernel-watch-me.json" >/dev/null 2>&1 &); sleep 0.1');
    const id = `${f.remote.alias}/watch-me`;
    const host = hostSection(page, f.remote.alias);
    const row = kernelRow(page, id);
    // Refresh until the kernel's file is there (the process writes it after starting).
    await expect
      .poll(async () => {
        await host.getByRole('button', { name: /^Refresh/ }).click();
        return row.count();
      }, SLOW)
      .toBe(1);
    await expect.poll(() => stateOf(row), SLOW).toBe('running');
    await row.getByRole('button', { name: /^Watch / }).click();
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    expect((await kernelOf(id)).watched).toBe(true);
    await row.getByRole('button', { name: /^Stop watching / }).click();
    await expect.poll(() => stateOf(row), SLOW).toBe('running');
    await f.agent.connection.stop({ id });
  });

  it('edits the agent\'s settings: long-run threshold, batch job warning and terminal', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    const threshold = dialog.getByLabel(/longer than/);
    await expect.poll(() => threshold.inputValue(), SLOW).toBe('60');
    await threshold.fill('5');
    const jobWarning = dialog.getByLabel(/time limit \(minutes\)/);
    expect(await jobWarning.inputValue()).toBe('10');
    await jobWarning.fill('20');
    await dialog.getByLabel('Terminal for Console').fill('xterm -e');
    const other = dialog.getByLabel('Consoles show what other frontends of the kernel run and print');
    expect(await other.isChecked()).toBe(true);
    await other.uncheck();
    await screenshots(page, '15-settings');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached', ...SLOW });
    expect(await f.agent.connection.getSettings({})).toEqual({ longRunSeconds: 5, terminal: 'xterm -e', jobWarningMinutes: 20, jobPollSeconds: 15, consoleOtherOutput: false });
    await f.agent.connection.setSettings({ longRunSeconds: 60, terminal: '', jobWarningMinutes: 10, consoleOtherOutput: true });
  });

  it('runs under its strict CSP: an inline style is refused', async () => {
    const violated = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
          const style = document.createElement('style');
          style.textContent = 'body { display: none }';
          document.head.append(style);
        }),
    );
    expect(violated).toBe('style-src-elem');
    expect(await page.locator('body').isVisible()).toBe(true);
  });
});
