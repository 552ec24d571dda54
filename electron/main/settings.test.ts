import Conf from 'conf';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KtrayError } from '../shared/errors';
import { ALL_NOTIFICATIONS_ON } from './notifications';
import { DEFAULT_SETTINGS, SETTINGS_VERSION, Settings, settingsStoreOptions, type AppSettings } from './settings';

// electron-store is conf plus Electron's userData as `cwd`; conf with a temp cwd is the same engine.
function open(dir: string): Settings {
  return new Settings(new Conf<AppSettings>({ ...settingsStoreOptions(), configName: 'config', cwd: dir }));
}

describe('Settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-settings-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = () => path.join(dir, 'config.json');
  const onDisk = () => JSON.parse(fs.readFileSync(file(), 'utf8'));

  it('starts from the defaults: notifications on, 60 s long runs, no autostart', () => {
    const s = open(dir);
    expect(s.all).toEqual(DEFAULT_SETTINGS);
    expect(s.agentSettings()).toEqual({ longRunSeconds: 60, terminal: '', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true });
    expect(onDisk().__internal__.migrations.version).toBe(SETTINGS_VERSION);
  });

  it('persists updates and tells listeners which keys changed', () => {
    const s = open(dir);
    const heard: Array<(keyof AppSettings)[]> = [];
    s.onChange((_next, changed) => heard.push(changed));
    s.update({ longRunSeconds: 300, terminal: 'kitty --', preferredFrontend: 'qtconsole' });
    expect(heard).toEqual([['longRunSeconds', 'terminal']]); // qtconsole was already the value
    expect(open(dir).get('longRunSeconds')).toBe(300);
    expect(onDisk().terminal).toBe('kitty --');
    s.update({ longRunSeconds: 300 });
    expect(heard).toHaveLength(1);
  });

  it('refuses values the schema forbids, with a BAD_INPUT error, and keeps the old ones', () => {
    const s = open(dir);
    const bad: Array<Partial<AppSettings>> = [
      { longRunSeconds: 0 },
      { longRunSeconds: 1.5 },
      { preferredFrontend: 'none' as never },
      { notifications: { kernelDied: true } as never },
      { savedHosts: [{ id: 'a/b', hostname: 'x' }] },
      { savedHosts: [{ id: 'gpu', hostname: 'gpu', port: 70000 }] },
    ];
    for (const patch of bad) {
      expect(() => s.update(patch), JSON.stringify(patch)).toThrow(KtrayError);
    }
    expect(open(dir).all).toEqual(DEFAULT_SETTINGS);
    try {
      s.update({ longRunSeconds: -1 });
    } catch (err) {
      expect((err as KtrayError).code).toBe('BAD_INPUT');
      expect((err as KtrayError).message).toMatch(/^Settings not saved: .*longRunSeconds/);
    }
  });

  it('keeps saved hosts with their SSH details', () => {
    const s = open(dir);
    const gpu = { id: 'gpu', hostname: 'gpu.lab.example', user: 'ada', port: 2222, identityFile: ['~/.ssh/id_ed25519'], proxyJump: ['bastion'] };
    s.update({ savedHosts: [gpu] });
    expect(open(dir).get('savedHosts')).toEqual([gpu]);
  });

  it('migrates a file from the development builds before 0.1.0 (renamed keys, ms to s)', () => {
    fs.writeFileSync(
      file(),
      JSON.stringify({
        frontend: 'console',
        longRunThreshold: 120_000,
        notify: { died: false, lost: true, back: false },
        terminal: 'xterm -e',
        __internal__: { migrations: { version: '0.0.3' } },
      }),
    );
    const s = open(dir);
    expect(s.all).toEqual({
      ...DEFAULT_SETTINGS,
      preferredFrontend: 'console',
      longRunSeconds: 120,
      notifications: { ...ALL_NOTIFICATIONS_ON, kernelDied: false, hostLost: true, hostBack: false, runFinished: true },
      terminal: 'xterm -e',
    });
    const raw = onDisk();
    expect(raw).not.toHaveProperty('frontend');
    expect(raw).not.toHaveProperty('longRunThreshold');
    expect(raw).not.toHaveProperty('notify');
    expect(raw.__internal__.migrations.version).toBe(SETTINGS_VERSION);
  });

  it('migrates a 0.1.0 file: the batch job notifications are added, on; the switches it had stay', () => {
    fs.writeFileSync(
      file(),
      JSON.stringify({
        notifications: { kernelDied: false, hostLost: true, hostBack: true, runFinished: false },
        __internal__: { migrations: { version: '0.1.0' } },
      }),
    );
    expect(open(dir).get('notifications')).toEqual({ kernelDied: false, hostLost: true, hostBack: true, runFinished: false, jobStarted: true, jobTimeWarning: true, jobEnded: true, newPlot: true });
    expect(open(dir).get('jobWarningMinutes')).toBe(10);
  });

  it('migrates a 0.2.0 file: the New plot notification is added, on; the switches and settings it had stay', () => {
    fs.writeFileSync(
      file(),
      JSON.stringify({
        notifications: { kernelDied: false, hostLost: true, hostBack: true, runFinished: false, jobStarted: false, jobTimeWarning: true, jobEnded: true },
        terminal: 'kitty',
        __internal__: { migrations: { version: '0.2.0' } },
      }),
    );
    const s = open(dir);
    expect(s.get('notifications')).toEqual({ kernelDied: false, hostLost: true, hostBack: true, runFinished: false, jobStarted: false, jobTimeWarning: true, jobEnded: true, newPlot: true });
    expect(s.get('terminal')).toBe('kitty');
    expect(s.get('consoleOtherOutput')).toBe(true);
    expect(onDisk().__internal__.migrations.version).toBe('0.3.0');
  });

  it('runs a migration once: a current file with the same keys is left as it is', () => {
    const s = open(dir);
    s.update({ preferredFrontend: 'console', longRunSeconds: 10 });
    const again = open(dir);
    expect(again.get('preferredFrontend')).toBe('console');
    expect(again.get('longRunSeconds')).toBe(10);
  });

  it('does not reset a broken file: opening it fails and the file stays', () => {
    fs.writeFileSync(file(), JSON.stringify({ longRunSeconds: 'soon', __internal__: { migrations: { version: SETTINGS_VERSION } } }));
    expect(() => open(dir)).toThrow(/longRunSeconds/);
    expect(onDisk().longRunSeconds).toBe('soon');
  });
});
