// Opening a Jupyter frontend on a local connection file: qtconsole directly,
// console inside a terminal emulator of the platform, or console right here in
// the caller's terminal. The caller's own process does it (the CLI, or the
// app's main process), so the frontend runs in the caller's environment (its
// DISPLAY, PATH, active conda/venv), never the background agent's.
import { spawn, type SpawnOptions } from 'node:child_process';
import type { AgentApi } from '../../shared/agent-api';
import { KtrayError } from '../../shared/errors';
import type { AttachOptions, AttachResult, Frontend, FrontendWindow, OpenedFrontend } from '../../shared/types';
import { platform } from '../util/platform';
import { quote } from '../util/shell-quote';

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => { pid?: number; unref(): void; once(event: 'error', cb: (err: Error) => void): unknown; once(event: 'spawn', cb: () => void): unknown };

export interface FrontendOptions {
  /** Terminal command from settings, e.g. `gnome-terminal --`; empty: detect. */
  terminal?: string;
  /** `jupyter console` shows other frontends' output, marked as theirs (default true, the setting's default). */
  consoleOtherOutput?: boolean;
  env?: NodeJS.ProcessEnv;
  spawn?: SpawnFn;
  /** Finds an executable on PATH (tests pass their own). */
  which?: (name: string) => Promise<boolean>;
}

/** Linux terminals and the flag after which they take a command. */
const LINUX_TERMINALS: Array<[string, string[]]> = [
  ['x-terminal-emulator', ['-e']],
  ['gnome-terminal', ['--']],
  ['konsole', ['-e']],
  ['xfce4-terminal', ['-x']],
  ['kitty', []],
  ['alacritty', ['-e']],
  ['wezterm', ['start', '--']],
  ['foot', []],
  ['xterm', ['-e']],
];

/** How a console Kernel Tray opens marks what other frontends of its kernel ran and printed. */
export const OTHER_OUTPUT_PREFIX = '[other frontend] ';

/**
 * `jupyter console` on a local connection file. With `otherOutput` it also shows what the
 * kernel's other clients (a notebook, qtconsole, an editor) run and print: iopub is a
 * broadcast, and jupyter_console's include_other_output prints those messages with
 * other_output_prefix before their `In [N]:` (polled while the console waits for input).
 */
export function consoleCommand(connectionFile: string, opts: { otherOutput?: boolean } = {}): string[] {
  const argv = ['jupyter', 'console', '--existing', connectionFile];
  if (opts.otherOutput ?? true) {
    argv.push('--ZMQTerminalInteractiveShell.include_other_output=True', `--ZMQTerminalInteractiveShell.other_output_prefix=${OTHER_OUTPUT_PREFIX}`);
  }
  return argv;
}

/** The argv that opens `jupyter console` in a new terminal window. */
export async function terminalArgv(connectionFile: string, opts: FrontendOptions): Promise<string[]> {
  const inner = consoleCommand(connectionFile, { otherOutput: opts.consoleOtherOutput });
  if (opts.terminal?.trim()) return [...opts.terminal.trim().split(/\s+/), ...inner];
  const env = opts.env ?? process.env;
  switch (platform()) {
    case 'darwin': {
      const line = inner.map(quote).join(' ');
      const script = `tell application "Terminal" to do script "${line.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\ntell application "Terminal" to activate`;
      return ['osascript', '-e', script];
    }
    case 'win32':
      return ['cmd.exe', '/c', 'start', '""', ...inner];
    default: {
      const which = opts.which ?? onPath;
      if (env.TERMINAL && (await which(env.TERMINAL))) return [env.TERMINAL, '-e', ...inner];
      for (const [name, flag] of LINUX_TERMINALS) {
        if (await which(name)) return [name, ...flag, ...inner];
      }
      throw new KtrayError({
        code: 'FRONTEND_FAILED',
        message: 'No terminal emulator found to open jupyter console in.',
        hint: 'Set one in Kernel Tray settings (e.g. `xterm -e`), or run `ktray attach ID --frontend console` from a terminal.',
      });
    }
  }
}

/**
 * Where a frontend opens, decided once for every face: `console` runs in the
 * caller's own terminal when it has one (what tmux users want) unless a new
 * window is asked for; qtconsole, and console from the tray, get a window.
 */
export function planFrontend(o: { frontend: Frontend; newTerminal?: boolean; callerHasTerminal: boolean }): 'here' | 'window' | 'none' {
  if (o.frontend === 'none') return 'none';
  if (o.frontend === 'console' && o.callerHasTerminal && !o.newTerminal) return 'here';
  return 'window';
}

/** `jupyter X` runs `jupyter-X`: check it is there before anything depends on it. */
export async function requireFrontend(kind: FrontendWindow, which: (name: string) => Promise<boolean> = onPath): Promise<void> {
  if (!(await which(`jupyter-${kind}`))) {
    throw new KtrayError({
      code: 'FRONTEND_FAILED',
      message: `jupyter ${kind} is not installed on this computer.`,
      hint:
        kind === 'qtconsole'
          ? 'Install it (`pip install qtconsole`, or your package manager: e.g. `apt install jupyter-qtconsole`), or attach with the console or no frontend.'
          : 'Install it (`pip install jupyter-console`, or e.g. `apt install jupyter-console`), or attach with no frontend and use your own client.',
    });
  }
}

/** Opens the frontend in a window of its own, detached: it outlives the caller. */
export async function launchFrontend(kind: FrontendWindow, connectionFile: string, opts: FrontendOptions = {}): Promise<void> {
  // Checked first, or the failure happens unseen in a detached process.
  await requireFrontend(kind, opts.which);
  const argv = kind === 'qtconsole' ? ['jupyter', 'qtconsole', '--existing', connectionFile] : await terminalArgv(connectionFile, opts);
  const run = opts.spawn ?? (spawn as unknown as SpawnFn);
  await new Promise<void>((resolve, reject) => {
    const child = run(argv[0], argv.slice(1), { detached: true, stdio: 'ignore', env: opts.env ?? process.env });
    child.once('error', (err: Error) =>
      reject(
        new KtrayError({
          code: 'FRONTEND_FAILED',
          message: `Could not start ${argv[0]}: ${err.message}.`,
          hint:
            kind === 'qtconsole'
              ? 'Install qtconsole on this computer (`pip install qtconsole` or your package manager), or attach with --frontend console.'
              : 'Install jupyter-console, or set the terminal command in settings.',
        }),
      ),
    );
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

export function onPath(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `command -v ${quote(name)}`], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/** Runs `jupyter console` in this process's terminal and resolves with its exit code. */
export function runConsoleHere(connectionFile: string, opts: Pick<FrontendOptions, 'env' | 'spawn' | 'consoleOtherOutput'> = {}): Promise<number> {
  const run = opts.spawn ?? (spawn as unknown as SpawnFn);
  const [command, ...args] = consoleCommand(connectionFile, { otherOutput: opts.consoleOtherOutput });
  return new Promise((resolve, reject) => {
    const child = run(command!, args, { stdio: 'inherit', env: opts.env ?? process.env }) as ReturnType<SpawnFn> & {
      once(event: 'close', cb: (code: number | null) => void): unknown;
    };
    child.once('error', (err: Error) =>
      reject(new KtrayError({ code: 'FRONTEND_FAILED', message: `Could not run jupyter console: ${err.message}.`, hint: `Install jupyter-console, or use --frontend none and your own client on ${connectionFile}.` })),
    );
    child.once('close', (code) => resolve(code ?? 0));
  });
}

/**
 * Attaches the kernel and opens the frontend in a window. If the frontend
 * cannot open, an attachment this call made is undone: nothing is left behind.
 */
export async function attachAndOpen(
  agent: Pick<AgentApi, 'attach' | 'detach'>,
  params: AttachOptions & { frontend: FrontendWindow },
  opts: FrontendOptions = {},
): Promise<OpenedFrontend> {
  await requireFrontend(params.frontend, opts.which);
  const { frontend: _frontend, ...attach } = params;
  const attached = await agent.attach(attach);
  try {
    await launchFrontend(params.frontend, attached.localConnectionFile, opts);
  } catch (err) {
    await undoAttach(agent, attached);
    throw err;
  }
  return { ...attached, launched: params.frontend };
}

/** Detaches again what an attach of this caller opened (a frontend that could not start). */
export async function undoAttach(agent: Pick<AgentApi, 'detach'>, attached: AttachResult): Promise<void> {
  if (attached.newlyAttached) await agent.detach({ id: attached.kernel.id }).catch(() => {});
}
