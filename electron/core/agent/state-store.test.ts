import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyState, StateStore, type AgentState } from './state-store';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ktray-state-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function sample(n: number): AgentState {
  const s = emptyState();
  s.pinned = [`gpu1/k${n}`];
  s.usedHosts = ['gpu1'];
  s.launches[`gpu1/k${n}`] = { python: '/opt/conda/bin/python', cwd: '/home/ada/proj' };
  s.attached[`gpu1/k${n}`] = {
    ports: { shell: 50001, iopub: 50002, stdin: 50003, control: 50004, hb: 50005 },
    localFile: '/tmp/kernel-ktray-gpu1-k.json',
    remoteFile: '/run/user/1000/jupyter/kernel-k.json',
    info: { ip: '127.0.0.1', transport: 'tcp', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: `secret-${n}`, signature_scheme: 'hmac-sha256' },
  };
  s.settings = { longRunSeconds: 90 + n, terminal: 'xterm -e', jobWarningMinutes: 5, jobPollSeconds: 20, consoleOtherOutput: n % 2 === 0 };
  return s;
}

describe('StateStore', () => {
  it('loads an empty state when nothing was saved', async () => {
    expect(await new StateStore(path.join(root, 'home')).load()).toEqual(emptyState());
  });

  it('round-trips what it saves, in a 0700 dir and a 0600 file', async () => {
    const home = path.join(root, 'nested', 'home');
    const store = new StateStore(home);
    await store.save(sample(1));
    expect(await new StateStore(home).load()).toEqual(sample(1));
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(home, 'state.json'))).mode & 0o777).toBe(0o600);
    // No temp file left behind.
    expect(await readdir(home)).toEqual(['state.json']);
  });

  it('fills in what an older file lacks with defaults', async () => {
    await writeFile(path.join(root, 'state.json'), JSON.stringify({ version: 1, pinned: ['a/b'], settings: { terminal: 'kitty' } }));
    const loaded = await new StateStore(root).load();
    expect(loaded.pinned).toEqual(['a/b']);
    expect(loaded.settings).toEqual({ longRunSeconds: 60, terminal: 'kitty', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true });
    expect(loaded.jobs).toEqual({});
    expect(loaded.schedulers).toEqual({});
    expect(loaded.attached).toEqual({});
  });

  it('moves a corrupt file aside, keeps its bytes, and starts afresh', async () => {
    const file = path.join(root, 'state.json');
    await writeFile(file, '{"version": 1, "attached": {tru');
    expect(await new StateStore(root).load()).toEqual(emptyState());
    const names = await readdir(root);
    const aside = names.filter((n) => n.startsWith('state.json.unreadable-'));
    expect(aside).toHaveLength(1);
    expect(names).not.toContain('state.json');
    expect(await readFile(path.join(root, aside[0]), 'utf8')).toBe('{"version": 1, "attached": {tru');
  });

  it('serialises concurrent saves: the last one wins and the file is always whole', async () => {
    const store = new StateStore(root);
    const saves = Array.from({ length: 20 }, (_, i) => store.save(sample(i)));
    await Promise.all(saves);
    const text = await readFile(path.join(root, 'state.json'), 'utf8');
    expect(JSON.parse(text)).toEqual(sample(19));
    expect(await new StateStore(root).load()).toEqual(sample(19));
  });

  it('keeps saving after a failed save', async () => {
    // state.json is a directory, so the rename fails; once it is gone the next save must work
    // (a rejected write must not poison the queue of later saves).
    const home = path.join(root, 'h');
    await mkdir(path.join(home, 'state.json', 'x'), { recursive: true });
    const store = new StateStore(home);
    await expect(store.save(sample(1))).rejects.toThrow();
    await rm(path.join(home, 'state.json'), { recursive: true });
    await store.save(sample(2));
    expect(await new StateStore(home).load()).toEqual(sample(2));
  });
});
