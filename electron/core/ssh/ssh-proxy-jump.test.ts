import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import { resolveProfile, type ProfileContext } from './ssh-profile';
import { jumpChain, type ProxyHop } from './ssh-proxy-jump';

const dir = mkdtempSync(join(tmpdir(), 'ktray-jump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ctx: ProfileContext = { homeDir: join(dir, 'home'), localUser: 'me', env: {}, localHostname: 'laptop' };

/** The chain Kernel Tray connects through for `alias`, as `alias@user@host:port` strings. */
function chainOf(config: string, alias: string): string[] {
  const hop = (h: ProxyHop) => {
    const p = resolveProfile(h.host, config, ctx);
    return { ...p, user: h.user ?? p.user, port: h.port ?? p.port };
  };
  return jumpChain(resolveProfile(alias, config, ctx), hop).map((p) => `${p.alias}=${p.user}@${p.hostname}:${p.port}`);
}

/** What `ssh -G` settles on for ProxyJump, with these extra arguments. */
function sshJump(config: string, args: string[]): string {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, config);
  const r = spawnSync('ssh', ['-G', '-F', file, ...args], { encoding: 'utf8' });
  return /^proxyjump (.*)$/m.exec(r.stdout)?.[1] ?? 'none';
}

const config = `
Host kernel
  HostName 10.0.0.5
  ProxyJump second
Host second
  HostName 10.0.0.2
  User bob
  ProxyJump first
Host first
  HostName first.example.org
  Port 2222
Host gw
  ProxyJump third
Host third
  ProxyJump ann@first
`;

describe("a jump host's own ProxyJump, followed as OpenSSH follows it", () => {
  it('goes through the first hop of the jump host first', () => {
    expect(chainOf(config, 'kernel')).toEqual(['first=me@first.example.org:2222', 'second=bob@10.0.0.2:22']);
  });

  it('follows it at every depth, the hop spec giving the user and port', () => {
    expect(chainOf(config, 'gw')).toEqual(['first=ann@first.example.org:2222', 'third=me@third:22']);
  });

  it("ignores the own ProxyJump of a list's later hops (ssh reaches them with -J, which wins), as ssh -G shows", () => {
    const cfg = `${config}\nHost two\n  ProxyJump gw,second\n`;
    // ssh makes `ssh -J gw second`: -J on its command line beats second's own `ProxyJump first`.
    expect(sshJump(cfg, ['-J', 'gw', 'second'])).toBe('gw');
    // and gw is reached by a plain `ssh gw`, its own ProxyJump applying.
    expect(sshJump(cfg, ['gw'])).toBe('third');
    expect(chainOf(cfg, 'two')).toEqual(['first=ann@first.example.org:2222', 'third=me@third:22', 'gw=me@gw:22', 'second=bob@10.0.0.2:22']);
  });

  it('stops at ProxyJump none, the usual way out of a Host * rule', () => {
    const cfg = 'Host bastion\n  ProxyJump none\nHost *\n  ProxyJump bastion\n';
    expect(sshJump(cfg, ['bastion'])).toBe('none');
    expect(chainOf(cfg, 'box')).toEqual(['bastion=me@bastion:22']);
  });

  it('refuses a loop, naming the chain', () => {
    const cfg = 'Host a\n  ProxyJump b\nHost b\n  ProxyJump c\nHost c\n  ProxyJump a\nHost *\n  ProxyJump bastion\n';
    let err: unknown;
    try {
      chainOf(cfg, 'a');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KtrayError);
    expect(err).toMatchObject({ code: 'SSH_CONFIG_INVALID', message: 'The ProxyJump chain for a loops: a → b → c → a (each host\'s ProxyJump names the next).' });
    expect(() => chainOf(cfg, 'bastion')).toThrow('The ProxyJump chain for bastion loops: bastion → bastion');
    expect((err as KtrayError).hint).toContain('ProxyJump none');
  });
});
