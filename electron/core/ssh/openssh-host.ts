// A host reached through the system's own OpenSSH client, for what ssh2
// cannot do (GSSAPI/Kerberos, an existing ControlMaster of the user's): one
// master connection per host (the user's own at its ControlPath, else one we
// start with ControlMaster=yes), every command and stream multiplexed through
// it. Commands are `ssh -S CTL HOST sh -s` with the script on stdin (never in
// an argv); streams are `ssh -S CTL -W host:port` (stdio forwarding), and unix
// sockets `-O forward -L` to a socket in a private folder here. Host keys and
// logins are OpenSSH's own business.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import type { HostConnection, KtrayErrorData } from '../../shared/types';
import type { ExecResult, Host, HostStateChange, RunOptions } from '../hosts/host';
import { framed } from './remote-shell';

export interface OpenSshHostOptions {
  id: string;
  /** `-F FILE`, or null for ssh's own default files. */
  configFile: string | null;
  /** The user's ControlPath, expanded as `ssh -G` does; used when a master listens there. */
  userControlPath: string | null;
  /** Why this host goes through OpenSSH, for `ktray hosts`. */
  reason: string;
  wanted?: () => boolean;
  env?: NodeJS.ProcessEnv;
  /** The ssh binary (default: `ssh` on PATH). */
  ssh?: string;
}

/** Runs ssh with these arguments; stdin text in, output and exit status out. */
function runSsh(bin: string, args: string[], env: NodeJS.ProcessEnv, stdin = '', timeoutMs = 0): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGTERM'), timeoutMs) : null;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => err.push(Buffer.from(e.message)));
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(stdin);
  });
}

/**
 * What ssh said when its master did not come up, as an error of ours: host key
 * refusals (unknown key or CA, revoked, changed) in ssh's own words with what to
 * do next; the rest as "did not connect".
 */
export function sshFailure(id: string, said: string): KtrayError {
  const words = said.replace(/\r/g, '').replace(/^@+.*@+\n?/gm, '').replace(/^WARNING: (REVOKED HOST KEY|REMOTE HOST IDENTIFICATION).*\n?/gm, '').trim().replace(/\s*\n\s*/g, ' ');
  const terminal = `Run \`ssh ${id}\` in a terminal to see what ssh sees`;
  if (/Host key verification failed/.test(said)) {
    if (/revoked/i.test(said)) {
      return new KtrayError({
        code: 'HOST_KEY_CHANGED',
        host: id,
        message: `ssh refused ${id}: its host key is revoked in known_hosts (an @revoked line). ssh said: ${words}`,
        hint: `Do not connect until the host's administrator says which key is right; a revoked key may be a stolen one. ${terminal}.`,
      });
    }
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|has changed|Offending/i.test(said)) {
      return new KtrayError({
        code: 'HOST_KEY_CHANGED',
        host: id,
        message: `ssh refused ${id}: its host key is not the one known_hosts holds. ssh said: ${words}`,
        hint: `Check the new key with the host's administrator before replacing the old line (ssh-keygen -R). ${terminal}.`,
      });
    }
    return new KtrayError({
      code: 'HOST_KEY_UNKNOWN',
      host: id,
      message: `ssh refused ${id}: neither its host key nor a certificate authority (@cert-authority) for it is in known_hosts. ssh said: ${words}`,
      hint: `Ask the host's administrator for its host key fingerprint or its CA's public key, and add it to known_hosts (for a CA: a line \`@cert-authority HOSTPATTERN KEY\`); \`ssh ${id}\` in a terminal offers to add a plain key.`,
    });
  }
  return new KtrayError({
    code: 'HOST_UNREACHABLE',
    host: id,
    message: `\`ssh ${id}\` (the OpenSSH transport) did not connect${words ? `: ${words}` : '.'}`,
    hint: `Run \`ssh ${id}\` in a terminal; Kernel Tray runs it with BatchMode=yes, so it cannot answer prompts. A ControlMaster you start yourself (ControlPath in your ssh config) is used as it is.`,
  });
}

export class OpenSshHost implements Host {
  readonly id: string;
  readonly transport = 'openssh' as const;
  private readonly events = new EventEmitter();
  private _state: HostConnection = 'idle';
  private _lastError: KtrayErrorData | null = null;
  private connecting: Promise<void> | null = null;
  /** The control socket in use, and whether it is a master we started. */
  private control: { path: string; own: ChildProcess | null } | null = null;
  private privateDir: string | null = null;
  private readonly unixForwards = new Map<string, string>();
  private closed = false;

  constructor(private readonly opts: OpenSshHostOptions) {
    this.id = opts.id;
  }

  get reason(): string {
    return this.opts.reason;
  }

  get state(): HostConnection {
    return this._state;
  }

  get lastError(): KtrayErrorData | null {
    return this._lastError;
  }

  onStateChange(listener: (change: HostStateChange) => void): () => void {
    this.events.on('state', listener);
    return () => this.events.off('state', listener);
  }

  private get bin(): string {
    return this.opts.ssh ?? 'ssh';
  }

  private get env(): NodeJS.ProcessEnv {
    return this.opts.env ?? process.env;
  }

  private base(ctl: string): string[] {
    return [...(this.opts.configFile ? ['-F', this.opts.configFile] : []), '-S', ctl, '-o', 'ControlMaster=no', '-o', 'BatchMode=yes'];
  }

  private async masterAlive(ctl: string): Promise<boolean> {
    if (!existsSync(ctl)) return false;
    return (await runSsh(this.bin, [...this.base(ctl), '-O', 'check', this.id], this.env, '', 10_000)).code === 0;
  }

  async connect(): Promise<void> {
    if (this.closed) throw new KtrayError({ code: 'HOST_DOWN', host: this.id, message: `The session to ${this.id} is closed.` });
    // A master that exits (the link dropped) unlinks its socket: ours tells us by its exit, the
    // user's only by the socket being gone, found here before each command or stream.
    if (this._state === 'connected' && this.control && !this.control.own && !existsSync(this.control.path)) this.onMasterGone();
    if (this._state === 'connected' && this.control) return;
    this.connecting ??= this.establish().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async establish(): Promise<void> {
    this.setState(this._state === 'lost' ? 'lost' : 'connecting', this._lastError);
    try {
      const user = this.opts.userControlPath;
      if (user && (await this.masterAlive(user))) {
        this.control = { path: user, own: null };
      } else {
        this.control = await this.startMaster();
      }
      this.setState('connected', null);
    } catch (err) {
      const e = KtrayError.from(err);
      this.setState(this.opts.wanted?.() ? 'lost' : 'idle', e.toData());
      throw e;
    }
  }

  /** Our own master: `ssh -M -N`, ready once `-O check` answers, or failed with what ssh said. */
  private async startMaster(): Promise<{ path: string; own: ChildProcess }> {
    this.privateDir ??= mkdtempSync(join(tmpdir(), 'ktray-ssh-'));
    const ctl = join(this.privateDir, `cm-${randomBytes(4).toString('hex')}`);
    const args = [
      ...(this.opts.configFile ? ['-F', this.opts.configFile] : []),
      '-o', 'ControlMaster=yes', '-o', `ControlPath=${ctl}`, '-o', 'ControlPersist=no', '-o', 'BatchMode=yes', '-N', this.id,
    ];
    const child = spawn(this.bin, args, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (said = (said + d).slice(-4000)));
    let exited = false;
    child.on('exit', () => {
      exited = true;
      if (this.control?.own === child) this.onMasterGone();
    });
    child.on('error', (e) => (said += e.message));
    for (let i = 0; i < 300 && !exited; i++) {
      if (await this.masterAlive(ctl)) return { path: ctl, own: child };
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill();
    throw sshFailure(this.id, said);
  }

  private onMasterGone(): void {
    this.control = null;
    // Its forwards went with it; their sockets here answer nobody now.
    for (const local of this.unixForwards.values()) rmSync(local, { force: true });
    this.unixForwards.clear();
    if (this.closed) return;
    this.setState(this.opts.wanted?.() ? 'lost' : 'idle', { code: 'HOST_DOWN', host: this.id, message: `The SSH connection to ${this.id} dropped.` });
    if (this.opts.wanted?.()) setTimeout(() => void this.connect().catch(() => {}), 1000).unref?.();
  }

  async check(): Promise<void> {
    if (this.control && (await this.masterAlive(this.control.path))) return;
    if (this.control?.own) this.control.own.kill();
    this.control = null;
    await this.connect().catch(() => {});
  }

  async run(script: string, options: RunOptions = {}): Promise<ExecResult> {
    await this.connect();
    const f = framed(script);
    const r = await runSsh(this.bin, [...this.base(this.control!.path), '-T', this.id, 'sh -s'], this.env, f.script, options.timeoutMs ?? 0);
    if (r.code === 255 && !(await this.masterAlive(this.control?.path ?? ''))) {
      this.onMasterGone();
      throw new KtrayError({ code: 'HOST_DOWN', host: this.id, message: `The SSH connection to ${this.id} dropped while a command was running.`, hint: 'Kernel Tray reconnects by itself; try again.' });
    }
    return f.unframe(r);
  }

  async openStream(host: string, port: number): Promise<Duplex> {
    await this.connect();
    const child = spawn(this.bin, [...this.base(this.control!.path), '-W', `${host}:${port}`, this.id], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.resume();
    child.stdin!.on('error', () => {});
    const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
    stream.on('close', () => child.kill());
    return stream;
  }

  async openUnixStream(path: string): Promise<Duplex> {
    await this.connect();
    let local = this.unixForwards.get(path);
    if (!local || !existsSync(local)) {
      this.privateDir ??= mkdtempSync(join(tmpdir(), 'ktray-ssh-'));
      local = join(this.privateDir, `fw-${randomBytes(4).toString('hex')}`);
      const r = await runSsh(this.bin, [...this.base(this.control!.path), '-O', 'forward', '-L', `${local}:${path}`, this.id], this.env, '', 15_000);
      if (r.code !== 0) {
        throw new KtrayError({ code: 'FORWARD_FAILED', host: this.id, message: `Could not forward the unix socket ${path} on ${this.id} through OpenSSH: ${r.stderr.trim() || `exit ${r.code}`}.` });
      }
      this.unixForwards.set(path, local);
    }
    const sock = net.createConnection(local);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    return sock;
  }

  async close(): Promise<void> {
    this.closed = true;
    const own = this.control?.own;
    this.control = null;
    own?.kill();
    if (this.privateDir) rmSync(this.privateDir, { recursive: true, force: true });
    this.setState('idle', null);
  }

  private setState(state: HostConnection, error: KtrayErrorData | null): void {
    const changed = state !== this._state || error?.message !== this._lastError?.message;
    this._state = state;
    this._lastError = error;
    if (changed) this.events.emit('state', { state, error } satisfies HostStateChange);
  }
}
