// (a) The manual recipe as an expert types it: OpenSSH with the harness's ssh_config,
// no ControlMaster (each step is its own SSH connection, as in the usual recipe).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { run } from '../../e2e/harness/proc';
import type { ConnectionInfo } from '../../electron/shared/types';
import { firstResult } from '../client';
import { runtimeDir } from '../remote-kernels';
import { freePorts, killSshClients, now, parseInfo, writeLocalFile } from '../util';

export interface Phases {
  [phase: string]: number;
}

export class Manual {
  constructor(
    private readonly remote: RemoteHost,
    private readonly localDir: string,
  ) {}

  private async ssh(args: string[], what: string): Promise<string> {
    const r = await run('ssh', ['-F', this.remote.sshConfigFile, '-o', 'ControlPath=none', ...args], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`(a) ${what}: ssh exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `ssh host 'setsid nohup python3 -m ipykernel_launcher -f FILE ... &'`; returns FILE. */
  async startKernel(): Promise<string> {
    const dir = runtimeDir(this.remote);
    const file = `${dir}/kernel-${randomUUID()}.json`;
    await this.ssh(
      [this.remote.alias, `mkdir -p ${dir} && cd ~ && setsid nohup python3 -m ipykernel_launcher -f ${file} >/dev/null 2>&1 </dev/null &`],
      'start a kernel',
    );
    return file;
  }

  /** `ssh host cat FILE`, waiting on the host for the kernel to write it (what an expert loops for). */
  async copyFile(file: string): Promise<ConnectionInfo> {
    const text = await this.ssh([this.remote.alias, `until [ -s ${file} ]; do sleep 0.05; done; cat ${file}`], 'copy the connection file');
    return parseInfo(text, `(a) ${file}`);
  }

  /**
   * One `ssh -f -N -o ExitOnForwardFailure=yes -L ... x5`: -f returns once every
   * forward is listening. The local file gets the forwarded ports.
   */
  async forward(info: ConnectionInfo, name: string, opts: { tty?: boolean } = {}): Promise<{ info: ConnectionInfo; file: string }> {
    const ports = await freePorts(5);
    const remotePorts = [info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port];
    const forwards = ports.flatMap((p, i) => ['-L', `${p}:127.0.0.1:${remotePorts[i]}`]);
    // With a tty the session is "interactive" and OpenSSH sets TCP_NODELAY; `-N` runs with Nagle on.
    const mode = opts.tty ? ['-tt', this.remote.alias, 'sleep 3600'] : ['-N', this.remote.alias];
    await this.ssh(['-f', '-o', 'ExitOnForwardFailure=yes', ...forwards, ...mode], 'forward five ports');
    const file = path.join(this.localDir, `kernel-manual-${name}.json`);
    return { info: await writeLocalFile(file, info, ports), file };
  }

  /** Cold: nothing running -> first `1+1` result. Returns phase times (ms) and the remote file. */
  async cold(): Promise<{ phases: Phases; remoteFile: string }> {
    const t0 = now();
    const remoteFile = await this.startKernel();
    const t1 = now();
    const info = await this.copyFile(remoteFile);
    const t2 = now();
    const local = await this.forward(info, 'cold');
    const t3 = now();
    await firstResult(local.info, '(a) cold');
    const t4 = now();
    killSshClients(this.remote.sshConfigFile);
    return { phases: { 'ssh start': t1 - t0, 'ssh cat file': t2 - t1, 'ssh -N -L x5': t3 - t2, '1+1': t4 - t3 }, remoteFile };
  }

  /** Warm: the kernel runs and the expert knows its file -> first result. */
  async warm(remoteFile: string): Promise<Phases> {
    const t0 = now();
    const info = await this.copyFile(remoteFile);
    const t1 = now();
    const local = await this.forward(info, 'warm');
    const t2 = now();
    await firstResult(local.info, '(a) warm');
    const t3 = now();
    killSshClients(this.remote.sshConfigFile);
    return { 'ssh cat file': t1 - t0, 'ssh -N -L x5': t2 - t1, '1+1': t3 - t2 };
  }

  /**
   * The expert's listing: one ssh printing every connection file of the runtime dir and the
   * user's processes (what `ktray ls` merges), without starting a Python (`jupyter --runtime-dir`
   * would add an interpreter start). Returns how many files it saw.
   */
  async list(): Promise<number> {
    const out = await this.ssh(
      [
        this.remote.alias,
        'cd ~/.local/share/jupyter/runtime 2>/dev/null && for f in kernel-*.json; do [ -f "$f" ] && echo "== $f" && cat "$f" && echo; done; ps -u "$(id -u)" -o pid=,etime=,args=',
      ],
      'list kernels',
    );
    return out.split('\n').filter((l) => l.startsWith('== kernel-')).length;
  }
}
