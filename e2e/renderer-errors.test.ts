// The tray window's error paths against the REAL agent and a REAL sshd + ipykernel remote:
// errors show where they happened (form, host row), in words a user can act on, and an
// unknown host key is trusted only when the user says so.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './harness/proc';
import { hostSection, openTrayFixture, screenshots, type TrayFixture } from './renderer-helpers';

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

/** The fingerprint as OpenSSH computes it, independent of the product's own code. */
async function sshKeygenFingerprint(publicKeyLine: string): Promise<string> {
  const file = join(f.dir, 'host_key.pub');
  await writeFile(file, `${publicKeyLine}\n`);
  const r = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
  expect(r.code).toBe(0);
  return r.stdout.split(/\s+/)[1]!;
}

describe('tray window: errors against the real agent and a real sshd/ipykernel host', () => {
  it('shows why a start failed in the form, in the remote host’s words', async () => {
    await hostSection(page, f.remote.alias).getByRole('button', { name: `Start a kernel on ${f.remote.alias}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a kernel' });
    const python = dialog.getByRole('radio', { name: /\/usr\/bin\/python3(\s|$)/ }).first();
    await python.waitFor(SLOW);
    await python.check();
    await dialog.getByLabel('Working directory').fill('/no/such/dir');
    await dialog.getByRole('button', { name: 'Start kernel' }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor(SLOW);
    expect(await alert.textContent()).toContain('/no/such/dir does not exist');
    await screenshots(page, '10-start-failed');
    // The form stays filled in for another try.
    expect(await dialog.getByLabel('Working directory').inputValue()).toBe('/no/such/dir');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await f.agent.connection.kernels({ host: f.remote.alias })).toEqual([]);
  });

  it('shows an unknown host key with its fingerprint; Refuse leaves it untrusted', async () => {
    const section = hostSection(page, f.untrusted);
    await section.getByRole('button', { name: `Refresh kernels on ${f.untrusted}` }).click();
    const prompt = section.getByRole('region', { name: `Unknown host key for ${f.untrusted}` });
    await prompt.waitFor(SLOW);
    expect(await prompt.getByTestId('fingerprint').textContent()).toBe(await sshKeygenFingerprint(f.remote.hostKeyLine));
    await screenshots(page, '11-host-key');

    await prompt.getByRole('button', { name: 'Refuse' }).click();
    await section.getByText(/Key refused/).waitFor();
    expect(await readFile(f.untrustedKnownHosts, 'utf8')).toBe('');
    expect(await section.getByTestId('host-connection').textContent()).not.toMatch(/^connected/);
  });

  it('Add host from ~/.ssh/config checks the key; Trust writes it and connects', async () => {
    await page.getByRole('button', { name: 'Add host' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a host' });
    const select = dialog.getByLabel('Host', { exact: true });
    await select.waitFor(SLOW);
    await select.selectOption(f.untrusted);
    await dialog.getByRole('button', { name: 'Add host' }).click();
    const trustDialog = page.getByRole('dialog', { name: `Trust ${f.untrusted}?` });
    await trustDialog.waitFor(SLOW);
    expect(await trustDialog.getByTestId('fingerprint').textContent()).toBe(await sshKeygenFingerprint(f.remote.hostKeyLine));
    await screenshots(page, '12-trust-dialog');
    await trustDialog.getByRole('button', { name: 'Trust' }).click();
    await page.getByRole('dialog', { name: `${f.untrusted} added` }).getByText('is trusted and connected').waitFor(SLOW);
    await page.getByRole('button', { name: 'Done' }).click();

    expect((await readFile(f.untrustedKnownHosts, 'utf8')).trim()).toBe(`[127.0.0.1]:${f.remote.port} ${f.remote.hostKeyLine}`);
    const section = hostSection(page, f.untrusted);
    await expect.poll(() => section.getByTestId('host-connection').textContent(), SLOW).toMatch(/^connected/);
    // The row forgets the refusal and the key error once the host is connected.
    await expect.poll(() => section.getByRole('alert').count(), SLOW).toBe(0);
    expect(await section.getByRole('region', { name: /Unknown host key/ }).count()).toBe(0);
  });

  it('shows an unreachable host’s error on its own row', async () => {
    const section = hostSection(page, f.unreachable);
    await section.getByRole('button', { name: `Reconnect ${f.unreachable}` }).click();
    const alert = section.getByRole('alert');
    await alert.waitFor(SLOW);
    expect(await alert.textContent()).toContain(f.unreachable);
    // Only that host shows it.
    expect(await hostSection(page, f.remote.alias).getByRole('alert').count()).toBe(0);
    await section.scrollIntoViewIfNeeded();
    await screenshots(page, '13-unreachable');
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
    await screenshots(page, '14-add-host-error');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('met no page errors (CSP included)', () => {
    expect(f.win.pageErrors).toEqual([]);
  });
});
