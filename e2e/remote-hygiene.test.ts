// The wrong process, the wrong file (issue 14, findings 5-8, 11, 14): against
// the real sshd harness with hostile set-ups on the remote, through the real
// ktray CLI, with a real jupyter_client where code must run.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJupyterCheck } from './harness/jupyter';
import { run } from './harness/proc';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { eventually } from './harness/wait';
import { cliWorld, type CliWorld } from './ktray-cli';

let remote: RemoteHost;
let world: CliWorld;

beforeAll(async () => {
  // bash as the login shell: sshd runs every command through it, and it reads ~/.bashrc.
  remote = await startRemoteHost({ loginShell: '/bin/bash' });
  world = await cliWorld(remote.sshConfigFile);
});

afterAll(async () => {
  await world?.dispose();
  await remote?.stop();
});

const RT = '~/.local/share/jupyter/runtime';

async function remoteAlive(pid: number): Promise<boolean> {
  return (await remote.exec(`kill -0 ${pid} && ! ps -o stat= -p ${pid} | grep -q Z`)).code === 0;
}

/** Starts `python3 -m ipykernel_launcher ARGS` by hand on the remote, detached, and waits for FILE. */
async function byHand(args: string, file: string, cwd = '~'): Promise<number> {
  const r = await remote.exec(
    `mkdir -p "$(dirname ${file})" && cd ${cwd} && (setsid nohup /usr/bin/python3 -m ipykernel_launcher ${args} >/dev/null 2>&1 & echo $!); ` +
      `for i in $(seq 100); do [ -s ${file} ] && break; sleep 0.1; done`,
  );
  return Number(r.stdout.trim().split('\n')[0]);
}

async function ls(): Promise<any[]> {
  return world.json<any[]>(['ls', remote.alias]);
}

describe('the right process, the right file', () => {
  it('a stale file and `tail -f` on it: the kernel shows dead, and stop leaves tail alone', async () => {
    const file = `${RT}/kernel-hand1.json`;
    const pid = await byHand(`-f ${file}`, file);
    await remote.exec(`kill -KILL ${pid}`);
    const tail = Number((await remote.exec(`cd ${RT} && (setsid nohup tail -f kernel-hand1.json >/dev/null 2>&1 & echo $!)`)).stdout.trim());
    expect(await remoteAlive(tail)).toBe(true);
    const hand = (await ls()).find((k) => k.name === 'hand1');
    expect(hand).toMatchObject({ alive: false, state: 'dead', pid: null });
    expect((await world.run(['stop', hand.id])).code).toBe(0);
    expect(await remoteAlive(tail)).toBe(true);
    expect((await remote.exec(`test -e ${file}`)).code).not.toBe(0);
    await remote.exec(`kill ${tail}`);
  });

  it('the same file name in two runtime dirs: two kernels, two ids, and stop touches exactly one', async () => {
    const a = `${RT}/kernel-twin.json`;
    const b = '~/Library/Jupyter/runtime/kernel-twin.json';
    const pidA = await byHand(`-f ${a}`, a);
    const pidB = await byHand(`-f ${b}`, b);
    const twins = (await ls()).filter((k) => k.name.startsWith('twin'));
    const names = twins.map((k) => k.name);
    expect(names).toHaveLength(2);
    expect(names).toContain('twin');
    expect(names.find((n) => n !== 'twin')).toMatch(/^twin@[0-9a-f]{6}$/);
    expect(new Set(twins.map((k) => k.pid))).toEqual(new Set([pidA, pidB]));
    for (const k of twins) expect(k.connectionFile.endsWith(k.pid === pidA ? 'share/jupyter/runtime/kernel-twin.json' : 'Library/Jupyter/runtime/kernel-twin.json')).toBe(true);
    const second = twins.find((k) => k.pid === pidB)!;
    expect((await world.run(['stop', second.id])).code).toBe(0);
    expect(await remoteAlive(pidB)).toBe(false);
    expect(await remoteAlive(pidA)).toBe(true);
    expect((await ls()).find((k) => k.name === 'twin')).toMatchObject({ alive: true, pid: pidA });
    await remote.exec(`kill -KILL ${pidA}; rm -f ${a}`);
  });

  it("Kernel Tray's own attachment files are not listed as local kernels", async () => {
    const file = `${RT}/kernel-attach1.json`;
    const pid = await byHand(`-f ${file}`, file);
    const k = (await ls()).find((x) => x.name === 'attach1');
    const { localConnectionFile } = await world.json<any>(['attach', k.id, '--frontend', 'none']);
    // (Beside it, the attachment's unix sockets kernel-ktray-…-1 … -5, which are no connection files.)
    expect((await readdir(world.runtimeDir)).filter((f) => f.startsWith('kernel-ktray-') && f.endsWith('.json'))).toEqual([path.basename(localConnectionFile)]);
    const local = await world.json<any[]>(['ls', 'local']);
    expect(local.filter((x) => x.connectionFile === localConnectionFile || x.name.startsWith('ktray-'))).toEqual([]);
    await remote.exec(`kill -KILL ${pid}`);
  });

  it('an ipc kernel started without -f, in some folder: its sockets are found where it made them', async () => {
    await remote.exec('mkdir -p ~/work');
    const r = await remote.exec(`cd ~/work && (setsid nohup /usr/bin/python3 -m ipykernel_launcher --transport=ipc >/dev/null 2>&1 & echo $!)`);
    const pid = Number(r.stdout.trim());
    const k = await eventually(async () => (await ls()).find((x) => x.name === String(pid) && x.alive), { what: `the ipc kernel ${pid} listed alive`, timeoutMs: 30_000 });
    const { localConnectionFile } = await world.json<any>(['attach', k.id, '--frontend', 'none']);
    expect((await runJupyterCheck(localConnectionFile, 'import os; os.getcwd()')).result).toBe(`'${remote.home}/work'`);
    expect((await world.run(['stop', k.id])).code).toBe(0);
  });
});

describe('what the remote does not control', () => {
  it('a greeting from .bashrc on both streams, without a newline, does not break starting a kernel', async () => {
    await remote.exec(`printf "printf 'welcome'\\nprintf 'warning' >&2\\n" > ~/.bashrc`);
    // The greeting really reaches an SSH client (async: the harness's bridge runs in this process).
    const plain = await run('ssh', ['-o', 'BatchMode=yes', '-F', remote.sshConfigFile, remote.alias, 'echo hi'], { timeoutMs: 30_000 });
    expect(plain).toMatchObject({ stdout: 'welcomehi\n', stderr: 'warning' });
    const fresh = await cliWorld(remote.sshConfigFile);
    try {
      const r = await fresh.run(['start', remote.alias, '--python', remote.python]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const id = r.stdout.trim();
      const k = (await fresh.json<any[]>(['ls', remote.alias])).find((x) => x.id === id);
      expect(k).toMatchObject({ alive: true });
      expect(await remoteAlive(k.pid)).toBe(true);
      // And nothing else: exactly the one kernel it reported.
      const named = (await remote.exec(`pgrep -f -- '[k]ernel-${k.name}[.]json'`)).stdout.trim().split('\n').filter(Boolean).map(Number);
      // Besides the kernel, only its nanny (the sh that waits for it, its parent) names its file.
      const nanny = Number((await remote.exec(`ps -o ppid= -p ${k.pid}`)).stdout.trim());
      expect((await remote.exec(`tr '\\0' ' ' < /proc/${nanny}/cmdline`)).stdout).toContain('ktray-nanny');
      expect(named.sort()).toEqual([k.pid, nanny].sort());
      expect((await fresh.run(['stop', id])).code).toBe(0);
    } finally {
      await fresh.dispose();
      await remote.exec('rm -f ~/.bashrc');
    }
  });

  it('with nothing asked for, starts the python3 kernelspec though the first python3 on PATH lacks ipykernel, and says so', async () => {
    // As with pyenv: the first python3 on the login PATH has no ipykernel (-S: no site-packages at all).
    await remote.exec(`mkdir -p ~/bin && printf '#!/bin/sh\\nexec /usr/bin/python3 -S "$@"\\n' > ~/bin/python3 && chmod +x ~/bin/python3 && printf 'export PATH=$HOME/bin:$PATH\\n' > ~/.bashrc`);
    try {
      expect((await run('ssh', ['-o', 'BatchMode=yes', '-F', remote.sshConfigFile, remote.alias, 'command -v python3'], { timeoutMs: 30_000 })).stdout.trim()).toBe(`${remote.home}/bin/python3`);
      const fresh = await cliWorld(remote.sshConfigFile);
      try {
        const r = await fresh.run(['start', remote.alias]);
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(/^Started with kernelspec python3 \(.*\) with \/usr\/bin\/python3\.$/m);
        const id = r.stdout.trim();
        const { localConnectionFile } = await fresh.json<any>(['attach', id, '--frontend', 'none']);
        expect((await runJupyterCheck(localConnectionFile, 'import sys; sys.executable')).result).toBe("'/usr/bin/python3'");
        // A restart starts it the same way.
        expect((await fresh.run(['restart', id])).code).toBe(0);
        expect((await runJupyterCheck(localConnectionFile, 'import sys; sys.executable')).result).toBe("'/usr/bin/python3'");
        expect((await fresh.run(['stop', id])).code).toBe(0);
      } finally {
        await fresh.dispose();
      }
    } finally {
      await remote.exec('rm -rf ~/bin ~/.bashrc');
    }
  });

  it('an unwritable ~/.cache gives a clear error, not a Python traceback', async () => {
    await remote.exec('rm -rf ~/.cache && printf x > ~/.cache');
    try {
      const r = await world.run(['start', remote.alias, '--python', remote.python]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${remote.home}/.cache/ktray`);
      expect(r.stderr).toMatch(/cannot be written/);
      expect(r.stderr).toMatch(/XDG_CACHE_HOME/);
      expect(r.stderr).not.toMatch(/Traceback/);
    } finally {
      await remote.exec('rm -f ~/.cache');
    }
  });
});
