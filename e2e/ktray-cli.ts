// Runs the real ktray command line as a user does: bin/ktray.js, which runs the
// CLI bundle (rebuilt first when a source changed).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = path.join(ROOT, 'bin/ktray.js');
const NODE_ARGS: string[] = [];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One user's world: an agent home, a local Jupyter runtime dir, an ssh config. */
export interface CliWorld {
  home: string;
  runtimeDir: string;
  sshConfig: string;
  /** `env`: variables changed for this one command (undefined removes one); `sshConfig`: pass this --ssh-config instead of the world's own. */
  run(args: string[], opts?: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; sshConfig?: string }): Promise<CliResult>;
  /** Starts a long-running command (e.g. `events`); the caller kills it. */
  spawn(args: string[]): ChildProcessWithoutNullStreams;
  /** `run` that must succeed; returns parsed --json output. */
  json<T = any>(args: string[]): Promise<T>;
  /** Stops the world's agent (kernels keep running) and removes its folders. */
  dispose(): Promise<void>;
}

/**
 * `runtimeDir`: the local Jupyter runtime dir's name under the world's folder (default `runtime`);
 * `env`: variables of every command of this world, `(base) => ({...})` given the world's folder.
 */
export async function cliWorld(sshConfig: string, opts: { runtimeDir?: string; env?: (base: string) => NodeJS.ProcessEnv } = {}): Promise<CliWorld> {
  const base = await mkdtemp(path.join(tmpdir(), 'kt-cli-'));
  const home = path.join(base, 'home');
  const runtimeDir = path.join(base, opts.runtimeDir ?? 'runtime');
  const env = { ...process.env, KTRAY_HOME: home, JUPYTER_RUNTIME_DIR: runtimeDir, SSH_AUTH_SOCK: '', ...opts.env?.(base) };
  const run = (args: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; sshConfig?: string } = {}) =>
    new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [...NODE_ARGS, ENTRY, ...args, '--ssh-config', opts.sshConfig ?? sshConfig], { cwd: ROOT, env: { ...env, ...opts.env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`ktray ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
      }, opts.timeoutMs ?? 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  return {
    home,
    runtimeDir,
    sshConfig,
    run,
    spawn: (args) => spawn(process.execPath, [...NODE_ARGS, ENTRY, ...args, '--ssh-config', sshConfig], { cwd: ROOT, env }),
    async json(args) {
      const r = await run([...args, '--json']);
      if (r.code !== 0) throw new Error(`ktray ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    async dispose() {
      await run(['agent', 'stop']).catch(() => {});
      await rm(base, { recursive: true, force: true });
    },
  };
}
