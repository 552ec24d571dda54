// The POSIX sh (and Python) that Kernel Tray runs on hosts, from the real
// files in scripts/ (read at build time). Each is one round trip; values enter
// scripts only as quoted assignments put before the file's text.
import { randomBytes } from 'node:crypto';
import { quote } from '../util/shell-quote';
import DISCOVER_SH from './scripts/discover.sh';
import LAUNCH_SH from './scripts/launch.sh';
import LAUNCHER_PY from './scripts/launcher.py';
import OFFER_SH from './scripts/offer.sh';
import STOP_SH from './scripts/stop.sh';

/** `name='value'` lines that set a script's inputs; every value quoted for sh. */
export function assignments(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${quote(v)}\n`)
    .join('');
}

export interface DiscoveredFile {
  dir: string;
  path: string;
  mtime: number;
  text: string;
}

export interface DiscoveredProcess {
  pid: number;
  elapsedSec: number;
  args: string;
}

export interface Discovery {
  now: number;
  home: string;
  files: DiscoveredFile[];
  processes: DiscoveredProcess[];
}

/** Lists every connection file and every process of the user, in one go. */
export function discoveryScript(extraDirs: string[] = []): { script: string; marker: string } {
  const marker = `@@KT${randomBytes(6).toString('hex')}`;
  const args = extraDirs.length ? `set -- ${extraDirs.map(quote).join(' ')}\n` : 'set --\n';
  return { script: assignments({ m: marker }) + args + DISCOVER_SH, marker };
}

export function parseDiscovery(stdout: string, marker: string): Discovery {
  const result: Discovery = { now: Date.now(), home: '', files: [], processes: [] };
  let current: DiscoveredFile | null = null;
  let inPs = false;
  let ended = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(marker + ' ')) {
      const rest = line.slice(marker.length + 1);
      const [kind, ...words] = rest.split(' ');
      current = null;
      if (kind === 'now') result.now = Number(words[0]) * 1000;
      else if (kind === 'home') result.home = words.join(' ');
      else if (kind === 'file') {
        const path = words.slice(1).join(' ');
        current = { dir: path.slice(0, path.lastIndexOf('/')), path, mtime: Number(words[0]) * 1000, text: '' };
        result.files.push(current);
      } else if (kind === 'ps') inPs = true;
      else if (kind === 'end') ended = true;
      continue;
    }
    if (current) current.text += line + '\n';
    else if (inPs) {
      const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
      if (m) result.processes.push({ pid: Number(m[1]), elapsedSec: parseElapsed(m[2]), args: m[3] });
    }
  }
  if (!ended) throw new Error('the listing was cut short');
  return result;
}

/** ps's etime: [[DD-]HH:]MM:SS. */
export function parseElapsed(etime: string): number {
  const [days, clock] = etime.includes('-') ? etime.split('-') : ['0', etime];
  const parts = clock.split(':').map(Number);
  while (parts.length < 3) parts.unshift(0);
  const [h, m, s] = parts;
  const total = Number(days) * 86400 + h * 3600 + m * 60 + s;
  return Number.isFinite(total) ? total : 0;
}

/** The process serving a connection file: named in its arguments, or its pid in the file name. */
export function matchProcess(file: string, processes: DiscoveredProcess[]): DiscoveredProcess | null {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const named = processes.filter(
    (p) => p.args.includes(base) && !/--existing|jupyter-(qt)?console|jupyter (qt)?console/.test(p.args),
  );
  const best = named.find((p) => /ipykernel|kernel_launcher|-f /.test(p.args)) ?? named[0];
  if (best) return best;
  const pidName = /^kernel-(\d+)\.json$/.exec(base);
  if (pidName) {
    const p = processes.find((q) => q.pid === Number(pidName[1]));
    if (p && /kernel/.test(p.args)) return p;
  }
  return null;
}

export interface LaunchSpec {
  id: string;
  python?: string;
  kernel?: string;
  cwd?: string;
  /** 'ipc': the kernel listens on unix sockets in its (0700) runtime dir, no TCP port at all. */
  transport?: 'tcp' | 'ipc';
  /** Restart: reuse this connection file (rewritten first from `reuseInfo`). */
  reuseFile?: string;
  reuseInfo?: string;
  startTimeoutSec?: number;
}

export type LaunchOutcome =
  | { ok: true; pid: number; file: string; info: unknown; log: string; runtime_dir: string; python: string }
  | { ok: false; error: string; python?: string; log?: string; code?: number; available?: string[]; cwd?: string; detail?: string };

/** Starts a kernel in its own session, detached from SSH, and waits for its connection file. */
export function launchScript(spec: LaunchSpec): string {
  const py = spec.python ?? 'python3';
  const env = {
    KT_ID: spec.id,
    KT_KERNEL: spec.kernel ?? '',
    KT_CWD: spec.cwd ?? '',
    KT_REUSE_FILE: spec.reuseFile ?? '',
    // A kernel key: in the environment of the launcher only, never in an argv.
    KT_REUSE_INFO: spec.reuseInfo ?? '',
    KT_TIMEOUT: String(spec.startTimeoutSec ?? 30),
    KT_TRANSPORT: spec.transport ?? 'tcp',
  };
  return (
    assignments({ py, missing: '@@KTRAY-LAUNCH ' + JSON.stringify({ ok: false, error: 'PYTHON_MISSING', python: py }) }) +
    assignments(env) +
    `export ${Object.keys(env).join(' ')}\n` +
    LAUNCH_SH.replace('@LAUNCHER@', LAUNCHER_PY.trimEnd())
  );
}

export function parseLaunch(stdout: string): LaunchOutcome | null {
  const line = stdout.split('\n').find((l) => l.startsWith('@@KTRAY-LAUNCH '));
  if (!line) return null;
  try {
    return JSON.parse(line.slice('@@KTRAY-LAUNCH '.length)) as LaunchOutcome;
  } catch {
    return null;
  }
}

/**
 * Waits for a process to go after a clean shutdown request, then TERM, then
 * KILL. Prints `gone` or `alive`. The file is removed only when asked.
 */
export function stopScript(pid: number, opts: { graceSec: number; removeFile?: string }): string {
  return assignments({ p: String(pid), grace: String(Math.round(opts.graceSec * 10)), remove: opts.removeFile ?? '' }) + STOP_SH;
}

export function signalScript(pid: number, signal: 'INT' | 'TERM'): string {
  return `kill -${signal} ${pid} && echo sent\n`;
}

/** What the host offers for a new kernel: kernelspecs and Python environments. */
export function offerScript(): string {
  return OFFER_SH;
}
