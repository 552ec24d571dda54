// The window's "Forget secrets" against the real agent and a real Secret Service
// (gnome-keyring-daemon on a D-Bus session of its own): what was kept for the
// host is removed from the keychain, what was kept for another host stays.
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSection, openTrayFixture, type TrayFixture } from './renderer-helpers';
import { startSecretService, type SecretService } from './harness/secret-service';

const SLOW = { timeout: 90_000, interval: 200 };
let keyring: SecretService;
let f: TrayFixture;
let page: Page;
const savedBus = process.env.DBUS_SESSION_BUS_ADDRESS;

beforeAll(async () => {
  keyring = await startSecretService();
  // The agent's keychain talks to the Secret Service of this bus (it reads the variable when first used).
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
  f = await openTrayFixture();
  page = f.page;
}, 300_000);

afterAll(async () => {
  await f?.close();
  await keyring?.stop();
  if (savedBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
  else process.env.DBUS_SESSION_BUS_ADDRESS = savedBus;
});

function keep(host: string, secret: string): void {
  const r = spawnSync('secret-tool', ['store', '--label=test', 'application', 'ktray', 'host', host, 'kind', 'password', 'account', `u@${host}:22`], { env: keyring.env, input: secret, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe('tray window: Forget secrets', () => {
  it("removes what the keychain keeps for the host, after asking, and leaves other hosts' alone", async () => {
    keep(f.remote.alias, 'pw-remote');
    keep('some-other-host', 'pw-other');
    const section = hostSection(page, f.remote.alias);
    await section.getByRole('button', { name: `Forget the passwords and passphrases kept for ${f.remote.alias}` }).click();
    // Nothing happens before the user confirms.
    expect(keyring.count({ application: 'ktray', host: f.remote.alias })).toBe(1);
    await section.getByRole('button', { name: 'Forget secrets', exact: true }).click();
    const status = section.getByText(`Removed 1 secret kept for ${f.remote.alias} from the Secret Service (secret-tool).`);
    await status.waitFor(SLOW);
    expect(keyring.count({ application: 'ktray', host: f.remote.alias })).toBe(0);
    expect(keyring.secrets({ application: 'ktray', host: 'some-other-host' })).toEqual(['pw-other']);
  });
});
