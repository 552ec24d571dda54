// OpenSSH certificates, through the OpenSSH transport (ssh2 has none): a sshd that trusts user
// certificates of a test CA (TrustedUserCAKeys; the certified key is NOT in authorized_keys)
// and shows a host certificate signed by another test CA, known_hosts holding only
// `@cert-authority` lines. A real kernel is started, attached and runs code with a real
// jupyter_client; an unknown CA and a revoked host key are refused in ssh's own words.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { argvsHolding, watchLocalArgv, watchRemoteArgv } from './harness/argv-watch';
import { runJupyterCheck } from './harness/jupyter';
import { cliWorld } from './ktray-cli';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

let remote: RemoteHost;
let base: string;
let config: string;
const agents: HostedAgent[] = [];

beforeAll(async () => {
  remote = await startRemoteHost({ certificates: true });
  base = await mkdtemp(path.join(tmpdir(), 'kt-certs-'));
  const certs = remote.certificates!;
  const pattern = `[127.0.0.1]:${remote.port}`;
  const kh = (name: string, lines: string[]) => {
    const file = path.join(base, name);
    return writeFile(file, lines.join('\n') + '\n', { mode: 0o600 }).then(() => file);
  };
  const caOnly = await kh('kh-ca', [`@cert-authority ${pattern} ${certs.hostCaLine}`]);
  const otherCa = await kh('kh-other-ca', [`@cert-authority ${pattern} ${certs.otherCaLine}`]);
  const revoked = await kh('kh-revoked', [`@cert-authority ${pattern} ${certs.hostCaLine}`, `@revoked ${pattern} ${remote.hostKeyLine}`]);
  const host = (alias: string, identityFile: string, knownHosts: string) =>
    [
      `Host ${alias}`,
      '  HostName 127.0.0.1',
      `  Port ${remote.port}`,
      `  User ${remote.user}`,
      `  IdentityFile ${identityFile}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n');
  config = path.join(base, 'ssh_config');
  await writeFile(
    config,
    [
      host('ca-user', certs.certIdentityFile, caOnly),
      host('ca-host', remote.identityFile, caOnly),
      host('ca-unknown', certs.certIdentityFile, otherCa),
      host('ca-revoked', certs.certIdentityFile, revoked),
      host('plain', remote.identityFile, remote.knownHostsFile),
    ].join(''),
    { mode: 0o600 },
  );
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await remote?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

/** The argvs of ssh master processes (ours: ControlMaster=yes ... -N HOST) for this test's config. */
function sshMastersFor(alias: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {
        return [];
      }
    })
    .filter((a) => a[0] === 'ssh' && a.includes(config) && a.includes('ControlMaster=yes') && a.at(-1) === alias && a.at(-2) === '-N')
    .map((a) => a.join(' '));
}

async function agent(name: string): Promise<HostedAgent> {
  const hosted = await hostAgent({ mode: 'headless', home: path.join(base, name), runtimeDir: path.join(base, `${name}-rt`), sshConfigFile: config, serve: false });
  agents.push(hosted);
  return hosted;
}

describe('OpenSSH certificates', () => {
  it('logs in with a user certificate to a host known only by its CA: a kernel starts, attaches and runs code, no key in any argv', async () => {
    const c = (await agent('ok')).connection;
    const hosts = await c.hosts({});
    expect(hosts.find((h) => h.id === 'ca-user')?.transport).toEqual({
      kind: 'openssh',
      why: `a user certificate (${remote.certificates!.certIdentityFile}-cert.pub): ssh2 has no certificates`,
    });
    expect(hosts.find((h) => h.id === 'ca-host')?.transport).toEqual({
      kind: 'openssh',
      why: `an @cert-authority line (${path.join(base, 'kh-ca')}:1) vouches for its host key: ssh2 cannot check host certificates`,
    });

    const here = watchLocalArgv();
    const there = watchRemoteArgv(remote);
    const k = await c.start({ host: 'ca-user', python: remote.python });
    const { localConnectionFile } = await c.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, '6*7')).result).toBe('42');
    const key = (JSON.parse(await readFile(localConnectionFile, 'utf8')) as { key: string }).key;
    expect(key.length).toBeGreaterThan(16);
    await c.stop({ id: k.id });
    // sshd logged the certificate login (its CA key and the certificate's ID).
    expect(remote.logs()).toMatch(/Accepted publickey for \S+ from .* ED25519-CERT SHA256:\S+ ID kt-e2e-cert/);
    for (const [w, where] of [[here, 'here'], [there, 'on the remote']] as const) {
      if (!w) continue;
      const seen = await w.stop();
      expect(seen.scans, `argv samples ${where}`).toBeGreaterThan(0);
      expect(argvsHolding(seen.cmdlines, key), `argvs ${where} holding the kernel key`).toEqual([]);
    }

    // The plain key (in authorized_keys) against the host certificate alone.
    expect((await c.offer({ host: 'ca-host' })).pythons.length).toBeGreaterThan(0);
  });

  it('refuses a host whose certificate no known CA signed, in ssh\'s words, naming the host and what to do', async () => {
    const c = (await agent('unknown')).connection;
    const err = await c.kernels({ host: 'ca-unknown', refresh: true }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; hint: string },
    );
    expect(err).toMatchObject({
      code: 'HOST_KEY_UNKNOWN',
      message: expect.stringMatching(/^ssh refused ca-unknown: neither its host key nor a certificate authority \(@cert-authority\) for it is in known_hosts\. ssh said: .*Host key verification failed\./s),
      hint: expect.stringContaining("Ask the host's administrator for its host key fingerprint or its CA's public key"),
    });
  });

  it('refuses a revoked host key even with its CA trusted', async () => {
    const c = (await agent('revoked')).connection;
    const err = await c.kernels({ host: 'ca-revoked', refresh: true }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; hint: string },
    );
    expect(err).toMatchObject({
      code: 'HOST_KEY_CHANGED',
      message: expect.stringMatching(/^ssh refused ca-revoked: its host key is revoked in known_hosts \(an @revoked line\)\. ssh said: .*revoked.*Host key verification failed\./s),
    });
  });

  it('ktray hosts HOST --transport sets it by hand, kept in the state; auto gives the choice back', async () => {
    const world = await cliWorld(config);
    try {
      const before = await world.run(['hosts', 'plain']);
      expect(before.code).toBe(0);
      expect(before.stdout).not.toContain('OpenSSH');
      const set = await world.run(['hosts', 'plain', '--transport', 'openssh']);
      expect(set).toMatchObject({ code: 0, stdout: 'plain goes through your OpenSSH client (set by hand). `ktray hosts plain --transport auto` gives the choice back to its ssh config.\n' });
      expect((await readFile(path.join(world.home, 'state.json'), 'utf8')).replace(/\s/g, '')).toContain('"transports":{"plain":"openssh"}');
      const logins = remote.acceptedCount();
      const ls = await world.run(['ls', 'plain']);
      expect(ls.code, ls.stderr).toBe(0);
      expect(remote.acceptedCount()).toBeGreaterThan(logins);
      // Through ssh: its master is an `ssh ... -N plain` process of this agent's.
      expect(sshMastersFor('plain'), 'ssh -M -N plain processes').toHaveLength(1);
      expect((await world.run(['hosts', 'plain'])).stdout).toContain('(OpenSSH: set by hand');

      // ssh2 by hand for a host only a CA vouches for: ssh2's own refusal, naming the way back.
      expect((await world.run(['hosts', 'ca-host', '--transport', 'ssh2'])).code).toBe(0);
      const refused = await world.run(['ls', 'ca-host']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('`ktray hosts ca-host --transport auto` lets your ssh check it');
      const back = await world.run(['hosts', 'ca-host', '--transport', 'auto']);
      expect(back.stdout).toContain('ca-host goes through your OpenSSH client (an @cert-authority line');
      expect((await world.run(['ls', 'ca-host'])).code).toBe(0);

      const bad = await world.run(['hosts', 'plain', '--transport', 'telnet']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('"telnet" is not a transport');
    } finally {
      await world.dispose();
    }
  });
});
