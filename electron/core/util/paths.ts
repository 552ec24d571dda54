// Where Kernel Tray keeps its state and where Jupyter looks for connection files.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KtrayError } from '../../shared/errors';
import { platform } from './platform';

export interface Env {
  [name: string]: string | undefined;
}

/** KTRAY_HOME, else the platform's per-user state place. */
export function defaultHome(env: Env = process.env, home = os.homedir()): string {
  if (env.KTRAY_HOME) return path.resolve(env.KTRAY_HOME);
  switch (platform()) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Kernel Tray');
    case 'win32':
      return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'Kernel Tray');
    default:
      return path.join(env.XDG_STATE_HOME || path.join(home, '.local', 'state'), 'ktray');
  }
}

/** ensurePrivateDir's words for the agent's home. */
export const HOME_DIR = {
  what: 'The Kernel Tray home',
  hint: 'Set KTRAY_HOME to a folder of your own (its default is in your home directory).',
} as const;

/** The agent's socket: a unix socket in the (0700) home, a named pipe on Windows. */
export function socketPath(home: string): string {
  if (platform() === 'win32') {
    const tag = createHash('sha256').update(home.toLowerCase()).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\ktray-${tag}`;
  }
  return path.join(home, 'agent.sock');
}

/**
 * A folder only this user can enter, for kernel keys and sockets: created 0700
 * if missing, tightened to 0700 if it is ours and looser, refused if it
 * belongs to someone else (they could read what we put there, or swap it).
 * `what` names the folder in errors (e.g. `The local Jupyter runtime dir`);
 * `noSymlink` refuses a symlink in its place (folders in shared places like /tmp).
 */
export async function ensurePrivateDir(dir: string, opts: { what?: string; hint?: string; noSymlink?: boolean } = {}): Promise<void> {
  // In a shared place, never follow (or create through) a link someone else planted.
  const planted = opts.noSymlink ? await lstat(dir).then((s) => s.isSymbolicLink(), () => false) : false;
  if (!planted) await mkdir(dir, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  // Windows has neither modes nor uids here: the folders are in the user's profile.
  if (platform() === 'win32' || uid === undefined) return;
  const what = opts.what ?? 'The folder';
  const st: Stats = opts.noSymlink ? await lstat(dir) : await stat(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `${what} ${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; Kernel Tray keeps kernel keys and sockets only in a real folder of your own.`,
      hint: opts.hint ?? `Remove it, or point Kernel Tray elsewhere.`,
    });
  }
  if (st.uid !== uid) {
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `${what} ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): its owner could read the kernel keys and sockets Kernel Tray would put there.`,
      hint: opts.hint ?? `Remove it (or have its owner remove it), or point Kernel Tray at a folder of your own.`,
    });
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** The longest unix socket path the platform takes (sun_path less its NUL). */
export function maxSocketPath(): number {
  return platform() === 'darwin' ? 103 : 107;
}

export function socketPathFits(p: string): boolean {
  return Buffer.byteLength(p) <= maxSocketPath();
}

/** Local channels as unix sockets: everywhere but Windows (whose frontends get 127.0.0.1 TCP). */
export function unixSocketsHere(): boolean {
  return platform() !== 'win32';
}

const socketDirs = new Map<string, Promise<string>>();

/**
 * A short folder of this user's own for unix sockets whose natural place has
 * too long a path (and for the agent's private tunnels): `$XDG_RUNTIME_DIR/ktray`
 * (Linux; 0700, the user's), `$TMPDIR/ktray` (macOS: a per-user folder), else
 * `/tmp/ktray-UID`, created 0700 and checked to be ours, not a symlink.
 */
export function privateSocketDir(env: Env = process.env): Promise<string> {
  const key = `${env.XDG_RUNTIME_DIR ?? ''}|${env.TMPDIR ?? ''}`;
  let dir = socketDirs.get(key);
  if (!dir) {
    dir = findSocketDir(env);
    socketDirs.set(key, dir);
    dir.catch(() => socketDirs.delete(key));
  }
  return dir;
}

async function findSocketDir(env: Env): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const candidates: string[] = [];
  if (platform() === 'linux' && env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR)) candidates.push(path.join(env.XDG_RUNTIME_DIR, 'ktray'));
  if (platform() === 'darwin') candidates.push(path.join(os.tmpdir(), 'ktray'));
  const shared = path.join('/tmp', `ktray-${uid}`);
  for (const dir of candidates) {
    // Room for `DIR/` and a 16-character name with its `-N` suffix.
    if (!socketPathFits(path.join(dir, 'x'.repeat(20)))) continue;
    try {
      // Not recursive into a runtime dir that is not there: that is not ours to make.
      await stat(path.dirname(dir));
      await ensurePrivateDir(dir);
      return dir;
    } catch {
      // Not usable (missing, not ours): the next place.
    }
  }
  await ensurePrivateDir(shared, {
    what: 'The folder for private sockets',
    noSymlink: true,
    hint: `Someone else made ${shared}; remove it (as root), or set JUPYTER_RUNTIME_DIR to a short folder of your own.`,
  });
  return shared;
}

/**
 * The local Jupyter runtime dir, where `jupyter console --existing` looks:
 * JUPYTER_RUNTIME_DIR, else what the local `jupyter --runtime-dir` says, else
 * jupyter_core's platform default.
 */
export async function localRuntimeDir(env: Env = process.env, home = os.homedir()): Promise<string> {
  if (env.JUPYTER_RUNTIME_DIR) return path.resolve(env.JUPYTER_RUNTIME_DIR);
  const asked = await new Promise<string | null>((resolve) => {
    execFile('jupyter', ['--runtime-dir'], { timeout: 10_000, env: env as NodeJS.ProcessEnv }, (err, stdout) =>
      resolve(err ? null : stdout.trim() || null),
    );
  });
  return asked ?? defaultRuntimeDir(env, home);
}

export function defaultRuntimeDir(env: Env = process.env, home = os.homedir()): string {
  const dataDir = (): string => {
    if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
    switch (platform()) {
      case 'darwin':
        return path.join(home, 'Library', 'Jupyter');
      case 'win32':
        return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'jupyter');
      default:
        return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
    }
  };
  return path.join(dataDir(), 'runtime');
}
