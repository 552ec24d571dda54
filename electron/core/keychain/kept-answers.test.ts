import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuthAnswer, AuthPrompt } from '../../shared/types';
import { isPasswordPrompt, KeptAnswers, keepableItem } from './kept-answers';
import type { Keychain, KeychainItem } from './keychain';

const profile = { alias: 'hpc', user: 'ann', hostname: 'login.hpc.example', port: 22 };
const account = 'ann@login.hpc.example:22';

/** A keychain in memory (the real ones are driven end to end in e2e/ssh-keychain.test.ts). */
class MemoryKeychain implements Keychain {
  readonly name = 'the memory keychain';
  readonly items = new Map<string, string>();
  constructor(private readonly why: string | null = null) {}
  private k = (i: KeychainItem) => `${i.host}|${i.kind}|${i.account}`;
  async unavailable() {
    return this.why;
  }
  async get(i: KeychainItem) {
    return this.items.get(this.k(i)) ?? null;
  }
  async set(i: KeychainItem, s: string) {
    this.items.set(this.k(i), s);
  }
  async remove(i: KeychainItem) {
    this.items.delete(this.k(i));
  }
  async forgetHost() {
    return 0;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ktray-kept-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('which prompts may be kept', () => {
  it.each([
    ['Password: ', true],
    ["ann@login's password: ", true],
    ['Password for ann@EXAMPLE.ORG: ', true],
    ['Verification code: ', false],
    ['One-time password (OATH) for `ann\': ', false],
    ['OTP password: ', false],
    ['Password + token: ', false],
    ['Enter PIN for password reset: ', false],
    ['New password: ', false],
    ['Retype new password: ', false],
    ['Passcode or option (1-3): ', false],
    ['Duo two-factor login for ann\n\nEnter a passcode: ', false],
  ])('%j → %s', (prompt, keepable) => {
    expect(isPasswordPrompt({ prompt })).toBe(keepable);
  });

  it('judges the exchange by its name and instructions too, and never a prompt the server lets echo', () => {
    expect(isPasswordPrompt({ prompt: 'Password: ', instructions: 'Enter your password, then your verification code' })).toBe(false);
    expect(isPasswordPrompt({ prompt: 'Password: ', name: 'Duo two-factor' })).toBe(false);
    expect(isPasswordPrompt({ prompt: 'Password: ', echo: true })).toBe(false);
  });

  it('keys a password by host and account, a passphrase by host and key file', () => {
    expect(keepableItem({ host: 'hpc', kind: 'password' }, profile)).toEqual({ host: 'hpc', kind: 'password', account });
    expect(keepableItem({ host: 'hpc', kind: 'server', prompt: 'Password: ' }, profile)).toEqual({ host: 'hpc', kind: 'password', account });
    expect(keepableItem({ host: 'hpc', kind: 'server', prompt: 'Verification code: ' }, profile)).toBeNull();
    expect(keepableItem({ host: 'hpc', kind: 'passphrase', keyFile: '/k/id' }, profile)).toEqual({ host: 'hpc', kind: 'passphrase', account: '/k/id' });
  });
});

describe('the keychain layer of one login', () => {
  const asking = (answers: Record<string, AuthAnswer>) => {
    const asked: AuthPrompt[] = [];
    const ask = async (p: AuthPrompt) => {
      asked.push(p);
      return answers[p.prompt ?? p.keyFile ?? ''] ?? null;
    };
    return { asked, ask };
  };

  it('offers keeping a password, keeps it only after the login worked, and never offers a code', async () => {
    const kc = new MemoryKeychain();
    const { asked, ask } = asking({ 'Password: ': { answer: 'pw', keep: true }, 'Verification code: ': '123456' });
    const kept = new KeptAnswers(kc);
    const wrapped = kept.wrap(ask, profile);
    expect(await wrapped({ host: 'hpc', kind: 'server', prompt: 'Password: ' })).toBe('pw');
    expect(await wrapped({ host: 'hpc', kind: 'server', prompt: 'Verification code: ' })).toBe('123456');
    expect(asked.map((p) => p.keep)).toEqual([{ offered: true, keychain: 'the memory keychain' }, undefined]);
    expect(kc.items.size).toBe(0);
    await kept.succeeded();
    expect([...kc.items.values()]).toEqual(['pw']);
  });

  it('does not keep what a failed login typed', async () => {
    const kc = new MemoryKeychain();
    const kept = new KeptAnswers(kc);
    await kept.wrap(asking({ 'Password: ': { answer: 'wrong', keep: true } }).ask, profile)({ host: 'hpc', kind: 'server', prompt: 'Password: ' });
    expect(await kept.failed()).toBe(false);
    expect(kc.items.size).toBe(0);
  });

  it('answers from the keychain without asking; a refused kept answer is removed and the user asked on the retry', async () => {
    const kc = new MemoryKeychain();
    await kc.set({ host: 'hpc', kind: 'password', account }, 'old');
    const { asked, ask } = asking({ [`ann@login.hpc.example's password: `]: 'new' });
    const kept = new KeptAnswers(kc);
    const wrapped = kept.wrap(ask, profile);
    const p: AuthPrompt = { host: 'hpc', kind: 'password', prompt: `ann@login.hpc.example's password: ` };
    expect(await wrapped(p)).toBe('old');
    expect(asked).toEqual([]);
    expect(await kept.failed()).toBe(true);
    expect(kc.items.size).toBe(0);
    expect(await wrapped(p)).toBe('new');
    expect(asked).toHaveLength(1);
    expect(await kept.failed()).toBe(false);
  });

  it('keeps a kept password whose login failed beside a typed code, until a different one gets in', async () => {
    const kc = new MemoryKeychain();
    await kc.set({ host: 'hpc', kind: 'password', account }, 'old');
    const kept = new KeptAnswers(kc);
    const wrapped = kept.wrap(asking({ 'Password: ': 'new', 'Verification code: ': '1' }).ask, profile);
    expect(await wrapped({ host: 'hpc', kind: 'server', prompt: 'Password: ' })).toBe('old');
    await wrapped({ host: 'hpc', kind: 'server', prompt: 'Verification code: ' });
    // The code may have been the wrong one: not removed yet, but asked of the user next.
    expect(await kept.failed()).toBe(true);
    expect(kc.items.size).toBe(1);
    expect(await wrapped({ host: 'hpc', kind: 'server', prompt: 'Password: ' })).toBe('new');
    await wrapped({ host: 'hpc', kind: 'server', prompt: 'Verification code: ' });
    await kept.succeeded();
    expect(kc.items.size).toBe(0);
  });

  it('checks a kept passphrase against its key before using it', async () => {
    const key = join(dir, 'id_enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right', '-f', key]);
    const kc = new MemoryKeychain();
    await kc.set({ host: 'hpc', kind: 'passphrase', account: key }, 'stale');
    const { asked, ask } = asking({ [key]: 'right' });
    const wrapped = new KeptAnswers(kc).wrap(ask, profile);
    expect(await wrapped({ host: 'hpc', kind: 'passphrase', keyFile: key })).toBe('right');
    expect(asked).toHaveLength(1);
    expect(kc.items.size).toBe(0);
    await kc.set({ host: 'hpc', kind: 'passphrase', account: key }, 'right');
    expect(await new KeptAnswers(kc).wrap(ask, profile)({ host: 'hpc', kind: 'passphrase', keyFile: key })).toBe('right');
    expect(asked).toHaveLength(1);
  });

  it('says once per keychain why nothing can be kept, then offers nothing', async () => {
    const kc = new MemoryKeychain('no D-Bus session');
    const { asked, ask } = asking({ 'Password: ': 'pw' });
    await new KeptAnswers(kc).wrap(ask, profile)({ host: 'hpc', kind: 'server', prompt: 'Password: ' });
    await new KeptAnswers(kc).wrap(ask, profile)({ host: 'hpc', kind: 'server', prompt: 'Password: ' });
    expect(asked.map((p) => p.keep)).toEqual([{ offered: false, reason: 'It cannot be kept in a keychain: no D-Bus session.' }, undefined]);
  });
});
