import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTOSTART_ARG, autostartDir, createAutostart, desktopEntry, escapeExecArg, launchCommand } from './autostart';
import { app, resetElectronStub, stub } from './test/electron-stub';

/** Reads an Exec value back the way the Desktop Entry spec says: string escapes, then quoting, then %%. */
function parseExec(value: string): string[] {
  const unescaped = value.replace(/\\([\\sntr])/g, (_m, c: string) => ({ '\\': '\\', s: ' ', n: '\n', t: '\t', r: '\r' })[c]!);
  const args: string[] = [];
  let i = 0;
  while (i < unescaped.length) {
    if (unescaped[i] === ' ') {
      i++;
      continue;
    }
    let arg = '';
    if (unescaped[i] === '"') {
      i++;
      while (unescaped[i] !== '"') {
        if (i >= unescaped.length) throw new Error(`unterminated quote in ${value}`);
        if (unescaped[i] === '\\' && '"`$\\'.includes(unescaped[i + 1])) i++;
        arg += unescaped[i++];
      }
      i++;
    } else {
      while (i < unescaped.length && unescaped[i] !== ' ') arg += unescaped[i++];
    }
    args.push(arg.replace(/%%/g, '%'));
  }
  return args;
}

const TRICKY = [
  '/opt/Kernel Tray/kernel-tray',
  '/home/ada/Apps/Kernel-Tray-0.1.0.AppImage',
  `/tmp/it's "quoted"`,
  '/tmp/back\\slash',
  '/tmp/$HOME/`id`',
  '/tmp/100%/app',
  '/tmp/ünïcode/café',
  '/tmp/semi;colon&amp|pipe<>~#*?()',
];

describe('escapeExecArg', () => {
  it('leaves plain arguments alone and quotes the rest', () => {
    expect(escapeExecArg('/usr/bin/kernel-tray')).toBe('/usr/bin/kernel-tray');
    expect(escapeExecArg('--autostart')).toBe('--autostart');
    expect(escapeExecArg('/opt/Kernel Tray/kt')).toBe('"/opt/Kernel Tray/kt"');
    expect(escapeExecArg('a"b')).toBe('"a\\\\"b"');
    expect(escapeExecArg('a\\b')).toBe('"a\\\\\\\\b"');
    expect(escapeExecArg('100%')).toBe('100%%');
    expect(escapeExecArg('')).toBe('""');
  });

  it('round-trips awkward paths through the spec rules', () => {
    for (const p of TRICKY) expect(parseExec(escapeExecArg(p))).toEqual([p]);
    const exec = desktopEntry([...TRICKY, AUTOSTART_ARG]).match(/^Exec=(.*)$/m)![1];
    expect(parseExec(exec)).toEqual([...TRICKY, AUTOSTART_ARG]);
  });

  it('refuses line breaks, which no Exec line can hold', () => {
    expect(() => escapeExecArg('/tmp/a\nb')).toThrow(/line break/);
  });

  const glib = (() => {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'from gi.repository import GLib'], { stdio: 'ignore' });
      return null;
    } catch {
      return 'GLib for Python (python3-gi) is not installed, so the cross-check with GLib’s own Desktop Entry parser is skipped';
    }
  })();
  if (glib) console.warn(`autostart.test: ${glib}`);

  it.skipIf(glib !== null)('is read back by GLib (GKeyFile + g_shell_parse_argv) as written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-desktop-'));
    const file = path.join(dir, 'x.desktop');
    fs.writeFileSync(file, desktopEntry([...TRICKY, AUTOSTART_ARG]));
    const script = [
      'import json, sys',
      'from gi.repository import GLib',
      'kf = GLib.KeyFile()',
      'kf.load_from_file(sys.argv[1], GLib.KeyFileFlags.NONE)',
      "s = kf.get_string('Desktop Entry', 'Exec')",
      'ok, argv = GLib.shell_parse_argv(s)',
      "print(json.dumps([a.replace('%%', '%') for a in argv]))",
    ].join('\n');
    const out = execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([...TRICKY, AUTOSTART_ARG]);
  });
});

describe('launchCommand', () => {
  it('prefers the AppImage, whose mount point vanishes after exit', () => {
    expect(launchCommand({ env: { APPIMAGE: '/home/a/KT.AppImage' }, execPath: '/tmp/.mount_x/kernel-tray', appPath: null })).toEqual([
      '/home/a/KT.AppImage',
      AUTOSTART_ARG,
    ]);
    expect(launchCommand({ env: {}, execPath: '/opt/kt/kernel-tray', appPath: null })).toEqual(['/opt/kt/kernel-tray', AUTOSTART_ARG]);
    expect(launchCommand({ env: {}, execPath: '/x/electron', appPath: '/src/kt' })).toEqual(['/x/electron', '/src/kt', AUTOSTART_ARG]);
  });
});

describe('autostart on Linux (XDG entry)', () => {
  let config: string;
  beforeEach(() => {
    config = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-xdg-'));
  });
  afterEach(() => fs.rmSync(config, { recursive: true, force: true }));

  it('is off by default, writes the entry when turned on and removes it when turned off', () => {
    const a = createAutostart({ platform: 'linux', env: { XDG_CONFIG_HOME: config, APPIMAGE: '/home/ada/Kernel Tray.AppImage' }, homedir: '/nonexistent' });
    const file = path.join(config, 'autostart', 'kernel-tray.desktop');
    expect(a.isEnabled()).toBe(false);
    a.setEnabled(true);
    expect(a.isEnabled()).toBe(true);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^\[Desktop Entry\]\nType=Application\n/);
    expect(text).toContain('Exec="/home/ada/Kernel Tray.AppImage" --autostart\n');
    expect(text).toContain('Name=Kernel Tray\n');
    expect(fs.statSync(file).mode & 0o022).toBe(0); // nobody else may change what runs at login
    a.setEnabled(false);
    expect(fs.existsSync(file)).toBe(false);
    expect(a.isEnabled()).toBe(false);
    a.setEnabled(false); // turning off twice is fine
  });

  it('uses the executable path without APPIMAGE', () => {
    const a = createAutostart({ platform: 'linux', env: { XDG_CONFIG_HOME: config }, execPath: '/opt/kernel-tray/kernel-tray', homedir: '/nonexistent' });
    a.setEnabled(true);
    expect(fs.readFileSync(path.join(config, 'autostart', 'kernel-tray.desktop'), 'utf8')).toContain('Exec=/opt/kernel-tray/kernel-tray --autostart\n');
  });

  it('counts an entry the desktop hid or disabled as off', () => {
    const a = createAutostart({ platform: 'linux', env: { XDG_CONFIG_HOME: config }, execPath: '/x', homedir: '/nonexistent' });
    a.setEnabled(true);
    const file = path.join(config, 'autostart', 'kernel-tray.desktop');
    fs.appendFileSync(file, 'Hidden=true\n');
    expect(a.isEnabled()).toBe(false);
    a.setEnabled(true);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('X-GNOME-Autostart-enabled=true', 'X-GNOME-Autostart-enabled=false'));
    expect(a.isEnabled()).toBe(false);
  });

  it('falls back to ~/.config when XDG_CONFIG_HOME is unset or relative', () => {
    expect(autostartDir({}, '/home/ada')).toBe('/home/ada/.config/autostart');
    expect(autostartDir({ XDG_CONFIG_HOME: 'rel/dir' }, '/home/ada')).toBe('/home/ada/.config/autostart');
    expect(autostartDir({ XDG_CONFIG_HOME: config }, '/home/ada')).toBe(path.join(config, 'autostart'));
  });
});

describe('autostart on macOS and Windows (login items)', () => {
  beforeEach(() => resetElectronStub());

  for (const platform of ['darwin', 'win32'] as const) {
    it(`${platform}: turns the login item on and off with our launch arguments`, () => {
      const a = createAutostart({ platform, env: {}, execPath: '/Apps/Kernel Tray', appPath: null });
      expect(a.isEnabled()).toBe(false);
      a.setEnabled(true);
      expect(a.isEnabled()).toBe(true);
      expect(stub.loginItem).toEqual({ openAtLogin: true, args: [AUTOSTART_ARG] });
      expect(app.calls.at(-1)).toEqual({ method: 'setLoginItemSettings', args: [{ openAtLogin: true, path: '/Apps/Kernel Tray', args: [AUTOSTART_ARG] }] });
      a.setEnabled(false);
      expect(a.isEnabled()).toBe(false);
    });
  }

  it('passes the app directory when running unpackaged, so Electron starts this app', () => {
    createAutostart({ platform: 'win32', env: {}, execPath: 'C:\\e\\electron.exe', appPath: 'C:\\src\\kt' }).setEnabled(true);
    expect(stub.loginItem.args).toEqual(['C:\\src\\kt', AUTOSTART_ARG]);
  });
});
