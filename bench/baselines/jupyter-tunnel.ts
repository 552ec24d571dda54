// (b) jupyter_client's tunnelling (`tunnel_to_kernel`, what `jupyter console
// --existing --ssh HOST` runs). It calls plain `ssh HOST` and takes no -F, so it
// can only see a host through the user's ssh config; see setup() for how.
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { run } from '../../e2e/harness/proc';
import type { ConnectionInfo } from '../../electron/shared/types';
import { firstResult } from '../client';
import { killSshClients, now, pythonEnv, writeLocalFile } from '../util';
import { Manual, type Phases } from './manual';

const SCRIPT = fileURLToPath(new URL('./jc_tunnel.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface TunnelOutcome {
  ok: boolean;
  ports?: number[];
  error?: string;
  /** Inside Python: tunnel_to_kernel alone. */
  seconds: number;
  importSeconds: number;
  /** Wall time of the whole python process, from here. */
  wallMs: number;
}

export class JupyterTunnel {
  /** How the ssh config reached jupyter_client, for the report. */
  configNote = '';
  /** Interpreter start + jupyter_client import of each run, reported beside (not in) the totals. */
  readonly pythonStartMs: number[] = [];
  private shimDir = '';

  constructor(
    private readonly remote: RemoteHost,
    private readonly localDir: string,
    private readonly manual: Manual,
  ) {}

  /**
   * OpenSSH reads ~/.ssh/config from the passwd entry's home, not $HOME, so a
   * temporary HOME does not help (checked here with `ssh -G`). What works without
   * touching the user's files: an `ssh` first on PATH that adds `-F <config>`.
   */
  async setup(): Promise<void> {
    const fakeHome = path.join(this.localDir, 'jc-home');
    await mkdir(path.join(fakeHome, '.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(path.join(fakeHome, '.ssh', 'config'), `Include ${this.remote.sshConfigFile}\n`, { mode: 0o600 });
    const g = await run('ssh', ['-G', this.remote.alias], { env: { ...process.env, HOME: fakeHome } });
    const port = /^port (\d+)$/m.exec(g.stdout)?.[1];
    const homeWorks = port === String(this.remote.port);
    this.shimDir = path.join(this.localDir, 'jc-bin');
    await mkdir(this.shimDir, { recursive: true });
    const shim = path.join(this.shimDir, 'ssh');
    await writeFile(shim, `#!/bin/sh\nexec /usr/bin/ssh -F '${this.remote.sshConfigFile}' "$@"\n`);
    await chmod(shim, 0o755);
    this.configNote = homeWorks
      ? 'a temporary HOME whose ~/.ssh/config includes the harness config works, but the PATH shim was used for both'
      : `tunnel_to_kernel has no ssh -F option, and a temporary HOME with ~/.ssh/config is ignored (OpenSSH reads the passwd home: \`ssh -G\` gave port ${port ?? '?'}, not ${this.remote.port}); ` +
        'so it ran with an `ssh` shim first on PATH that execs `/usr/bin/ssh -F <harness ssh_config> "$@"`';
  }

  /** Runs tunnel_to_kernel on a local copy of the kernel's connection file. */
  async tunnel(info: ConnectionInfo, name: string): Promise<TunnelOutcome> {
    const file = path.join(this.localDir, `kernel-jc-remote-${name}.json`);
    await writeFile(file, JSON.stringify(info), { mode: 0o600 });
    const t = now();
    const r = await run(PYTHON, [SCRIPT, file, this.remote.alias], { env: pythonEnv(this.shimDir), timeoutMs: 180_000 });
    const wallMs = now() - t;
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const o = JSON.parse(line) as { ok: boolean; ports?: number[]; error?: string; seconds: number; import_seconds: number };
      const noise = r.stdout.trim().split('\n').slice(0, -1).join(' ').trim();
      return { ok: o.ok, ports: o.ports, error: o.error && noise ? `${o.error} (${noise.slice(0, 300)})` : o.error, seconds: o.seconds, importSeconds: o.import_seconds, wallMs };
    } catch {
      return { ok: false, error: `jc_tunnel.py gave no result (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-400)}`, seconds: NaN, importSeconds: NaN, wallMs };
    }
  }

  /**
   * Time as a user pays it, minus the Python interpreter's start and jupyter_client's import
   * (a `jupyter console` pays those too, but so would any Python frontend of (a) and (c)).
   */
  private async tunnelAndRun(info: ConnectionInfo, name: string, spentMs: number): Promise<{ tunnelMs: number; firstMs: number; localFile: string; outcome: TunnelOutcome }> {
    const outcome = await this.checked(info, name, spentMs);
    this.pythonStartMs.push(outcome.wallMs - outcome.seconds * 1000);
    const localFile = path.join(this.localDir, `kernel-jc-${name}.json`);
    const local = await writeLocalFile(localFile, info, outcome.ports);
    const t = now();
    await firstResult(local, `(b) ${name}`);
    return { tunnelMs: outcome.seconds * 1000, firstMs: now() - t, localFile, outcome };
  }

  async cold(): Promise<{ phases: Phases; remoteFile: string }> {
    const t0 = now();
    const remoteFile = await this.manual.startKernel();
    const t1 = now();
    const info = await this.manual.copyFile(remoteFile);
    const t2 = now();
    try {
      const r = await this.tunnelAndRun(info, 'cold', t2 - t0);
      return { phases: { 'ssh start': t1 - t0, 'ssh cat file': t2 - t1, tunnel_to_kernel: r.tunnelMs, '1+1': r.firstMs }, remoteFile };
    } finally {
      killSshClients(this.remote.sshConfigFile);
    }
  }

  async warm(remoteFile: string): Promise<Phases> {
    const t0 = now();
    const info = await this.manual.copyFile(remoteFile);
    const t1 = now();
    try {
      const r = await this.tunnelAndRun(info, 'warm', t1 - t0);
      return { 'ssh cat file': t1 - t0, tunnel_to_kernel: r.tunnelMs, '1+1': r.firstMs };
    } finally {
      killSshClients(this.remote.sshConfigFile);
    }
  }

  /** Tunnels for the wire section (kept open; the caller ends them with killSshClients). */
  async open(info: ConnectionInfo): Promise<ConnectionInfo> {
    const outcome = await this.checked(info, 'wire', 0);
    return writeLocalFile(this.wireFile, info, outcome.ports);
  }

  get wireFile(): string {
    return path.join(this.localDir, 'kernel-jc-wire.json');
  }

  /** tunnel_to_kernel, then: are its five `ssh -f` tunnels still running? (Each ssh forwards one port.) */
  private async checked(info: ConnectionInfo, name: string, spentMs: number): Promise<TunnelOutcome & { ports: number[] }> {
    const outcome = await this.tunnel(info, name);
    const spent = spentMs + (Number.isFinite(outcome.seconds) ? outcome.seconds * 1000 : outcome.wallMs);
    if (!outcome.ok || !outcome.ports) throw new TunnelFailure(`tunnel_to_kernel failed after ${(spent / 1000).toFixed(1)} s: ${outcome.error}`, spent);
    const alive = tunnelProcesses(this.remote.sshConfigFile, outcome.ports);
    if (alive < 5) {
      throw new TunnelFailure(
        `tunnel_to_kernel returned five ports after ${outcome.seconds.toFixed(1)} s, but only ${alive} of its 5 \`ssh -f ... sleep 60\` tunnels were still running, so the kernel cannot be reached through all of its channels`,
        spent,
      );
    }
    return { ...outcome, ports: outcome.ports };
  }
}

/** How many of this remote's `ssh -f -L 127.0.0.1:PORT:...` processes are running for these local ports. */
function tunnelProcesses(sshConfigFile: string, ports: number[]): number {
  const wanted = new Set(ports.map((p) => `127.0.0.1:${p}:`));
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!/(^|\/)ssh$/.test(argv[0] ?? '') || !argv.includes(sshConfigFile)) continue;
    const fwd = argv[argv.indexOf('-L') + 1] ?? '';
    if ([...wanted].some((w) => fwd.startsWith(w))) n++;
  }
  return n;
}

export class TunnelFailure extends Error {
  constructor(
    message: string,
    readonly spentMs: number,
  ) {
    super(message);
  }
}
