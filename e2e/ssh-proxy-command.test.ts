// ProxyCommand as ssh runs it, against the real sshd: a plain socat pipe and `ssh -W` through a
// bastion, one process per connection shared by every kernel and tunnel, a failing command's
// stderr in the error, and `ProxyCommand none`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { runJupyterCheck } from './harness/jupyter';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { sleep } from './harness/proc';

let remote: RemoteHost;
let base: string;
const agents: HostedAgent[] = [];

beforeAll(async () => {
  remote = await startRemoteHost();
  base = await mkdtemp(path.join(tmpdir(), 'kt-proxycmd-'));
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await remote?.stop();
  await rm(base, { recursive: true, force: true });
});

async function agentWith(name: string, config: string) {
  const file = path.join(base, `${name}.ssh_config`);
  await writeFile(file, config, { mode: 0o600 });
  const hosted = await hostAgent({ mode: 'headless', home: path.join(base, name), runtimeDir: path.join(base, `${name}-rt`), sshConfigFile: file, serve: false });
  agents.push(hosted);
  return hosted.connection;
}

/** The lines of a Host block that reaches the harness sshd's user with its key. */
const login = () => `  User ${remote.user}\n  IdentityFile ${remote.identityFile}\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n`;

const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('ProxyCommand', () => {
  it('carries every kernel and tunnel of a host over one socat pipe, expanding %r %n %h %p %%, and a new one after a drop', async () => {
    const log = path.join(base, 'pipe.log');
    const config = `Host pc-pipe
  HostName 127.0.0.1
  Port ${remote.port}
${login()}  UserKnownHostsFile ${remote.knownHostsFile}
  ProxyCommand sh -c 'echo "%r %n %h %p %%" >> ${log}; exec socat - TCP:%h:%p'
`;
    const connection = await agentWith('pipe', config);
    expect((await connection.hosts({})).find((h) => h.id === 'pc-pipe')?.proxyCommand).toContain('socat - TCP:%h:%p');
    const a = await connection.start({ host: 'pc-pipe', python: remote.python });
    const b = await connection.start({ host: 'pc-pipe', python: remote.python });
    const fa = (await connection.attach({ id: a.id })).localConnectionFile;
    const fb = (await connection.attach({ id: b.id })).localConnectionFile;
    expect((await runJupyterCheck(fa, 'import socket; socket.gethostname()')).result).toBe(`'${remote.alias}'`);
    expect((await runJupyterCheck(fb, '6*7')).result).toBe('42');
    await connection.kernels({ host: 'pc-pipe', refresh: true });
    // Two kernels, two attaches, several commands: one ProxyCommand, as one ssh2 connection.
    expect(await lines(log)).toEqual([`${remote.user} pc-pipe 127.0.0.1 ${remote.port} %`]);

    remote.dropConnections();
    let result: string | null = null;
    for (let i = 0; i < 20 && result !== '42'; i++) {
      result = (await runJupyterCheck(fa, '6*7', { timeoutSec: 10 })).result;
      if (result !== '42') await sleep(500);
    }
    expect(result).toBe('42');
    expect((await runJupyterCheck(fb, '6*7')).result).toBe('42');
    expect(await lines(log)).toHaveLength(2);
    await connection.stop({ id: a.id });
    await connection.stop({ id: b.id });
  });

  it('goes through a bastion with `ssh -W %h:%p`, the system ssh reaching the bastion', async () => {
    // The bastion is the harness host; from inside it, its own sshd listens on 127.0.0.1:22.
    const kh = path.join(base, 'known_hosts.inner');
    await writeFile(kh, `127.0.0.1 ${remote.hostKeyLine}\n`, { mode: 0o600 });
    const config = `Host pc-inner
  HostName 127.0.0.1
  Port 22
${login()}  UserKnownHostsFile ${kh}
  ProxyCommand ssh -F ${remote.sshConfigFile} -o BatchMode=yes -W %h:%p ${remote.alias}
`;
    const connection = await agentWith('bastion', config);
    const k = await connection.start({ host: 'pc-inner', python: remote.python });
    const { localConnectionFile } = await connection.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, 'import socket; socket.gethostname()')).result).toBe(`'${remote.alias}'`);
    await connection.stop({ id: k.id });
  });

  it('says what a failing ProxyCommand wrote to stderr, and how it exited', async () => {
    const config = `Host pc-fail
  HostName 127.0.0.1
  Port ${remote.port}
${login()}  UserKnownHostsFile ${remote.knownHostsFile}
  ProxyCommand sh -c 'echo "bastion.example: Permission denied (publickey)." >&2; exit 255'
`;
    const connection = await agentWith('fail', config);
    await expect(connection.kernels({ host: 'pc-fail', refresh: true })).rejects.toMatchObject({
      code: 'HOST_UNREACHABLE',
      message: 'The ProxyCommand for pc-fail exited (status 255) before the SSH handshake was done; it said: bastion.example: Permission denied (publickey).',
      hint: expect.stringContaining('ssh pc-fail'),
    });
  });

  it('honours ProxyCommand none set before a Host * ProxyCommand, and ProxyCommand before ProxyJump', async () => {
    const config = `Host pc-direct
  ProxyCommand none
Host pc-first
  ProxyCommand socat - TCP:%h:%p
  ProxyJump nowhere.invalid
Host pc-direct pc-first
  HostName 127.0.0.1
  Port ${remote.port}
${login()}  UserKnownHostsFile ${remote.knownHostsFile}
Host *
  ProxyCommand sh -c 'echo not this one >&2; exit 9'
`;
    const connection = await agentWith('none', config);
    expect(await connection.kernels({ host: 'pc-direct', refresh: true })).toEqual([]);
    expect(await connection.kernels({ host: 'pc-first', refresh: true })).toEqual([]);
    expect((await connection.hosts({})).find((h) => h.id === 'pc-first')?.proxyJump).toEqual([]);
  });
});
