// The tray window on a Slurm cluster: the built page in Debian's Chromium,
// the real agent (in this process) and the real Slurm harness. The start
// dialog offers sbatch arguments for a cluster host; the kernel's row says
// where its job runs and how long it has left; Stop cancels the job.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { createDesktop } from '../electron/main/desktop';
import { runJupyterCheck } from './harness/jupyter';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from './harness/slurm-cluster';
import { buildRenderer, hostSection, launchBrowser, openTrayWindow, screenshots, serveDir, stateOf } from './renderer-helpers';

const SLOW = { timeout: 90_000, interval: 200 };
const unavailable = slurmUnavailable();
if (unavailable) console.warn(`Slurm window tests skipped: ${unavailable}`);

let cluster: SlurmCluster;
let agent: HostedAgent;
let page: Page;
const parts: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  if (unavailable) return;
  const [c] = await Promise.all([startSlurmCluster(), buildRenderer()]);
  cluster = c;
  parts.push({ close: () => cluster.stop() });
  const dir = await mkdtemp(join(tmpdir(), 'ktray-renderer-slurm-'));
  parts.push({ close: () => rm(dir, { recursive: true, force: true }) });
  await mkdir(join(dir, 'runtime'), { mode: 0o700 });
  agent = await hostAgent({ mode: 'headless', home: join(dir, 'home'), sshConfigFile: cluster.sshConfigFile, runtimeDir: join(dir, 'runtime'), serve: false });
  parts.push(agent);
  await agent.connection.setSettings({ jobPollSeconds: 2 });
  // The host is a cluster before the window opens: a click starts a batch job with these defaults.
  await agent.connection.setScheduler({ host: cluster.alias, scheduler: { kind: 'slurm', args: `--partition=${cluster.partition}` } });
  const server = await serveDir(join(process.cwd(), 'dist', 'renderer'));
  parts.push(server);
  const browser = await launchBrowser();
  parts.push(browser);
  const win = await openTrayWindow(browser.context, server.url, { agent: agent.connection, desktop: createDesktop(agent.connection, { writeClipboard: () => {}, writeClipboardImage: () => {}, chooseSavePath: async () => null }) });
  parts.push(win);
  page = win.page;
}, 300_000);

afterAll(async () => {
  for (const p of parts.reverse()) await p.close().catch(() => {});
});

describe.skipIf(unavailable)('tray window: a Slurm cluster host', () => {
  it('offers sbatch arguments for the cluster, submits, shows the job on its node, and Stop cancels it', async () => {
    await hostSection(page, cluster.alias).getByRole('button', { name: `Start a kernel on ${cluster.alias}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    const python = dialog.getByRole('radio', { name: /\/usr\/bin\/python3(\s|$)/ }).first();
    await python.waitFor(SLOW);
    await python.check();
    expect(await dialog.getByRole('checkbox', { name: /Submit as a batch job/ }).isChecked()).toBe(true);
    expect(await dialog.textContent()).toContain(`Default sbatch arguments: --partition=${cluster.partition}`);
    await dialog.getByLabel('sbatch arguments', { exact: true }).fill('--time=00:05:00');
    await dialog.getByRole('checkbox', { name: `Add them to ${cluster.alias}'s default sbatch arguments` }).check();
    await screenshots(page, 'slurm-01-start-form');
    await dialog.getByRole('button', { name: 'Start kernel' }).click();
    const done = page.getByRole('dialog', { name: 'Kernel running' });
    await done.waitFor(SLOW);
    expect(await done.textContent()).toMatch(new RegExp(`runs on ${cluster.alias}'s job \\d+ on ${cluster.compute.hostname} \\(${cluster.partition}\\), \\d+m left`));
    await page.getByRole('button', { name: 'Done' }).click();
    // sbatch took them, so they joined the host's defaults: the next click (or tray menu Start) uses them.
    const saved = (await agent.connection.hosts({})).find((h) => h.id === cluster.alias)!;
    expect(saved.scheduler).toEqual({ kind: 'slurm', args: `--partition=${cluster.partition} --time=00:05:00` });

    const row = hostSection(page, cluster.alias).locator('li.kernel').first();
    await row.waitFor();
    const id = (await row.getAttribute('data-kernel-id'))!;
    const k = (await agent.connection.kernels({ host: cluster.alias })).find((x) => x.id === id)!;
    expect(k.job).toMatchObject({ state: 'RUNNING', node: cluster.compute.hostname, partition: cluster.partition, timeLimit: '5:00' });
    await expect.poll(async () => row.textContent(), SLOW).toContain(`job ${k.job!.jobId} on ${cluster.compute.hostname} (${cluster.partition})`);

    await row.getByRole('button', { name: /with tunnels only$/ }).click();
    // Watched since its submit, so idle may show before the tunnels are up: the badge says they are.
    await row.locator('.badge', { hasText: 'attached' }).waitFor(SLOW);
    await expect.poll(() => stateOf(row), SLOW).toBe('idle');
    const local = (await agent.connection.kernels({ host: cluster.alias })).find((x) => x.id === id)!.localConnectionFile!;
    expect(await runJupyterCheck(local, 'import socket\nsocket.gethostname()')).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });
    await screenshots(page, 'slurm-02-running');

    await row.getByRole('button', { name: /^Stop/ }).click();
    const confirm = row.getByRole('group', { name: /^Stop .*\?/ });
    expect(await confirm.textContent()).toContain(`its Slurm job ${k.job!.jobId} is cancelled`);
    await row.getByRole('button', { name: 'Stop kernel' }).click();
    await row.waitFor({ state: 'detached', ...SLOW });
    expect(await cluster.queue()).toEqual([]);
  });
});
