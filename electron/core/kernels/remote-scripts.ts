// The POSIX sh (and Python) that Kernel Tray runs on hosts, from the real
// files in scripts/ (read at build time). Each is one round trip; values enter
// scripts only as quoted assignments put before the file's text.
import { randomBytes } from 'node:crypto';
import { quote } from '../util/shell-quote';
import DISCOVER_SH from './scripts/discover.sh';
import LAUNCH_SH from './scripts/launch.sh';
import LAUNCHER_PY from './scripts/launcher.py';
import OFFER_SH from './scripts/offer.sh';
import SAME_SH from './scripts/same.sh';
import STOP_SH from './scripts/stop.sh';
import SERVER_LAUNCH_SH from './scripts/server-launch.sh';
import SERVER_LAUNCHER_PY from './scripts/server-launcher.py';
import NANNY_PY from './scripts/nanny.py';

/** `name='value'` lines that set a script's inputs; every value quoted for sh. */
export function assignments(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${quote(v)}\n`)
    .join('');
}

/**
 * Lists every connection file and every process of the user, in one go; on a
 * cluster host the scheduler's queue too (`queue`: its section's sh), in the
 * same round trip.
 */
export function discoveryScript(extraDirs: string[] = [], queue?: string): { script: string; marker: string } {
  const marker = `@@KT${randomBytes(6).toString('hex')}`;
  const args = extraDirs.length ? `set -- ${extraDirs.map(quote).join(' ')}\n` : 'set --\n';
  return { script: assignments({ m: marker }) + args + DISCOVER_SH + (queue ?? '') + `printf '%s end\\n' "$m"\n`, marker };
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
  | { ok: true; pid: number; start?: string | null; file: string; info: unknown; log: string; runtime_dir: string; python: string; kernelspec?: string | null; how?: string }
  | { ok: false; error: string; python?: string | null; log?: string; code?: number; available?: string[]; cwd?: string; detail?: string; path?: string; tried?: Array<{ python: string; why: string }> };

/** Starts a kernel in its own session, detached from SSH, and waits for its connection file. */
export function launchScript(spec: LaunchSpec): string {
  // A kernelspec is looked up by the Python given (or by each candidate); a Python alone runs ipykernel.
  const mode = spec.kernel ? 'kernel' : spec.python ? 'python' : 'auto';
  const env = {
    KT_ID: spec.id,
    KT_MODE: mode,
    KT_KERNEL: spec.kernel ?? '',
    KT_CWD: spec.cwd ?? '',
    KT_REUSE_FILE: spec.reuseFile ?? '',
    // A kernel key: in the environment of the launcher only, never in an argv.
    KT_REUSE_INFO: spec.reuseInfo ?? '',
    KT_TIMEOUT: String(spec.startTimeoutSec ?? 30),
    KT_TRANSPORT: spec.transport ?? 'tcp',
  };
  const missing = { ok: false, error: 'PYTHON_MISSING', python: spec.python ?? 'python3' };
  return (
    assignments({ py: spec.python ?? '', missing: '@@KTRAY-LAUNCH ' + JSON.stringify(missing) }) +
    assignments(env) +
    `export ${Object.keys(env).join(' ')}\n` +
    // A function, not a string: replace() would read `$'` and `$&` in the Python as patterns.
    LAUNCH_SH.replace('@LAUNCHER@', () => withNanny(LAUNCHER_PY))
  );
}

export interface ServerLaunchSpec {
  id: string;
  python?: string;
  app?: 'lab' | 'notebook' | 'server';
  cwd?: string;
  startTimeoutSec?: number;
}

export type ServerLaunchOutcome =
  | { ok: true; pid: number; start?: string | null; file: string; text: string; mode: number | null; dir_mode: number | null; log: string; app: string; python: string; sock: boolean; own_token: boolean }
  | { ok: false; error: string; python?: string; log?: string; log_path?: string; code?: number; installed?: string[]; app?: string; cwd?: string; detail?: string; path?: string };

/** A launcher's text with nanny.py where it says `# @NANNY@` (a function: replace() would read `$'` in the Python). */
function withNanny(launcher: string): string {
  return launcher.replace(/^# @NANNY@.*$/m, () => NANNY_PY.trimEnd()).trimEnd();
}

/** Starts a Jupyter server in its own session, detached from SSH, and waits for its server file. */
export function serverLaunchScript(spec: ServerLaunchSpec): string {
  const py = spec.python ?? 'python3';
  const env = { KT_ID: spec.id, KT_APP: spec.app ?? '', KT_CWD: spec.cwd ?? '', KT_TIMEOUT: String(spec.startTimeoutSec ?? 60) };
  return (
    assignments({ py, missing: '@@KTRAY-SERVER ' + JSON.stringify({ ok: false, error: 'PYTHON_MISSING', python: py }) }) +
    assignments(env) +
    `export ${Object.keys(env).join(' ')}\n` +
    SERVER_LAUNCH_SH.replace('@LAUNCHER@', () => withNanny(SERVER_LAUNCHER_PY))
  );
}

export function parseServerLaunch(stdout: string): ServerLaunchOutcome | null {
  const at = stdout.lastIndexOf('@@KTRAY-SERVER ');
  if (at < 0) return null;
  try {
    return JSON.parse(stdout.slice(at + '@@KTRAY-SERVER '.length).split('\n')[0]!) as ServerLaunchOutcome;
  } catch {
    return null;
  }
}

/** The launcher's one report line, wherever it is (text a login shell printed may precede it on the line). */
export function parseLaunch(stdout: string): LaunchOutcome | null {
  const at = stdout.lastIndexOf('@@KTRAY-LAUNCH ');
  if (at < 0) return null;
  const line = stdout.slice(at + '@@KTRAY-LAUNCH '.length).split('\n')[0]!;
  try {
    return JSON.parse(line) as LaunchOutcome;
  } catch {
    return null;
  }
}

/**
 * Waits for a process to go after a clean shutdown request, then TERM, then
 * KILL. Prints `gone` or `alive`. The file is removed only when asked.
 */
export function stopScript(pid: number, opts: { graceSec: number; start?: string | null; removeFile?: string; alsoRemove?: string[]; termWaitSec?: number }): string {
  return (
    `set --${(opts.alsoRemove ?? []).map((f) => ` ${quote(f)}`).join('')}\n` +
    assignments({
      p: String(pid),
      start: opts.start ?? '',
      grace: String(Math.round(opts.graceSec * 10)),
      remove: opts.removeFile ?? '',
      termwait: String(Math.round((opts.termWaitSec ?? 3) * 10)),
    }) +
    SAME_SH +
    STOP_SH
  );
}

/** Sends a signal to the kernel, only if that pid is still the process it was (see same.sh). Prints `sent`. */
export function signalScript(pid: number, signal: 'INT' | 'TERM', start: string | null = null): string {
  return assignments({ p: String(pid), start: start ?? '', sig: signal }) + SAME_SH + 'if same; then kill -"$sig" "$p" && echo sent; fi\n';
}

/** What the host offers for a new kernel: kernelspecs and Python environments. */
export function offerScript(): string {
  return OFFER_SH;
}
