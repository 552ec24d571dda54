import Conf from 'conf';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Settings, settingsStoreOptions, type AppSettings } from './settings';
import { createSettingsSync, pushSettings } from './settings-sync';
import { FakeAgent, host } from './test/fixtures';

describe('settings sync', () => {
  let dir: string;
  let settings: Settings;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktray-sync-'));
    settings = new Settings(new Conf<AppSettings>({ ...settingsStoreOptions(), configName: 'config', cwd: dir }));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives the agent the app settings and the saved hosts it does not know', async () => {
    const agent = new FakeAgent();
    agent.hostList = [host('local'), host('gpu', { source: 'saved' })];
    settings.update({ longRunSeconds: 90, terminal: 'kitty --', savedHosts: [{ id: 'gpu', hostname: 'gpu' }, { id: 'lab', hostname: 'lab.example', port: 2222 }] });
    await pushSettings(agent, settings);
    expect(agent.calls.filter((c) => c.method !== 'hosts')).toEqual([
      { method: 'setSettings', params: { longRunSeconds: 90, terminal: 'kitty --', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true } },
      { method: 'saveHost', params: { id: 'lab', hostname: 'lab.example', port: 2222 } },
    ]);
  });

  it('saves settings and hosts changed through the bridge in the app settings too', async () => {
    const agent = new FakeAgent();
    const sync = createSettingsSync(agent, settings, (e) => {
      throw e;
    });
    await sync.agent.setSettings({ longRunSeconds: 30 });
    expect(settings.get('longRunSeconds')).toBe(30);
    expect(agent.calls.filter((c) => c.method === 'setSettings')).toHaveLength(1); // no echo back to the agent
    await sync.agent.saveHost({ id: 'lab', hostname: 'lab.example' });
    await sync.agent.saveHost({ id: 'lab', hostname: 'lab2.example' });
    expect(settings.get('savedHosts')).toEqual([{ id: 'lab', hostname: 'lab2.example' }]);
    await sync.agent.removeHost({ id: 'lab' });
    expect(settings.get('savedHosts')).toEqual([]);
    // Everything else goes straight through, bound to the agent.
    expect((await sync.agent.hosts({})).map((h) => h.id)).toEqual(['local']);
    let seen = 0;
    const off = sync.agent.onEvent(() => seen++);
    agent.emit({ type: 'notice', at: 0, host: null, message: 'x' });
    off();
    expect(seen).toBe(1);
  });

  it('sends app-side changes of agent settings to the agent, and only those', async () => {
    const agent = new FakeAgent();
    const errors: unknown[] = [];
    const sync = createSettingsSync(agent, settings, (e) => errors.push(e));
    settings.update({ startAtLogin: true });
    expect(agent.calls).toEqual([]);
    settings.update({ terminal: 'alacritty -e' });
    expect(agent.calls).toEqual([{ method: 'setSettings', params: { longRunSeconds: 60, terminal: 'alacritty -e', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true } }]);
    sync.dispose();
    settings.update({ terminal: 'xterm -e' });
    expect(agent.calls).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
