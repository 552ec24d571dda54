// The passphrase prompt's page and preload in a real Chromium: the preload is
// bundled as for Electron, with `electron` swapped for a shim that records
// what it would send to the main process.
import { build } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSPHRASE_CHANNEL } from './passphrase-shared';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = fs.existsSync(CHROMIUM) ? null : `passphrase page test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`;
if (SKIP) console.warn(SKIP);

let browser: Browser;
let preloadCode: string;

beforeAll(async () => {
  if (SKIP) return;
  const shim = `export const ipcRenderer = { send: (channel, payload) => (window.__sent ??= []).push({ channel, payload }) };`;
  const out = await build({
    entryPoints: [path.join(__dirname, 'passphrase-preload.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    plugins: [
      {
        name: 'electron-shim',
        setup(b) {
          b.onResolve({ filter: /^electron$/ }, () => ({ path: 'electron', namespace: 'shim' }));
          b.onLoad({ filter: /.*/, namespace: 'shim' }, () => ({ contents: shim, loader: 'js' }));
        },
      },
    ],
  });
  preloadCode = out.outputFiles[0].text;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

async function open(query: Record<string, string>): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript(preloadCode);
  const url = pathToFileURL(path.join(__dirname, 'passphrase.html'));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  await page.goto(url.href);
  return page;
}
const sent = (page: Page) => page.evaluate(() => (window as unknown as { __sent?: unknown[] }).__sent ?? []);

describe.skipIf(SKIP !== null)('passphrase prompt page', () => {
  it('shows host and key as text, and sends the typed passphrase with the remember choice', async () => {
    const page = await open({ host: 'gpu', keyFile: '/home/ada/.ssh/<b>id</b>' });
    expect(await page.textContent('#host')).toBe('gpu');
    expect(await page.textContent('#key')).toBe('/home/ada/.ssh/<b>id</b>'); // text, never markup
    expect(await page.isVisible('#why')).toBe(false);
    await page.fill('#passphrase', 's3cret pass');
    await page.check('#remember');
    await page.press('#passphrase', 'Enter');
    expect(await sent(page)).toEqual([{ channel: PASSPHRASE_CHANNEL, payload: { passphrase: 's3cret pass', remember: true } }]);
    await page.close();
  });

  it('says why a passphrase is asked again, as text', async () => {
    const page = await open({ host: 'gpu', keyFile: '/home/ada/.ssh/id', instructions: 'Wrong passphrase; try <b>again</b>.' });
    expect(await page.isVisible('#instructions')).toBe(true);
    expect(await page.textContent('#instructions')).toBe('Wrong passphrase; try <b>again</b>.');
    expect(await page.textContent('#key')).toBe('/home/ada/.ssh/id');
    await page.close();
  });

  it("shows a server's prompt and instructions as text, with nothing to remember", async () => {
    const page = await open({ host: 'hpc', kind: 'server', prompt: 'Verification code: ', name: '<i>Duo</i>', instructions: 'Line one\nLine <b>two</b>' });
    expect(await page.textContent('#heading')).toBe('<i>Duo</i>');
    expect(await page.textContent('#lead')).toBe('The SSH server of hpc asks:');
    expect(await page.textContent('#instructions')).toBe('Line one\nLine <b>two</b>');
    expect(await page.textContent('#question')).toBe('Verification code:');
    expect(await page.isVisible('#remember')).toBe(false);
    expect(await page.getAttribute('#passphrase', 'type')).toBe('password');
    await page.fill('#passphrase', '123456');
    await page.press('#passphrase', 'Enter');
    expect(await sent(page)).toEqual([{ channel: PASSPHRASE_CHANNEL, payload: { passphrase: '123456', remember: false } }]);
    await page.close();
    const echoed = await open({ host: 'hpc', kind: 'server', prompt: 'Passcode or option (1-3): ', echo: '1' });
    expect(await echoed.getAttribute('#passphrase', 'type')).toBe('text');
    await echoed.close();
  });

  it("offers to keep a password when the agent's keychain may keep it, naming the keychain", async () => {
    const page = await open({ host: 'hpc', kind: 'password', prompt: "ann@hpc's password: ", keep: 'the Secret Service (secret-tool)' });
    expect(await page.isVisible('#remember')).toBe(true);
    expect((await page.textContent('#remember-row'))?.trim()).toBe('Keep in the Secret Service (secret-tool)');
    await page.fill('#passphrase', 'pw');
    await page.check('#remember');
    await page.press('#passphrase', 'Enter');
    expect(await sent(page)).toEqual([{ channel: PASSPHRASE_CHANNEL, payload: { passphrase: 'pw', remember: true } }]);
    await page.close();
  });

  it('sends null on Cancel and on Escape', async () => {
    const page = await open({ host: 'gpu', keyFile: '/k' });
    await page.click('#cancel');
    await page.keyboard.press('Escape');
    expect(await sent(page)).toEqual([
      { channel: PASSPHRASE_CHANNEL, payload: { passphrase: null, remember: false } },
      { channel: PASSPHRASE_CHANNEL, payload: { passphrase: null, remember: false } },
    ]);
    await page.close();
  });

  it('disables "remember" and says why where no keychain exists', async () => {
    const page = await open({ host: 'gpu', keyFile: '/k', cannotRemember: 'No OS keychain is available.' });
    expect(await page.isDisabled('#remember')).toBe(true);
    expect(await page.textContent('#why')).toBe('Cannot remember it here: No OS keychain is available.');
    await page.fill('#passphrase', 'pw');
    await page.click('#ok');
    expect(await sent(page)).toEqual([{ channel: PASSPHRASE_CHANNEL, payload: { passphrase: 'pw', remember: false } }]);
    await page.close();
  });

  it('runs no script of its own: the CSP allows none', () => {
    const html = fs.readFileSync(path.join(__dirname, 'passphrase.html'), 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
  });
});
