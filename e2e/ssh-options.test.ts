// SSH the way users' configs ask for it: ProxyJump chains, ssh-agent, encrypted
// keys with a passphrase prompt, kernelspecs and working directories.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { runJupyterCheck } from './harness/jupyter';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

let remote: RemoteHost;
let base: string;
const agents: HostedAgent[] = [];

beforeAll(async () => {
  remote = await startRemoteHost();
  base = await mkdtemp(path.join(tmpdir(), 'kt-sshopts-'));
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await remote?.stop();
  await rm(base, { recursive: true, force: true });
});

async function agentWith(name: string, config: string, opts: { serve?: boolean } = {}) {
  const file = path.join(base, `${name}.ssh_config`);
  await writeFile(file, config, { mode: 0o600 });
  const hosted = await hostAgent({ mode: 'headless', home: path.join(base, name), runtimeDir: path.join(base, `${name}-rt`), sshConfigFile: file, serve: opts.serve ?? false });
  agents.push(hosted);
  return hosted;
}

async function harnessConfig(): Promise<string> {
  return readFile(remote.sshConfigFile, 'utf8');
}

describe('ssh_config features against the real sshd', () => {
  it('goes through a ProxyJump chain of two hops', async () => {
    // Inside the remote, its sshd also listens on 127.0.0.1:22: each hop lands there again.
    const kh = path.join(base, 'known_hosts.jump');
    const key = remote.hostKeyLine;
    await writeFile(kh, `[127.0.0.1]:${remote.port} ${key}\n127.0.0.1 ${key}\n`, { mode: 0o600 });
    const cfg = (await harnessConfig()).replace(/UserKnownHostsFile .*/g, `UserKnownHostsFile ${kh}`);
    const common = `  User ${remote.user}\n  IdentityFile ${remote.identityFile}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${kh}\n`;
    const config = `${cfg}\nHost hop2\n  HostName 127.0.0.1\n  Port 22\n${common}\nHost inner\n  HostName 127.0.0.1\n  Port 22\n  ProxyJump ${remote.alias},hop2\n${common}`;
    const { connection } = await agentWith('jump', config);
    const hosts = await connection.hosts({});
    expect(hosts.find((h) => h.id === 'inner')?.proxyJump).toEqual([remote.alias, 'hop2']);
    const k = await connection.start({ host: 'inner', python: remote.python });
    const { localConnectionFile } = await connection.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, 'import socket; socket.gethostname()')).result).toBe(`'${remote.alias}'`);
    await connection.stop({ id: k.id });
  });

  it('refuses an unknown jump host, naming it', async () => {
    const kh = path.join(base, 'known_hosts.partial');
    await writeFile(kh, `[127.0.0.1]:${remote.port} ${remote.hostKeyLine}\n`, { mode: 0o600 });
    const cfg = (await harnessConfig()).replace(/UserKnownHostsFile .*/g, `UserKnownHostsFile ${kh}`);
    const config = `${cfg}\nHost inner2\n  HostName 127.0.0.1\n  Port 22\n  User ${remote.user}\n  IdentityFile ${remote.identityFile}\n  UserKnownHostsFile ${kh}\n  ProxyJump ${remote.alias}\n`;
    const { connection } = await agentWith('jump-unknown', config);
    await expect(connection.kernels({ host: 'inner2', refresh: true })).rejects.toMatchObject({
      code: 'HOST_KEY_UNKNOWN',
      message: expect.stringContaining('inner2'),
      hint: expect.stringContaining('ktray trust inner2'),
    });
  });

  it('authenticates with a key held by a real ssh-agent', async () => {
    const sock = path.join(base, 'agent.sock');
    const agentProc = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50; i++) {
        try {
          execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
          break;
        } catch (err) {
          if ((err as { status?: number }).status === 1) break; // running, no identities yet
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      execFileSync('ssh-add', [remote.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const cfg = (await harnessConfig()).replace(/\s*IdentityFile .*/g, '').replace(/\s*IdentitiesOnly .*/g, '');
      const { connection } = await agentWith('agent', `${cfg}\n  IdentityAgent ${sock}\n  IdentityFile ${path.join(base, 'no-such-key')}\n`);
      const kernels = await connection.kernels({ host: remote.alias, refresh: true });
      expect(Array.isArray(kernels)).toBe(true);
      expect((await connection.hosts({})).find((h) => h.id === remote.alias)?.connection).toBe('connected');
    } finally {
      agentProc.kill();
    }
  });

  it('asks an interactive client for an encrypted key\'s passphrase, and says when it is wrong', async () => {
    const cfg = (await harnessConfig()).replace(/IdentityFile .*/, `IdentityFile ${remote.encryptedIdentityFile}`);
    const hosted = await agentWith('passphrase', cfg, { serve: true });
    const asked: string[] = [];
    const note = (p: { keyFile?: string; instructions?: string }) => `${p.keyFile ?? ''}${p.instructions ? ` (${p.instructions})` : ''}`;
    const wrong = await connectAgent({ home: path.join(base, 'passphrase'), askPassphrase: async (p) => (asked.push(note(p)), 'not-it') });
    await expect(wrong!.kernels({ host: remote.alias, refresh: true })).rejects.toMatchObject({ code: 'AUTH_FAILED', hint: expect.stringContaining('wrong passphrase') });
    wrong!.dispose();
    // As ssh: a wrong one is asked again, saying so, NumberOfPasswordPrompts (3) times in all.
    const again = `${remote.encryptedIdentityFile} (Wrong passphrase; try again.)`;
    expect(asked).toEqual([remote.encryptedIdentityFile, again, again]);
    const right = await connectAgent({ home: path.join(base, 'passphrase'), askPassphrase: async (p) => (asked.push(note(p)), remote.passphrase) });
    expect(await right!.kernels({ host: remote.alias, refresh: true })).toEqual([]);
    right!.dispose();
    expect(asked).toEqual([remote.encryptedIdentityFile, again, again, remote.encryptedIdentityFile]);
    void hosted;
  });

  it('starts from a kernelspec in a working directory, and names the kernelspecs there when one is missing', async () => {
    const { connection } = await agentWith('specs', await harnessConfig());
    await remote.exec('mkdir -p "$HOME/my project"');
    const offer = await connection.offer({ host: remote.alias });
    expect(offer.kernelspecs.map((s) => s.name)).toContain('python3');
    expect(offer.pythons.find((p) => p.path === '/usr/bin/python3')?.hasIpykernel).toBe(true);
    const k = await connection.start({ host: remote.alias, kernel: 'python3', cwd: `${remote.home}/my project` });
    const { localConnectionFile } = await connection.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, 'import os; os.getcwd()')).result).toBe(`'${remote.home}/my project'`);
    await connection.stop({ id: k.id });
    await expect(connection.start({ host: remote.alias, kernel: 'nope' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('no kernelspec named nope'),
      hint: expect.stringContaining('python3'),
    });
    await expect(connection.start({ host: remote.alias, cwd: '/no/such/dir' })).rejects.toMatchObject({ message: expect.stringContaining('/no/such/dir does not exist') });
  });
});
