// A jump host's own ProxyJump, followed as OpenSSH follows it, against two
// real bastions in network namespaces of their own: the kernel host is the
// second bastion's loopback sshd (127.0.0.1:22 inside its namespace, which
// nothing else can reach), the second bastion is reachable only from inside
// the first one's namespace (a relay there), and the config names only
// `ProxyJump bastion2` for the kernel host and `ProxyJump bastion1` for
// bastion2. The system's ssh goes the same way with the same file.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { runJupyterCheck } from './harness/jupyter';
import { freePort, tryConnect } from './harness/net';
import { runOk, sleep } from './harness/proc';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

const ROOT = process.getuid?.() === 0;
if (!ROOT) console.warn('ssh-jump-chain tests skipped: two bastions in namespaces of their own need root');

let first: RemoteHost;
let second: RemoteHost;
let base: string;
let relayPort: number;
const procs: ChildProcess[] = [];
const agents: HostedAgent[] = [];

beforeAll(async () => {
  if (!ROOT) return;
  base = await mkdtemp(path.join(tmpdir(), 'kt-jumpchain-'));
  await chmod(base, 0o755);
  [first, second] = await Promise.all([startRemoteHost(), startRemoteHost()]);
  // The second bastion's sshd, on a unix socket here, and from inside the first one's namespace on
  // its own loopback: nothing outside that namespace can reach 127.0.0.1:relayPort there.
  const sock = path.join(base, 'second.sock');
  procs.push(spawn('socat', [`UNIX-LISTEN:${sock},fork,mode=777`, `TCP:127.0.0.1:${second.port}`], { stdio: 'ignore' }));
  relayPort = await freePort();
  for (let i = 0; i < 50 && !existsSync(sock); i++) await sleep(100);
  procs.push(first.spawnAs!('nobody', ['socat', `TCP-LISTEN:${relayPort},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`]));
  for (let i = 0; i < 50; i++) {
    const probe = `import socket; socket.create_connection(('127.0.0.1', ${relayPort}), 2); print('up')`;
    if ((await first.exec(`python3 -c "${probe}" 2>/dev/null`)).stdout.includes('up')) break;
    await sleep(100);
  }
}, 180_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  for (const p of procs) p.kill();
  await Promise.all([first?.stop(), second?.stop()]);
  if (base) await rm(base, { recursive: true, force: true });
});

async function chainConfig(): Promise<string> {
  const kh = path.join(base, 'known_hosts');
  await writeFile(kh, `[127.0.0.1]:${first.port} ${first.hostKeyLine}\n[127.0.0.1]:${relayPort} ${second.hostKeyLine}\n127.0.0.1 ${second.hostKeyLine}\n`, { mode: 0o600 });
  const firstCfg = (await readFile(first.sshConfigFile, 'utf8')).replace(/UserKnownHostsFile .*/g, `UserKnownHostsFile ${kh}`);
  const asSecond = `  User ${second.user}\n  IdentityFile ${second.identityFile}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${kh}\n  StrictHostKeyChecking yes\n`;
  return `${firstCfg}\nHost kt-bastion2\n  HostName 127.0.0.1\n  Port ${relayPort}\n  ProxyJump ${first.alias}\n${asSecond}\nHost kt-kernel-host\n  HostName 127.0.0.1\n  Port 22\n  ProxyJump kt-bastion2\n${asSecond}`;
}

describe.skipIf(!ROOT)("a jump host's own ProxyJump", () => {
  it('reaches a kernel host only the second bastion can reach, through the first, and runs a kernel there', async () => {
    const file = path.join(base, 'ssh_config');
    await writeFile(file, await chainConfig(), { mode: 0o600 });
    // The second bastion is not reachable from here: only the chain gets there.
    expect(await tryConnect(relayPort)).not.toBe('connected');
    // OpenSSH itself goes this way with this file.
    const viaSsh = await runOk('ssh', ['-F', file, '-o', 'BatchMode=yes', 'kt-kernel-host', 'hostname'], { timeoutMs: 60_000 });
    expect(viaSsh.stdout.trim()).toBe(second.alias);

    const hosted = await hostAgent({ mode: 'headless', home: path.join(base, 'home'), runtimeDir: path.join(base, 'rt'), sshConfigFile: file, serve: false });
    agents.push(hosted);
    const c = hosted.connection;
    expect((await c.hosts({})).find((h) => h.id === 'kt-kernel-host')?.proxyJump).toEqual([first.alias, 'kt-bastion2']);
    const k = await c.start({ host: 'kt-kernel-host', python: second.python });
    const { localConnectionFile } = await c.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, 'import socket; socket.gethostname()')).result).toBe(`'${second.alias}'`);
    await c.stop({ id: k.id });
  });

  it('refuses a ProxyJump loop, naming the chain, before connecting anywhere', async () => {
    const file = path.join(base, 'ssh_config.loop');
    await writeFile(file, `Host loop-a\n  HostName 127.0.0.1\n  ProxyJump loop-b\nHost loop-b\n  HostName 127.0.0.1\n  ProxyJump loop-a\n`, { mode: 0o600 });
    const hosted = await hostAgent({ mode: 'headless', home: path.join(base, 'home-loop'), runtimeDir: path.join(base, 'rt-loop'), sshConfigFile: file, serve: false });
    agents.push(hosted);
    await expect(hosted.connection.kernels({ host: 'loop-a', refresh: true })).rejects.toMatchObject({
      code: 'SSH_CONFIG_INVALID',
      message: "The ProxyJump chain for loop-a loops: loop-a → loop-b → loop-a (each host's ProxyJump names the next).",
    });
  });
});
