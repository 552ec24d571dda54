// Start at login: the login-item API on macOS and Windows, an XDG autostart
// entry on Linux (Electron has no login items there). Off until the user asks.
import { app } from 'electron';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { currentPlatform, type Platform } from './platform';

export const AUTOSTART_ARG = '--autostart';
export const DESKTOP_FILE = 'kernel-tray.desktop';

export interface Autostart {
  isEnabled(): boolean;
  setEnabled(on: boolean): void;
}

// Desktop Entry spec, "The Exec key": an argument with any of these must be quoted.
const RESERVED = /[\s"'\\><~|&;$*?#()`]/;

/** One Exec argument, quoted and escaped per the Desktop Entry spec (value escaping included). */
export function escapeExecArg(arg: string): string {
  if (/[\n\r]/.test(arg)) throw new Error(`Cannot put a line break into an autostart Exec line: ${JSON.stringify(arg)}`);
  // `%` starts a field code; a literal one is `%%`, quoted or not.
  const percent = arg.replace(/%/g, '%%');
  if (arg !== '' && !RESERVED.test(arg)) return percent;
  const quoted = `"${percent.replace(/(["`$\\])/g, '\\$1')}"`;
  // The string-value rule (`\\` is one backslash) is undone before the quoting rule,
  // so every backslash written so far is doubled: a literal `\` ends up as `\\\\`.
  return quoted.replace(/\\/g, '\\\\');
}

export function desktopEntry(argv: string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=Kernel Tray',
    'Comment=Remote IPython kernels that feel local',
    `Exec=${argv.map(escapeExecArg).join(' ')}`,
    'Terminal=false',
    'Categories=Development;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export function autostartDir(env: NodeJS.ProcessEnv, homedir: string): string {
  // The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir, '.config');
  return path.join(base, 'autostart');
}

export interface AutostartOptions {
  platform?: Platform;
  env?: NodeJS.ProcessEnv;
  homedir?: string;
  execPath?: string;
  /** The app directory when running unpackaged (`electron .`), which Electron needs as its first argument. */
  appPath?: string | null;
  loginItems?: Pick<typeof app, 'setLoginItemSettings' | 'getLoginItemSettings'>;
}

/** The command that starts this app: the AppImage when running from one, else the executable. */
export function launchCommand(o: { env: NodeJS.ProcessEnv; execPath: string; appPath: string | null }): string[] {
  // Inside an AppImage, execPath points into a temporary mount that is gone after exit.
  const exe = o.env.APPIMAGE || o.execPath;
  return [exe, ...(o.appPath && !o.env.APPIMAGE ? [o.appPath] : []), AUTOSTART_ARG];
}

export function createAutostart(o: AutostartOptions = {}): Autostart {
  const platform = o.platform ?? currentPlatform();
  const env = o.env ?? process.env;
  const command = launchCommand({ env, execPath: o.execPath ?? process.execPath, appPath: o.appPath ?? null });

  if (platform === 'linux') {
    const file = path.join(autostartDir(env, o.homedir ?? os.homedir()), DESKTOP_FILE);
    return {
      isEnabled() {
        try {
          const text = fs.readFileSync(file, 'utf8');
          return !/^Hidden\s*=\s*true\s*$/m.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text);
        } catch {
          return false;
        }
      },
      setEnabled(on) {
        if (on) {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, desktopEntry(command), { mode: 0o644 });
        } else {
          fs.rmSync(file, { force: true });
        }
      },
    };
  }

  const items = o.loginItems ?? app;
  const args = command.slice(1);
  return {
    // Windows matches the entry by path and args, so ask with the same ones.
    isEnabled: () => items.getLoginItemSettings({ path: command[0], args }).openAtLogin,
    setEnabled: (on) => items.setLoginItemSettings({ openAtLogin: on, path: command[0], args }),
  };
}
