import { EventEmitter } from 'node:events';
import type { SpawnOptions } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import { consoleCommand, launchFrontend, onPath, terminalArgv, type SpawnFn } from './frontends';
import { setPlatformForTests } from '../util/platform';

const FILE = '/home/ada/.local/share/jupyter/runtime/kernel-ktray-gpu1-abc.json';

/** A `which` that knows only these names, and records what it was asked. */
function whichOf(...present: string[]) {
  const asked: string[] = [];
  const which = async (name: string) => (asked.push(name), present.includes(name));
  return { which, asked };
}

interface Spawned {
  command: string;
  args: string[];
  options: SpawnOptions;
  unrefed: boolean;
}

/** Records the spawn and then behaves like a child that started, or like one whose binary is missing. */
function spawnStub(outcome: 'spawn' | { code: string; message: string }) {
  const calls: Spawned[] = [];
  const spawn: SpawnFn = (command, args, options) => {
    const child = new EventEmitter() as EventEmitter & { pid?: number; unref(): void };
    const call: Spawned = { command, args, options, unrefed: false };
    calls.push(call);
    child.unref = () => {
      call.unrefed = true;
    };
    setImmediate(() => {
      if (outcome === 'spawn') {
        child.pid = 4321;
        child.emit('spawn');
      } else child.emit('error', Object.assign(new Error(outcome.message), { code: outcome.code }));
    });
    return child as ReturnType<SpawnFn>;
  };
  return { spawn, calls };
}

afterEach(() => setPlatformForTests(null));

describe('consoleCommand', () => {
  it('shows other frontends\' output, marked as theirs, unless the setting is off', () => {
    expect(consoleCommand(FILE)).toEqual(['jupyter', 'console', '--existing', FILE, '--ZMQTerminalInteractiveShell.include_other_output=True', '--ZMQTerminalInteractiveShell.other_output_prefix=[other frontend] ']);
    expect(consoleCommand(FILE, { otherOutput: true })).toEqual(consoleCommand(FILE));
    expect(consoleCommand(FILE, { otherOutput: false })).toEqual(['jupyter', 'console', '--existing', FILE]);
  });
});

describe('terminalArgv', () => {
  it('uses the terminal from settings, split into words, whatever the platform', async () => {
    for (const p of ['linux', 'darwin', 'win32'] as const) {
      setPlatformForTests(p);
      const { which, asked } = whichOf();
      expect(await terminalArgv(FILE, { terminal: '  gnome-terminal   --  ', which })).toEqual(['gnome-terminal', '--', ...consoleCommand(FILE)]);
      expect(asked).toEqual([]);
    }
  });

  it('on Linux prefers $TERMINAL when it is on PATH', async () => {
    setPlatformForTests('linux');
    const { which } = whichOf('foot', 'xterm');
    expect(await terminalArgv(FILE, { env: { TERMINAL: 'foot' }, which })).toEqual(['foot', '-e', 'jupyter', 'console', '--existing', FILE, '--ZMQTerminalInteractiveShell.include_other_output=True', '--ZMQTerminalInteractiveShell.other_output_prefix=[other frontend] ']);
  });

  it('on Linux skips a $TERMINAL that is not installed and takes the first known terminal found', async () => {
    setPlatformForTests('linux');
    const { which, asked } = whichOf('konsole', 'xterm');
    expect(await terminalArgv(FILE, { env: { TERMINAL: 'ghostty' }, which, consoleOtherOutput: false })).toEqual(['konsole', '-e', 'jupyter', 'console', '--existing', FILE]);
    expect(asked.slice(0, 4)).toEqual(['ghostty', 'x-terminal-emulator', 'gnome-terminal', 'konsole']);
  });

  it.each([
    ['gnome-terminal', ['gnome-terminal', '--']],
    ['xfce4-terminal', ['xfce4-terminal', '-x']],
    ['kitty', ['kitty']],
    ['wezterm', ['wezterm', 'start', '--']],
    ['xterm', ['xterm', '-e']],
  ])('on Linux puts the command after the right flag for %s', async (name, head) => {
    setPlatformForTests('linux');
    expect(await terminalArgv(FILE, { env: {}, which: whichOf(name).which })).toEqual([...head, ...consoleCommand(FILE)]);
  });

  it('on Linux with no terminal at all says what to do', async () => {
    setPlatformForTests('linux');
    const err = await terminalArgv(FILE, { env: {}, which: whichOf().which }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KtrayError);
    expect(err).toMatchObject({ code: 'FRONTEND_FAILED' });
    expect((err as KtrayError).hint).toMatch(/settings/);
  });

  it('on macOS asks Terminal.app through osascript, with the path quoted for sh and AppleScript', async () => {
    setPlatformForTests('darwin');
    const odd = '/Users/ada/Library/Jupyter/runtime/kernel-ktray-my host-"x".json';
    const argv = await terminalArgv(odd, { which: whichOf().which, consoleOtherOutput: false });
    expect(argv.slice(0, 2)).toEqual(['osascript', '-e']);
    expect(argv).toHaveLength(3);
    // AppleScript string: the sh line with " and \ escaped.
    const m = /^tell application "Terminal" to do script "((?:[^"\\]|\\.)*)"\ntell application "Terminal" to activate$/.exec(argv[2]);
    expect(m).not.toBeNull();
    const shLine = m![1].replace(/\\(.)/g, '$1');
    expect(shLine).toBe(`jupyter console --existing '/Users/ada/Library/Jupyter/runtime/kernel-ktray-my host-"x".json'`);
  });

  it('on Windows starts a new console window', async () => {
    setPlatformForTests('win32');
    expect(await terminalArgv('C:\\Users\\ada\\kernel-ktray-gpu1-abc.json', { which: whichOf().which, consoleOtherOutput: false })).toEqual([
      'cmd.exe',
      '/c',
      'start',
      '""',
      'jupyter',
      'console',
      '--existing',
      'C:\\Users\\ada\\kernel-ktray-gpu1-abc.json',
    ]);
  });
});

describe('launchFrontend', () => {
  it('starts qtconsole detached on the file and lets it go', async () => {
    const { spawn, calls } = spawnStub('spawn');
    const env = { PATH: '/usr/bin', DISPLAY: ':0' };
    await launchFrontend('qtconsole', FILE, { spawn, env, which: whichOf('jupyter-qtconsole').which });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ command: 'jupyter', args: ['qtconsole', '--existing', FILE], unrefed: true });
    expect(calls[0].options).toMatchObject({ detached: true, stdio: 'ignore', env });
  });

  it('opens console in the detected terminal', async () => {
    setPlatformForTests('linux');
    const { spawn, calls } = spawnStub('spawn');
    await launchFrontend('console', FILE, { spawn, env: {}, which: whichOf('xterm', 'jupyter-console').which });
    expect(calls.map((c) => [c.command, ...c.args])).toEqual([['xterm', '-e', 'jupyter', 'console', '--existing', FILE, '--ZMQTerminalInteractiveShell.include_other_output=True', '--ZMQTerminalInteractiveShell.other_output_prefix=[other frontend] ']]);
  });

  it('opens console in the terminal from settings', async () => {
    setPlatformForTests('linux');
    const { spawn, calls } = spawnStub('spawn');
    await launchFrontend('console', FILE, { spawn, terminal: 'alacritty -e', consoleOtherOutput: false, which: whichOf('jupyter-console').which });
    expect(calls.map((c) => [c.command, ...c.args])).toEqual([['alacritty', '-e', 'jupyter', 'console', '--existing', FILE]]);
  });

  it('reports a missing qtconsole before spawning anything, with how to install it', async () => {
    const { spawn, calls } = spawnStub('spawn');
    const err = await launchFrontend('qtconsole', FILE, { spawn, which: whichOf().which }).catch((e: unknown) => e);
    expect(calls).toHaveLength(0);
    expect(err).toMatchObject({ code: 'FRONTEND_FAILED', message: expect.stringContaining('qtconsole is not installed') });
    expect((err as KtrayError).hint).toMatch(/pip install qtconsole/);
  });

  it('reports a jupyter that cannot start as FRONTEND_FAILED with how to install it', async () => {
    const { spawn } = spawnStub({ code: 'ENOENT', message: 'spawn jupyter ENOENT' });
    const err = await launchFrontend('qtconsole', FILE, { spawn, which: whichOf('jupyter-qtconsole').which }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KtrayError);
    expect(err).toMatchObject({ code: 'FRONTEND_FAILED' });
    expect((err as KtrayError).message).toContain('jupyter');
    expect((err as KtrayError).message).toContain('ENOENT');
    expect((err as KtrayError).hint).toMatch(/qtconsole/);
  });

  it('reports a terminal that cannot start as FRONTEND_FAILED', async () => {
    setPlatformForTests('linux');
    const { spawn } = spawnStub({ code: 'ENOENT', message: 'spawn kitty ENOENT' });
    await expect(launchFrontend('console', FILE, { spawn, env: {}, which: whichOf('kitty', 'jupyter-console').which })).rejects.toMatchObject({
      code: 'FRONTEND_FAILED',
      message: expect.stringContaining('kitty'),
    });
  });

  it('with the real spawn, a missing program is FRONTEND_FAILED', async () => {
    await expect(launchFrontend('qtconsole', FILE, { env: { PATH: '/nonexistent-ktray-bin' } })).rejects.toMatchObject({ code: 'FRONTEND_FAILED' });
  });
});

describe('onPath', () => {
  it('finds sh and not a made-up name', async () => {
    expect(await onPath('sh')).toBe(true);
    expect(await onPath('ktray-no-such-program-x9')).toBe(false);
    expect(await onPath("x'; touch /tmp/ktray-pwned-onpath; '")).toBe(false);
  });
});
