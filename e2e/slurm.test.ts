// Kernels on a Slurm cluster, end to end: a real slurmctld/slurmd/munge
// cluster (e2e/harness/slurm-cluster.ts) whose login node is the SSH host and
// whose compute node only the login node reaches, the real ktray CLI and
// agent, and a real jupyter_client executing code through the tunnels.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});

afterAll(async () => {
  await world?.dispose();
  await cluster?.stop();
});

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

    const { localConnectionFile } = await world.json<any>(['attach', id, '--frontend', 'none']);
    const check = await runJupyterCheck(localConnectionFile, 'import socket\nsocket.gethostname()');
    expect(check).toMatchObject({ status: 'ok', result: `'${cluster.compute.hostname}'` });

    const stopped = await world.run(['stop', id]);
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(await cluster.queue()).toEqual([]);
    expect((await cluster.exec(`test -e ${k.connectionFile} && echo left || echo gone`)).stdout.trim()).toBe('gone');
    expect(await listed(id)).toBeUndefined();
    await expect(readFile(localConnectionFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
