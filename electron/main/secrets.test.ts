import Conf from 'conf';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KtrayError } from '../shared/errors';
import { Secrets, secretsStoreOptions, type SecretsFile } from './secrets';
import { resetElectronStub, safeStorage, stub } from './test/electron-stub';

const KEY = '/home/ada/.ssh/id.ed25519';

describe('Secrets', () => {
  let dir: string;
  const open = (platform: 'linux' | 'darwin' = 'linux') =>
    new Secrets({ store: new Conf<SecretsFile>({ ...secretsStoreOptions(), configName: 'secrets', cwd: dir }), safeStorage, platform });
  const file = () => path.join(dir, 'secrets.json');

  beforeEach(() => {
    resetElectronStub();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-secrets-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores only safeStorage ciphertext, in its own 0600 file, and reads it back', () => {
    const s = open();
    s.savePassphrase(KEY, 'correct horse battery');
    const text = fs.readFileSync(file(), 'utf8');
    expect(text).not.toContain('correct horse');
    const cipher = JSON.parse(text).passphrases[KEY];
    expect(safeStorage.decryptString(Buffer.from(cipher, 'base64'))).toBe('correct horse battery');
    expect(fs.statSync(file()).mode & 0o077).toBe(0);
    expect(open().passphrase(KEY)).toBe('correct horse battery');
    expect(open().has(KEY)).toBe(true);
  });

  it('refuses to save without encryption and says why', () => {
    stub.encryptionAvailable = false;
    const s = open();
    expect(s.availability()).toEqual({ ok: false, reason: expect.stringMatching(/No OS keychain/) });
    expect(() => s.savePassphrase(KEY, 'pw')).toThrow(KtrayError);
    expect(() => s.savePassphrase(KEY, 'pw')).toThrow(/was not saved\. No OS keychain/);
    expect(fs.existsSync(file()) ? JSON.parse(fs.readFileSync(file(), 'utf8')).passphrases : {}).toEqual({});
  });

  it("refuses Chromium's fixed-key fallback on Linux, which is no better than plain text", () => {
    stub.storageBackend = 'basic_text';
    expect(open('linux').availability()).toMatchObject({ ok: false, reason: expect.stringMatching(/Secret Service or KWallet/) });
    expect(() => open('linux').savePassphrase(KEY, 'pw')).toThrow(/not saved/);
    expect(open('darwin').availability()).toEqual({ ok: true });
  });

  it('gives null for an unknown key or a ciphertext the keychain no longer opens, without deleting it', () => {
    const s = open();
    expect(s.passphrase(KEY)).toBeNull();
    fs.writeFileSync(file(), JSON.stringify({ passphrases: { [KEY]: Buffer.from('from another keyring').toString('base64') } }));
    expect(open().passphrase(KEY)).toBeNull();
    expect(open().has(KEY)).toBe(true);
  });

  it("forgets a host's key files at once, saying how many it had", () => {
    const s = open();
    s.savePassphrase(KEY, 'a');
    s.savePassphrase('/keys/other.pem', 'b');
    expect(s.forgetAll([KEY, '/keys/never-kept'])).toBe(1);
    expect(open().passphrase(KEY)).toBeNull();
    expect(open().passphrase('/keys/other.pem')).toBe('b');
    expect(s.forgetAll([])).toBe(0);
  });

  it('forgets one key and keeps the others (paths with dots are keys, not property paths)', () => {
    const s = open();
    s.savePassphrase(KEY, 'a');
    s.savePassphrase('/keys/other.pem', 'b');
    s.forget(KEY);
    expect(open().passphrase(KEY)).toBeNull();
    expect(open().passphrase('/keys/other.pem')).toBe('b');
  });
});
