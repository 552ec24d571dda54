// The `ktray` command as a user runs it once built: the bundle scripts/build.mjs
// makes (split, so short commands do not load the agent), run by node, with its background agent.
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, sleep } from '../util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Inside node_modules so the bundle's externals (ssh2, zeromq) resolve from the project.
const OUTDIR = path.join(ROOT, 'node_modules/.cache/kernel-tray-bench');

/** Builds the CLI from the current source with the project's own build script. */
export async function buildCli(): Promise<string> {
  await rm(OUTDIR, { recursive: true, force: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--outdir', OUTDIR], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/build.mjs exited ${code}`))));
  });
  return path.join(OUTDIR, 'cli', 'ktray.js');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class KtrayCli {
  agentPid: number | null = null;

  constructor(
    private readonly bundle: string,
    private readonly sshConfig: string,
    readonly home: string,
    readonly runtimeDir: string,
  ) {}

  run(args: string[], timeoutMs = 120_000): Promise<CliResult> {
    const env = { ...process.env, KTRAY_HOME: this.home, JUPYTER_RUNTIME_DIR: this.runtimeDir, SSH_AUTH_SOCK: '' };
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.bundle, ...args, '--ssh-config', this.sshConfig], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`ktray ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  async json<T = unknown>(args: string[]): Promise<T> {
    const r = await this.run([...args, '--json']);
    if (r.code !== 0) throw new Error(`ktray ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  async hostState(alias: string): Promise<string> {
    const hosts = await this.json<{ id: string; connection: string }[]>(['hosts']);
    return hosts.find((h) => h.id === alias)?.connection ?? 'missing';
  }

  /** `ktray agent start` in a fresh home; remembers the agent's pid. */
  async startAgent(): Promise<number> {
    await mkdir(this.home, { recursive: true });
    const s = await this.json<{ pid: number }>(['agent', 'start']);
    this.agentPid = s.pid;
    return s.pid;
  }

  /** `ktray agent stop` (kernels keep running), then makes sure its process is gone. */
  async stopAgent(): Promise<void> {
    const pid = this.agentPid;
    await this.run(['agent', 'stop']).catch(() => undefined);
    if (pid) {
      for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    this.agentPid = null;
  }

  async dispose(): Promise<void> {
    await this.stopAgent();
    await rm(this.home, { recursive: true, force: true });
  }
}
