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
  readSshConfig,
  resolveProfile,
  type HostProfile,
  type ProfileContext,
} from './ssh-profile';

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
      userKnownHostsFiles: [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      strictHostKeyChecking: 'ask',
      hostKeyAlias: null,
      serverAliveIntervalSec: 15,
      serverAliveCountMax: 3,
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

  it.each([
    ['Port 0', /Port must be a number from 1 to 65535, found "0"/],
    ['Port ssh', /Port .* found "ssh"/],
    ['StrictHostKeyChecking maybe', /StrictHostKeyChecking must be yes, no, accept-new or ask, found "maybe"/],
    ['ConnectTimeout soon', /ConnectTimeout "soon" is not a time/],
    ['IdentitiesOnly perhaps', /IdentitiesOnly must be yes or no/],
    ['ProxyJump u@:22', /ProxyJump: cannot use the jump host "u@:22"/],
  ])('rejects %s with a message naming the alias', (line, pattern) => {
    let err: unknown;
    try {
      resolve('gpu9', `Host gpu9\n  ${line}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KtrayError);
    expect((err as KtrayError).code).toBe('BAD_INPUT');
    expect((err as KtrayError).message).toMatch(pattern);
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
  it('reads a config, empty when missing', async () => {
    expect(defaultSshConfigFile('/home/me')).toBe('/home/me/.ssh/config');
    expect(await readSshConfig(join(dir, 'missing'))).toBe('');
    const file = write(join(dir, 'cfg'), 'Host a\n');
    expect(await readSshConfig(file)).toBe('Host a\n');
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
Host c
  hostname C.Example.COM
  proxyjump none
  stricthostkeychecking no
  serveralivecountmax 0
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
    expect(p.strictHostKeyChecking).toBe(strict[one('stricthostkeychecking')!]);
    expect(p.serverAliveIntervalSec).toBe(Number(one('serveraliveinterval')) || 15);
    expect(p.serverAliveCountMax).toBe(Number(one('serveralivecountmax')));
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
