// Which keys Kernel Tray offers, against the real sshd, a real ssh-agent and the real `ssh`:
// the same as OpenSSH does for the same config, and precise words when there is nothing to offer.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { run } from './harness/proc';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { startSshAgent, type SshAgent } from './harness/ssh-agent';

let remote: RemoteHost;
let base: string;
const agents: HostedAgent[] = [];
const sshAgents: SshAgent[] = [];

beforeAll(async () => {
  remote = await startRemoteHost();
  base = await mkdtemp(path.join(tmpdir(), 'kt-sshauth-'));
});

afterAll(async () => {
  for (const a of agents) await a.close();
  for (const a of sshAgents) a.stop();
  await remote?.stop();
  await rm(base, { recursive: true, force: true });
});

/** The harness's config for the remote with its key lines replaced by `keyLines`. */
async function configWith(name: string, keyLines: string[]): Promise<string> {
  const text = (await readFile(remote.sshConfigFile, 'utf8')).replace(/^\s*(IdentityFile|IdentitiesOnly) .*\n/gm, '');
  const file = path.join(base, `${name}.ssh_config`);
  await writeFile(file, `${text.trimEnd()}\n${keyLines.map((l) => `  ${l}\n`).join('')}`, { mode: 0o600 });
  return file;
}

/** An in-process agent with no terminal and nobody to ask for a passphrase; SSH_AUTH_SOCK unset. */
async function ktrayWith(name: string, configFile: string) {
  const saved = process.env.SSH_AUTH_SOCK;
  delete process.env.SSH_AUTH_SOCK;
  try {
    const hosted = await hostAgent({ mode: 'headless', home: path.join(base, name), runtimeDir: path.join(base, `${name}-rt`), sshConfigFile: configFile, serve: false });
    agents.push(hosted);
    return hosted.connection;
  } finally {
    if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
  }
}

/** What the real ssh makes of the same config, without a terminal. */
async function sshLogsIn(configFile: string): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  const r = await run('ssh', ['-F', configFile, '-o', 'BatchMode=yes', remote.alias, 'true'], { env, timeoutMs: 30_000 });
  return { code: r.code, stderr: r.stderr };
}

async function agentHolding(name: string, file: string, passphrase?: string): Promise<SshAgent> {
  const dir = path.join(base, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const a = await startSshAgent(dir);
  sshAgents.push(a);
  await a.add(file, passphrase);
  return a;
}

describe('IdentitiesOnly yes with the key in ssh-agent', () => {
  it('logs in with the agent\'s copy of an encrypted IdentityFile, asking nobody, as ssh does', async () => {
    const a = await agentHolding('ag-enc', remote.encryptedIdentityFile, remote.passphrase);
    const config = await configWith('enc', [`IdentityAgent ${a.sock}`, `IdentityFile ${remote.encryptedIdentityFile}`, 'IdentitiesOnly yes']);
    expect((await sshLogsIn(config)).code).toBe(0);
    const ktray = await ktrayWith('enc', config);
    expect(await ktray.kernels({ host: remote.alias, refresh: true })).toEqual([]);
    expect((await ktray.hosts({})).find((h) => h.id === remote.alias)?.connection).toBe('connected');
  });

  it('finds the key by the private file\'s own public half when there is no .pub beside it', async () => {
    const dir = path.join(base, 'nopub');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lone = path.join(dir, 'id_lone');
    await copyFile(remote.encryptedIdentityFile, lone);
    const a = await agentHolding('ag-nopub', remote.encryptedIdentityFile, remote.passphrase);
    const config = await configWith('nopub', [`IdentityAgent ${a.sock}`, `IdentityFile ${lone}`, 'IdentitiesOnly yes']);
    expect((await sshLogsIn(config)).code).toBe(0);
    const ktray = await ktrayWith('nopub', config);
    expect(await ktray.kernels({ host: remote.alias, refresh: true })).toEqual([]);
  });

  it('does not offer agent keys that are not an IdentityFile, and says so', async () => {
    // The agent holds a key the server accepts, but IdentitiesOnly names another one.
    const a = await agentHolding('ag-other', remote.identityFile);
    const stranger = path.join(base, 'id_stranger');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const config = await configWith('other', [`IdentityAgent ${a.sock}`, `IdentityFile ${stranger}`, 'IdentitiesOnly yes']);
    expect((await sshLogsIn(config)).code).not.toBe(0);
    const ktray = await ktrayWith('other', config);
    const err = await ktray.kernels({ host: remote.alias, refresh: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining('refused every key') });
    expect((err as { hint: string }).hint).toContain(`${stranger} (ssh-ed25519, refused)`);
    expect((err as { hint: string }).hint).toContain(`ssh-agent at ${a.sock}: 1 key, not offered (IdentitiesOnly yes)`);
  });
});

describe('when there is no key to offer', () => {
  it('says no key file was found and there is no agent', async () => {
    const missing = path.join(base, 'no-such-key');
    const config = await configWith('none', [`IdentityFile ${missing}`, 'IdentityAgent none']);
    const ktray = await ktrayWith('none', config);
    const err = await ktray.kernels({ host: remote.alias, refresh: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_FAILED', host: remote.alias });
    const { message, hint } = err as { message: string; hint: string };
    expect(message).toContain('had no key to offer');
    expect(message).not.toContain('refused');
    expect(hint).toContain(`${missing} (not found)`);
    expect(hint).toContain('no ssh-agent (IdentityAgent none)');
    expect(hint).toContain('ssh-keygen');
  });

  it('says the key file cannot be read as a key', async () => {
    const garbage = path.join(base, 'id_garbage');
    await writeFile(garbage, 'this is not a key\n', { mode: 0o600 });
    const config = await configWith('garbage', [`IdentityFile ${garbage}`, 'IdentityAgent none']);
    const ktray = await ktrayWith('garbage', config);
    await expect(ktray.kernels({ host: remote.alias, refresh: true })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringContaining('had no key to offer'),
      hint: expect.stringContaining(`${garbage} (not a key Kernel Tray can read`),
    });
  });

  it('says the ssh-agent holds no keys, and how to add one', async () => {
    const dir = path.join(base, 'ag-empty');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const a = await startSshAgent(dir);
    sshAgents.push(a);
    const config = await configWith('empty', [`IdentityAgent ${a.sock}`, `IdentityFile ${path.join(base, 'absent')}`]);
    const ktray = await ktrayWith('empty', config);
    await expect(ktray.kernels({ host: remote.alias, refresh: true })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringContaining('had no key to offer'),
      hint: expect.stringMatching(new RegExp(`ssh-agent at ${a.sock} holds no keys \\(\`ssh-add\` adds one\\)`)),
    });
  });

  it('says the ssh-agent cannot be reached, and still tries the key files', async () => {
    const gone = path.join(base, 'no-agent.sock');
    const config = await configWith('gone', [`IdentityAgent ${gone}`, `IdentityFile ${remote.identityFile}`]);
    const ktray = await ktrayWith('gone', config);
    expect(await ktray.kernels({ host: remote.alias, refresh: true })).toEqual([]);
  });
});
