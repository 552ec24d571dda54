// The OpenSSH transport: a host whose ControlMaster the user already has open is reached
// through it (no second login at the sshd), kernels on TCP and on unix sockets attached and
// running code with a real jupyter_client, and `ktray hosts` saying which transport and why.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { runJupyterCheck } from './harness/jupyter';
import { run, sleep } from './harness/proc';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

let remote: RemoteHost;
let base: string;
let master: ChildProcess | null = null;
const agents: HostedAgent[] = [];

beforeAll(async () => {
  remote = await startRemoteHost();
  base = await mkdtemp(path.join(tmpdir(), 'kt-openssh-'));
});

afterAll(async () => {
  for (const a of agents) await a.close();
  master?.kill();
  await remote?.stop();
  await rm(base, { recursive: true, force: true });
});

describe('the OpenSSH transport', () => {
  it("uses the user's own ControlMaster: no second login, kernels on TCP and unix sockets work through it, and survive a drop", async () => {
    const config = path.join(base, 'ssh_config');
    // The harness's Host block, with a ControlPath (ssh expands %C itself).
    await writeFile(config, `${await readFile(remote.sshConfigFile, 'utf8')}  ControlPath ${base}/cm-%C\n`, { mode: 0o600 });
    master = spawn('ssh', ['-F', config, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-o', 'BatchMode=yes', '-N', remote.alias], { stdio: 'ignore' });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await run('ssh', ['-F', config, '-O', 'check', remote.alias])).code === 0;
      if (!up) await sleep(100);
    }
    expect(up, 'the test ControlMaster came up').toBe(true);
    const logins = remote.acceptedCount();

    const hosted = await hostAgent({ mode: 'headless', home: path.join(base, 'home'), runtimeDir: path.join(base, 'rt'), sshConfigFile: config, serve: false });
    agents.push(hosted);
    const c = hosted.connection;
    const tcp = await c.start({ host: remote.alias, python: remote.python });
    const ipc = await c.start({ host: remote.alias, python: remote.python, transport: 'ipc' });
    const ft = (await c.attach({ id: tcp.id })).localConnectionFile;
    const fi = (await c.attach({ id: ipc.id })).localConnectionFile;
    expect((await runJupyterCheck(ft, 'import socket; socket.gethostname()')).result).toBe(`'${remote.alias}'`);
    expect((await runJupyterCheck(fi, '6*7')).result).toBe('42');
    const h = (await c.hosts({})).find((x) => x.id === remote.alias);
    expect(h?.transport).toEqual({ kind: 'openssh', why: expect.stringMatching(new RegExp(`^your ControlMaster at ${base}/cm-[0-9a-f]{40}$`)) });
    expect(h?.connection).toBe('connected');
    // Everything went through the one connection the user opened.
    expect(remote.acceptedCount()).toBe(logins);

    // The link drops: the user's master ends; the host comes back through a master of our own
    // and the attached kernels carry on, as over ssh2.
    remote.dropConnections();
    let result: string | null = null;
    for (let i = 0; i < 30 && result !== '42'; i++) {
      result = (await runJupyterCheck(ft, '6*7', { timeoutSec: 10 })).result;
      if (result !== '42') await sleep(500);
    }
    expect(result).toBe('42');
    expect((await runJupyterCheck(fi, '7*6')).result).toBe('42');
    expect((await c.hosts({})).find((x) => x.id === remote.alias)?.connection).toBe('connected');
    await c.stop({ id: tcp.id });
    await c.stop({ id: ipc.id });
  });
});
