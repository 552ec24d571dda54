// Slurm: submit → first `1+1` on an idle cluster (the harness's real
// slurmctld/slurmd, the same added RTT in front of its login node), by hand
// against Kernel Tray (tray agent in-process and the CLI), each from cold: no
// SSH connection, nothing running. Between runs every job is cancelled.
import path from 'node:path';
import type { SlurmCluster } from '../../e2e/harness/slurm-cluster';
import { localInfo, TrayAgent } from '../baselines/ktray';
import { KtrayCli } from '../baselines/ktray-cli';
import { ManualSlurm } from '../baselines/manual-slurm';
import { firstResult } from '../client';
import { emptyRow, rotated, type Approach, type Row } from '../results';
import { now, sleep } from '../util';

export interface SlurmContext {
  cluster: SlurmCluster;
  dir: string;
  bundle: string;
  runs: number;
  log: (line: string) => void;
}

const ARGS = '--time=00:10:00';

export async function slurmSection(ctx: SlurmContext): Promise<Row> {
  const row = emptyRow('ms', ['a', 'c', 'cli']);
  const { cluster } = ctx;
  const manual = new ManualSlurm(cluster, ctx.dir);
  const steps: Partial<Record<Approach, (i: number) => Promise<void>>> = {
    a: async () => row.a!.addPhases((await manual.submitToResult()).phases),
    c: async (i) => {
      const tray = await TrayAgent.open(cluster, path.join(ctx.dir, `slurm-tray-${i}`));
      try {
        const t0 = now();
        const k = await tray.agent.start({ host: cluster.alias, slurm: ARGS });
        const t1 = now();
        if (!k.alive) throw new Error(`(c) the job was not running when start returned (${k.state})`);
        const { localConnectionFile } = await tray.agent.attach({ id: k.id });
        const t2 = now();
        await firstResult(await localInfo(localConnectionFile, '(c) slurm'), '(c) slurm');
        const t3 = now();
        row.c!.addPhases({ 'start (sbatch + until it runs)': t1 - t0, attach: t2 - t1, '1+1': t3 - t2 });
      } finally {
        await tray.close();
      }
    },
    cli: async (i) => {
      const base = path.join(ctx.dir, `slurm-cli-${i}`);
      const cli = new KtrayCli(ctx.bundle, cluster.sshConfigFile, path.join(base, 'home'), path.join(base, 'runtime'));
      try {
        await cli.startAgent();
        const t0 = now();
        const k = await cli.json<{ id: string; alive: boolean }>(['start', cluster.alias, '--slurm', ARGS]);
        const t1 = now();
        if (!k.alive) throw new Error('(c) CLI: the job was not running when start returned');
        const a = await cli.json<{ localConnectionFile: string }>(['attach', k.id, '--frontend', 'none']);
        const t2 = now();
        await firstResult(await localInfo(a.localConnectionFile, '(c) CLI slurm'), '(c) CLI slurm');
        const t3 = now();
        row.cli!.addPhases({ 'ktray start --slurm': t1 - t0, 'ktray attach': t2 - t1, '1+1': t3 - t2 });
      } finally {
        await cli.dispose();
      }
    },
  };
  for (let i = 0; i < ctx.runs; i++) {
    for (const a of rotated<Approach>(['a', 'c', 'cli'], i)) {
      try {
        await steps[a]!(i);
      } catch (err) {
        row[a]!.fail(err);
        ctx.log(`  slurm ${a} run ${i + 1} failed: ${(err as Error).message}`);
      } finally {
        await idle(cluster);
      }
    }
    ctx.log(`  slurm run ${i + 1}/${ctx.runs} done`);
  }
  return row;
}

/** Every job of the test user cancelled and gone, kernel files removed: the next run finds an idle cluster. */
async function idle(cluster: SlurmCluster): Promise<void> {
  await cluster.exec('scancel -u "$(id -un)"; rm -f ~/.local/share/jupyter/runtime/kernel-*.json');
  for (let i = 0; i < 600 && (await cluster.queue()).length; i++) await sleep(100);
}
