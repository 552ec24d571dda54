// Small process helpers for the test harness: run a command, collect output, kill by pid.
import { spawn, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Safety net only: kill the process group and reject after this long. */
  timeoutMs?: number;
}

// sbin tools (ip, useradd, sshd) must resolve even when the test runner's PATH lacks them.
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const spawnOpts: SpawnOptions = {
    env: opts.env ?? { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}` },
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Own process group, so a timeout can kill the command together with its children.
    detached: true,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    let settled = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          killGroup(child.pid);
          finish(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms\n${stderr}`));
        }, opts.timeoutMs)
      : undefined;
    const finish = (err: Error | null, code = -1) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) reject(err);
      else resolve({ code, stdout, stderr });
    };
    child.on('error', (err) => finish(new Error(`cannot run ${cmd}: ${err.message}`)));
    const exitCode = (code: number | null, signal: NodeJS.Signals | null) =>
      code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : -1);
    child.on('close', (code, signal) => finish(null, exitCode(code, signal)));
    // A command may leave a detached daemon holding our pipes open; don't wait for it forever.
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
        finish(null, exitCode(code, signal));
      }, 1000).unref();
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** run(), but throws with the command's stderr when it exits non-zero. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    tryKill(pid, signal);
  }
}

export function tryKill(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Start time of a process in clock ticks since boot, to tell a live pid from a reused one. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
}

function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** pid and all its descendants, found from /proc. */
export function descendantsOf(root: number): number[] {
  const procs = listProcesses();
  const found = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of procs) {
      if (found.has(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found].filter((pid) => procs.some((p) => p.pid === pid));
}

/** Processes (readable by us) whose environment holds NAME=VALUE exactly. */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  const out: number[] = [];
  for (const p of listProcesses()) {
    try {
      const env = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
      if (env.includes(needle)) out.push(p.pid);
    } catch {
      // not ours or gone
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is dead for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export { sleep } from './wait';
