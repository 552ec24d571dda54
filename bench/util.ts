// Small helpers shared by the benchmark's sections: timing, medians, free
// ports, and ending the ssh clients this benchmark started (by pid).
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseConnectionFile, serializeConnectionFile } from '../electron/core/jupyter/connection-file';
import type { ConnectionInfo } from '../electron/shared/types';

export const now = (): number => performance.now();

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs fn and returns its result and how long it took, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = now();
  const v = await fn();
  return [v, now() - t];
}

export { sleep } from '../e2e/harness/wait';

/** n ports free right now on 127.0.0.1 (as an expert would pick them, or jupyter_client does). */
export { freePorts } from '../e2e/harness/net';

/** Five local ports in the order shell, iopub, stdin, control, hb, written as a local connection file. */
export async function writeLocalFile(file: string, info: ConnectionInfo, ports: number[]): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = ports as [number, number, number, number, number];
  const local = { ...info, ip: '127.0.0.1', shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb };
  await writeFile(file, serializeConnectionFile(local), { mode: 0o600 });
  return local;
}

export function parseInfo(text: string, source: string): ConnectionInfo {
  return parseConnectionFile(text, source);
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Ends the OpenSSH clients that this benchmark started against one remote: `ssh -f` daemons
 * (forwards of (a) and of jupyter_client) have no parent we hold, so they are found by the
 * remote's own ssh_config path in their command line and ended by pid.
 */
export function killSshClients(sshConfigFile: string): number {
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = cmdline(pid);
    if (!argv.length || !/(^|\/)ssh$/.test(argv[0]!)) continue;
    if (!argv.includes(sshConfigFile)) continue;
    try {
      process.kill(pid, 'SIGTERM');
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}

/** Resident memory of a process in MB (VmRSS, VmHWM from /proc). */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Clean environment for Debian's python (the pyenv python on PATH lacks jupyter_client). */
export function pythonEnv(extraPath?: string): NodeJS.ProcessEnv {
  return {
    PATH: `${extraPath ? extraPath + ':' : ''}/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.USER ? { USER: process.env.USER } : {}),
  };
}
