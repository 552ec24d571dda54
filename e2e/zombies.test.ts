// Kernels launched on a host leave no zombie behind, even where the host's
// PID 1 does not reap orphans (a container whose PID 1 is no init): the
// harness's remote runs such a PID 1 here. Real sshd, real ipykernel, real CLI.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJupyterCheck } from './harness/jupyter';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { cliWorld, type CliWorld } from './ktray-cli';

let remote: RemoteHost;
let world: CliWorld;

beforeAll(async () => {
  remote = await startRemoteHost({ reapOrphans: false });
  world = await cliWorld(remote.sshConfigFile);
});

afterAll(async () => {
  await world?.dispose();
  await remote?.stop();
});

/**
 * The remote's /proc line for a pid, as state and start time, or null when no
 * such process exists at all. A pid the host has since given to another
 * process has another start time.
 */
async function procOf(pid: number): Promise<{ state: string; start: string } | null> {
  const r = await remote.exec(`cat /proc/${pid}/stat`);
  if (r.code !== 0) return null;
  const f = r.stdout.slice(r.stdout.lastIndexOf(') ') + 2).trim().split(/\s+/);
  return { state: f[0]!, start: f[19]! };
}

it('a stopped kernel is gone from the process table, not a zombie, and an interrupt still reaches a running one', async () => {
  if (!remote.isolated) {
    console.warn('zombie test skipped: not root, so the remote has no PID namespace of its own to run a non-reaping PID 1 in');
    return;
  }
  const started = await world.run(['start', remote.alias, '--python', remote.python]);
  expect(started.stderr).toBe('');
  const id = started.stdout.trim();
  const k = (await world.json<any[]>(['ls', remote.alias])).find((x) => x.id === id);
  const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
  const running = runJupyterCheck(localConnectionFile, 'import time\ntime.sleep(60)', { timeoutSec: 60 });
  await new Promise((r) => setTimeout(r, 1500));
  expect((await world.run(['interrupt', id])).code).toBe(0);
  expect((await running).ename).toBe('KeyboardInterrupt');
  const before = await procOf(k.pid);
  expect(before?.state).not.toBe('Z');
  expect((await world.run(['stop', id])).code).toBe(0);
  const after = await procOf(k.pid);
  // Gone from the table (not a zombie), or the pid is now another process's.
  if (after) expect(after.start, `pid ${k.pid} still there in state ${after.state}`).not.toBe(before!.start);
  else expect((await remote.exec(`kill -0 ${k.pid}`)).code).not.toBe(0);
});
