import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import {
  defaultSshConfigFile,
  listHostAliases,
  parseProxyJump,
  resolveProfile,
  type HostProfile,
  type ProfileContext,
} from './ssh-profile';
import { OPENSSH_KEYWORDS, OTHER_SSH_KEYWORDS } from './ssh-config-lines';

const dir = mkdtempSync(join(tmpdir(), 'ktray-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const home = join(dir, 'home');
mkdirSync(join(home, '.ssh'), { recursive: true });

const ctx: ProfileContext = {
  homeDir: home,
  localUser: 'me',
  env: { SSH_AUTH_SOCK: '/tmp/agent.sock', KEYS: '/keys' },
  localHostname: 'laptop.example.org',
};

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const resolve = (alias: string, text: string, c: ProfileContext = ctx) => resolveProfile(alias, text, c);

describe('defaults', () => {
  it('resolves an alias no config mentions to itself with ssh defaults', () => {
    expect(resolve('gpu1', '')).toEqual<HostProfile>({
      alias: 'gpu1',
      hostname: 'gpu1',
      user: 'me',
      port: 22,
      identityFiles: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)),
      identityFilesDefault: true,
      identitiesOnly: false,
      identityAgent: '/tmp/agent.sock',
      proxyJump: [],
      proxyCommand: null,
      userKnownHostsFiles: [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      strictHostKeyChecking: 'ask',
      hostKeyAlias: null,
      serverAliveIntervalSec: 15,
      serverAliveCountMax: 3,
      numberOfPasswordPrompts: 3,
      connectTimeoutSec: null,
    });
  });

  it('has no agent without SSH_AUTH_SOCK', () => {
    expect(resolve('x', '', { ...ctx, env: {} }).identityAgent).toBeNull();
  });
});

describe('Host patterns and first value wins', () => {
  const config = `
Host MyHost web? *.corp !bad.corp
  HostName %h.example.com
  User bob
  Port 2200
Host web1
  User never-reached
  IdentityFile ~/.ssh/web1
Host *
  User alice
  IdentityFile ~/.ssh/common
`;
  it.each([
    ['MyHost', 'myhost.example.com', 'bob', 2200],
    ['myhost', 'myhost', 'alice', 22],
    ['web1', 'web1.example.com', 'bob', 2200],
    ['web', 'web', 'alice', 22],
    ['web12', 'web12', 'alice', 22],
    ['a.corp', 'a.corp.example.com', 'bob', 2200],
    ['bad.corp', 'bad.corp', 'alice', 22],
  ])('%s', (alias, host, user, port) => {
    expect(resolve(alias, config)).toMatchObject({ hostname: host, user, port });
  });

  it('accumulates IdentityFile over every matching block, in order, without duplicates', () => {
    const p = resolve('web1', `${config}\nHost w*\n  IdentityFile ~/.ssh/web1\n  IdentityFile ~/.ssh/last`);
    expect(p.identityFiles).toEqual(['web1', 'common', 'last'].map((f) => join(home, '.ssh', f)));
    expect(p.identityFilesDefault).toBe(false);
  });

  it('reads keywords without regard to case and with = separators', () => {
    const p = resolve('h', 'host h\n  HOSTNAME=Real.Example\n  uSeR = carol\n  pOrT 2022\n  identityfile ~/k');
    expect(p).toMatchObject({ hostname: 'real.example', user: 'carol', port: 2022, identityFiles: [join(home, 'k')] });
  });

  it('applies Match blocks but never runs Match exec', () => {
    const marker = join(dir, 'exec-ran');
    const text = `Match exec "touch ${marker}"\n  User viaexec\nMatch originalhost g*\n  User viamatch\nMatch all\n  Port 2300\n`;
    expect(resolve('gpu', text)).toMatchObject({ user: 'viamatch', port: 2300 });
    expect(spawnSync('test', ['-e', marker]).status).toBe(1);
  });
});

describe('tokens and paths', () => {
  it('expands ~, ${VAR} and %tokens in IdentityFile, and takes relative paths from home', () => {
    const p = resolve(
      'tok',
      [
        'Host tok',
        '  HostName Real.%h.lab',
        '  User u1',
        '  Port 2022',
        '  HostKeyAlias kalias',
        '  IdentityFile ~/.ssh/%h_%r_%p_%u_%n_%k',
        '  IdentityFile %d/%l/%L/100%%',
        '  IdentityFile ${KEYS}/id_${MISSING}',
        '  IdentityFile keys/rel',
        '  UserKnownHostsFile ~/kh1 %d/kh_%h',
        '  GlobalKnownHostsFile none',
      ].join('\n'),
    );
    expect(p.hostname).toBe('real.tok.lab');
    expect(p.identityFiles).toEqual([
      join(home, '.ssh/real.tok.lab_u1_2022_me_tok_kalias'),
      join(home, 'laptop.example.org/laptop/100%'),
      '/keys/id_${MISSING}',
      join(home, 'keys/rel'),
    ]);
    expect(p.userKnownHostsFiles).toEqual([join(home, 'kh1'), join(home, 'kh_real.tok.lab')]);
    expect(p.globalKnownHostsFiles).toEqual([]);
  });

  it('keeps IdentityFile none as "no keys", not the defaults', () => {
    expect(resolve('h', 'Host h\n  IdentityFile none\n  IdentitiesOnly yes')).toMatchObject({
      identityFiles: [],
      identityFilesDefault: false,
      identitiesOnly: true,
    });
  });

  it.each([
    ['none', null],
    ['SSH_AUTH_SOCK', '/tmp/agent.sock'],
    ['$KEYS', '/keys'],
    ['${KEYS}', '/keys'],
    ['$NOPE', null],
    ['~/agent-%h.sock', 'HOME/agent-h.sock'],
  ])('IdentityAgent %s', (value, expected) => {
    const got = resolve('h', `Host h\n  IdentityAgent ${value}`).identityAgent;
    expect(got).toBe(expected?.replace('HOME', home) ?? null);
  });
});

describe('options', () => {
  it.each([
    ['yes', 'yes'],
    ['true', 'yes'],
    ['YES', 'yes'],
    ['no', 'no'],
    ['false', 'no'],
    ['off', 'no'],
    ['accept-new', 'accept-new'],
    ['ask', 'ask'],
  ])('StrictHostKeyChecking %s -> %s', (value, expected) => {
    expect(resolve('h', `StrictHostKeyChecking ${value}`).strictHostKeyChecking).toBe(expected);
  });

  it('reads times like ssh', () => {
    const p = resolve('h', 'ServerAliveInterval 1m\nServerAliveCountMax 7\nConnectTimeout 1m30s');
    expect(p).toMatchObject({ serverAliveIntervalSec: 60, serverAliveCountMax: 7, connectTimeoutSec: 90 });
    expect(resolve('h', 'ServerAliveInterval 0\nConnectTimeout 0')).toMatchObject({ serverAliveIntervalSec: 0, connectTimeoutSec: null });
  });

});

describe('lines ssh rejects, rejected in its words (checked against `ssh -G`)', () => {
  /** ssh -G's verdict on `text` for `alias`: its first complaint, or the values it settled on. */
  function sshG(text: string, alias: string, name: string): { error: string | null; values: Map<string, string> } {
    const file = write(join(dir, 'rej', name), text);
    const r = spawnSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // ssh ends its log lines with \r\n.
    const complaints = r.stderr.split(/\r?\n/).filter((l) => l && !/^Pseudo-terminal/.test(l));
    const values = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+) (.*)$/.exec(line);
      if (m && !values.has(m[1])) values.set(m[1], m[2]);
    }
    return { error: r.status === 0 ? null : (complaints[0] ?? `exit ${r.status}`), values };
  }

  const rejected: [string, string][] = [
    ['unbalanced quote', 'Host a\n  HostName x\n  HostName "oops\n'],
    ['quote inside a word', 'Host a\n  HostName x"y\n'],
    ['single quote', "Host a\n  User 'me\n"],
    ['quote in a Host line', 'Host "a\n  Port 1\n'],
    ['quote in an Include line', 'Include "x\n'],
    ['Port abc', 'Host a\n  Port abc\n'],
    ['Port 0', 'Host a\n  Port 0\n'],
    ['Port 70000', 'Host a\n  Port 70000\n'],
    ['Port==22', 'Host a\n  Port==22\n'],
    ['Port in another block', 'Host b\n  Port abc\nHost a\n  User u\n'],
    ['StrictHostKeyChecking maybe', 'Host a\n  StrictHostKeyChecking maybe\n'],
    ['StrictHostKeyChecking empty', 'Host a\n  StrictHostKeyChecking ""\n'],
    ['IdentitiesOnly perhaps', 'Host a\n  IdentitiesOnly perhaps\n'],
    ['Host without a pattern', 'Host\n  Port 22\n'],
    ['Host with an empty pattern', 'Host ""\n  Port 22\n'],
    ['Match without a value', 'Match host\n  Port 1\n'],
    ['Match all and more', 'Match all host a\n  Port 1\n'],
    ['keyword without a value', 'Host a\n  HostName\n'],
    ['HostName with two', 'Host a\n  HostName x y\n'],
    ['empty User', 'Host a\n  User ""\n'],
    ['ConnectTimeout soon', 'Host a\n  ConnectTimeout soon\n'],
    ['ServerAliveInterval -5', 'Host a\n  ServerAliveInterval -5\n'],
    ['ServerAliveCountMax abc', 'Host a\n  ServerAliveCountMax abc\n'],
    ['ServerAliveCountMax too large', 'Host a\n  ServerAliveCountMax 99999999999\n'],
    ['NumberOfPasswordPrompts abc', 'Host a\n  NumberOfPasswordPrompts abc\n'],
    ['UserKnownHostsFile none and more', 'Host a\n  UserKnownHostsFile none /x\n'],
    ['ProxyJump u@', 'Host a\n  ProxyJump u@\n'],
    ['ProxyJump port', 'Host a\n  ProxyJump a@b:99999\n'],
    ['unknown keyword', 'Host a\n  SomeFutureOption yes\n  User u\n'],
    ['unknown keyword in a block that does not apply', 'Host b\n  SomeFutureOption yes\nHost a\n  User u\n'],
    ['unknown keyword before IgnoreUnknown', 'Host a\n  SomeFutureOption yes\n  IgnoreUnknown SomeFutureOption\n'],
    ['IgnoreUnknown of a block that does not apply', 'Host b\n  IgnoreUnknown *\nHost a\n  SomeFutureOption yes\n'],
    ['IgnoreUnknown not listing it', 'IgnoreUnknown Other,Thing*\nHost a\n  SomeFutureOption yes\n'],
    ['IgnoreUnknown set twice (the first counts)', 'IgnoreUnknown Other\nIgnoreUnknown SomeFutureOption\nHost a\n  SomeFutureOption yes\n'],
  ];

  it.each(rejected)('%s', (name, text) => {
    const ssh = sshG(text, 'a', name.replace(/\W+/g, '-'));
    expect(ssh.error, 'ssh -G accepted it').not.toBeNull();
    const file = join(dir, 'rej', name.replace(/\W+/g, '-'));
    let err: unknown;
    try {
      resolveProfile('a', [{ text, file }], ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KtrayError);
    expect((err as KtrayError).code).toBe('SSH_CONFIG_INVALID');
    // ssh's first complaint, word for word, with its file and line.
    expect((err as KtrayError).message).toContain(ssh.error!);
    expect((err as KtrayError).detail).toMatchObject({ file, line: Number(/line (\d+)/.exec((err as KtrayError).message)![1]) });
  });

  const accepted: [string, string][] = [
    ['quoted keyword', 'Host a\n  "Port" 22\n  HostName "a b"\n'],
    ['quotes inside a word', 'Host a\n  HostName a"b c"d\n'],
    ['escaped quote', 'Host a\n  HostName "x\\"y"\n'],
    ['single quotes', "Host a\n  HostName 'x y'\n  User 'me'\n"],
    ['= and comments', 'Host a # the box\n  Port=2222 # its port\n  User = u\n'],
    ['signed numbers', 'Host a\n  Port +2022\n  ServerAliveCountMax +3\n'],
    ['none for times', 'Host a\n  ServerAliveInterval none\n  ConnectTimeout none\n'],
    ['unclosed quote where the keyword is (ssh skips the line)', 'Host a\n  "Port 2200\n  User u\n'],
    ['unknown keyword listed in IgnoreUnknown before it', 'IgnoreUnknown SomeFutureOption\nHost a\n  SomeFutureOption yes\n  User u\n'],
    ['IgnoreUnknown patterns, any case', 'Host a\n  IgnoreUnknown other,some*\n  SomeFutureOption yes\n  somethingElse 1\n  User u\n'],
    ['deprecated and unsupported keywords (ssh warns and goes on)', 'Host a\n  Cipher blowfish\n  UseRoaming no\n  RSAAuthentication yes\n  User u\n'],
  ];

  it.each(accepted)('accepts %s as ssh does', (name, text) => {
    const ssh = sshG(text, 'a', name.replace(/\W+/g, '-'));
    expect(ssh.error).toBeNull();
    const p = resolveProfile('a', [{ text, file: 'cfg' }], ctx);
    expect(p.hostname).toBe(ssh.values.get('hostname'));
    expect(p.port).toBe(Number(ssh.values.get('port')));
    expect(p.user).toBe(ssh.values.get('user') === userInfo().username ? 'me' : ssh.values.get('user'));
  });

  it('refuses an unknown keyword in the host list too when no IgnoreUnknown could excuse it (ssh then refuses every host)', () => {
    const text = 'Host a\n  User u\nHost b\n  Bogus 1\n';
    for (const alias of ['a', 'b', 'c']) expect(sshG(text, alias, `list-${alias}`).error).toContain('line 4: Bad configuration option: bogus');
    expect(() => listHostAliases([{ text, file: 'cfg' }])).toThrow('cfg: line 4: Bad configuration option: bogus');
    // With an IgnoreUnknown somewhere, the verdict depends on the host: the list leaves it to each host.
    const maybe = 'Host a\n  IgnoreUnknown bogus\n  Bogus 1\nHost b\n  Bogus 2\n';
    expect(sshG(maybe, 'a', 'list-maybe-a').error).toBeNull();
    expect(sshG(maybe, 'b', 'list-maybe-b').error).toContain('line 3: Bad configuration option: bogus');
    expect(listHostAliases([{ text: maybe, file: 'cfg' }])).toEqual(['a', 'b']);
    expect(resolveProfile('a', [{ text: maybe, file: 'cfg' }], ctx).user).toBe('me');
    expect(() => resolveProfile('b', [{ text: maybe, file: 'cfg' }], ctx)).toThrow('cfg: line 3: Bad configuration option: bogus');
  });

  it('knows every keyword ssh knows, in any case, and no other (a sample against ssh -G)', () => {
    // Every known keyword, capitalised: ssh does not call it unknown, nor does Kernel Tray
    // (each alone in its file: another complaint about one value must not hide the next).
    const known = [...OPENSSH_KEYWORDS].filter((k) => !/^(host|match|include)$/.test(k));
    for (const k of known) {
      const t = `Host a\n  ${k[0].toUpperCase()}${k.slice(1)} yes\n`;
      const r = spawnSync('ssh', ['-G', '-F', write(join(dir, 'kw', k), t), 'a'], { encoding: 'utf8' });
      expect(r.stderr, `ssh -G on ${k}`).not.toContain('Bad configuration option');
      let ours = '';
      try {
        resolveProfile('a', [{ text: t, file: 'cfg' }], ctx);
      } catch (e) {
        ours = (e as Error).message;
      }
      expect(ours, `Kernel Tray on ${k}`).not.toContain('Bad configuration option');
    }
    // Keywords only another ssh takes (a later OpenSSH, Apple's): this one refuses them,
    // Kernel Tray does not, since the user's own ssh may be that one.
    for (const k of OTHER_SSH_KEYWORDS) {
      const t = `Host a\n  ${k} yes\n`;
      expect(sshG(t, 'a', `other-${k}`).error, `ssh -G on ${k}`).toContain('Bad configuration option');
      expect(resolveProfile('a', [{ text: t, file: 'cfg' }], ctx).alias).toBe('a');
    }
    // And names near them that ssh refuses, refused here.
    for (const k of ['hostnames', 'users', 'proxyjumps', 'identityfiles', 'xhost']) {
      const t = `Host a\n  ${k} x\n`;
      expect(sshG(t, 'a', `near-${k}`).error).toContain('Bad configuration option');
      expect(() => resolveProfile('a', [{ text: t, file: 'cfg' }], ctx)).toThrow(`cfg: line 2: Bad configuration option: ${k}`);
    }
  });

  it('takes a service name for a port exactly where ssh does (only with a services database)', () => {
    const text = 'Host a\n  Port ssh\n';
    const ssh = sshG(text, 'a', 'service-name-for-a-port');
    const file = join(dir, 'rej', 'service-name-for-a-port');
    if (ssh.error === null) expect(resolveProfile('a', [{ text, file }], ctx).port).toBe(Number(ssh.values.get('port')));
    else expect(() => resolveProfile('a', [{ text, file }], ctx)).toThrow(ssh.error);
  });

  it('names the included file and its line', () => {
    const inc = write(join(dir, 'rej', 'inc.conf'), 'Host b\n  User x\n  Port "abc\n');
    const text = `Host a\n  User u\nHost zzz\n  Include ${inc}\n`;
    expect(sshG(text, 'a', 'includer').error).toBe(`${inc} line 3: invalid quotes`);
    expect(() => resolveProfile('a', [{ text, file: 'cfg' }], ctx)).toThrow(`${inc} line 3: invalid quotes`);
  });

  it('says how many more lines are bad', () => {
    expect(() => resolveProfile('a', [{ text: 'Host a\n  Port x\n  User "y\n  Port 0\n', file: 'cfg' }], ctx)).toThrow(
      "cfg line 2: Bad port 'x'. (and 2 more bad lines)",
    );
  });
});

describe('parseProxyJump', () => {
  it.each([
    ['u@h1:2201,h2', [{ user: 'u', host: 'h1', port: 2201 }, { host: 'h2' }]],
    ['ssh://u@h:22', [{ user: 'u', host: 'h', port: 22 }]],
    ['ssh://login.example.org/', [{ host: 'login.example.org' }]],
    [' a , b@c ', [{ host: 'a' }, { user: 'b', host: 'c' }]],
    ['[::1]:2222,me@[fe80::1]', [{ host: '::1', port: 2222 }, { user: 'me', host: 'fe80::1' }]],
    ['first.last@corp@bastion', [{ user: 'first.last@corp', host: 'bastion' }]],
    ['none', []],
    ['NONE', []],
  ])('%s', (value, hops) => {
    expect(parseProxyJump(value)).toEqual(hops);
  });

  it.each(['h:0', 'h:70000', 'h:x', '@h', ',h', 'a b'])('rejects %s', (value) => {
    expect(() => parseProxyJump(value)).toThrow(KtrayError);
  });

  it('is resolved from the config, first value winning', () => {
    const text = 'Host gpu*\n  ProxyJump jump@login.lab:2201,bastion\nHost *\n  ProxyJump other';
    expect(resolve('gpu3', text).proxyJump).toEqual([{ user: 'jump', host: 'login.lab', port: 2201 }, { host: 'bastion' }]);
    expect(resolve('gpu3', `Host gpu3\n  ProxyJump none\n${text}`).proxyJump).toEqual([]);
  });
});

describe('Include', () => {
  const inc = join(home, '.ssh', 'conf.d');
  write(join(inc, 'a.conf'), 'User fromA\nHost x\n  Port 1111\nHost y\n  Port 2222\n');
  write(join(inc, 'b.conf'), 'Host x y z\n  HostName fromb-%h\n');
  write(join(inc, '.hidden.conf'), 'Host *\n  Port 9999\n');
  write(join(home, '.ssh', 'loop'), 'Include loop\n');

  it('inlines an included file in its Include block, resuming that block afterwards', () => {
    const text = `Host x\n  Include conf.d/a.conf\n  IdentityFile /after/include\nHost y z\n  Include ${inc}/*.conf\nHost *\n  User last\n`;
    // What OpenSSH 9.2 `ssh -G` prints for the same files.
    expect(resolve('x', text)).toMatchObject({ user: 'fromA', hostname: 'x', port: 1111, identityFiles: ['/after/include'] });
    expect(resolve('y', text)).toMatchObject({ user: 'fromA', hostname: 'fromb-y', port: 2222, identityFilesDefault: true });
    expect(resolve('z', text)).toMatchObject({ user: 'fromA', hostname: 'fromb-z', port: 22 });
    expect(resolve('w', text)).toMatchObject({ user: 'last', hostname: 'w', port: 22 });
  });

  it('expands ~ and globs in sorted order, skipping hidden files and missing ones', () => {
    const text = 'Include ~/.ssh/conf.d/* ~/.ssh/absent/*.conf /no/such/file\n';
    expect(resolve('y', text)).toMatchObject({ user: 'fromA', port: 2222, hostname: 'fromb-y' });
  });

  it('stops an Include loop with a clear error', () => {
    expect(() => resolve('h', 'Include loop')).toThrow(/Include nested more than 16 deep/);
  });

  it('can read includes from elsewhere than the file system', () => {
    const seen: string[] = [];
    const p = resolve('h', 'Include extra', {
      ...ctx,
      includeFiles: (pattern) => {
        seen.push(pattern);
        return [{ path: pattern, text: 'Host h\n  User virtual' }];
      },
    });
    expect(seen).toEqual([join(home, '.ssh', 'extra')]);
    expect(p.user).toBe('virtual');
  });
});

describe('listHostAliases', () => {
  it('lists concrete names in file order, once, skipping patterns', () => {
    const text = 'Host b a\nHost *.corp !x\nHost a c\nMatch host d\n  User u\nHost gpu? e\n';
    expect(listHostAliases(text)).toEqual(['b', 'a', 'c', 'e']);
  });

  it('follows Include when given a context', () => {
    const text = 'Host first\nInclude conf.d/*.conf\nHost last';
    expect(listHostAliases(text)).toEqual(['first', 'last']);
    expect(listHostAliases(text, ctx)).toEqual(['first', 'x', 'y', 'z', 'last']);
  });
});

describe('files', () => {
  it('knows where ssh keeps the user config', () => {
    expect(defaultSshConfigFile('/home/me')).toBe('/home/me/.ssh/config');
  });
});

describe('agrees with OpenSSH `ssh -G`', () => {
  // ssh takes ~ and %d from the password database, so the comparison uses that home.
  const real: ProfileContext = {
    homeDir: userInfo().homedir,
    localUser: userInfo().username,
    env: {},
    localHostname: hostname(),
  };
  const incDir = join(dir, 'g-inc');
  write(join(incDir, '10-lab.conf'), 'Host lab-*\n  User labuser\n  ProxyJump ssh://jump@login.lab:2201\nHost *\n  ServerAliveCountMax 9\n');
  write(join(incDir, '20-all.conf'), 'Host lab-gpu\n  Port 2022\n');

  const configs: Record<string, string> = {
    patterns: `Host MyHost web? *.corp !bad.corp
  HostName %h.example.com
  User bob
  Port 2200
  IdentityFile /keys/a
  StrictHostKeyChecking off
  ServerAliveInterval 1m
  ProxyJump u@h1:2201,h2
Host *
  IdentityFile ~/.ssh/common
  IdentityFile /keys/a
  User alice
  StrictHostKeyChecking accept-new
`,
    options: `Host b
  HostName 10.0.0.1
  Port 2222
  StrictHostKeyChecking yes
  ConnectTimeout 1m30s
  UserKnownHostsFile ~/kh1 /tmp/kh2 %d/kh_%h_%p_%r_%n
  GlobalKnownHostsFile /etc/other_known
  HostKeyAlias myalias
  IdentityAgent ~/agent-%h.sock
  IdentitiesOnly yes
  NumberOfPasswordPrompts 1
Host c
  hostname C.Example.COM
  proxyjump none
  stricthostkeychecking no
  serveralivecountmax 0
  numberofpasswordprompts 0
`,
    proxies: `Host pc-first
  ProxyCommand socat - TCP:%h:%p
  ProxyJump j1
Host pj-first
  ProxyJump j1
  ProxyCommand socat - TCP:%h:%p
Host pc-none
  ProxyCommand none
  ProxyJump j1
Host pj-none
  ProxyJump none
  ProxyCommand ssh -W %h:%p bastion
Host pc-*
  HostName real.example
  User bob
  Port 2222
  ProxyCommand nc %h %p
`,
    include: `Include ${incDir}/*.conf
Host lab-gpu
  HostName gpu.lab
  IdentityFile /keys/lab
`,
  };
  const cases: [string, string][] = [
    ['patterns', 'MyHost'],
    ['patterns', 'myhost'],
    ['patterns', 'web1'],
    ['patterns', 'web'],
    ['patterns', 'x.corp'],
    ['patterns', 'bad.corp'],
    ['options', 'b'],
    ['options', 'c'],
    ['proxies', 'pc-first'],
    ['proxies', 'pj-first'],
    ['proxies', 'pc-none'],
    ['proxies', 'pj-none'],
    ['proxies', 'pc-other'],
    ['include', 'lab-gpu'],
    ['include', 'lab-cpu'],
    ['include', 'other'],
  ];

  function sshG(file: string, alias: string): Map<string, string[]> {
    const r = spawnSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`ssh -G failed: ${r.stderr}`);
    const out = new Map<string, string[]>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+) (.*)$/.exec(line);
      if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
    }
    return out;
  }

  it.each(cases)('%s: %s', (config, alias) => {
    const file = write(join(dir, `g-${config}`), configs[config]);
    const g = sshG(file, alias);
    const one = (k: string) => g.get(k)?.[0];
    const p = resolveProfile(alias, configs[config], real);
    const strict: Record<string, string> = { true: 'yes', false: 'no', ask: 'ask', 'accept-new': 'accept-new' };
    const expandHome = (f: string) => f.replace(/^~\//, `${real.homeDir}/`);

    expect(p.hostname).toBe(one('hostname'));
    expect(p.user).toBe(one('user'));
    expect(p.port).toBe(Number(one('port')));
    expect(p.proxyJump).toEqual(one('proxyjump') ? parseProxyJump(one('proxyjump')!) : []);
    expect(p.proxyCommand).toBe(one('proxycommand') ?? null);
    expect(p.strictHostKeyChecking).toBe(strict[one('stricthostkeychecking')!]);
    expect(p.serverAliveIntervalSec).toBe(Number(one('serveraliveinterval')) || 15);
    expect(p.serverAliveCountMax).toBe(Number(one('serveralivecountmax')));
    expect(p.numberOfPasswordPrompts).toBe(Number(one('numberofpasswordprompts')));
    expect(p.connectTimeoutSec).toBe(one('connecttimeout') === 'none' ? null : Number(one('connecttimeout')));
    expect(p.identitiesOnly).toBe(one('identitiesonly') === 'yes');
    expect(p.hostKeyAlias).toBe(one('hostkeyalias') ?? null);
    expect(p.userKnownHostsFiles).toEqual(one('userknownhostsfile')!.split(' '));
    expect(p.globalKnownHostsFiles).toEqual(one('globalknownhostsfile')!.split(' '));
    if (one('identityagent')) expect(p.identityAgent).toBe(one('identityagent'));
    // ssh -G lists its seven default keys when none is configured; ktray tries three of them.
    if (p.identityFilesDefault) expect(g.get('identityfile')).toContain('~/.ssh/id_ed25519');
    else expect(p.identityFiles).toEqual(g.get('identityfile')!.map(expandHome));
  });
});
