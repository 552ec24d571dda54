import Conf from 'conf';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PassphrasePrompt } from './passphrase-prompt';
import { PASSPHRASE_CHANNEL, parseAnswer } from './passphrase-shared';
import { Secrets, secretsStoreOptions, type SecretsFile } from './secrets';
import { BrowserWindow, ipcMain, resetElectronStub, safeStorage, stub } from './test/electron-stub';

const HTML = '/opt/kt/dist/main/passphrase.html';
const REQ = { host: 'gpu', keyFile: '/home/ada/.ssh/id_ed25519' };

describe('PassphrasePrompt', () => {
  let dir: string;
  let secrets: Secrets;
  let saveErrors: string[];
  let prompt: PassphrasePrompt;

  beforeEach(() => {
    resetElectronStub();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-pp-'));
    secrets = new Secrets({ store: new Conf<SecretsFile>({ ...secretsStoreOptions(), configName: 'secrets', cwd: dir }), safeStorage, platform: 'linux' });
    saveErrors = [];
    prompt = new PassphrasePrompt({ secrets, htmlFile: HTML, preload: '/opt/kt/dist/main/passphrase-preload.cjs', onSaveError: (m) => saveErrors.push(m) });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function openWindow(n = 1): Promise<BrowserWindow> {
    await vi.waitFor(() => expect(BrowserWindow.instances.filter((w) => w.visible)).toHaveLength(1));
    expect(BrowserWindow.instances).toHaveLength(n);
    return BrowserWindow.instances[n - 1];
  }
  const answer = (win: BrowserWindow, raw: unknown, over: { id?: number; url?: string } = {}) =>
    ipcMain.emit(PASSPHRASE_CHANNEL, { sender: { id: over.id ?? win.webContents.id }, senderFrame: { url: over.url ?? win.webContents.getURL() } }, raw);

  it('opens a sandboxed window naming the host and key, and returns what the user typed', async () => {
    const pending = prompt.ask(REQ);
    const win = await openWindow();
    expect(win.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, partition: 'ktray-passphrase' });
    expect(win.loaded[0]).toEqual({ kind: 'file', target: HTML, options: { query: { host: 'gpu', keyFile: REQ.keyFile } } });
    answer(win, { passphrase: 'open sesame', remember: false });
    expect(await pending).toBe('open sesame');
    expect(win.isDestroyed()).toBe(true);
    expect(ipcMain.listenerCount(PASSPHRASE_CHANNEL)).toBe(0);
    expect(secrets.has(REQ.keyFile)).toBe(false);
  });

  it('ignores answers from other windows or pages, and malformed ones', async () => {
    const pending = prompt.ask(REQ);
    const win = await openWindow();
    answer(win, { passphrase: 'evil', remember: false }, { id: 999 });
    answer(win, { passphrase: 'evil', remember: false }, { url: 'https://evil.example/' });
    answer(win, { passphrase: 42, remember: false });
    answer(win, 'pw');
    expect(win.isDestroyed()).toBe(false);
    answer(win, { passphrase: 'right', remember: false });
    expect(await pending).toBe('right');
  });

  it('gives null when the user cancels or closes the window', async () => {
    const first = prompt.ask(REQ);
    answer(await openWindow(), { passphrase: null, remember: false });
    expect(await first).toBeNull();
    const second = prompt.ask(REQ);
    const win = await openWindow(2);
    win.close();
    expect(await second).toBeNull();
  });

  it('remembers a passphrase when asked, uses it next time, and asks again if it is asked for twice', async () => {
    const pending = prompt.ask(REQ);
    answer(await openWindow(), { passphrase: 'kept', remember: true });
    expect(await pending).toBe('kept');
    expect(secrets.passphrase(REQ.keyFile)).toBe('kept');

    const later = new PassphrasePrompt({ secrets, htmlFile: HTML, preload: 'p' });
    expect(await later.ask(REQ)).toBe('kept'); // from the keychain, no window
    expect(BrowserWindow.instances).toHaveLength(1);
    const again = later.ask(REQ); // the saved one did not work: ask the user
    const win = await openWindow(2);
    answer(win, { passphrase: 'new', remember: false });
    expect(await again).toBe('new');
  });

  it("hands the window why a key's passphrase is asked again", async () => {
    const pending = prompt.ask({ ...REQ, instructions: 'Wrong passphrase; try again.' });
    const win = await openWindow();
    expect(win.loaded[0].options).toMatchObject({ query: { keyFile: REQ.keyFile, instructions: 'Wrong passphrase; try again.' } });
    answer(win, { passphrase: null, remember: false });
    expect(await pending).toBeNull();
  });

  it('asks a server prompt with its own words, and never remembers the answer', async () => {
    const req = { host: 'hpc', kind: 'server' as const, prompt: 'Verification code: ', name: 'Duo', instructions: 'Enter a code', echo: true };
    const pending = prompt.ask(req);
    const win = await openWindow();
    expect(win.loaded[0].options).toEqual({ query: { host: 'hpc', kind: 'server', prompt: 'Verification code: ', name: 'Duo', instructions: 'Enter a code', echo: '1' } });
    answer(win, { passphrase: '123456', remember: true });
    expect(await pending).toBe('123456');
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8')).passphrases ?? {})).toEqual([]);
    // Asked again: a window again, never a kept answer.
    const again = prompt.ask(req);
    answer(await openWindow(2), { passphrase: '654321', remember: false });
    expect(await again).toBe('654321');
  });

  it("hands a password the agent's keychain may keep back with the user's wish, and keeps nothing itself", async () => {
    const req = { host: 'hpc', kind: 'password' as const, prompt: "ann@hpc's password: ", keep: { offered: true as const, keychain: 'the Secret Service (secret-tool)' } };
    const pending = prompt.ask(req);
    const win = await openWindow();
    expect(win.loaded[0].options).toEqual({ query: { host: 'hpc', kind: 'password', prompt: "ann@hpc's password: ", keep: 'the Secret Service (secret-tool)' } });
    answer(win, { passphrase: 'pw', remember: true });
    expect(await pending).toEqual({ answer: 'pw', keep: true });
    expect(fs.existsSync(path.join(dir, 'secrets.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8')).passphrases : {}).toEqual({});
    // A key passphrase the agent may keep goes the same way, not to safeStorage.
    const key = prompt.ask({ ...REQ, keep: { offered: true, keychain: 'the Secret Service (secret-tool)' } });
    answer(await openWindow(2), { passphrase: 'pp', remember: false });
    expect(await key).toEqual({ answer: 'pp', keep: false });
    expect(secrets.has(REQ.keyFile)).toBe(false);
    // Where the agent has no keychain it says why, once: the window shows it.
    const none = prompt.ask({ host: 'hpc', kind: 'password' as const, keep: { offered: false as const, reason: 'It cannot be kept in a keychain: no D-Bus session.' } });
    const w3 = await openWindow(3);
    expect((w3.loaded[0].options as { query: Record<string, string> }).query.cannotRemember).toBe('It cannot be kept in a keychain: no D-Bus session.');
    answer(w3, { passphrase: 'pw', remember: false });
    expect(await none).toBe('pw');
  });

  it('still returns the passphrase when it cannot be remembered, and says why', async () => {
    stub.encryptionAvailable = false;
    const pending = prompt.ask(REQ);
    const win = await openWindow();
    expect((win.loaded[0].options as { query: Record<string, string> }).query.cannotRemember).toMatch(/No OS keychain/);
    answer(win, { passphrase: 'pw', remember: true });
    expect(await pending).toBe('pw');
    expect(saveErrors).toEqual([expect.stringMatching(/was not saved\. No OS keychain/)]);
  });

  it('asks one prompt at a time', async () => {
    const a = prompt.ask(REQ);
    const b = prompt.ask({ host: 'lab', keyFile: '/k/lab' });
    const first = await openWindow(1);
    answer(first, { passphrase: 'A', remember: false });
    const second = await openWindow(2);
    expect((second.loaded[0].options as { query: Record<string, string> }).query.host).toBe('lab');
    answer(second, { passphrase: 'B', remember: false });
    expect([await a, await b]).toEqual(['A', 'B']);
  });
});

describe('parseAnswer', () => {
  it('accepts exactly the answer shape', () => {
    expect(parseAnswer({ passphrase: 'x', remember: true })).toEqual({ passphrase: 'x', remember: true });
    expect(parseAnswer({ passphrase: null, remember: false })).toEqual({ passphrase: null, remember: false });
    expect(parseAnswer({ passphrase: 'x' })).toBeNull();
    expect(parseAnswer(null)).toBeNull();
    expect(parseAnswer({ passphrase: ['x'], remember: true })).toBeNull();
  });
});
