import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandProxyCommand, ProxyProcess } from './ssh-proxy-command';
import { resolveProfile, type ProfileContext } from './ssh-profile';

const dir = mkdtempSync(join(tmpdir(), 'ktray-proxycmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const real: ProfileContext = { homeDir: userInfo().homedir, localUser: userInfo().username, env: {}, localHostname: hostname() };

/** What ssh itself runs for `alias` (its "Executing proxy command" line), or its complaint. */
function sshRuns(config: string, alias: string): string {
  const file = join(dir, `${alias}.cfg`);
  writeFileSync(file, config);
  // `true` as the command: ssh runs it, the handshake then fails at once; nothing is contacted.
  const r = spawnSync('ssh', ['-v', '-F', file, '-o', 'BatchMode=yes', alias, 'true'], { encoding: 'utf8', timeout: 10_000 });
  const line = /Executing proxy command: exec (.*)/.exec(r.stderr);
  return line ? line[1] : `error: ${r.stderr.split('\n').find((l) => /expand/.test(l))}`;
}

describe('ProxyCommand tokens, as ssh expands them', () => {
  const config = `Host box box2
  HostName Real.Example
  User bob
  Port 2222
Host box
  ProxyCommand true %h %p %r %n %% 100%%-done '%h'
Host box2
  ProxyCommand true %h %C
Host *
  ProxyCommand true %h %
`;
  it.each(['box'])('%s: the same command ssh runs', (alias) => {
    const p = resolveProfile(alias, config, real);
    expect(expandProxyCommand(p.proxyCommand!, p)).toBe(sshRuns(config, alias));
    expect(sshRuns(config, alias)).toBe("true real.example 2222 bob box % 100%-done 'real.example'");
  });

  it.each([
    ['box2', /token %C/],
    ['other', /lone %/],
  ])('%s: refused where ssh refuses it', (alias, message) => {
    const p = resolveProfile(alias, config, real);
    expect(sshRuns(config, alias)).toMatch(/^error: .*(unknown key|invalid format)/);
    expect(() => expandProxyCommand(p.proxyCommand!, p)).toThrow(message);
  });
});

describe('ProxyProcess', () => {
  it('runs through $SHELL -c exec, carries bytes both ways and keeps stderr', async () => {
    const p = new ProxyProcess('sh -c \'echo "$0" >&2; cat\' from-the-shell', { PATH: process.env.PATH, SHELL: '/bin/bash' }, 'box');
    const got = new Promise<string>((resolve) => p.stream.once('data', (d: Buffer) => resolve(d.toString())));
    p.stream.write('ping');
    expect(await got).toBe('ping');
    expect(p.shell).toBe('/bin/bash');
    p.stop();
    expect(await p.exit(5000)).toMatchObject({ signal: 'SIGHUP' });
    expect(p.stderr).toBe('from-the-shell\n');
  });

  it('falls back to /bin/sh, and reports an exit with what the command said', async () => {
    const p = new ProxyProcess("sh -c 'echo no route to bastion >&2; exit 7'", { PATH: process.env.PATH }, 'box');
    expect(p.shell).toBe('/bin/sh');
    const profile = resolveProfile('box', '', real);
    const err = await p.failure(profile, '', 'Connection lost before handshake');
    expect(err.message).toBe('The ProxyCommand for box exited (status 7) before the SSH handshake was done; it said: no route to bastion');
    expect(err.hint).toContain("/bin/sh -c 'exec sh -c 'echo no route to bastion >&2; exit 7''");
  });
});
