// What stays private on this computer, and what Kernel Tray refuses to do on a
// file's say-so (issue 14: 3, 4, 13, 14), end to end: the real ktray CLI and
// agent, a real sshd in namespaces of its own with real ipykernels, real
// jupyter_client / jupyter console / qtconsole here, and a second unprivileged
// LOCAL user (ktlocal2) trying what an attacker on a shared workstation would.
import { spawn } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionFile } from '../electron/core/jupyter/connection-file';
import { KernelClient } from '../electron/core/jupyter/kernel-client';
import type { ConnectionInfo } from '../electron/shared/types';
import { runJupyterCheck } from './harness/jupyter';
import { listeningSockets } from './harness/listening';
import { otherLocalUser, probeAs, type LocalUser } from './harness/local-user';
import { killGroup, run, SYSTEM_PATH } from './harness/proc';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { until } from './harness/wait';
import { cliWorld, type CliWorld } from './ktray-cli';

let remote: RemoteHost;
let world: CliWorld;
let other: LocalUser | null = null;
const worlds: CliWorld[] = [];

beforeAll(async () => {
  other = await otherLocalUser();
  remote = await startRemoteHost();
  world = await newWorld();
});

afterAll(async () => {
  await Promise.all(worlds.map((w) => w.dispose()));
  await remote?.stop();
});

/** A user's world (agent home, runtime dir) whose base folder others may enter, so only Kernel Tray's own folders keep them out. */
async function newWorld(opts: { runtimeDir?: string } = {}): Promise<CliWorld> {
  const w = await cliWorld(remote.sshConfigFile, opts);
  await chmod(path.dirname(w.home), 0o755);
  worlds.push(w);
  return w;
}

function needsOtherUser(what: string): boolean {
  if (other) return true;
  console.warn(`skipping "${what}": it needs root, to create a second local user and act as it`);
  return false;
}

async function ok(w: CliWorld, args: string[]): Promise<string> {
  const r = await w.run(args);
  if (r.code !== 0) throw new Error(`ktray ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

async function freshKernel(w = world): Promise<string> {
  return ok(w, ['start', remote.alias, '--python', remote.python]);
}

async function localFile(file: string): Promise<ConnectionInfo> {
  return parseConnectionFile(await readFile(file, 'utf8'), file);
}

/** The five endpoints of a connection file, as `unix:PATH` / `tcp:IP:PORT`, and its iopub as a ZeroMQ endpoint. */
function endpoints(info: ConnectionInfo): { connect: string[]; iopub: string } {
  const ports = [info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port];
  return info.transport === 'ipc'
    ? { connect: ports.map((p) => `unix:${info.ip}-${p}`), iopub: `ipc://${info.ip}-${info.iopub_port}` }
    : { connect: ports.map((p) => `tcp:${info.ip}:${p}`), iopub: `tcp://${info.ip}:${info.iopub_port}` };
}

async function agentPid(w: CliWorld): Promise<number> {
  return (await w.json<{ pid: number }>(['agent', 'status'])).pid;
}

/** Starts a kernel by hand on the remote, `ipykernel_launcher ARGS -f RUNTIME/kernel-NAME.json`, and returns its id once listed alive. */
async function handKernel(w: CliWorld, name: string, args: string): Promise<{ id: string; file: string }> {
  const rt = (await remote.exec('/usr/bin/jupyter --runtime-dir')).stdout.trim();
  const file = `${rt}/kernel-${name}.json`;
  const started = await remote.exec(`mkdir -p '${rt}' && cd ~ && (setsid nohup /usr/bin/python3 -m ipykernel_launcher ${args} -f '${file}' >/dev/null 2>&1 &) ; echo started`);
  expect(started.stdout).toContain('started');
  let id = '';
  await until(
    async () => {
      const k = (await w.json<any[]>(['ls', remote.alias])).find((x) => x.connectionFile === file && x.alive);
      id = k?.id ?? '';
      return Boolean(id);
    },
    { what: `${file} listed alive on ${remote.alias}`, timeoutMs: 60_000 },
  );
  return { id, file };
}

describe('an attached kernel is this user\'s alone (issue 14.3)', () => {
  it('a second local user can neither connect to nor listen in on it; a real jupyter_client of the user runs code through the ipc file', async () => {
    if (!needsOtherUser('other users cannot reach an attached kernel')) return;
    const id = await freshKernel();
    const file = (await world.json<any>(['attach', id, '--frontend', 'none'])).localConnectionFile;
    const info = await localFile(file);
    const secret = `kt-secret-${Date.now()}`;
    const { connect, iopub } = endpoints(info);
    // ktlocal2 listens on iopub as an attacker who found the address would, while the user runs code.
    const probe = probeAs(other!, { connect, sub: iopub, needle: secret, seconds: 12 });
    await new Promise((r) => setTimeout(r, 2000));
    const check = await runJupyterCheck(file, `print(${JSON.stringify(secret)})\n6*7`);
    const seen = await probe;
    expect(seen.sub, `${other!.name} read the kernel's output on ${iopub}`).toMatchObject({ sawNeedle: false, messages: 0 });
    for (const target of connect) expect(seen.connect[target], `${other!.name} connected to ${target}`).not.toBe('connected');
    expect(check).toMatchObject({ status: 'ok', result: '42' });
    expect(check.stdout).toContain(secret);
    // How: unix sockets, 0600, in the user's 0700 runtime dir.
    expect(info.transport).toBe('ipc');
    expect(path.dirname(info.ip)).toBe(world.runtimeDir);
    const dir = await stat(world.runtimeDir);
    expect([dir.uid, dir.mode & 0o777]).toEqual([process.getuid!(), 0o700]);
    for (const target of connect) {
      const sock = await lstat(target.slice('unix:'.length));
      expect([sock.isSocket(), sock.mode & 0o777]).toEqual([true, 0o600]);
      expect(seen.connect[target]).toBe('EACCES');
    }
  });

  it('the agent listens on nothing a second local user can reach, a watched kernel\'s own tunnels included', async () => {
    if (!needsOtherUser('the agent listens on nothing others can reach')) return;
    // Started here, so watched from the start, on tunnels of the agent's own; another one attached.
    const watched = await freshKernel();
    await until(async () => (await world.json<any[]>(['ls', remote.alias])).find((k) => k.id === watched)?.state === 'idle', { what: `${watched} watched (idle)` });
    await ok(world, ['attach', await freshKernel(), '--frontend', 'none']);
    const listening = listeningSockets(await agentPid(world));
    expect(listening.tcp, 'TCP listeners of the agent (any local user can connect to those)').toEqual([]);
    expect(listening.unix.length).toBeGreaterThanOrEqual(1 + 4 + 5); // the agent's socket, a watch's four, an attachment's five
    const seen = await probeAs(other!, { connect: listening.unix.map((p) => `unix:${p}`) });
    for (const p of listening.unix) expect(seen.connect[`unix:${p}`], `${other!.name} on ${p}`).toBe('EACCES');
  });

  it('--tcp gives 127.0.0.1 ports for frontends that need them (reachable by every local user, hence not the default)', async () => {
    const id = await freshKernel();
    await ok(world, ['attach', id, '--frontend', 'none']);
    // Asking for the other kind while attached says so rather than cutting the frontends off.
    const switched = await world.run(['attach', id, '--frontend', 'none', '--tcp']);
    expect(switched.code).toBe(1);
    expect(switched.stderr).toMatch(/is attached already, over unix sockets/);
    expect(switched.stderr).toContain(`ktray detach ${id}`);
    await ok(world, ['detach', id]);
    const res = await world.json<any>(['attach', id, '--frontend', 'none', '--tcp']);
    const info = await localFile(res.localConnectionFile);
    expect(info).toMatchObject({ transport: 'tcp', ip: '127.0.0.1' });
    expect(res.kernel.localChannels).toMatchObject({ transport: 'tcp', ip: '127.0.0.1' });
    expect(await runJupyterCheck(res.localConnectionFile, '6*7')).toMatchObject({ status: 'ok', result: '42' });
    // The probe does see what is open to everyone: the checks above can fail.
    if (!needsOtherUser('a second local user reaches --tcp ports')) return;
    const seen = await probeAs(other!, { connect: endpoints(info).connect });
    expect(Object.values(seen.connect)).toEqual(['connected', 'connected', 'connected', 'connected', 'connected']);
  });

  it('jupyter console --existing and qtconsole take the ipc connection file', async () => {
    const id = await freshKernel();
    const file = (await world.json<any>(['attach', id, '--frontend', 'none'])).localConnectionFile;
    expect((await localFile(file)).transport).toBe('ipc');
    const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: process.env.HOME ?? '/root' };
    // End of input (not `exit`, which shuts the kernel down) leaves the kernel running.
    const consoleRun = await run('/usr/bin/jupyter', ['console', '--existing', file, '--simple-prompt'], { env, input: 'print(6*7 + 1000)\n', timeoutMs: 90_000 });
    expect(consoleRun.stdout, consoleRun.stderr).toContain('1042');

    if (!(await onPath('jupyter-qtconsole')) || !(await onPath('xvfb-run'))) {
      console.warn('skipping the qtconsole half: jupyter-qtconsole or xvfb-run is not installed');
      return;
    }
    // qtconsole asks kernel_info and history at start: seen on iopub as requests of another session than ours.
    const client = new KernelClient(await localFile(file));
    const sessions = new Set<string>();
    client.onIopub((msg) => {
      if (msg.parent_header.session && msg.parent_header.session !== client.session) sessions.add(`${msg.parent_header.msg_type}`);
    });
    try {
      expect((await client.execute('1+1', { timeoutMs: 30_000 })).result).toBe('2');
      // In a process group of its own, so that xvfb-run, its Xvfb and qtconsole end together.
      const qt = spawn('xvfb-run', ['-a', '/usr/bin/jupyter-qtconsole', '--existing', file], { env, detached: true, stdio: 'ignore' });
      try {
        await until(async () => sessions.has('kernel_info_request'), { what: 'qtconsole\'s kernel_info_request on iopub', timeoutMs: 60_000 });
      } finally {
        killGroup(qt.pid, 'SIGTERM');
      }
    } finally {
      client.close();
    }
  });

  it('with a runtime dir too long for a socket path, the sockets go to a short private folder of the user\'s', async () => {
    const long = await newWorld({ runtimeDir: `runtime-${'with-a-rather-long-name-'.repeat(4)}` });
    const id = await freshKernel(long);
    const file = (await long.json<any>(['attach', id, '--frontend', 'none'])).localConnectionFile;
    expect(path.dirname(file)).toBe(long.runtimeDir);
    const info = await localFile(file);
    expect(info.transport).toBe('ipc');
    expect(Buffer.byteLength(`${info.ip}-5`)).toBeLessThanOrEqual(107);
    const dir = await lstat(path.dirname(info.ip));
    expect([dir.isDirectory(), dir.uid, dir.mode & 0o777]).toEqual([true, process.getuid!(), 0o700]);
    expect(await runJupyterCheck(file, '6*7')).toMatchObject({ status: 'ok', result: '42' });
    await ok(long, ['detach', id]);
  });

  it('an agent restart re-attaches on the same socket paths, and a client connected before carries on', async () => {
    const id = await freshKernel();
    const file = (await world.json<any>(['attach', id, '--frontend', 'none'])).localConnectionFile;
    const before = await localFile(file);
    const client = new KernelClient(before);
    try {
      expect((await client.execute('kept = 6*7\nkept', { timeoutMs: 30_000 })).result).toBe('42');
      await ok(world, ['agent', 'stop']);
      // The next command starts an agent, which re-attaches what was attached.
      // (The new agent serves its socket while it re-attaches.)
      let k: any;
      await until(async () => (k = (await world.json<any[]>(['ls', remote.alias])).find((x) => x.id === id))?.attached, { what: `${id} re-attached`, timeoutMs: 60_000 });
      expect(k).toMatchObject({ attached: true, localConnectionFile: file, localChannels: { transport: 'ipc', ip: before.ip } });
      expect(await localFile(file)).toEqual(before);
      expect((await client.execute('kept', { timeoutMs: 60_000 })).result).toBe('42');
    } finally {
      client.close();
    }
  });
});

describe('connection files that point elsewhere (issue 14.4)', () => {
  it('a kernel at another address is refused, naming the address and how to allow it; once allowed it is forwarded, and remembered', async () => {
    if (!remote.isolated) {
      console.warn('skipping "a kernel at another address": it needs the remote in a network namespace of its own (root)');
      return;
    }
    // 10.99.0.1 on the remote: not its loopback, as another machine's address would be.
    const added = await run('ip', ['netns', 'exec', remote.namespace!, 'ip', 'addr', 'add', '10.99.0.1/32', 'dev', 'lo'], { env: { PATH: SYSTEM_PATH } });
    expect(added.code, added.stderr).toBe(0);
    const { id } = await handKernel(world, 'elsewhere', '--ip=10.99.0.1');

    const refused = await world.run(['attach', id, '--frontend', 'none']);
    expect(refused.code, `attach forwarded to 10.99.0.1: ${refused.stdout}`).toBe(1);
    expect(refused.stderr).toMatch(/listens on 10\.99\.0\.1, which is not .*'s own loopback/);
    expect(refused.stderr).toContain(`ktray attach ${id} --allow-address 10.99.0.1`);
    expect((await readdir(world.runtimeDir).catch(() => [])).filter((f) => f.includes('elsewhere'))).toEqual([]);
    const listed = (await world.json<any[]>(['ls', remote.alias])).find((k) => k.id === id);
    expect(listed).toMatchObject({ attached: false, listens: 'other-address' });

    const wrong = await world.run(['attach', id, '--frontend', 'none', '--allow-address', '10.99.0.2']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/listens on 10\.99\.0\.1, not 10\.99\.0\.2/);

    const allowed = await world.json<any>(['attach', id, '--frontend', 'none', '--allow-address', '10.99.0.1']);
    expect(await runJupyterCheck(allowed.localConnectionFile, '6*7')).toMatchObject({ status: 'ok', result: '42' });
    await ok(world, ['detach', id]);
    // Remembered for this kernel, across an agent restart too.
    await ok(world, ['agent', 'stop']);
    const again = await world.json<any>(['attach', id, '--frontend', 'none']);
    expect(await runJupyterCheck(again.localConnectionFile, '1+1')).toMatchObject({ status: 'ok', result: '2' });
    await ok(world, ['detach', id]);
  });

  it('a kernel on all interfaces is attached through the remote\'s loopback and shown with a warning', async () => {
    const { id } = await handKernel(world, 'everywhere', '--ip=0.0.0.0');
    const text = await world.run(['ls', remote.alias]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`warning: ${id} listens on all interfaces of ${remote.alias}: anyone on ${remote.alias}'s network can connect to it`);
    expect((await world.json<any[]>(['ls', remote.alias])).find((k) => k.id === id).listens).toBe('all-interfaces');
    const file = (await world.json<any>(['attach', id, '--frontend', 'none'])).localConnectionFile;
    expect(await runJupyterCheck(file, '6*7')).toMatchObject({ status: 'ok', result: '42' });
    await ok(world, ['stop', id]);
  });
});

describe('attach leaves nothing behind when the frontend cannot open (issue 14, smaller)', () => {
  it('attach --frontend console without a terminal fails and leaves no file, no socket, no attachment', async () => {
    const id = await freshKernel();
    // No terminal emulator can be found: a PATH with only what the command itself needs.
    const bin = path.join(path.dirname(world.home), 'bin-no-terminal');
    await mkdir(bin, { recursive: true });
    for (const [name, target] of [['sh', '/bin/sh'], ['jupyter-console', '/usr/bin/jupyter-console']]) {
      await run('ln', ['-sf', target!, path.join(bin, name!)], { env: { PATH: SYSTEM_PATH } });
    }
    const before = await readdir(world.runtimeDir).catch(() => [] as string[]);
    const r = await world.run(['attach', id, '--frontend', 'console'], { env: { PATH: bin, TERMINAL: undefined, DISPLAY: undefined } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No terminal emulator found/);
    expect(await readdir(world.runtimeDir).catch(() => [] as string[])).toEqual(before);
    const k = (await world.json<any[]>(['ls', remote.alias])).find((x) => x.id === id);
    expect(k).toMatchObject({ attached: false, localConnectionFile: null });
    const name = id.split('/').pop()!;
    expect(listeningSockets(await agentPid(world)).unix.filter((p) => p.includes(name))).toEqual([]);
  });
});

describe('private folders stay private (issue 14, smaller)', () => {
  it('a 0755 KTRAY_HOME and runtime dir of the user\'s are tightened to 0700', async () => {
    const w = await newWorld();
    await mkdir(w.home, { mode: 0o755 });
    await mkdir(w.runtimeDir, { mode: 0o755 });
    await chmod(w.home, 0o755);
    await chmod(w.runtimeDir, 0o755);
    const id = await freshKernel(w);
    await ok(w, ['attach', id, '--frontend', 'none']);
    expect((await stat(w.home)).mode & 0o777).toBe(0o700);
    expect((await stat(w.runtimeDir)).mode & 0o777).toBe(0o700);
  });

  it('a runtime dir or KTRAY_HOME owned by another user is refused, saying whose it is and what to do', async () => {
    if (!needsOtherUser('folders owned by another user are refused')) return;
    const w = await newWorld();
    const id = await freshKernel(w);
    await mkdir(w.runtimeDir, { mode: 0o700 });
    await chown(w.runtimeDir, other!.uid, other!.gid);
    const r = await w.run(['attach', id, '--frontend', 'none']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The local Jupyter runtime dir ${w.runtimeDir} belongs to uid ${other!.uid}, not to you`);
    expect(r.stderr).toContain('JUPYTER_RUNTIME_DIR');
    expect(await readdir(w.runtimeDir)).toEqual([]);
    expect((await w.json<any[]>(['ls', remote.alias])).find((x) => x.id === id).attached).toBe(false);

    await ok(w, ['agent', 'stop']);
    await chown(w.home, other!.uid, other!.gid);
    const h = await w.run(['ls', remote.alias]);
    expect(h.code).toBe(1);
    expect(h.stderr).toContain(`The Kernel Tray home ${w.home} belongs to uid ${other!.uid}, not to you`);
    expect(h.stderr).toContain('KTRAY_HOME');
    await chown(w.home, process.getuid!(), process.getgid!());
  });
});

describe('ls during an outage (issue 14.13)', () => {
  it('lists what is known of the host as unknown, with the host\'s error on stderr, exit 3; nothing known: the error, exit 1', async () => {
    const id = await freshKernel();
    await ok(world, ['ls', remote.alias]);
    const stranger = await newWorld();
    const pid = await agentPid(world);
    remote.setReachable(false);
    try {
      // The agent notices the outage on its next use of the host.
      await until(async () => (await world.run(['ls', remote.alias])).code !== 0, { what: 'ls to see the outage', timeoutMs: 60_000 });
      const r = await world.run(['ls', remote.alias, '--json']);
      expect(r.code, `${r.stderr}\nagent log:\n${await agentLog(world)}`).toBe(3);
      const kernels = JSON.parse(r.stdout) as any[];
      expect(kernels.find((k) => k.id === id)).toMatchObject({ state: 'unknown', host: remote.alias });
      expect(kernels.every((k) => k.state === 'unknown' || k.state === 'dead')).toBe(true);
      expect(r.stderr).toMatch(new RegExp(`warning: ${remote.alias}'s kernels are shown as last seen, state unknown: .+`));
      const text = await world.run(['ls', remote.alias]);
      expect(text.code).toBe(3);
      expect(text.stdout).toMatch(new RegExp(`${id.replace(/[/.]/g, '\\$&')}\\s+unknown`));
      // An agent that never saw the host has nothing to show but the error.
      const fresh = await stranger.run(['ls', remote.alias]);
      expect(fresh.code).toBe(1);
      expect(fresh.stdout).toBe('');
      expect(fresh.stderr).toMatch(/ktray: .+/);
      // The same agent throughout: a reset before the SSH handshake must not kill it.
      expect(await agentPid(world)).toBe(pid);
    } finally {
      remote.setReachable(true);
    }
    await until(async () => (await world.run(['ls', remote.alias])).code === 0, { what: 'ls to work again', timeoutMs: 90_000 });
  });
});

function onPath(name: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${name}`], { env: { PATH: '/usr/bin:/bin' } }).then((r) => r.code === 0);
}

async function agentLog(w: CliWorld): Promise<string> {
  return (await readFile(path.join(w.home, 'agent.log'), 'utf8').catch(() => '(none)')).slice(-4000);
}
