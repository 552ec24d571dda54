// Cold (nothing -> first `1+1` of a new remote kernel) and warm attach (a running
// kernel -> first result; for Kernel Tray the host is already connected and listed).
import path from 'node:path';
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { kernelNameFromPath } from '../../electron/core/jupyter/connection-file';
import type { JupyterTunnel } from '../baselines/jupyter-tunnel';
import { cliCold, cliWarm, TrayAgent } from '../baselines/ktray';
import { KtrayCli } from '../baselines/ktray-cli';
import type { Manual } from '../baselines/manual';
import { startKernels, stopAllKernels } from '../remote-kernels';
import { emptyRow, rotated, type Approach, type Row } from '../results';

export interface AttachContext {
  remote: RemoteHost;
  dir: string;
  bundle: string;
  manual: Manual;
  jc: JupyterTunnel;
  /** A copy of the remote's ssh_config for the OpenSSH transport's agents (see TrayAgent.open). */
  opensshConfig: string;
  runs: number;
  log: (line: string) => void;
}

export async function coldSection(ctx: AttachContext): Promise<Row> {
  const row = emptyRow('ms');
  const { remote } = ctx;
  const steps: Record<Approach, (i: number) => Promise<void>> = {
    a: async () => row.a!.addPhases((await ctx.manual.cold()).phases),
    b: async () => row.b!.addPhases((await ctx.jc.cold()).phases),
    c: async (i) => {
      const tray = await TrayAgent.open(remote, path.join(ctx.dir, `cold-tray-${i}`));
      try {
        row.c!.addPhases((await tray.cold()).phases);
      } finally {
        await tray.close();
      }
    },
    o: async (i) => {
      const tray = await TrayAgent.open(remote, path.join(ctx.dir, `cold-openssh-${i}`), 'openssh', ctx.opensshConfig);
      try {
        row.o!.addPhases((await tray.cold()).phases);
      } finally {
        await tray.close();
      }
    },
    cli: async (i) => {
      const base = path.join(ctx.dir, `cold-cli-${i}`);
      const cli = new KtrayCli(ctx.bundle, remote.sshConfigFile, path.join(base, 'home'), path.join(base, 'runtime'));
      try {
        await cli.startAgent();
        row.cli!.addPhases((await cliCold(cli, remote)).phases);
      } finally {
        await cli.dispose();
      }
    },
  };
  for (let i = 0; i < ctx.runs; i++) {
    for (const a of rotated<Approach>(['a', 'b', 'c', 'cli', 'o'], i)) {
      try {
        await steps[a](i);
      } catch (err) {
        row[a]!.fail(err);
        ctx.log(`  cold ${a} run ${i + 1} failed: ${(err as Error).message}`);
      } finally {
        await stopAllKernels(remote);
      }
    }
    ctx.log(`  cold run ${i + 1}/${ctx.runs} done`);
  }
  return row;
}

/** Warm attach. `tray`, `openssh` (the host set to the OpenSSH transport) and `cli` are long-lived agents: the host connected, the kernel listed. */
export async function warmSection(ctx: AttachContext, tray: TrayAgent, cli: KtrayCli, openssh: TrayAgent): Promise<Row> {
  const row = emptyRow('ms');
  const { remote } = ctx;
  const [file] = await startKernels(remote, 1, 'warm');
  const id = `${remote.alias}/${kernelNameFromPath(file!)}`;
  // As the tray menu and `ktray ls` show it: listed, host connected.
  if ((await tray.list()) !== 1) throw new Error('warm: the in-process agent does not list the one running kernel');
  if ((await openssh.list()) !== 1) throw new Error('warm: the in-process agent over OpenSSH does not list the one running kernel');
  await cli.json(['ls', remote.alias]);
  const steps: Record<Approach, () => Promise<void>> = {
    a: async () => row.a!.addPhases(await ctx.manual.warm(file!)),
    b: async () => row.b!.addPhases(await ctx.jc.warm(file!)),
    c: async () => row.c!.addPhases(await tray.warm(id)),
    cli: async () => row.cli!.addPhases(await cliWarm(cli, remote, id)),
    o: async () => row.o!.addPhases(await openssh.warm(id)),
  };
  for (let i = 0; i < ctx.runs; i++) {
    for (const a of rotated<Approach>(['a', 'b', 'c', 'cli', 'o'], i)) {
      try {
        await steps[a]();
      } catch (err) {
        row[a]!.fail(err);
        ctx.log(`  warm ${a} run ${i + 1} failed: ${(err as Error).message}`);
      }
    }
    ctx.log(`  warm run ${i + 1}/${ctx.runs} done`);
  }
  await stopAllKernels(remote);
  return row;
}
