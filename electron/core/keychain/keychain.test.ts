import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MacKeychain, SecretToolKeychain, systemKeychain } from './keychain';

const dir = mkdtempSync(join(tmpdir(), 'ktray-keychain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('where there is no keychain to use, it says why', () => {
  it('names the missing secret-tool, then the missing D-Bus session', async () => {
    expect(await new SecretToolKeychain({ PATH: join(dir, 'empty') }).unavailable()).toBe('secret-tool is not installed (on Debian and Ubuntu: apt install libsecret-tools)');
    const bin = join(dir, 'bin');
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    writeFileSync(join(bin, 'secret-tool'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    expect(await new SecretToolKeychain({ PATH: bin }).unavailable()).toBe(
      'there is no D-Bus session here (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached',
    );
  });

  it('is off with KTRAY_KEYCHAIN=none, and on other systems', async () => {
    expect(await systemKeychain({ KTRAY_KEYCHAIN: 'none' }, 'linux').unavailable()).toBe('KTRAY_KEYCHAIN=none turns the keychain off');
    expect(await systemKeychain({}, 'win32').unavailable()).toBe('Kernel Tray knows no keychain on win32');
    expect(systemKeychain({}, 'darwin')).toBeInstanceOf(MacKeychain);
    expect(systemKeychain({}, 'linux')).toBeInstanceOf(SecretToolKeychain);
  });
});

describe('the macOS keychain, as /usr/bin/security is called (a recording stand-in: no macOS here)', () => {
  // Records its argv and its stdin; answers find-generic-password like security does (-w: the secret).
  const log = join(dir, 'security.log');
  const fake = join(dir, 'security');
  writeFileSync(fake, `#!/bin/sh\nprintf 'ARGV %s\\n' "$*" >> ${log}\nprintf 'STDIN ' >> ${log}\ncat >> ${log}\nprintf '\\n' >> ${log}\n[ "$1" = find-generic-password ] && printf 'kept\\n'\nexit 0\n`);
  chmodSync(fake, 0o755);
  const mac = new MacKeychain({ PATH: '/usr/bin:/bin' }, fake);
  const item = { host: 'hpc', kind: 'password' as const, account: 'ann@hpc:22' };

  it('puts the secret in a command on the stdin of security -i, never in an argv', async () => {
    await mac.set(item, 's3cret pw');
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('ARGV -i\n');
    expect(text).toContain('STDIN add-generic-password -U -s "Kernel Tray: hpc" -a "password ann@hpc:22" -l "Kernel Tray: hpc (password)" -w "s3cret pw"\n');
    expect(text.split('\n').filter((l) => l.startsWith('ARGV')).join('\n')).not.toContain('s3cret');
  });

  it('refuses to pass a secret with a quote, a backslash or a line break', async () => {
    for (const s of ['a"b', 'a\\b', 'a\nb']) await expect(mac.set(item, s)).rejects.toThrow(/does not pass to \/usr\/bin\/security/);
  });

  it('reads a kept one with find-generic-password -w, without its trailing newline', async () => {
    expect(await mac.get(item)).toBe('kept');
    expect(readFileSync(log, 'utf8')).toContain('ARGV find-generic-password -s Kernel Tray: hpc -a password ann@hpc:22 -w\n');
  });
});
