// (a) on a Slurm cluster, by hand as an expert does it: OpenSSH to the login
// node with the harness's ssh_config, no ControlMaster (each step its own SSH
// login, as the usual recipe has it).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { run } from '../../e2e/harness/proc';
import type { SlurmCluster } from '../../e2e/harness/slurm-cluster';
import type { ConnectionInfo } from '../../electron/shared/types';
import { firstResult } from '../client';
import { freePorts, killSshClients, now, parseInfo, writeLocalFile } from '../util';
import type { Phases } from './manual';

export class ManualSlurm {
  constructor(
    private readonly cluster: SlurmCluster,
    private readonly localDir: string,
  ) {}

  private async ssh(args: string[], what: string): Promise<string> {
    const r = await run('ssh', ['-F', this.cluster.sshConfigFile, '-o', 'ControlPath=none', ...args], { timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`(a) ${what}: ssh exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * `ssh login sbatch --wrap 'python3 -m ipykernel_launcher -f FILE --ip=$(hostname -I)'`;
   * `ssh login 'until [ -s FILE ]; do sleep 0.1; done; cat FILE'`; one
   * `ssh -f -N -L p:NODE:port x5 login` to the node's address; then `1+1`.
   */
  async submitToResult(): Promise<{ phases: Phases; jobId: string }> {
    const file = `.local/share/jupyter/runtime/kernel-${randomUUID()}.json`;
    const t0 = now();
    const jobId = (
      await this.ssh(
        [this.cluster.alias, `mkdir -p ~/.local/share/jupyter/runtime && sbatch --parsable --time=00:10:00 -o /dev/null --wrap 'python3 -m ipykernel_launcher -f ~/${file} --ip=$(hostname -I | cut -d" " -f1)'`],
        'sbatch',
      )
    ).trim();
    const t1 = now();
    const info = parseInfo(await this.ssh([this.cluster.alias, `cd && until [ -s ${file} ]; do sleep 0.1; done; sleep 0.1; cat ${file}`], 'wait for the file'), `(a) ${file}`);
    const t2 = now();
    const local = await this.forward(info);
    const t3 = now();
    await firstResult(local, '(a) slurm');
    const t4 = now();
    killSshClients(this.cluster.sshConfigFile);
    return { phases: { 'ssh sbatch': t1 - t0, 'ssh wait + cat file': t2 - t1, 'ssh -N -L x5 to the node': t3 - t2, '1+1': t4 - t3 }, jobId };
  }

  private async forward(info: ConnectionInfo): Promise<ConnectionInfo> {
    const ports = await freePorts(5);
    const remote = [info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port];
    const forwards = ports.flatMap((p, i) => ['-L', `${p}:${info.ip}:${remote[i]}`]);
    await this.ssh(['-f', '-o', 'ExitOnForwardFailure=yes', ...forwards, '-N', this.cluster.alias], 'forward five ports to the node');
    return writeLocalFile(path.join(this.localDir, 'kernel-manual-slurm.json'), info, ports);
  }
}
