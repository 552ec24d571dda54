// Proves the fake remote host works using only OpenSSH's own client and a real jupyter_client:
// no Kernel Tray code is involved, so a product test failing on this harness is a product bug.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJupyterCheck } from './jupyter';
import { run, SYSTEM_PATH } from './proc';
import { startRemoteHost, type RemoteHost } from './remote-host';
import { freePort, tryConnect as tcpConnect } from './net';

let host: RemoteHost;
let local: string; // this machine's scratch dir
const sessions = new Set<ChildProcess>();

beforeAll(async () => {
  host = await startRemoteHost();
  local = await mkdtemp(join(tmpdir(), 'kt-harness-test-'));
});

afterAll(async () => {
  for (const s of sessions) s.kill('SIGKILL');
  await host?.stop();
  if (local) await rm(local, { recursive: true, force: true });
});

const sshArgs = () => ['-F', host.sshConfigFile, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20'];
const ssh = (cmd: string, extra: string[] = [], input?: string) =>
  run('ssh', [...sshArgs(), ...extra, host.alias, cmd], { timeoutMs: 60_000, input });

/** `ssh -N` that reports once it is logged in and its forwards listen (LocalCommand runs after both). */
function sshSession(extra: string[] = []) {
  const child = spawn(
    'ssh',
    [...sshArgs(), '-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'PermitLocalCommand=yes', '-o', 'LocalCommand=echo ready',
      ...extra, host.alias],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  sessions.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code) => {
      sessions.delete(child);
      resolve(code ?? -1);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    void exited.then((code) => reject(new Error(`ssh -N exited ${code} before it was ready: ${stderr}`)));
  });
  return { child, ready, exited, stderr: () => stderr };
}


describe('fake remote host (OpenSSH client, real sshd, real ipykernel)', () => {
  it('lets the system ssh client log in as the remote user and run commands', async () => {
    const r = await ssh('id -un; hostname');
    expect(r.stderr).not.toMatch(/Permanently added/); // known_hosts already trusted the key
    expect(r.code).toBe(0);
    const [user, hostname] = r.stdout.trim().split('\n');
    expect(user).toBe(host.user);
    const direct = await host.exec('id -un; hostname');
    expect(direct.code).toBe(0);
    expect(direct.stdout.trim().split('\n')).toEqual([host.user, hostname]);
    if (host.isolated) expect(hostname).toBe(host.alias);
  });

  it('accepts the passphrase-protected key too', async () => {
    const locked = await run('ssh-keygen', ['-y', '-P', '', '-f', host.encryptedIdentityFile]);
    expect(locked.code).not.toBe(0); // really encrypted
    const askpass = join(local, 'askpass.sh');
    await writeFile(askpass, `#!/bin/sh\necho '${host.passphrase}'\n`);
    await chmod(askpass, 0o700);
    const r = await run(
      'ssh',
      ['-F', '/dev/null', '-p', String(host.port), '-l', host.user, '-o', `IdentityFile=${host.encryptedIdentityFile}`,
        '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${host.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes',
        '-o', 'PasswordAuthentication=no', '127.0.0.1', 'echo unlocked'],
      { env: { PATH: SYSTEM_PATH, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, timeoutMs: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('unlocked');
  });

  const remoteDir = () => `${host.home}/kt-harness-check`;
  const remoteCf = () => `${remoteDir()}/kernel-check.json`;
  let kernel: Record<string, unknown>;

  it('runs a detached ipykernel that a real jupyter_client reaches through ssh -L forwards', async () => {
    const start = await ssh(
      `mkdir -p ${remoteDir()} && cd ${remoteDir()} && ` +
        `{ setsid nohup ${host.python} -m ipykernel_launcher -f ${remoteCf()} </dev/null >kernel.log 2>&1 & }`,
    );
    expect(start.code).toBe(0);
    // ipykernel writes its connection file once it has bound its ports; poll on the remote side.
    const cat = await ssh(`for i in $(seq 300); do [ -s ${remoteCf()} ] && break; sleep 0.1; done; sleep 0.2; cat ${remoteCf()}`);
    expect(cat.code).toBe(0);
    kernel = JSON.parse(cat.stdout) as Record<string, unknown>;
    const names = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;
    const remotePorts = names.map((n) => Number(kernel[n]));
    const localPorts: number[] = [];
    while (localPorts.length < 5) {
      const p = await freePort();
      if (!remotePorts.includes(p) && !localPorts.includes(p)) localPorts.push(p);
    }
    const forwards = names.flatMap((_, i) => ['-L', `127.0.0.1:${localPorts[i]}:127.0.0.1:${remotePorts[i]}`]);
    const tunnel = sshSession(forwards);
    try {
      await tunnel.ready;
      const cf = join(local, 'kernel-local.json');
      const localKernel = { ...kernel, ip: '127.0.0.1', ...Object.fromEntries(names.map((n, i) => [n, localPorts[i]])) };
      await writeFile(cf, JSON.stringify(localKernel), { mode: 0o600 });
      const res = await runJupyterCheck(cf, 'import socket; print(socket.gethostname()); 6*7');
      expect(res).toMatchObject({ status: 'ok', result: '42', exitCode: 0 });
      const remoteHostname = (await host.exec('hostname')).stdout.trim();
      expect(res.stdout.trim()).toBe(remoteHostname); // the code ran on the remote
      const failing = await runJupyterCheck(cf, '1/0');
      expect(failing).toMatchObject({ status: 'error', ename: 'ZeroDivisionError', exitCode: 1 });
    } finally {
      tunnel.child.kill();
      await tunnel.exited;
    }
  });

  it('keeps the kernel ports private to the remote (isolated mode)', async (ctx) => {
    if (!host.isolated) {
      console.log('skipped: remote not isolated (not root, or KT_REMOTE_HOST_MODE=loopback); kernel ports share our loopback');
      ctx.skip();
    }
    const probe = `import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5); print('connected')`;
    for (const name of ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port']) {
      const port = Number(kernel[name]);
      // From inside the remote the kernel listens (so the check below can fail for real)...
      const inside = await host.exec(`${host.python} -c "${probe}" ${port}`);
      expect(inside.stdout.trim(), `${name} inside: ${inside.stderr}`).toBe('connected');
      // ...and from this machine it is not there at all.
      expect(await tcpConnect(port)).toBe('ECONNREFUSED');
    }
  });

  it('dropConnections() cuts a live ssh session, and new logins still work', async () => {
    const s = sshSession();
    await s.ready;
    expect(host.connectionCount()).toBeGreaterThanOrEqual(1);
    host.dropConnections();
    expect(await s.exited).toBe(255);
    expect((await ssh('echo again')).stdout.trim()).toBe('again');
  });

  it('setReachable(false) ends sessions and makes ssh fail at once; true brings it back', async () => {
    const s = sshSession();
    await s.ready;
    try {
      host.setReachable(false);
      expect(await s.exited).toBe(255);
      const r = await ssh('true');
      expect(r.code).toBe(255);
      expect(r.stderr).toMatch(/reset|closed/i);
    } finally {
      host.setReachable(true);
    }
    expect((await ssh('echo back')).stdout.trim()).toBe('back');
  });

  it('OpenSSH refuses the host when known_hosts holds a different key', async () => {
    const kh = join(local, 'known_hosts_changed');
    await writeFile(kh, `[127.0.0.1]:${host.port} ${host.otherHostKeyLine}\n`, { mode: 0o600 });
    const r = await ssh('true', ['-o', `UserKnownHostsFile=${kh}`]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
  });

  it('setLatency() delays each direction and keeps a bulk transfer intact', async () => {
    host.setLatency(150);
    try {
      const started = performance.now();
      const firstByte = await new Promise<number>((resolve, reject) => {
        const s = net.createConnection({ host: '127.0.0.1', port: host.port });
        s.once('data', () => {
          resolve(performance.now() - started);
          s.destroy();
        });
        s.once('error', reject);
      });
      // A lower bound only: a held-back banner cannot arrive early, however slow the machine.
      expect(firstByte).toBeGreaterThanOrEqual(140);
      // SSH's MACs would break on any reordered or lost byte, so an intact checksum proves order.
      const payload = randomBytes(3 * 1024 * 1024).toString('base64');
      const r = await ssh('sha256sum', [], payload);
      expect(r.code).toBe(0);
      expect(r.stdout.split(' ')[0]).toBe(createHash('sha256').update(payload).digest('hex'));
    } finally {
      host.setLatency(0);
    }
  });

  it('restartSshd() keeps established sessions and accepts new ones', async () => {
    const s = sshSession();
    await s.ready;
    await host.restartSshd();
    expect((await ssh('echo restarted')).stdout.trim()).toBe('restarted');
    expect(s.child.exitCode).toBeNull();
    s.child.kill();
    await s.exited;
  });

  it('reaps killed detached processes on the remote, so kill -0 tells the truth (isolated mode)', async (ctx) => {
    if (!host.isolated) {
      console.log('skipped: without a PID namespace orphans go to this machine\'s init, which may not reap them');
      ctx.skip();
    }
    const r = await ssh(
      'setsid nohup sleep 300 </dev/null >/dev/null 2>&1 & p=$!; kill -0 $p && echo running; kill $p; ' +
        'for i in $(seq 100); do kill -0 $p 2>/dev/null || { echo gone; exit 0; }; sleep 0.1; done; echo still-there',
    );
    expect(r.stdout.trim().split('\n')).toEqual(['running', 'gone']);
  });

  it('stop() kills the kernel and removes everything; a second stop() is harmless', async () => {
    const before = await run('pgrep', ['-f', remoteCf()]);
    expect(before.code, 'the kernel should still be running before stop()').toBe(0);
    await host.stop();
    await host.stop();
    expect((await run('pgrep', ['-f', remoteCf()])).code).toBe(1);
    expect(existsSync(host.dir)).toBe(false);
    if (host.isolated) {
      expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(host.namespace!);
      expect((await run('pgrep', ['-u', host.user])).code).toBe(1);
      expect(existsSync(`/run/ktr-harness/${host.user}.json`)).toBe(false);
    }
  });
});
