// The tray window and a host whose key has CHANGED, against the real agent and a real sshd:
// the window never offers a plain Trust for it, shows the old lines, and replaces them only
// after the user types the word, leaving the same file `ssh-keygen -R` + accept would.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './harness/proc';
import { hostSection, openTrayFixture, screenshots, type TrayFixture } from './renderer-helpers';

// Safety nets only: nothing below asserts how long anything took.
const SLOW = { timeout: 90_000, interval: 200 };

let f: TrayFixture;
let page: Page;
/** Two more names for the remote, each with a known_hosts that holds a stale key for it. */
const changed: { alias: string; knownHosts: string; original: string }[] = [];

beforeAll(async () => {
  f = await openTrayFixture();
  page = f.page;
  for (const tag of ['row', 'add']) {
    const alias = `${f.remote.alias}-changed-${tag}`;
    const knownHosts = join(f.dir, `known_hosts_changed_${tag}`);
    const original = `# kept\n[127.0.0.1]:${f.remote.port} ${f.remote.otherHostKeyLine}\nelsewhere.example ${f.remote.otherHostKeyLine}\n`;
    await writeFile(knownHosts, original, { mode: 0o600 });
    // The agent reads the ssh config afresh on every use: a reload of the page lists them.
    await appendFile(
      join(f.dir, 'ssh_config'),
      [
        `Host ${alias}`,
        `  HostName ${f.remote.hostname}`,
        `  Port ${f.remote.port}`,
        `  User ${f.remote.user}`,
        `  IdentityFile ${f.remote.identityFile}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHosts}`,
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
    );
    changed.push({ alias, knownHosts, original });
  }
  await page.reload();
}, 300_000);

afterAll(async () => {
  await f?.close();
});

async function fingerprintOf(publicKeyLine: string): Promise<string> {
  const file = join(f.dir, 'fp.pub');
  await writeFile(file, `${publicKeyLine}\n`);
  const r = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
  expect(r.code).toBe(0);
  return r.stdout.split(/\s+/)[1]!;
}

/** What `ssh-keygen -R` leaves of `original`, plus the new key: what the window must write. */
async function expectedFile(original: string): Promise<string> {
  const file = join(f.dir, 'reference_known_hosts');
  await writeFile(file, original, { mode: 0o600 });
  const r = await run('ssh-keygen', ['-R', `[127.0.0.1]:${f.remote.port}`, '-f', file]);
  expect(r.code, r.stderr).toBe(0);
  return `${await readFile(file, 'utf8')}[127.0.0.1]:${f.remote.port} ${f.remote.hostKeyLine}\n`;
}

describe('tray window: a changed host key', () => {
  it('on the host row: no Trust, the old line named, replaced only after typing "replace"', async () => {
    const { alias, knownHosts, original } = changed[0];
    const section = hostSection(page, alias);
    await section.waitFor(SLOW);
    await section.getByRole('button', { name: `Refresh kernels on ${alias}` }).click();
    const alert = section.getByRole('alert');
    await alert.waitFor(SLOW);
    expect(await alert.textContent()).toContain('CHANGED');
    expect(await alert.textContent()).toContain(`${knownHosts}:2`);
    expect(await section.getByRole('button', { name: /^Trust/ }).count()).toBe(0);

    await section.getByRole('button', { name: 'Review the changed key' }).click();
    const prompt = section.getByRole('region', { name: `Changed host key for ${alias}` });
    await prompt.waitFor(SLOW);
    expect(await prompt.getByTestId('fingerprint').textContent()).toBe(await fingerprintOf(f.remote.hostKeyLine));
    const old = prompt.getByTestId('old-key');
    expect(await old.count()).toBe(1);
    expect(await old.textContent()).toContain(`${knownHosts}:2`);
    expect(await old.textContent()).toContain(await fingerprintOf(f.remote.otherHostKeyLine));
    expect(await prompt.getByRole('button', { name: /^Trust/ }).count()).toBe(0);
    const replace = prompt.getByRole('button', { name: 'Replace the old key' });
    expect(await replace.isDisabled()).toBe(true);
    const word = prompt.getByLabel(/Type replace/);
    await word.fill('yes');
    expect(await replace.isDisabled()).toBe(true);
    await screenshots(page, '15-changed-key');
    expect(await readFile(knownHosts, 'utf8')).toBe(original);

    await word.fill('replace');
    await replace.click();
    await expect.poll(() => section.getByTestId('host-connection').textContent(), SLOW).toMatch(/^connected/);
    expect(await readFile(knownHosts, 'utf8')).toBe(await expectedFile(original));
    expect(await readFile(`${knownHosts}.old`, 'utf8')).toBe(original);
  });

  it('in Add host: no plain Trust for a changed key either', async () => {
    const { alias, knownHosts, original } = changed[1];
    await page.getByRole('button', { name: 'Add host' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a host' });
    const select = dialog.getByLabel('Host', { exact: true });
    await select.waitFor(SLOW);
    await select.selectOption(alias);
    await dialog.getByRole('button', { name: 'Add host' }).click();
    const keyDialog = page.getByRole('dialog', { name: `The host key of ${alias} has CHANGED` });
    await keyDialog.waitFor(SLOW);
    expect(await keyDialog.getByRole('button', { name: /^Trust/ }).count()).toBe(0);
    expect(await keyDialog.getByTestId('old-key').textContent()).toContain(`${knownHosts}:2`);
    await screenshots(page, '16-changed-key-dialog');
    await keyDialog.getByRole('button', { name: 'Refuse' }).click();
    await keyDialog.waitFor({ state: 'detached' });
    expect(await readFile(knownHosts, 'utf8')).toBe(original);
  });

  it('met no page errors (CSP included)', () => {
    expect(f.win.pageErrors).toEqual([]);
  });
});
