// Proves the Slurm harness is a real cluster using only OpenSSH's client and
// Slurm's own commands: no Kernel Tray code is involved, so a product test
// failing on this harness is a product bug.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './proc';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from './slurm-cluster';
import { until } from './wait';

const unavailable = slurmUnavailable();
if (unavailable) console.warn(`Slurm harness tests skipped: ${unavailable}`);
let cluster: SlurmCluster;

beforeAll(async () => {
  if (unavailable) return;
  cluster = await startSlurmCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

const ssh = (cmd: string) =>
  run('ssh', ['-F', cluster.sshConfigFile, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', cluster.alias, cmd], { timeoutMs: 60_000 });

describe.skipIf(unavailable)('Slurm harness (OpenSSH client, real slurmctld/slurmd/munge)', () => {
  it('logs in to the login node, which runs slurmctld and knows one idle compute node', async () => {
    const r = await ssh('hostname; id -un; sinfo -h -o "%P %t %N"');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([cluster.login.hostname, cluster.user, `${cluster.partition}* idle ${cluster.compute.hostname}`]);
  });

  it('runs a batch job on the compute node, which shares the home and is reachable only from the login node', async () => {
    const sub = await ssh(`cd && printf '#!/bin/sh\\nhostname > ~/where\\nsleep 60\\n' | sbatch --parsable -o ~/job.out`);
    expect(sub.code).toBe(0);
    const job = sub.stdout.trim();
    expect(job).toMatch(/^\d+$/);
    await until(async () => (await cluster.exec('cat ~/where 2>/dev/null')).stdout.trim() === cluster.compute.hostname, {
      timeoutMs: 60_000,
      what: 'the job to write its node name into the shared home',
    });
    expect((await cluster.execCompute('hostname')).stdout.trim()).toBe(cluster.compute.hostname);
    expect((await cluster.execCompute('cat ~/where')).stdout.trim()).toBe(cluster.compute.hostname);
    expect(await cluster.queue()).toEqual([expect.stringMatching(new RegExp(`^${job} RUNNING `))]);
    // The login node reaches the compute node's address; this machine does not (a listener there
    // sends a token; whatever answers here, if anything does, is not it).
    const token = `kt-${Date.now()}`;
    const serve = cluster.execCompute(
      `python3 -c "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${cluster.compute.address}', 7777)); s.listen(); s.settimeout(30)
for _ in range(2):
    try: c, _ = s.accept(); c.sendall(b'${token}'); c.close()
    except OSError: break"`,
      { timeoutMs: 60_000 },
    );
    const read = (from: string) => `import socket, time
for i in range(50):
    try:
        c = socket.create_connection(('${cluster.compute.address}', 7777), timeout=2); c.settimeout(2); print(c.recv(100).decode()); break
    except OSError as e:
        if '${from}' == 'here': print(type(e).__name__); break
        time.sleep(0.1)`;
    expect((await cluster.exec(`python3 -c "${read('login')}"`)).stdout.trim()).toBe(token);
    const here = await run('python3', ['-c', read('here')], { timeoutMs: 30_000 });
    expect(here.stdout.trim()).not.toBe(token);
    await cluster.execCompute(`python3 -c "import socket; socket.create_connection(('${cluster.compute.address}', 7777)).close()"`);
    await serve;
    expect((await ssh(`scancel ${job}`)).code).toBe(0);
    await until(async () => (await cluster.queue()).length === 0, { timeoutMs: 60_000, what: 'the cancelled job to leave squeue' });
  });

  it('stop() removes its namespaces and its claim', async () => {
    const other = await startSlurmCluster();
    const ns = other.namespace!;
    const id = ns.slice(4, 12);
    expect((await run('ip', ['netns', 'list'])).stdout).toContain(ns);
    await other.stop();
    const list = (await run('ip', ['netns', 'list'])).stdout;
    expect(list).not.toContain(`kts-${id}-l`);
    expect(list).not.toContain(`kts-${id}-c`);
    expect(existsSync(`/run/kts-harness/${id}.json`)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
  });
});
