// A fake remote for the agent's unit tests: scripts run for real on this
// computer (in a private HOME and runtime dir), streams reach this computer's
// loopback, and the test decides when the "connection" drops, comes back, or
// refuses forwards. Used by tests only.
import { EventEmitter } from 'node:events';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import type { HostConnection, KtrayErrorData } from '../../shared/types';
import type { ExecResult, Host, HostStateChange, RunOptions } from './host';
import { LocalHost } from './local-host';

export class FakeHost implements Host {
  private readonly events = new EventEmitter();
  private _state: HostConnection = 'connected';
  private _lastError: KtrayErrorData | null = null;
  private readonly local: LocalHost;
  /** Forwards answer as an sshd under `AllowTcpForwarding no` does. */
  refuseForwards = false;
  /** Every run, connect and stream fails as on a host that does not answer. */
  down = false;
  readonly opened: string[] = [];

  private constructor(
    readonly id: string,
    /** The fake remote's HOME; its Jupyter runtime dir is HOME/runtime. */
    readonly home: string,
  ) {
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, JUPYTER_RUNTIME_DIR: path.join(home, 'runtime'), LANG: 'C.UTF-8', IPYTHONDIR: path.join(home, 'ipython') };
    this.local = new LocalHost({ id, env });
  }

  static async create(id = 'fake'): Promise<FakeHost> {
    const home = await mkdtemp(path.join(tmpdir(), `kt-fakehost-${id}-`));
    await mkdir(path.join(home, 'runtime'), { mode: 0o700 });
    return new FakeHost(id, home);
  }

  get runtimeDir(): string {
    return path.join(this.home, 'runtime');
  }

  get state(): HostConnection {
    return this._state;
  }

  get lastError(): KtrayErrorData | null {
    return this._lastError;
  }

  /** The connection drops (`lost`) or comes back (`connected`), as SshSession reports it. */
  setState(state: HostConnection): void {
    this._state = state;
    this.down = state !== 'connected';
    this._lastError = this.down ? { code: 'HOST_DOWN', host: this.id, message: `${this.id} does not answer.` } : null;
    this.events.emit('state', { state, error: this._lastError } satisfies HostStateChange);
  }

  private downError(): KtrayError {
    return new KtrayError({ code: 'HOST_DOWN', host: this.id, message: `${this.id} does not answer.` });
  }

  async run(script: string, options?: RunOptions): Promise<ExecResult> {
    if (this.down) throw this.downError();
    return this.local.run(script, options);
  }

  async openStream(host: string, port: number): Promise<Duplex> {
    this.opened.push(`${host}:${port}`);
    if (this.down) throw this.downError();
    if (this.refuseForwards) {
      throw new KtrayError({ code: 'FORWARD_REFUSED', host: this.id, message: `The SSH server on ${this.id} refused to forward to ${host}:${port}: open failed.`, hint: 'It needs AllowTcpForwarding yes.' });
    }
    return this.local.openStream(host, port);
  }

  async openUnixStream(socket: string): Promise<Duplex> {
    if (this.down) throw this.downError();
    return this.local.openUnixStream(socket);
  }

  async connect(): Promise<void> {
    if (this.down) throw this.downError();
  }

  async check(): Promise<void> {}

  onStateChange(listener: (change: HostStateChange) => void): () => void {
    this.events.on('state', listener);
    return () => this.events.off('state', listener);
  }

  async close(): Promise<void> {}

  /** Kills what the fake remote started (its kernels) and removes its HOME. */
  async dispose(): Promise<void> {
    await this.local.run(`for f in "$JUPYTER_RUNTIME_DIR"/kernel-*.json; do [ -f "$f" ] || continue; pkill -KILL -f -- "$f" 2>/dev/null; done; true`);
    await rm(this.home, { recursive: true, force: true });
  }
}
