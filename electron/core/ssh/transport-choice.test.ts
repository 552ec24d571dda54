// Which hosts the OpenSSH transport is chosen for, from real files: keys and certificates made
// with ssh-keygen, known_hosts lines, Match exec blocks checked against `ssh -G` (which runs them).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostRegistry } from '../hosts/host-registry';
import { resolveProfile, type ProfileContext } from './ssh-profile';
import { openSshNeededFor } from './transport-choice';

const dir = mkdtempSync(join(tmpdir(), 'ktray-transport-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const home = join(dir, 'home');
mkdirSync(join(home, '.ssh'), { recursive: true });
const ctx: ProfileContext = { homeDir: home, localUser: 'me', env: {}, localHostname: 'laptop' };

const keygen = (file: string, ...extra: string[]) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'k', '-f', file, ...extra]);
const plainKey = join(dir, 'id_plain');
keygen(plainKey);
const certKey = join(dir, 'id_certified');
keygen(certKey);
const ca = join(dir, 'ca');
keygen(ca);
execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'me', '-n', 'me', `${certKey}.pub`]);
const caLine = readFileSync(`${ca}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
const hostKeyLine = readFileSync(`${plainKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');

/** A security-key public key file as ssh-keygen -t ed25519-sk writes it (no FIDO device here to make one). */
function skPub(file: string, type = 'sk-ssh-ed25519@openssh.com'): void {
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([str(Buffer.from(type)), str(Buffer.alloc(32, 7)), str(Buffer.from('ssh:'))]);
  writeFileSync(`${file}.pub`, `${type} ${blob.toString('base64')} me@laptop\n`);
  writeFileSync(file, '-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
}

const kh = (name: string, lines: string[]) => {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
};

const why = (text: string, alias = 'box') => openSshNeededFor(resolveProfile(alias, text, ctx))?.why ?? null;
const block = (lines: string[]) => ['Host box', '  HostName box.example', '  GlobalKnownHostsFile /dev/null', ...lines.map((l) => `  ${l}`), ''].join('\n');

describe('the OpenSSH transport is chosen for', () => {
  it('a key with KEY-cert.pub beside it, and a CertificateFile; not for a plain key', () => {
    const none = kh('kh-none', []);
    expect(why(block([`IdentityFile ${certKey}`, `UserKnownHostsFile ${none}`]))).toBe(`a user certificate (${certKey}-cert.pub): ssh2 has no certificates`);
    expect(why(block([`IdentityFile ${plainKey}`, `CertificateFile ${certKey}-cert.pub`, `UserKnownHostsFile ${none}`]))).toBe(
      `a user certificate (${certKey}-cert.pub): ssh2 has no certificates`,
    );
    expect(why(block([`IdentityFile ${plainKey}`, `UserKnownHostsFile ${none}`]))).toBeNull();
    // A CertificateFile that is not there is no certificate (ssh skips it too).
    expect(why(block([`IdentityFile ${plainKey}`, `CertificateFile ${dir}/missing-cert.pub`, `UserKnownHostsFile ${none}`]))).toBeNull();
  });

  it('a host only an @cert-authority line vouches for; not when a plain key line for it is there too, nor for a CA of other hosts', () => {
    const caOnly = kh('kh-ca', [`@cert-authority *.example ${caLine}`]);
    expect(why(block([`IdentityFile ${plainKey}`, `UserKnownHostsFile ${caOnly}`]))).toBe(
      `an @cert-authority line (${caOnly}:1) vouches for its host key: ssh2 cannot check host certificates`,
    );
    const both = kh('kh-both', [`@cert-authority *.example ${caLine}`, `box.example ${hostKeyLine}`]);
    expect(why(block([`IdentityFile ${plainKey}`, `UserKnownHostsFile ${both}`]))).toBeNull();
    const other = kh('kh-other', [`@cert-authority *.other ${caLine}`]);
    expect(why(block([`IdentityFile ${plainKey}`, `UserKnownHostsFile ${other}`]))).toBeNull();
    // Non-standard ports are looked up as [host]:port, as ssh does.
    const port = kh('kh-port', [`@cert-authority [box.example]:2222 ${caLine}`]);
    expect(why(block([`IdentityFile ${plainKey}`, 'Port 2222', `UserKnownHostsFile ${port}`]))).toContain('@cert-authority');
    expect(why(block([`IdentityFile ${plainKey}`, `UserKnownHostsFile ${port}`]))).toBeNull();
  });

  it('an IdentityFile whose public key is an sk- key (ed25519 and ecdsa), and ssh default sk keys when no other default key is there', () => {
    const none = kh('kh-none2', []);
    const sk = join(dir, 'id_ed25519_sk');
    skPub(sk);
    expect(why(block([`IdentityFile ${sk}`, `UserKnownHostsFile ${none}`]))).toBe(`a security key (${sk}): ssh2 has no sk- keys`);
    const ecdsa = join(dir, 'id_ecdsa_sk');
    skPub(ecdsa, 'sk-ecdsa-sha2-nistp256@openssh.com');
    expect(why(block([`IdentityFile ${plainKey}`, `IdentityFile ${ecdsa}`, `UserKnownHostsFile ${none}`]))).toBe(`a security key (${ecdsa}): ssh2 has no sk- keys`);
    // ssh's default keys: ~/.ssh/id_ed25519_sk alone is an sk key ssh would offer.
    skPub(join(home, '.ssh', 'id_ed25519_sk'));
    expect(why(block([`UserKnownHostsFile ${none}`]))).toBe(`a security key (${join(home, '.ssh', 'id_ed25519_sk')}): ssh2 has no sk- keys`);
    // ...but beside a plain default key ssh2 can use, ssh2 stays.
    keygen(join(home, '.ssh', 'id_ed25519'));
    expect(why(block([`UserKnownHostsFile ${none}`]))).toBeNull();
    rmSync(join(home, '.ssh', 'id_ed25519'));
    rmSync(join(home, '.ssh', 'id_ed25519.pub'));
    rmSync(join(home, '.ssh', 'id_ed25519_sk.pub'));
    rmSync(join(home, '.ssh', 'id_ed25519_sk'));
  });
});

describe('Match exec', () => {
  // ssh -G runs the exec command; the block's lines show whether ssh took it.
  const sshG = (file: string, alias: string) => spawnSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8' }).stdout;
  // After HostName: ssh matches `host` against it (before, against the alias).
  const text = `Host other
  HostName other.example
Host box other
  HostName box.example
  GlobalKnownHostsFile /dev/null
  UserKnownHostsFile /dev/null
  IdentityFile ${plainKey}
Match host box.example exec "test -e ${dir}/marker"
  User fromexec
`;

  it('a Match exec block whose other criteria hold makes the host go through OpenSSH, whatever its command says; others stay on ssh2', () => {
    const file = join(dir, 'match-config');
    writeFileSync(file, text);
    // ssh -G agrees the block concerns box (it applies once its command succeeds) and not other.
    expect(sshG(file, 'box')).not.toMatch(/^user fromexec$/m);
    writeFileSync(join(dir, 'marker'), '');
    expect(sshG(file, 'box')).toMatch(/^user fromexec$/m);
    expect(sshG(file, 'other')).not.toMatch(/^user fromexec$/m);
    rmSync(join(dir, 'marker'));

    const p = resolveProfile('box', text, ctx);
    expect(p.matchExec).toBe(`test -e ${dir}/marker`);
    // ktray never runs it: the block's User is not taken.
    expect(p.user).toBe('me');
    expect(openSshNeededFor(p)?.why).toBe(`a Match exec block (exec "test -e ${dir}/marker"): only ssh runs it`);
    expect(resolveProfile('other', text, ctx).matchExec).toBeUndefined();
    expect(resolveProfile('box', 'Host box\n  User x\nMatch host nothing.example exec true\n  User y\n', ctx).matchExec).toBeUndefined();
  });
});

describe('HostRegistry.transportChoice', () => {
  const config = join(dir, 'registry-config');
  writeFileSync(config, `${block([`IdentityFile ${plainKey}`, 'UserKnownHostsFile /dev/null'])}Host certified\n  IdentityFile ${certKey}\n  UserKnownHostsFile /dev/null\nHost behind\n  ProxyJump certified\n  IdentityFile ${plainKey}\n  UserKnownHostsFile /dev/null\n`);
  const registry = (transports: Record<string, 'ssh2' | 'openssh'>) =>
    new HostRegistry({ sshConfigFile: config, savedHosts: () => [{ id: 'saved', hostname: 'saved.example' }], transports: () => transports, wanted: () => false, notice: () => {}, context: ctx });

  it('follows the profile on auto, and what the user set by hand otherwise', () => {
    expect(registry({}).transportChoice('box')).toMatchObject({ kind: 'ssh2', setting: 'auto', why: '' });
    expect(registry({}).transportChoice('certified')).toMatchObject({ kind: 'openssh', setting: 'auto', why: `a user certificate (${certKey}-cert.pub): ssh2 has no certificates` });
    expect(registry({ box: 'openssh' }).transportChoice('box')).toMatchObject({ kind: 'openssh', setting: 'openssh', why: 'set by hand' });
    expect(registry({ certified: 'ssh2' }).transportChoice('certified')).toMatchObject({ kind: 'ssh2', setting: 'ssh2' });
    // A jump host with a certificate takes the host through ssh too (ssh runs the whole chain).
    expect(registry({}).transportChoice('behind')).toMatchObject({ kind: 'openssh', why: `its jump host certified, for a user certificate (${certKey}-cert.pub): ssh2 has no certificates` });
    // A saved host has no ssh config for ssh to read: ssh2.
    expect(registry({ saved: 'openssh' }).transportChoice('saved')).toMatchObject({ kind: 'ssh2' });
  });
});
