// Test helpers: a real ipykernel on this machine, and a TCP relay that can cut
// its connections the way a dropped SSH tunnel does. Used by tests and benchmarks only.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectionInfo } from '../../shared/types';

// ipykernel is installed for the Debian python; the pyenv python on PATH lacks it.
const PYTHON = '/usr/bin/python3';

export interface TestKernel {
  info: ConnectionInfo;
  process: ChildProcess;
  /** Resolves when the kernel process ends, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the kernel printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGKILL if still running, then remove its temp dir. Safe to call twice. */
  kill(): Promise<void>;
}

export async function startTestKernel(opts: { transport?: 'tcp' | 'ipc' } = {}): Promise<TestKernel> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ktray-kernel-'));
  const file = path.join(dir, 'kernel-test.json');
  let log = '';
  const extra = opts.transport === 'ipc' ? ['--transport=ipc'] : [];
  const child = spawn(PYTHON, ['-m', 'ipykernel_launcher', ...extra, '-f', file], {
    // Keep IPython's profile and runtime files out of the user's home;
    // JPY_PARENT_PID makes the kernel exit should the test runner die first.
    env: { ...process.env, IPYTHONDIR: path.join(dir, 'ipython'), JUPYTER_RUNTIME_DIR: dir, JPY_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const info = await waitForConnectionFile(file, child, () => log);
    return { info, process: child, exited, kill, output: () => log };
  } catch (err) {
    await kill();
    throw err;
  }
}

async function waitForConnectionFile(file: string, child: ChildProcess, log: () => string): Promise<ConnectionInfo> {
  // The kernel writes the file after binding its ports; the vitest hook timeout bounds this loop.
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`ipykernel exited (${child.exitCode ?? child.signalCode}) before writing ${file}:\n${log()}`);
    }
    try {
      const info = JSON.parse(await readFile(file, 'utf8')) as ConnectionInfo;
      if (info.hb_port && info.key) return info;
    } catch {
      // Not there yet, or half written.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Relay {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Destroy every open connection; the listener stays, as a tunnel's does across an SSH reconnect. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const relay: Relay = {
    port: 0,
    accepted: 0,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => {
      relay.dropAll();
      return new Promise((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((inbound) => {
    relay.accepted++;
    const outbound = net.connect(targetPort, '127.0.0.1');
    track(inbound);
    track(outbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  relay.port = (server.address() as net.AddressInfo).port;
  return relay;
}
