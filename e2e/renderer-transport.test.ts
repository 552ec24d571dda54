// The tray window's transport line and setting, built as shipped, in Debian's Chromium,
// against the REAL agent (in this process) and a REAL sshd + ipykernel remote: each host
// row says which SSH transport it goes through and why, and sets it (auto / ssh2 /
// openssh) through the agent method `ktray hosts HOST --transport` calls, with the
// CLI's refusals shown where the window shows an action's error.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJupyterCheck } from './harness/jupyter';
import { hostSection, openTrayFixture, screenshots, type TrayFixture } from './renderer-helpers';

// Safety nets only: nothing below asserts how long anything took.
const SLOW = { timeout: 90_000, interval: 200 };

let f: TrayFixture;
let page: Page;
let config: string;

beforeAll(async () => {
  f = await openTrayFixture();
  page = f.page;
  config = join(f.dir, 'ssh_config');
}, 300_000);

afterAll(async () => {
  await f?.close();
});

/** Our OpenSSH masters for this fixture's config (`ssh ... ControlMaster=yes ... -N HOST`). */
function sshMastersFor(alias: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        return [readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean)];
      } catch {
        return [];
      }
    })
    .filter((a) => a[0] === 'ssh' && a.includes(config) && a.includes('ControlMaster=yes') && a.at(-1) === alias && a.at(-2) === '-N')
    .map((a) => a.join(' '));
}

const transportLine = (id: string) => hostSection(page, id).getByTestId('host-transport').locator('.host-transport-text');
const stateFile = () => readFile(join(f.dir, 'home', 'state.json'), 'utf8').then((t) => JSON.parse(t) as { transports?: Record<string, string> });

/** Opens the host's transport form, picks one, sets it; returns the form. */
async function choose(id: string, label: 'Auto' | 'ssh2' | 'OpenSSH') {
  const section = hostSection(page, id);
  await section.getByRole('button', { name: `Transport of ${id}` }).click();
  const form = section.getByRole('form', { name: `Transport for ${id}` });
  await form.waitFor();
  await form.getByRole('radio', { name: new RegExp(`^${label} `) }).check();
  await form.getByRole('button', { name: 'Set transport' }).click();
  return form;
}

describe('tray window: each host’s SSH transport, and setting it', () => {
  it('shows which transport each SSH host goes through and why; the local host has none', async () => {
    await hostSection(page, f.remote.alias).waitFor();
    expect(await transportLine(f.remote.alias).textContent()).toBe('Through ssh2 (built in): nothing needs OpenSSH');
    expect(await hostSection(page, 'local').getByTestId('host-transport').count()).toBe(0);
  });

  it('opens from the keyboard with the current choice focused; Escape closes it, saves nothing, and focus returns', async () => {
    const alias = f.remote.alias;
    const button = hostSection(page, alias).getByRole('button', { name: `Transport of ${alias}` });
    await button.focus();
    await page.keyboard.press('Enter');
    const form = hostSection(page, alias).getByRole('form', { name: `Transport for ${alias}` });
    await form.waitFor();
    expect(await button.getAttribute('aria-expanded')).toBe('true');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value)).toBe('auto');
    await page.keyboard.press('ArrowDown'); // radio group: moves the choice to ssh2
    await page.keyboard.press('Escape');
    await form.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`Transport of ${alias}`);
    expect((await f.agent.connection.hosts({})).find((h) => h.id === alias)?.transport).toBeUndefined();
  });

  it('refuses OpenSSH for a host saved in the app, with the CLI’s words, and changes nothing', async () => {
    await f.agent.connection.saveHost({ id: 'saved-box', hostname: f.remote.hostname, port: f.remote.port, user: f.remote.user });
    // Saved from outside the window (as `ktray` would): a window opened now lists it.
    await page.reload();
    await hostSection(page, 'saved-box').waitFor(SLOW);
    const form = await choose('saved-box', 'OpenSSH');
    const alert = hostSection(page, 'saved-box').locator('.host-transport-block').getByRole('alert');
    await alert.waitFor(SLOW);
    const text = await alert.textContent();
    expect(text).toContain('saved-box is a host saved in Kernel Tray, which your ssh has no config for, so it can only go through ssh2.');
    expect(text).toContain(`Add a Host saved-box block to ${config}`);
    // The form stays open with the choice, so the user can pick again or cancel.
    expect(await form.isVisible()).toBe(true);
    expect((await stateFile()).transports?.['saved-box']).toBeUndefined();
    await screenshots(page, 'transport-01-refused-saved');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
    await f.agent.connection.removeHost({ id: 'saved-box' });
    await page.reload();
    await hostSection(page, f.remote.alias).waitFor(SLOW);
  });

  it('sets OpenSSH by hand: kept in the state, the row says so, and a kernel starts and runs code through ssh', async () => {
    const alias = f.remote.alias;
    await hostSection(page, alias).getByRole('button', { name: `Transport of ${alias}` }).click();
    const form = hostSection(page, alias).getByRole('form', { name: `Transport for ${alias}` });
    await form.waitFor();
    expect(await form.getByRole('radio', { name: /^Auto / }).isChecked()).toBe(true);
    expect(await form.textContent()).toContain('(now)');
    await form.getByRole('radio', { name: /^OpenSSH / }).check();
    await screenshots(page, 'transport-02-form');
    await form.getByRole('button', { name: 'Set transport' }).click();
    await form.waitFor({ state: 'detached', ...SLOW });
    const note = hostSection(page, alias).locator('.host-transport-block .note');
    await note.waitFor(SLOW);
    expect(await note.textContent()).toBe(`${alias} goes through your OpenSSH client (set by hand).`);
    expect(await transportLine(alias).textContent()).toBe('Through your OpenSSH client: set by hand');
    expect((await stateFile()).transports).toEqual({ [alias]: 'openssh' });

    // The setting took: the next connection is ssh's own master, and a real client runs code through it.
    expect(sshMastersFor(alias)).toHaveLength(0);
    const k = await f.agent.connection.start({ host: alias });
    expect(sshMastersFor(alias)).toHaveLength(1);
    const { localConnectionFile } = await f.agent.connection.attach({ id: k.id });
    expect(await runJupyterCheck(localConnectionFile, '6*7')).toMatchObject({ status: 'ok', result: '42' });
    await hostSection(page, alias).locator(`li[data-kernel-id="${k.id}"] .badge`, { hasText: 'attached' }).waitFor(SLOW);
    expect(await transportLine(alias).textContent()).toMatch(/^Through your OpenSSH client: set by hand/);
    await screenshots(page, 'transport-03-openssh');
  });

  it('refuses ssh2 while the host is in use over OpenSSH, as the CLI does; Auto is kept for its next connection', async () => {
    const alias = f.remote.alias;
    // Connected and in use, the form still shows the setting as saved.
    const section = hostSection(page, alias);
    await section.getByRole('button', { name: `Transport of ${alias}` }).click();
    const form = section.getByRole('form', { name: `Transport for ${alias}` });
    expect(await form.getByRole('radio', { name: /^OpenSSH / }).isChecked()).toBe(true);
    expect(await form.getByRole('radio', { name: /^OpenSSH / }).evaluate((e) => e.closest('label')?.textContent)).toContain('(now)');
    await form.getByRole('radio', { name: /^ssh2 / }).check();
    await form.getByRole('button', { name: 'Set transport' }).click();
    const alert = hostSection(page, alias).locator('.host-transport-block').getByRole('alert');
    await alert.waitFor(SLOW);
    const text = await alert.textContent();
    expect(text).toContain(`${alias} is in use over OpenSSH (attached or watched kernels); its transport is left as it is.`);
    expect(text).toContain('Detach its kernels');
    expect((await stateFile()).transports).toEqual({ [alias]: 'openssh' });
    expect(sshMastersFor(alias)).toHaveLength(1);
    await screenshots(page, 'transport-04-refused-in-use');

    // Auto is saved at once; the host keeps its OpenSSH session while in use, and the note says when it changes.
    await form.getByRole('radio', { name: /^Auto / }).check();
    await form.getByRole('button', { name: 'Set transport' }).click();
    await form.waitFor({ state: 'detached', ...SLOW });
    const note = hostSection(page, alias).locator('.host-transport-block .note');
    await note.waitFor(SLOW);
    expect(await note.textContent()).toContain('The new setting applies from its next connection.');
    expect((await stateFile()).transports ?? {}).toEqual({});
    // The kernel attached over OpenSSH still runs code.
    const k = (await f.agent.connection.kernels({ host: alias })).find((x) => x.attached)!;
    expect(await runJupyterCheck(k.localConnectionFile!, '1+1')).toMatchObject({ status: 'ok', result: '2' });
    await f.agent.connection.stop({ id: k.id });
    await expect.poll(() => sshMastersFor(alias).length, SLOW).toBeLessThanOrEqual(1);
  });
});
