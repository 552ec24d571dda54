// The tray window, built as shipped, in Debian's Chromium, driven against the REAL agent
// (hostAgent, in this process) and a REAL sshd + ipykernel remote. Playwright's exposeBinding
// stands in for the Electron preload; the handlers are the app's own createBridgeHandlers.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent-host';
import type { KernelSummary } from '../electron/core/types';
import { runJupyterCheck } from './harness/jupyter';
import { run } from './harness/proc';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import {
  buildRenderer,
  launchBrowser,
  openTrayWindow,
  RENDERER_DIST,
  screenshots,
  serveDir,
  type Browser,
  type TrayWindow,
} from './renderer-helpers';

// Safety nets only: nothing below asserts how long anything took.
const SLOW = { timeout: 90_000, interval: 200 };

let remote: RemoteHost;
let dir: string;
let agent: HostedAgent;
let server: { url: string; close(): Promise<void> };
let browser: Browser;
let win: TrayWindow;
let page: Page;
const clipboard: string[] = [];
/** Same sshd, but its known_hosts starts empty: the unknown-host-key path. */
let untrusted: string;
let untrustedKnownHosts: string;
/** Nothing listens on its port: the unreachable path. */
let unreachable: string;

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** The fingerprint as OpenSSH computes it, independent of the product's own code. */
async function sshKeygenFingerprint(publicKeyLine: string): Promise<string> {
  const file = join(dir, 'host_key.pub');
  await writeFile(file, `${publicKeyLine}\n`);
  const r = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
  expect(r.code).toBe(0);
  return r.stdout.split(/\s+/)[1]!;
}

const hostSection = (id: string): Locator => page.locator(`section[data-host-id="${id}"]`);
const kernelRow = (id: string): Locator => page.locator(`li[data-kernel-id="${id}"]`);
const stateOf = (row: Locator) => row.getByTestId('kernel-state').textContent();

async function remoteAlive(pid: number): Promise<boolean> {
  return (await remote.exec(`kill -0 ${pid}`)).code === 0;
}

async function kernelOf(id: string): Promise<KernelSummary> {
  const k = (await agent.connection.kernels({})).find((x) => x.id === id);
  if (!k) throw new Error(`the agent does not list ${id}`);
  return k;
}

beforeAll(async () => {
  const [host] = await Promise.all([startRemoteHost(), buildRenderer()]);
  remote = host;
  dir = await mkdtemp(join(tmpdir(), 'ktray-renderer-e2e-'));
  untrusted = `${remote.alias}-untrusted`;
  unreachable = `${remote.alias}-unreachable`;
  untrustedKnownHosts = join(dir, 'known_hosts_empty');
  await writeFile(untrustedKnownHosts, '', { mode: 0o600 });
  const sshConfigFile = join(dir, 'ssh_config');
  const sameSshd = (alias: string, port: number, knownHosts: string) =>
    [
      `Host ${alias}`,
      `  HostName ${remote.hostname}`,
      `  Port ${port}`,
      `  User ${remote.user}`,
      `  IdentityFile ${remote.identityFile}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n');
  await writeFile(
    sshConfigFile,
    (await readFile(remote.sshConfigFile, 'utf8')) +
      '\n' +
      sameSshd(untrusted, remote.port, untrustedKnownHosts) +
      sameSshd(unreachable, await closedPort(), join(dir, 'known_hosts_unused')),
    { mode: 0o600 },
  );
  await mkdir(join(dir, 'runtime'), { mode: 0o700 });
  agent = await hostAgent({ mode: 'headless', home: join(dir, 'home'), sshConfigFile, runtimeDir: join(dir, 'runtime'), serve: false });
  server = await serveDir(RENDERER_DIST);
  browser = await launchBrowser();
  const a = agent.connection;
  win = await openTrayWindow(browser.context, server.url, {
    agent: a,
    writeClipboard: (text) => clipboard.push(text),
    // As the Electron main process does it (electron/main/app-controller.ts).
    sshConfigHosts: async () => (await a.hosts({})).filter((h) => h.source === 'ssh-config').map((h) => h.id),
  });
  page = win.page;
}, 300_000);

afterAll(async () => {
  await win?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.close().catch(() => {});
  await agent?.close().catch(() => {});
  await remote?.stop().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tray window against the real agent and a real sshd/ipykernel host', () => {
  let kernelId: string;
  let pid: number;
  let localFile: string;

  it('lists the hosts with their connection state', async () => {
    for (const id of ['local', remote.alias, untrusted, unreachable]) await hostSection(id).waitFor();
    expect(await hostSection(remote.alias).getByTestId('host-connection').textContent()).toBe('not connected');
    expect(await hostSection('local').getByTestId('host-connection').textContent()).toBe('connected');
    await screenshots(page, '01-hosts');
  });

  it('works from the keyboard: Tab to a button, Enter opens the dialog, Escape closes it and focus returns', async () => {
    const focusedName = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? null);
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await focusedName()).toBe('Start kernel');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await focusedName()).toBe('Start kernel');
  });

  it('shows why a start failed in the form, in the remote host’s words', async () => {
    await hostSection(remote.alias).getByRole('button', { name: `Start a kernel on ${remote.alias}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    const python = dialog.getByRole('radio', { name: /\/usr\/bin\/python3(\s|$)/ }).first();
    await python.waitFor(SLOW);
    await python.check();
    await dialog.getByLabel('Working directory').fill('/no/such/dir');
    await dialog.getByRole('button', { name: 'Start kernel' }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor(SLOW);
    expect(await alert.textContent()).toContain('/no/such/dir does not exist');
    await screenshots(page, '02-start-failed');
    // The form stays filled in for another try.
    expect(await dialog.getByLabel('Working directory').inputValue()).toBe('/no/such/dir');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await agent.connection.kernels({ host: remote.alias })).toEqual([]);
  });

  it('starts a kernel on the remote host with a Python the host offers', async () => {
    await hostSection(remote.alias).getByRole('button', { name: `Start a kernel on ${remote.alias}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    expect(await dialog.getByLabel('Host', { exact: true }).inputValue()).toBe(remote.alias);
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

    const row = hostSection(remote.alias).locator('li.kernel').first();
    await row.waitFor();
    kernelId = (await row.getAttribute('data-kernel-id'))!;
    const k = await kernelOf(kernelId);
    expect(k.pid).not.toBeNull();
    pid = k.pid!;
    expect(await remoteAlive(pid)).toBe(true);
    // The kernel runs in the directory the form asked for.
    expect((await remote.exec(`readlink /proc/${pid}/cwd`)).stdout.trim()).toBe('/tmp');
    expect(await row.textContent()).toContain(`pid ${pid}`);
    expect(await row.textContent()).toContain('not attached');
  });

  it('attaches with tunnels only; the state goes live and a real Jupyter client runs code', async () => {
    const row = kernelRow(kernelId);
    await row.getByRole('button', { name: /with tunnels only$/ }).click();
    await row.locator('.badge', { hasText: 'attached' }).waitFor(SLOW);
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    localFile = (await kernelOf(kernelId)).localConnectionFile!;
    expect(await row.getByRole('status').textContent()).toContain(localFile);
    expect((await stat(localFile)).mode & 0o777).toBe(0o600);
    const check = await runJupyterCheck(localFile, '6*7');
    expect(check.result).toBe('42');
    await screenshots(page, '04-attached');
  });

  it('copies the connection file path', async () => {
    await kernelRow(kernelId).getByRole('button', { name: /^Copy connection file path/ }).click();
    await kernelRow(kernelId).getByText(`Copied ${localFile}`).waitFor();
    expect(clipboard.at(-1)).toBe(localFile);
  });

  it('shows a busy kernel ticking, and Interrupt brings it back to idle', async () => {
    const row = kernelRow(kernelId);
    const sleeping = runJupyterCheck(localFile, 'import time\ntime.sleep(600)', { timeoutSec: 900 });
    await expect.poll(() => stateOf(row), SLOW).toMatch(/^busy \d+s$/);
    // The busy time counts up on screen from busySince, with no request to the agent.
    const callsBefore = win.calls.length;
    const first = await stateOf(row);
    await expect.poll(() => stateOf(row), SLOW).not.toBe(first);
    expect(win.calls.slice(callsBefore)).toEqual([]);
    await screenshots(page, '05-busy');

    await row.getByRole('button', { name: /^Interrupt/ }).click();
    const interrupted = await sleeping;
    expect(interrupted.ename).toBe('KeyboardInterrupt');
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    expect((await runJupyterCheck(localFile, '6*7')).result).toBe('42');
  });

  it('restarts the kernel in place: new process, same connection file, the client still works', async () => {
    const row = kernelRow(kernelId);
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
    const row = kernelRow(kernelId);
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
    expect((await agent.connection.kernels({ host: remote.alias })).map((k) => k.id)).not.toContain(kernelId);
  });

  it('shows an unknown host key with its fingerprint; Refuse leaves it untrusted', async () => {
    const section = hostSection(untrusted);
    await section.getByRole('button', { name: `Refresh kernels on ${untrusted}` }).click();
    const prompt = section.getByRole('region', { name: `Unknown host key for ${untrusted}` });
    await prompt.waitFor(SLOW);
    const expected = await sshKeygenFingerprint(remote.hostKeyLine);
    expect(await prompt.getByTestId('fingerprint').textContent()).toBe(expected);
    await screenshots(page, '07-host-key');

    await prompt.getByRole('button', { name: 'Refuse' }).click();
    await section.getByText(/Key refused/).waitFor();
    expect(await readFile(untrustedKnownHosts, 'utf8')).toBe('');
    expect(await section.getByTestId('host-connection').textContent()).not.toMatch(/^connected/);
  });

  it('Add host from ~/.ssh/config checks the key; Trust writes it and connects', async () => {
    await page.getByRole('button', { name: 'Add host' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a host' });
    const select = dialog.getByLabel('Host', { exact: true });
    await select.waitFor(SLOW);
    await select.selectOption(untrusted);
    await dialog.getByRole('button', { name: 'Add host' }).click();
    const trustDialog = page.getByRole('dialog', { name: `Trust ${untrusted}?` });
    await trustDialog.waitFor(SLOW);
    expect(await trustDialog.getByTestId('fingerprint').textContent()).toBe(await sshKeygenFingerprint(remote.hostKeyLine));
    await trustDialog.getByRole('button', { name: 'Trust' }).click();
    await page.getByRole('dialog', { name: `${untrusted} added` }).getByText('is trusted and connected').waitFor(SLOW);
    await page.getByRole('button', { name: 'Done' }).click();

    const line = (await readFile(untrustedKnownHosts, 'utf8')).trim();
    expect(line).toBe(`[127.0.0.1]:${remote.port} ${remote.hostKeyLine}`);
    await expect.poll(() => hostSection(untrusted).getByTestId('host-connection').textContent(), SLOW).toMatch(/^connected/);
    // The row forgets the refusal and the key error once the host is connected.
    expect(await hostSection(untrusted).getByRole('region', { name: /Unknown host key/ }).count()).toBe(0);
    await expect.poll(() => hostSection(untrusted).getByRole('alert').count(), SLOW).toBe(0);
  });

  it('shows an unreachable host’s error on its own row', async () => {
    const section = hostSection(unreachable);
    await section.getByRole('button', { name: `Reconnect ${unreachable}` }).click();
    const alert = section.getByRole('alert');
    await alert.waitFor(SLOW);
    expect(await alert.textContent()).toContain(unreachable);
    // Only that host shows it.
    expect(await hostSection(remote.alias).getByRole('alert').count()).toBe(0);
    await section.scrollIntoViewIfNeeded();
    await screenshots(page, '08-unreachable');
  });

  it('rejects a bad host in the Add host form with the agent’s words', async () => {
    await page.getByRole('button', { name: 'Add host' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a host' });
    await dialog.getByText('Enter one').click();
    await dialog.getByLabel('Hostname').fill('two words');
    await dialog.getByRole('button', { name: 'Add host' }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor(SLOW);
    expect(await alert.textContent()).toContain('not valid');
    await screenshots(page, '09-add-host-error');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('never polled the agent and met no page errors (CSP included)', async () => {
    // Loaded once; the only other lists were asked by a click on Refresh.
    expect(win.calls.filter((c) => c.startsWith('ktray:hosts.list('))).toHaveLength(1);
    expect(win.calls.filter((c) => c.startsWith('ktray:kernels.list('))).toEqual([
      'ktray:kernels.list(undefined, undefined)',
      `ktray:kernels.list("${untrusted}", true)`,
    ]);
    expect(win.pageErrors).toEqual([]);
  });
});
