// Where Kernel Tray keeps its state and where Jupyter looks for connection files.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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

/** The agent's socket: a unix socket in the (0700) home, a named pipe on Windows. */
export function socketPath(home: string): string {
  if (platform() === 'win32') {
    const tag = createHash('sha256').update(home.toLowerCase()).digest('hex').slice(0, 16);
    return `\\\\.\\pipe\\ktray-${tag}`;
  }
  return path.join(home, 'agent.sock');
}

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
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
