// Kernels on a Slurm cluster, end to end: a real slurmctld/slurmd/munge
// cluster (e2e/harness/slurm-cluster.ts) whose login node is the SSH host and
// whose compute node only the login node reaches, the real ktray CLI and
// agent, and a real jupyter_client executing code through the tunnels.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argvsHolding, watchArgvWith, watchRemoteArgv } from './harness/argv-watch';
import { parseDiscovery } from '../electron/core/kernels/discovery';
import { discoveryScript } from '../electron/core/kernels/remote-scripts';
import { slurm } from '../electron/core/kernels/schedulers/slurm';
import { runJupyterCheck } from './harness/jupyter';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from './harness/slurm-cluster';
import { eventually, until } from './harness/wait';
import { cliWorld, type CliWorld } from './ktray-cli';

const unavailable = slurmUnavailable();
if (unavailable) console.warn(`Slurm e2e tests skipped: ${unavailable}`);

let cluster: SlurmCluster;
let world: CliWorld;

beforeAll(async () => {
  if (unavailable) return;
  cluster = await startSlurmCluster();
  world = await cliWorld(cluster.sshConfigFile);
  // The queue asked every 2 s while jobs wait or run (15 s by default), so tests see changes soon.
  await world.json(['settings', 'jobPollSeconds=2']);
});

afterAll(async () => {
  await world?.dispose();
  await cluster?.stop();
});

/** `ktray events --json` running; `seen()` parses what it printed so far. */
async function events(w: CliWorld = world) {
  const child = w.spawn(['events', '--json']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => setTimeout(r, 1500));
  const seen = (): any[] => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { seen, stop: () => child.kill('SIGINT') };
}

/** What a process list on either node holds that contains `needle` (a kernel key must never be there). */
async function inArgv(needle: string): Promise<string[]> {
  const scan = `for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done | grep -F -- ${JSON.stringify(needle)} || true`;
  const found = [];
  for (const r of [await cluster.execAdmin(scan), await cluster.execCompute(scan)]) found.push(...r.stdout.split('\n').filter((l) => l.trim() && !l.includes('grep -F')));
  return found;
}

async function listed(id: string): Promise<any> {
  return (await world.json<any[]>(['ls', cluster.alias])).find((k) => k.id === id);
}

/** Submits a kernel job with these sbatch arguments and returns its id (stdout's one line). */
async function submit(args: string, extra: string[] = []): Promise<string> {
  const r = await world.run(['start', cluster.alias, '--slurm', args, ...extra]);
  if (r.code !== 0) throw new Error(`ktray start --slurm failed (${r.code}): ${r.stderr}\n${cluster.logs().slice(-4000)}`);
  return r.stdout.trim();
}

describe.skipIf(unavailable)('kernels on a Slurm cluster, through its login node', () => {
  it('submits a batch job whose kernel runs on the compute node, attached through the login node, then stop cancels it', async () => {
    const id = await submit('--time=00:10:00');
    expect(id).toMatch(new RegExp(`^${cluster.alias}/[0-9a-f-]{36}$`));
    const k = await listed(id);
    expect(k).toMatchObject({ alive: true, job: { scheduler: 'slurm', state: 'RUNNING', node: cluster.compute.hostname, partition: cluster.partition } });
    expect(k.job.endsAt - Date.now()).toBeGreaterThan(8 * 60_000);
    expect(await cluster.queue()).toEqual([`${k.job.jobId} RUNNING ktray-${k.name}`]);

    // The connection file on the shared home: 0600 in a 0700 dir, the node's address in it.
    const st = await cluster.exec(`stat -c '%a %U' ${k.connectionFile} "$(dirname ${k.connectionFile})"`);
    const modes = st.stdout.trim().split('\n').map((l) => l.split(' ')).map(([mode, owner]) => [(parseInt(mode!, 8) & 0o777).toString(8), owner]);
    expect(modes).toEqual([['600', cluster.user], ['700', cluster.user]]);
    const remote = JSON.parse((await cluster.exec(`cat ${k.connectionFile}`)).stdout);
    expect(remote.ip).toBe(cluster.compute.address);

    const log = await cluster.exec(`stat -c '%a' ${k.job.logFile} && stat -c '%a' "$(dirname ${k.job.logFile})"`);
    expect(log.stdout.trim().split('\n').map((m) => (parseInt(m, 8) & 0o777).toString(8))).toEqual(['600', '700']);

    const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
    const check = await runJupyterCheck(localConnectionFile, 'import socket\nsocket.gethostname()');
    expect(check).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });
    // The kernel's key was made on the node and is in no process's argv on either node.
    expect(remote.key.length).toBeGreaterThan(20);
    expect(await inArgv(remote.key)).toEqual([]);

    const stopped = await world.run(['stop', id]);
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(await cluster.queue()).toEqual([]);
    expect((await cluster.exec(`test -e ${k.connectionFile} && echo left || echo gone`)).stdout.trim()).toBe('gone');
    expect(await listed(id)).toBeUndefined();
    await expect(readFile(localConnectionFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('puts no kernel key and no script text in any argv on either node, as another user sees them (submit, attach, interrupt, restart, stop)', async () => {
    const onLogin = watchRemoteArgv(cluster)!;
    const onNode = watchArgvWith(cluster.spawnComputeAs, cluster.uid, 'on the compute node');
    let watching = true;
    try {
      const id = await submit('--time=00:10:00');
      const k = await listed(id);
      const key = JSON.parse((await cluster.exec(`cat ${k.connectionFile}`)).stdout).key as string;
      const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
      expect(await runJupyterCheck(localConnectionFile, '1+1')).toMatchObject({ status: 'ok', result: '2' });
      expect((await world.run(['interrupt', id])).code).toBe(0);
      expect((await world.run(['restart', id])).code).toBe(0);
      expect(await runJupyterCheck(localConnectionFile, '2+2', { timeoutSec: 60 })).toMatchObject({ status: 'ok', result: '4' });
      expect((await world.run(['stop', id])).code).toBe(0);
      watching = false;
      const [login, node] = await Promise.all([onLogin.stop(), onNode.stop()]);
      // The samplers looked, and saw the test user's work: sbatch on the login node, the kernel on the node.
      expect(login.scans).toBeGreaterThan(10);
      expect(node.scans).toBeGreaterThan(10);
      expect(login.cmdlines.some((c) => c.startsWith('sbatch '))).toBe(true);
      expect(node.cmdlines.some((c) => c.includes('ipykernel'))).toBe(true);
      const all = [...login.cmdlines, ...node.cmdlines];
      const short = (lines: string[]) => lines.map((c) => (c.length > 160 ? `${c.slice(0, 160)}… (${c.length} chars)` : c));
      expect(short(argvsHolding(all, key)), 'argvs holding the kernel key').toEqual([]);
      // Scripts go on stdin (sh -s, sbatch, python3 -): none of their text is an argument.
      // (squeue, sbatch, scancel appear with their own options, which is what an argv is for.)
      for (const words of ['KTRAY_JOB_EOF', 'KTRAY_KERNEL_EOF', '@@KT', 'import signal', 'umask 077', 'printf ', '\n']) {
        expect(short(all.filter((c) => c.includes(words))), `argvs holding script text (${JSON.stringify(words)})`).toEqual([]);
      }
    } finally {
      if (watching) await Promise.all([onLogin.stop(), onNode.stop()]).catch(() => {});
    }
  });

  it('waits queued with Slurm\'s reason while the node is full, then runs: started event, attach, code on the node', async () => {
    const filler = (await cluster.exec(`sbatch --parsable --exclusive -J filler -o /dev/null --wrap 'sleep 600'`)).stdout.trim();
    const ev = await events();
    try {
      await until(async () => (await cluster.queue()).some((l) => l.startsWith(`${filler} RUNNING`)), { timeoutMs: 30_000, what: 'the filler job to run' });
      const r = await world.run(['start', cluster.alias, '--slurm', '--time=00:10:00', '--wait', '3']);
      expect(r.code).toBe(0);
      const id = r.stdout.trim();
      expect(r.stderr).toMatch(/queued \((Resources|Priority)\)/);
      const q = await listed(id);
      expect(q).toMatchObject({ state: 'queued', alive: false, job: { state: 'PENDING', node: null } });
      expect(['Resources', 'Priority']).toContain(q.job.reason);
      const early = await world.run(['attach', id, '--frontend', 'none']);
      expect(early.code).toBe(1);
      expect(early.stderr).toMatch(new RegExp(`Cannot attach ${id} yet: its job ${q.job.jobId} is queued`));

      expect((await cluster.exec(`scancel ${filler}`)).code).toBe(0);
      const running = await eventually(async () => {
        const k = await listed(id);
        return k?.alive ? k : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500, what: 'the queued kernel to run' });
      expect(running.job).toMatchObject({ state: 'RUNNING', node: cluster.compute.hostname });
      await until(() => ev.seen().some((e) => e.type === 'job-started' && e.kernel.id === id), { timeoutMs: 30_000, what: 'a job-started event' });
      const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
      expect(await runJupyterCheck(localConnectionFile, 'import socket\nsocket.gethostname()')).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });
      expect((await world.run(['stop', id])).code).toBe(0);
      expect(await cluster.queue()).toEqual([]);
    } finally {
      ev.stop();
      await cluster.exec(`scancel ${filler}`);
    }
  });

  it('survives a dropped SSH connection: the job keeps running and the same local file carries on', async () => {
    const id = await submit('--time=00:10:00');
    const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
    expect(await runJupyterCheck(localConnectionFile, 'x = 41\nx')).toMatchObject({ status: 'ok', result: '41' });
    const before = cluster.acceptedCount();
    cluster.dropConnections();
    await until(() => cluster.acceptedCount() > before, { timeoutMs: 30_000, what: 'the agent to reconnect' });
    expect(await runJupyterCheck(localConnectionFile, 'x + 1', { timeoutSec: 60 })).toMatchObject({ status: 'ok', result: '42' });
    expect(await listed(id)).toMatchObject({ alive: true, job: { state: 'RUNNING' } });
    expect((await world.run(['stop', id])).code).toBe(0);
    expect(await cluster.queue()).toEqual([]);
  });

  it('interrupts a running cell, and restarts the kernel inside the same allocation', async () => {
    const id = await submit('--time=00:10:00');
    const k = await listed(id);
    const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
    expect(await runJupyterCheck(localConnectionFile, 'x = 1\nx')).toMatchObject({ status: 'ok', result: '1' });
    const running = runJupyterCheck(localConnectionFile, 'import time\ntime.sleep(60)', { timeoutSec: 60 });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await world.run(['interrupt', id])).code).toBe(0);
    expect((await running).ename).toBe('KeyboardInterrupt');

    const restarted = await world.run(['restart', id]);
    expect(restarted.stderr).toBe('');
    expect(restarted.code).toBe(0);
    // Same job, same node, same file: a fresh namespace.
    expect(await runJupyterCheck(localConnectionFile, 'x', { timeoutSec: 60 })).toMatchObject({ status: 'error', ename: 'NameError' });
    expect(await runJupyterCheck(localConnectionFile, 'import socket\nsocket.gethostname()')).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });
    expect(await listed(id)).toMatchObject({ alive: true, job: { jobId: k.job.jobId, state: 'RUNNING', node: cluster.compute.hostname } });
    expect((await world.run(['stop', id])).code).toBe(0);
    expect(await cluster.queue()).toEqual([]);
  });

  it('warns before the time limit, then reports the kernel dead with "time limit"', async () => {
    await world.json(['settings', 'jobWarningMinutes=1']);
    const ev = await events();
    try {
      const id = await submit('--time=00:01:00');
      await world.json<any>(['attach', id, '--frontend', 'none']);
      const died = await eventually(() => ev.seen().find((e) => e.type === 'kernel-died' && e.kernel.id === id), { timeoutMs: 150_000, intervalMs: 500, what: 'the job to end at its time limit' });
      expect(died.reason).toMatch(/^Slurm job \d+ ended: time limit \(TIMEOUT\)/);
      const all = ev.seen();
      const warned = all.findIndex((e) => e.type === 'job-time-warning' && e.kernel.id === id);
      expect(warned).toBeGreaterThanOrEqual(0);
      expect(all[warned].minutesLeft).toBeLessThanOrEqual(1);
      expect(warned).toBeLessThan(all.findIndex((e) => e.type === 'kernel-died' && e.kernel.id === id));
      const k = await listed(id);
      expect(k).toMatchObject({ state: 'dead', alive: false, job: { state: 'TIMEOUT', ended: 'time limit' } });
      const ls = await world.run(['ls', cluster.alias]);
      expect(ls.stdout).toContain(`${id}: its job ${k.job.jobId} ended: time limit (TIMEOUT)`);
      expect((await world.run(['stop', id])).code).toBe(0);
      expect(await listed(id)).toBeUndefined();
    } finally {
      ev.stop();
      await world.json(['settings', 'jobWarningMinutes=10']);
    }
  });

  it('reports a job cancelled from outside (scancel on the login node) as cancelled', async () => {
    const ev = await events();
    try {
      const id = await submit('--time=00:10:00');
      const k = await listed(id);
      await world.json<any>(['attach', id, '--frontend', 'none']);
      expect((await cluster.exec(`scancel ${k.job.jobId}`)).code).toBe(0);
      const died = await eventually(() => ev.seen().find((e) => e.type === 'kernel-died' && e.kernel.id === id), { timeoutMs: 60_000, intervalMs: 250, what: 'the cancelled job to be reported' });
      expect(died.reason).toBe(`Slurm job ${k.job.jobId} ended: cancelled (scancel, by you or an administrator) (CANCELLED)`);
      expect(await listed(id)).toMatchObject({ state: 'dead', job: { state: 'CANCELLED' } });
      expect((await world.run(['stop', id])).code).toBe(0);
    } finally {
      ev.stop();
    }
  });

  it("refuses a bad partition with sbatch's own words, and sbatch arguments it cannot pass before submitting anything", async () => {
    const r = await world.run(['start', cluster.alias, '--slurm', '--partition=nosuch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sbatch on ${cluster.alias} refused the job: sbatch: error: invalid partition specified: nosuch`);
    const json = await world.run(['start', cluster.alias, '--slurm', '--partition=nosuch', '--json']);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'JOB_REFUSED', host: cluster.alias });
    for (const [args, words] of [
      ['--job-name=mine', /cannot pass --job-name to sbatch/],
      ['-o out.txt', /cannot pass -o \(--output\)/],
      ['train.sh', /"train.sh" in the sbatch arguments is not an option/],
      ['--comment="unclosed', /unclosed double quote/],
    ] as const) {
      const bad = await world.run(['start', cluster.alias, '--slurm', args]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(words);
    }
    expect(await cluster.queue()).toEqual([]);
  });

  it("shows the tail of a failed job's output (no ipykernel for the given --python) and leaves nothing queued", async () => {
    await cluster.exec('python3 -m venv --without-pip ~/bare');
    const python = `${cluster.home}/bare/bin/python`;
    expect((await cluster.execCompute(`${python} -c 'import ipykernel' 2>&1`)).stdout).toContain('No module named');
    const before = (await world.json<any[]>(['ls', cluster.alias])).length;
    const r = await world.run(['start', cluster.alias, '--slurm', '--time=00:05:00', '--python', python]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The kernel's job on .* ended before the kernel ran: Slurm job \d+ ended: failed/);
    expect(r.stderr).toContain(`ktray: ipykernel is not installed for ${python} on ${cluster.compute.hostname} (the compute node)`);
    expect(await cluster.queue()).toEqual([]);
    expect((await world.json<any[]>(['ls', cluster.alias])).length).toBe(before);
  });

  it('finds its jobs again after an agent restart, and from a new agent that only knows the host is a cluster', async () => {
    const id = await submit('--time=00:10:00');
    const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
    expect((await world.run(['agent', 'stop'])).code).toBe(0);
    // The next agent (started by this ls) lists the job from the queue, and re-attaches it as it comes up.
    expect(await listed(id)).toMatchObject({ alive: true, job: { state: 'RUNNING' } });
    await until(async () => (await listed(id))?.attached === true, { timeoutMs: 30_000, intervalMs: 250, what: 'the new agent to re-attach the kernel' });
    expect(await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 60 })).toMatchObject({ status: 'ok', result: '42' });

    const other = await cliWorld(cluster.sshConfigFile);
    try {
      await other.json(['slurm', cluster.alias, '--time=00:10:00']);
      // Under 10 minutes are left of the job's limit: the new agent warns of a job it did not submit.
      await other.json(['settings', 'jobWarningMinutes=15']);
      const ev = await events(other);
      try {
        const found = (await other.json<any[]>(['ls', cluster.alias])).find((k) => k.id === id);
        expect(found).toMatchObject({ alive: true, job: { state: 'RUNNING', node: cluster.compute.hostname } });
        const warned = await eventually(() => ev.seen().find((e) => e.type === 'job-time-warning' && e.kernel.id === id), { timeoutMs: 20_000, intervalMs: 250, what: "the new agent's time-limit warning for a job found again" });
        expect(warned.minutesLeft).toBeLessThanOrEqual(10);
        expect(warned.kernel.job.jobId).toBe(found.job.jobId);
      } finally {
        ev.stop();
      }
      // Its kernel listens on the node's address: forwarded there for a job of the user's own queue, found again.
      const theirs = await other.json<any>(['attach', id, '--frontend', 'none']);
      expect(await runJupyterCheck(theirs.localConnectionFile, 'import socket\nsocket.gethostname()', { timeoutSec: 60 })).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });
    } finally {
      await other.dispose();
    }
    expect((await world.run(['stop', id])).code).toBe(0);
    expect(await cluster.queue()).toEqual([]);
  });
  it("with the login node forbidding TCP forwarding: attach says so and names the setting; with --node-ssh on it goes by SSH to the node (its key checked first), and code runs there", async () => {
    const id = await submit('--time=00:10:00');
    const knownHosts = await readFile(cluster.knownHostsFile, 'utf8');
    await cluster.setLoginForwarding(false);
    // A new agent: its connection to the login node is one made under AllowTcpForwarding no.
    const w = await cliWorld(cluster.sshConfigFile);
    try {
      await w.json(['slurm', cluster.alias, '--time=00:10:00']);
      const refused = await w.run(['attach', id, '--frontend', 'none']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${cluster.alias} (the login node) refused to forward to ${id}'s kernel on its compute node ${cluster.compute.hostname}`);
      expect(refused.stderr).toContain(`ktray slurm ${cluster.alias} --node-ssh on`);
      expect((await w.json<any>(['slurm', cluster.alias, '--node-ssh', 'on'])).scheduler).toMatchObject({ kind: 'slurm', args: '--time=00:10:00', nodeSsh: true });

      // The node's host key is not in known_hosts yet: refused, with its fingerprint, nothing trusted.
      const unknown = await w.run(['attach', id, '--frontend', 'none']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(new RegExp(`The compute node ${cluster.compute.hostname} of ${cluster.alias} .* is not in known_hosts\\. It offers ssh-ed25519 key SHA256:`));
      expect(unknown.stderr).toContain(`ssh ${cluster.alias} ssh-keyscan -t ed25519 ${cluster.compute.hostname}`);
      expect(await readFile(cluster.knownHostsFile, 'utf8')).toBe(knownHosts);

      await appendFile(cluster.knownHostsFile, cluster.compute.knownHostsLine);
      const a = await w.json<any>(['attach', id, '--frontend', 'none']);
      expect(await runJupyterCheck(a.localConnectionFile, 'import socket\nsocket.gethostname()', { timeoutSec: 60 })).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });
      // The live state comes over the same way (the monitor's heartbeat through the node's sshd).
      await until(async () => ['idle', 'busy'].includes((await w.json<any[]>(['ls', cluster.alias])).find((k) => k.id === id)?.state), { timeoutMs: 30_000, intervalMs: 250, what: 'the kernel watched through its node' });
      expect((await w.run(['stop', id])).code).toBe(0);
      expect(await cluster.queue()).toEqual([]);
    } finally {
      await w.dispose();
      await cluster.setLoginForwarding(true);
      await writeFile(cluster.knownHostsFile, knownHosts);
    }
  });
  it("asks sacct how a remembered job the queue no longer shows ended, in the listing's round trip; with accounting off (this cluster) it says sacct's words", async () => {
    // A job id this agent would remember that squeue does not show (as after MinJobAge), beside one it shows.
    const id = await submit('--time=00:10:00');
    const shown = (await listed(id)).job.jobId as string;
    const { script, marker } = discoveryScript([], slurm.queueScript([shown, '999999']));
    const r = await cluster.exec(script);
    expect(r.code).toBe(0);
    const q = slurm.parseQueue(parseDiscovery(r.stdout, marker).queue);
    expect(q).toMatchObject({ ok: true });
    const accounting = q && q.ok ? q.accounting : undefined;
    // Only the job squeue no longer shows is asked of sacct.
    expect([...(accounting?.keys() ?? [])]).toEqual(['999999']);
    const sacct = await cluster.exec('sacct -n -P -X -j 999999 -o JobID,State,Reason,ExitCode 2>&1; echo "exit $?"');
    console.log(`sacct on this cluster (AccountingStorageType=accounting_storage/none) says: ${sacct.stdout.trim()}`);
    const words = sacct.stdout.trim().split('\n').slice(0, -1).join(' ');
    const code = sacct.stdout.trim().split('\n').at(-1)!.replace('exit ', '');
    expect(code).not.toBe('0');
    expect(accounting!.get('999999')).toEqual({
      error: /accounting storage is disabled/.test(words) ? `the cluster keeps no job accounting (sacct: ${words})` : `sacct failed (exit ${code}): ${words}`,
    });
    expect((await world.run(['stop', id])).code).toBe(0);
  });
});
