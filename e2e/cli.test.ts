// The ktray command line end to end: a real sshd as a separate remote host, real
// ipykernels there, and real Jupyter clients executing code through the tunnels.
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelClient } from '../electron/core/jupyter/kernel-client';
import { parseConnectionFile } from '../electron/core/jupyter/connection-file';
import { readFile } from 'node:fs/promises';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { runJupyterCheck } from './harness/jupyter';
import { cliWorld, type CliWorld } from './ktray-cli';
import { tryConnect, tryConnectUnix } from './harness/net';
import { eventually, until } from './harness/wait';

let remote: RemoteHost;
let world: CliWorld;
const extraWorlds: CliWorld[] = [];

beforeAll(async () => {
  remote = await startRemoteHost();
  world = await cliWorld(remote.sshConfigFile);
});

afterAll(async () => {
  await Promise.all([world, ...extraWorlds].map((w) => w?.dispose()));
  await remote?.stop();
});

/** A variant of the harness's ssh config, with its own agent. */
async function variant(name: string, edit: (config: string) => string): Promise<CliWorld> {
  const file = path.join(remote.dir, `ssh_config.${name}`);
  await writeFile(file, edit(await readFile(remote.sshConfigFile, 'utf8')), { mode: 0o600 });
  const w = await cliWorld(file);
  extraWorlds.push(w);
  return w;
}

async function remoteAlive(pid: number): Promise<boolean> {
  return (await remote.exec(`kill -0 ${pid}`)).code === 0;
}

/** A kernel started on the remote for this test alone; prints nothing else. */
async function freshKernel(): Promise<string> {
  const r = await world.run(['start', remote.alias, '--python', remote.python]);
  if (r.code !== 0) throw new Error(`ktray start failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

async function attach(id: string): Promise<string> {
  return (await world.json<any>(['attach', id, '--frontend', 'none'])).localConnectionFile;
}

/** One attached kernel that several tests use, made by whichever asks first (so each test runs alone too). */
let sharedKernel: Promise<{ id: string; localFile: string }> | null = null;
function attachedKernel(): Promise<{ id: string; localFile: string }> {
  sharedKernel ??= (async () => {
    const id = await freshKernel();
    return { id, localFile: await attach(id) };
  })();
  return sharedKernel;
}

async function listed(id: string): Promise<any> {
  return (await world.json<any[]>(['ls', remote.alias])).find((k) => k.id === id);
}

describe('ktray against a real remote host', () => {
  it('lists the host from --ssh-config', async () => {
    const hosts = await world.json<any[]>(['hosts']);
    expect(hosts.map((h) => h.id)).toEqual(expect.arrayContaining(['local', remote.alias]));
  });

  it('starts a kernel detached on the host and prints HOST/KERNEL', async () => {
    const r = await world.run(['start', remote.alias, '--python', remote.python]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${remote.alias}/[0-9a-f-]{36}$`));
    expect(await listed(r.stdout.trim())).toMatchObject({ alive: true });
  });

  it('lists it, and a kernel started by hand (`ipython kernel &`), with pids', async () => {
    const id = await freshKernel();
    const before = new Set((await world.json<any[]>(['ls', remote.alias])).map((k) => k.id));
    const started = await remote.exec('cd ~ && (nohup /usr/bin/python3 -m IPython kernel >/dev/null 2>&1 &) ; sleep 0.2; echo ok');
    expect(started.stdout).toContain('ok');
    let kernels: any[] = [];
    for (let i = 0; i < 100; i++) {
      kernels = await world.json<any[]>(['ls', remote.alias]);
      if (kernels.some((k) => !before.has(k.id) && k.alive)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const ours = kernels.find((k) => k.id === id);
    expect(ours).toMatchObject({ alive: true, host: remote.alias, attached: false });
    expect(ours.pid).toBeGreaterThan(0);
    expect(await remoteAlive(ours.pid)).toBe(true);
    const byHand = kernels.find((k) => !before.has(k.id));
    expect(byHand.name).toMatch(/^\d+$/);
    expect(byHand.pid).toBe(Number(byHand.name));
    expect(byHand.alive).toBe(true);
    expect(byHand.command).toMatch(/IPython kernel/);
  });

  it('attaches with --frontend none and a real jupyter_client runs code through the tunnel', async () => {
    const id = await freshKernel();
    const res = await world.json<any>(['attach', id, '--frontend', 'none']);
    const localFile = res.localConnectionFile;
    expect(path.dirname(localFile)).toBe(world.runtimeDir);
    expect((await stat(localFile)).mode & 0o777).toBe(0o600);
    const info = parseConnectionFile(await readFile(localFile, 'utf8'), localFile);
    // Unix sockets beside the file, in the user's private runtime dir (see e2e/local-security.test.ts).
    expect(info).toMatchObject({ transport: 'ipc', ip: localFile.replace(/\.json$/, '') });
    const check = await runJupyterCheck(localFile, 'x = 6*7\nx');
    expect(check).toMatchObject({ status: 'ok', result: '42' });
    // `jupyter console --existing` finds it in the runtime dir too.
    expect(await listed(id)).toMatchObject({ attached: true, localConnectionFile: localFile });
  });

  it('uses one SSH connection for every kernel, tunnel and command on the host', async () => {
    const { localFile } = await attachedKernel();
    // `start --attach` prints the ID, then the local connection file.
    const [second, file] = (await world.run(['start', remote.alias, '--python', remote.python, '--attach', '--frontend', 'none'])).stdout.trim().split('\n');
    expect(second).toMatch(new RegExp(`^${remote.alias}/`));
    expect((await runJupyterCheck(file, '3*3')).result).toBe('9');
    await world.json(['ls', remote.alias]);
    expect((await runJupyterCheck(localFile, '1+1')).result).toBe('2');
    expect(remote.connectionCount()).toBe(1);
    expect((await world.run(['stop', second])).code).toBe(0);
  });

  it('the remote kernel ports are reachable only through SSH', async () => {
    if (!remote.isolated) {
      console.warn('skipping the isolation check: not root, so the remote shares this loopback');
      return;
    }
    const { id, localFile } = await attachedKernel();
    const k = await listed(id);
    const remoteInfo = parseConnectionFile((await remote.exec(`cat '${k.connectionFile}'`)).stdout, k.connectionFile);
    const localInfo = parseConnectionFile(await readFile(localFile, 'utf8'), localFile);
    const localPorts = new Set([localInfo.shell_port, localInfo.iopub_port, localInfo.stdin_port, localInfo.control_port, localInfo.hb_port]);
    let checked = 0;
    for (const port of [remoteInfo.shell_port, remoteInfo.hb_port, remoteInfo.iopub_port]) {
      if (localPorts.has(port)) continue; // our own tunnel happens to use the same number
      expect(await tryConnect(port)).toBe('ECONNREFUSED');
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('interrupts a running time.sleep', async () => {
    const { id, localFile } = await attachedKernel();
    const running = runJupyterCheck(localFile, 'import time\ntime.sleep(120)', { timeoutSec: 90 });
    await new Promise((r) => setTimeout(r, 1500));
    const r = await world.run(['interrupt', id]);
    expect(r.code).toBe(0);
    const result = await running;
    expect(result.status).toBe('error');
    expect(result.ename).toBe('KeyboardInterrupt');
  });

  it('restarts on the same ports: state is gone, the connected frontend carries on', async () => {
    const id = await freshKernel();
    const localFile = await attach(id);
    const info = parseConnectionFile(await readFile(localFile, 'utf8'), localFile);
    const frontend = new KernelClient(info);
    try {
      expect((await frontend.execute('y = 1\ny', { timeoutMs: 30_000 })).result).toBe('1');
      const before = await listed(id);
      const r = await world.run(['restart', id]);
      expect(r.code).toBe(0);
      const after = await listed(id);
      expect(after.pid).not.toBe(before.pid);
      expect(await remoteAlive(before.pid)).toBe(false);
      // The same client, on the same local ports, talks to the new process.
      const reply = await frontend.execute("'y' in globals()", { timeoutMs: 60_000 });
      expect(reply.result).toBe('False');
    } finally {
      frontend.close();
    }
    expect((await runJupyterCheck(localFile, '2+2')).result).toBe('4');
  });

  it('the kernel outlives the agent and is found again by a new one', async () => {
    const { id } = await attachedKernel();
    const pid = (await listed(id)).pid;
    expect((await world.run(['agent', 'stop'])).code).toBe(0);
    expect(await remoteAlive(pid)).toBe(true);
    expect(await listed(id)).toMatchObject({ alive: true, pid });
  });

  it('an agent killed with SIGKILL: the next one re-attaches on the same sockets and removes the dead ones it left', async () => {
    // A runtime dir of this world's own, so the private socket folder ($XDG_RUNTIME_DIR/ktray) is this test's alone.
    const w = await cliWorld(remote.sshConfigFile, { env: (base) => ({ XDG_RUNTIME_DIR: path.join(base, 'xdg') }) });
    extraWorlds.push(w);
    const xdg = path.join(path.dirname(w.runtimeDir), 'xdg');
    await mkdir(xdg, { mode: 0o700 });
    const env = {};
    const started = await w.run(['start', remote.alias, '--python', remote.python, '--attach', '--frontend', 'none'], { env });
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim().split('\n')[0]!;
    // A second kernel, pinned: watched through tunnels of the agent's own, in the private folder.
    const pinned = (await w.run(['start', remote.alias, '--python', remote.python], { env })).stdout.trim();
    expect((await w.run(['pin', pinned], { env })).code).toBe(0);
    await eventually(async () => (await w.json<any[]>(['ls', remote.alias])).find((x) => x.id === pinned && x.watched && x.state === 'idle'), { what: 'the pinned kernel watched' });
    const status = JSON.parse((await w.run(['agent', 'status', '--json'], { env })).stdout);
    process.kill(status.pid, 'SIGKILL');
    await until(() => { try { process.kill(status.pid, 0); return false; } catch { return true; } }, { what: 'the agent gone' });
    const sockets = async (dir: string) => {
      const out: string[] = [];
      for (const n of await readdir(dir).catch(() => [] as string[])) if ((await lstat(path.join(dir, n))).isSocket()) out.push(path.join(dir, n));
      return out;
    };
    const left = [...(await sockets(w.runtimeDir)), ...(await sockets(path.join(xdg, 'ktray')))];
    for (const f of left) expect(await tryConnectUnix(f), f).toBe('ECONNREFUSED');
    const private_ = left.filter((f) => f.startsWith(path.join(xdg, 'ktray')));
    expect(private_.length, 'the killed agent had watch sockets in the private folder').toBeGreaterThan(0);

    expect((await w.run(['ls', remote.alias], { env })).code).toBe(0);
    const k = await eventually(async () => (await w.json<any[]>(['ls', remote.alias])).find((x) => x.id === id && x.attached), { what: 're-attached' });
    expect(k.localConnectionFile).toBe(started.stdout.trim().split('\n')[1]);
    for (const f of left) {
      // Each socket the killed agent left is either in use again (the re-attached kernel's) or gone: none is left dead.
      if (existsSync(f)) expect(await tryConnectUnix(f), f).toBe('connected');
    }
    expect(private_.some((f) => !existsSync(f)), 'a dead watch socket was removed').toBe(true);
    await w.run(['stop', id], { env });
    await w.run(['stop', pinned], { env });
    await w.run(['agent', 'stop'], { env });
  });

  it('shows stale connection files as dead without deleting them, and skips malformed ones', async () => {
    const { id } = await attachedKernel();
    const rt = (await listed(id)).connectionFile;
    const dir = path.posix.dirname(rt);
    await remote.exec(`cp '${rt}' '${dir}/kernel-stale-one.json' && printf '{not json' > '${dir}/kernel-broken.json'`);
    const r = await world.run(['ls', remote.alias, '--json']);
    expect(r.code).toBe(0);
    const stale = JSON.parse(r.stdout).find((k: any) => k.name === 'stale-one');
    expect(stale).toMatchObject({ alive: false, state: 'dead' });
    expect(r.stderr).toMatch(/kernel-broken\.json/);
    expect((await remote.exec(`test -f '${dir}/kernel-stale-one.json' && test -f '${dir}/kernel-broken.json'`)).code).toBe(0);
    // Stopping the dead one is asking for its file to go.
    expect((await world.run(['stop', `${remote.alias}/stale-one`])).code).toBe(0);
    expect((await remote.exec(`test -f '${dir}/kernel-stale-one.json'`)).code).not.toBe(0);
    await remote.exec(`rm -f '${dir}/kernel-broken.json'`);
  });

  it('stops the kernel: the process is gone and its files removed', async () => {
    const id = await freshKernel();
    const localFile = await attach(id);
    const k = await listed(id);
    const r = await world.run(['stop', id]);
    expect(r.code).toBe(0);
    expect(await remoteAlive(k.pid)).toBe(false);
    expect((await remote.exec(`test -f '${k.connectionFile}'`)).code).not.toBe(0);
    await expect(stat(localFile)).rejects.toThrow();
    expect(await listed(id)).toBeUndefined();
  });

  it('streams events: `ktray events --json` sees a kernel start and stop', async () => {
    const child = world.spawn(['events', '--json']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const started = (await world.run(['start', remote.alias, '--python', remote.python])).stdout.trim();
      expect((await world.run(['stop', started])).code).toBe(0);
      const deadline = Date.now() + 20_000;
      while (!out.includes('"kernels-changed"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const seen = out.trim().split('\n').map((l) => JSON.parse(l));
      expect(seen.find((e) => e.type === 'kernel-started')?.kernel.id).toBe(started);
      expect(seen.some((e) => e.type === 'kernels-changed' && !e.kernels.some((k: any) => k.id === started))).toBe(true);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('reports a missing ipykernel with what to install', async () => {
    await remote.exec('mkdir -p ~/bare && printf \'#!/bin/sh\\nexec /usr/bin/python3 -S "$@"\\n\' > ~/bare/python3 && chmod +x ~/bare/python3');
    const r = await world.run(['start', remote.alias, '--python', `${remote.home}/bare/python3`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ipykernel is not installed for`);
    expect(r.stderr).toContain(remote.alias);
    expect(r.stderr).toMatch(/pip install ipykernel/);
    const none = await world.run(['start', remote.alias, '--python', '/no/such/python']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`There is no /no/such/python on ${remote.alias}`);
  });
});

describe('kernels on unix sockets (transport ipc)', () => {
  it('starts one on unix sockets, attaches it over SSH, restarts and stops it', async () => {
    const id = (await world.run(['start', remote.alias, '--python', remote.python, '--transport', 'ipc'])).stdout.trim();
    const k = (await world.json<any[]>(['ls', remote.alias])).find((x) => x.id === id);
    const info = parseConnectionFile((await remote.exec(`cat '${k.connectionFile}'`)).stdout, k.connectionFile);
    expect(info.transport).toBe('ipc');
    // Its five channels are unix sockets in the user's private runtime dir, not TCP ports.
    const sockets = ['shell', 'iopub', 'stdin', 'control', 'hb'].map((c) => `${info.ip}-${(info as any)[`${c}_port`]}`);
    expect((await remote.exec(sockets.map((p) => `test -S '${p}'`).join(' && '))).code).toBe(0);
    const dirMode = parseInt((await remote.exec(`stat -c %a "$(dirname '${info.ip}')"`)).stdout.trim(), 8);
    expect(dirMode & 0o777).toBe(0o700);
    const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
    const local = parseConnectionFile(await readFile(localConnectionFile, 'utf8'), localConnectionFile);
    // Unix sockets on both ends: the remote's are forwarded to the user's own here.
    expect(local).toMatchObject({ transport: 'ipc', ip: localConnectionFile.replace(/\.json$/, '') });
    expect((await runJupyterCheck(localConnectionFile, 'z = 6*7\nz')).result).toBe('42');
    expect((await world.run(['restart', id])).code).toBe(0);
    expect((await runJupyterCheck(localConnectionFile, "'z' in globals()")).result).toBe('False');
    expect((await world.run(['stop', id])).code).toBe(0);
    expect(await remoteAlive(k.pid)).toBe(false);
  });

  it('finds and attaches an ipc kernel started by hand', async () => {
    await remote.exec('mkdir -p ~/.local/share/jupyter/runtime && cd ~ && (nohup /usr/bin/python3 -m ipykernel_launcher --transport=ipc -f "$HOME/.local/share/jupyter/runtime/kernel-byhand-ipc.json" >/dev/null 2>&1 &); sleep 0.1');
    let found: any;
    for (let i = 0; i < 100 && !found?.alive; i++) {
      found = (await world.json<any[]>(['ls', remote.alias])).find((x) => x.name === 'byhand-ipc');
      if (!found?.alive) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toMatchObject({ alive: true });
    const { localConnectionFile } = await world.json<any>(['attach', found.id, '--frontend', 'none']);
    expect((await runJupyterCheck(localConnectionFile, '7*6')).result).toBe('42');
    expect((await world.run(['stop', found.id])).code).toBe(0);
  });
});

describe('ktray refuses what it cannot trust or reach', () => {
  it('refuses an unknown host key with its fingerprint, and `trust` adds it', async () => {
    const empty = path.join(remote.dir, 'known_hosts.empty');
    await writeFile(empty, '', { mode: 0o600 });
    const w = await variant('unknown', (c) => c.replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${empty}`));
    const r = await w.run(['ls', remote.alias]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not in known_hosts/);
    expect(r.stderr).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(r.stderr).toContain(`ktray trust ${remote.alias}`);
    expect(await readFile(empty, 'utf8')).toBe('');
    // Without a terminal, trust wants the fingerprint spelled out.
    const blind = await w.run(['trust', remote.alias]);
    expect(blind.code).toBe(1);
    const fp = /SHA256:[A-Za-z0-9+/]{43}/.exec(r.stderr)![0];
    const wrong = await w.run(['trust', remote.alias, '--fingerprint', 'SHA256:' + 'A'.repeat(43)]);
    expect(wrong.code).toBe(1);
    expect(await readFile(empty, 'utf8')).toBe('');
    const ok = await w.run(['trust', remote.alias, '--fingerprint', fp]);
    expect(ok.code).toBe(0);
    expect(await readFile(empty, 'utf8')).toContain(remote.hostKeyLine.split(' ')[1]);
    expect((await w.run(['ls', remote.alias])).code).toBe(0);
  });

  it('refuses a changed host key, naming the file and line', async () => {
    const changed = path.join(remote.dir, 'known_hosts.changed');
    await writeFile(changed, `# old\n[127.0.0.1]:${remote.port} ${remote.otherHostKeyLine}\n`, { mode: 0o600 });
    const w = await variant('changed', (c) => c.replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${changed}`));
    const r = await w.run(['ls', remote.alias]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/host key of .* has CHANGED/);
    expect(r.stderr).toContain(`${changed}:2`);
    expect(await readFile(changed, 'utf8')).toContain(remote.otherHostKeyLine);
  });

  it('says clearly when the host is unreachable', async () => {
    const w = await variant('unreachable', (c) => c.replace(/Port \d+/, 'Port 1'));
    const r = await w.run(['ls', remote.alias]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Cannot reach ${remote.alias} at 127\\.0\\.0\\.1:1: connection refused`));
    expect(r.stderr).toMatch(/ssh .* works/);
  });

  it('says which keys were refused when authentication fails', async () => {
    const stranger = path.join(remote.dir, 'id_stranger');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const w = await variant('badkey', (c) => c.replace(/IdentityFile .*/, `IdentityFile ${stranger}`));
    const r = await w.run(['ls', remote.alias]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused every key/);
    expect(r.stderr).toContain(stranger);
    expect(r.stderr).toContain('authorized_keys');
  });

  it('an encrypted key without a terminal says how to unlock it', async () => {
    const w = await variant('encrypted', (c) => c.replace(/IdentityFile .*/, `IdentityFile ${remote.encryptedIdentityFile}`));
    const r = await w.run(['ls', remote.alias]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${remote.encryptedIdentityFile} (encrypted`);
    expect(r.stderr).toContain('ssh-add');
  });
});
