// The built-in host `local`: this computer, no SSH.
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import type { ExecResult, Host, HostStateChange, RunOptions } from './host';
import { LOCAL_HOST } from '../../shared/types';

export class LocalHost implements Host {
  readonly id: string;
  readonly state = 'connected' as const;
  readonly lastError = null;

  /** `env`: the environment scripts run in (default: this process's). */
  constructor(private readonly opts: { id?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.id = opts.id ?? LOCAL_HOST;
  }

  run(script: string, options: RunOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-s'], { stdio: ['pipe', 'pipe', 'pipe'], env: this.opts.env ?? process.env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = options.timeoutMs
        ? setTimeout(() => {
            child.kill('SIGKILL');
            reject(new KtrayError({ code: 'TIMEOUT', host: this.id, message: `A command on ${this.id} took longer than ${options.timeoutMs} ms.` }));
          }, options.timeoutMs)
        : null;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(new KtrayError({ code: 'REMOTE_COMMAND_FAILED', host: this.id, message: `Could not run /bin/sh: ${e.message}` }));
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin.end(script);
    });
  }

  openStream(host: string, port: number): Promise<Duplex> {
    return connected(net.connect({ host, port }));
  }

  openUnixStream(path: string): Promise<Duplex> {
    return connected(net.connect({ path }));
  }

  async connect(): Promise<void> {}
  async check(): Promise<void> {}
  onStateChange(_listener: (change: HostStateChange) => void): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

function connected(socket: net.Socket): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
