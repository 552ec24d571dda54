// A host reached through the system's own OpenSSH client, for what ssh2
// cannot do (GSSAPI/Kerberos, an existing ControlMaster of the user's): one
// master connection per host (the user's own at its ControlPath, else one we
// start with ControlMaster=yes), every command and stream multiplexed through
// it. Commands are `ssh -S CTL HOST sh -s` with the script on stdin (never in
// an argv); streams are `ssh -S CTL -W host:port` (stdio forwarding), and unix
// sockets `-O forward -L` to a socket in a private folder here. Host keys and
// logins are OpenSSH's own business; what ssh asks while logging in (a
// passphrase, a password, a one-time code, a PIN) comes to the agent through
// SSH_ASKPASS (openssh-askpass.ts) and is asked as the ssh2 transport asks it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import type { AuthPrompt, HostConnection, KtrayErrorData } from '../../shared/types';
import type { ExecResult, Host, HostStateChange, RunOptions } from '../hosts/host';
import { framed } from './remote-shell';
import { startAskpass, type AskpassQuestion, type AskpassServer } from './openssh-askpass';
import { ReconnectPolicy, type BackoffOptions } from './reconnect-policy';
import { REFUSED_AGAIN, refusedWords, type PassphrasePrompt } from './ssh-auth';

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
  /**
   * Asks the user (terminal or window) what ssh asks while logging in. Without
   * it the master runs with BatchMode=yes: nothing can be asked.
   */
  askPassphrase?: PassphrasePrompt;
  /** A notice for the user; attention: the user must act (a reconnect waits for a typed answer). */
  notice?: (message: string, attention?: boolean) => void;
  /** Backoff bounds in ms for reconnects (as the ssh2 session's). */
  backoff?: BackoffOptions;
}

/** What one start of our master asked the user, for its failure's words and for reconnects. */
interface Attempt {
  /** Each question asked of the user (not answered from memory), in order. */
  asked: Omit<AuthPrompt, 'host'>[];
  /** How often each question came (ssh asks again after a refusal). */
  seen: Map<string, number>;
  unanswered: boolean;
  noticed: boolean;
  /** Questions we did not pass on (host keys, yes/no). */
  refused: string[];
  /** Passphrases given from this session's memory (not asked). */
  fromMemory: Set<string>;
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
export function sshFailure(id: string, said: string, attempt: Attempt | null = null, canAsk = false): KtrayError {
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
  if (attempt?.asked.length && /Permission denied|Too many authentication failures/i.test(said)) {
    if (attempt.unanswered) {
      return new KtrayError({
        code: 'AUTH_FAILED',
        host: id,
        message: `${id} (the OpenSSH transport) asks for ${[...new Set(attempt.asked.map(askedWhat))].join(' and ')}, and nothing answered. ssh said: ${words}`,
        hint: `Run the command in a terminal (or use the app) to answer ${id}'s prompts, or load a key it accepts into ssh-agent; \`ktray reconnect ${id}\` asks again.`,
      });
    }
    return new KtrayError({
      code: 'AUTH_FAILED',
      host: id,
      message: `${id} (the OpenSSH transport) refused what was typed for ${refusedWords(roundsOf(attempt))}. ssh said: ${words}`,
      hint: `Check what you typed and try again; a one-time code is asked afresh each time. \`ktray reconnect ${id}\` asks again.`,
    });
  }
  return new KtrayError({
    code: 'HOST_UNREACHABLE',
    host: id,
    message: `\`ssh ${id}\` (the OpenSSH transport) did not connect${words ? `: ${words}` : '.'}`,
    hint: canAsk
      ? `Run \`ssh ${id}\` in a terminal to see what ssh sees. A ControlMaster you start yourself (ControlPath in your ssh config) is used as it is.`
      : `Run \`ssh ${id}\` in a terminal; with nothing to ask the user through (no terminal or window), Kernel Tray runs it with BatchMode=yes, so it cannot answer prompts. A ControlMaster you start yourself (ControlPath in your ssh config) is used as it is.`,
  });
}

/**
 * A lost host whose reconnect asked the user and did not get in: tunnels and
 * commands are refused with this until the user reconnects it (asking again),
 * so that no use of the link asks again by itself.
 */

const askedWhat = (p: Omit<AuthPrompt, 'host'>): string =>
  p.kind === 'passphrase' ? `the passphrase of ${p.keyFile}` : p.kind === 'password' ? 'a password' : `"${(p.prompt ?? '').trim()}"`;

/** The attempt's questions as ssh2's log has them: one entry per round of a method. */
function roundsOf(a: Attempt): { method: string; prompts: string[] }[] {
  const byMethod = new Map<string, { prompts: string[]; times: number }>();
  for (const p of a.asked) {
    const method = p.kind === 'passphrase' ? `the passphrase of ${p.keyFile}` : p.kind === 'password' ? 'password' : 'keyboard-interactive';
    const prompt = p.kind === 'passphrase' ? '' : p.kind === 'password' ? 'password' : (p.prompt ?? '').trim();
    const m = byMethod.get(method) ?? { prompts: [], times: 0 };
    if (prompt && !m.prompts.includes(prompt)) m.prompts.push(prompt);
    m.times = Math.max(m.times, a.asked.filter((x) => x === p || (x.kind === p.kind && x.prompt === p.prompt && x.keyFile === p.keyFile)).length);
    byMethod.set(method, m);
  }
  return [...byMethod].flatMap(([method, m]) => Array.from({ length: m.times }, () => ({ method, prompts: m.prompts })));
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
  private readonly reconnect: ReconnectPolicy;
  private askpass: AskpassServer | null = null;
  /** The master being started now, and what it asked. */
  private attempt: Attempt | null = null;
  /** Questions waiting for the user's answer: the master's start does not time out meanwhile. */
  private pendingPrompts = 0;
  /** Passphrases typed this session, by key file, so a reconnect does not ask again (as over ssh2). */
  private readonly passphrases = new Map<string, string>();

  constructor(private readonly opts: OpenSshHostOptions) {
    this.id = opts.id;
    this.reconnect = new ReconnectPolicy({ id: this.id, backoff: opts.backoff, retry: () => this.retry() });
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
    if (this.connecting) return this.connecting;
    // As over ssh2: a host that just failed, or waits for the user, answers at once.
    const refusal = this._state === 'lost' ? this.reconnect.refusal(this._lastError) : null;
    if (refusal) throw refusal;
    return this.startConnect();
  }

  private startConnect(): Promise<void> {
    const wasLost = this._state === 'lost';
    if (!wasLost) this.setState('connecting', null);
    this.connecting = this.establish()
      .then(() => {
        this.reconnect.succeeded();
        this.setState('connected', null);
      })
      .catch((err: unknown) => {
        const e = KtrayError.from(err);
        const lost = wasLost || Boolean(this.opts.wanted?.());
        // A try that asked the user and did not get in is not repeated by itself: another
        // would ask again (a prompt storm); the next use or `ktray reconnect` does.
        this.reconnect.failed(lost, (this.attempt?.asked.length ?? 0) > 0);
        this.setState(lost ? 'lost' : 'idle', e.toData());
        throw e;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  /** The reconnect timer fired: try again if the host is still wanted and not being tried. */
  private retry(): boolean {
    if (this.closed || this._state === 'connected' || this.connecting) return false;
    if (!(this.opts.wanted?.() ?? false)) {
      this.setState('idle', this._lastError);
      return false;
    }
    this.startConnect().catch(() => {});
    return true;
  }

  private async establish(): Promise<void> {
    this.attempt = null;
    const user = this.opts.userControlPath;
    if (user && (await this.masterAlive(user))) {
      this.control = { path: user, own: null };
    } else {
      this.control = await this.startMaster();
    }
  }

  /** Our own master: `ssh -M -N`, ready once `-O check` answers, or failed with what ssh said. */
  private async startMaster(): Promise<{ path: string; own: ChildProcess }> {
    this.privateDir ??= mkdtempSync(join(tmpdir(), 'ktray-ssh-'));
    const ctl = join(this.privateDir, `cm-${randomBytes(4).toString('hex')}`);
    // With somewhere to ask, ssh's questions come to us (SSH_ASKPASS_REQUIRE=force: never its
    // terminal); without, BatchMode=yes as before: ssh asks nothing.
    const canAsk = Boolean(this.opts.askPassphrase) && (this.opts.askPassphrase!.canAsk?.() ?? true);
    if (canAsk) this.askpass ??= await startAskpass(this.privateDir, (q) => this.answer(q));
    const attempt: Attempt = { asked: [], seen: new Map(), unanswered: false, noticed: false, refused: [], fromMemory: new Set() };
    this.attempt = attempt;
    const args = [
      ...(this.opts.configFile ? ['-F', this.opts.configFile] : []),
      '-o', 'ControlMaster=yes', '-o', `ControlPath=${ctl}`, '-o', 'ControlPersist=no', ...(canAsk ? [] : ['-o', 'BatchMode=yes']), '-N', this.id,
    ];
    const env = canAsk && this.askpass ? { ...this.env, ...this.askpass.env } : this.env;
    const child = spawn(this.bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (said = (said + d).slice(-4000)));
    let exited = false;
    child.on('exit', () => {
      exited = true;
      if (this.control?.own === child) this.onMasterGone();
    });
    child.on('error', (e) => (said += e.message));
    // 30 s for ssh to log in, not counting the time the user takes to answer its questions.
    let waitedMs = 0;
    while (!exited && waitedMs < 30_000) {
      if (await this.masterAlive(ctl)) return { path: ctl, own: child };
      await new Promise((r) => setTimeout(r, 100));
      if (this.pendingPrompts === 0) waitedMs += 100;
    }
    child.kill();
    if (!exited) await new Promise((r) => child.once('exit', r));
    throw sshFailure(this.id, said, attempt, canAsk);
  }

  /**
   * One question of our master's ssh, asked of the user as over ssh2: a key's
   * passphrase typed this session is given again once (asked of the user if ssh
   * asks again: it was wrong); a question ssh repeats says the last answer was
   * refused; after one unanswered question the rest of that try gets none.
   */
  private async answer(q: AskpassQuestion): Promise<string | null> {
    const a = this.attempt;
    if (!a || !this.opts.askPassphrase) return null;
    if (q.kind === 'notice') {
      this.opts.notice?.(`${this.id}: ${q.message}`, true);
      return null;
    }
    if (q.kind === 'refuse') {
      a.refused.push(q.why);
      return null;
    }
    const p = q.prompt;
    const key = `${p.kind} ${p.keyFile ?? p.prompt ?? ''}`;
    const n = a.seen.get(key) ?? 0;
    a.seen.set(key, n + 1);
    if (a.unanswered) return null;
    let again = n > 0;
    if (p.kind === 'passphrase') {
      const kept = this.passphrases.get(p.keyFile!);
      if (kept !== undefined && n === 0) {
        a.fromMemory.add(key);
        return kept;
      }
      // Asked again: what ssh got was wrong. If it was the kept one, the user is asked as if afresh.
      this.passphrases.delete(p.keyFile!);
      if (a.fromMemory.has(key)) again = n > 1;
    }
    a.asked.push(p);
    // A reconnect that needs a password or a fresh code: the user is told, not left guessing.
    if (p.kind !== 'passphrase' && this._state === 'lost' && !a.noticed) {
      a.noticed = true;
      const what = p.kind === 'password' ? 'your password' : `"${(p.prompt ?? '').trim()}"`;
      this.opts.notice?.(`${this.id} asks for ${what} to reconnect: answer it in the Kernel Tray window, or run \`ktray reconnect ${this.id}\` in a terminal.`, true);
    }
    const note = again ? (p.kind === 'password' ? 'Permission denied, please try again.' : p.kind === 'passphrase' ? 'Wrong passphrase; try again.' : REFUSED_AGAIN) : null;
    this.pendingPrompts++;
    let answer: string | null;
    try {
      answer = await this.opts.askPassphrase({ host: this.id, ...p, ...(note ? { instructions: note } : {}) });
    } catch {
      answer = null;
    } finally {
      this.pendingPrompts--;
    }
    if (answer === null) a.unanswered = true;
    else if (p.kind === 'passphrase') this.passphrases.set(p.keyFile!, answer);
    return answer;
  }

  private onMasterGone(): void {
    this.control = null;
    // Its forwards went with it; their sockets here answer nobody now.
    for (const local of this.unixForwards.values()) rmSync(local, { force: true });
    this.unixForwards.clear();
    if (this.closed) return;
    if (this.opts.wanted?.() ?? false) {
      this.reconnect.dropped();
      this.setState('lost', { code: 'HOST_DOWN', host: this.id, message: `The SSH connection to ${this.id} dropped.` });
    } else {
      this.setState('idle', null);
    }
  }

  /** Checks the master now; if it is gone, tries again at once (asking the user again if need be). */
  async check(): Promise<void> {
    if (this.closed) return;
    if (this.control && (await this.masterAlive(this.control.path))) return;
    if (this.control?.own) this.control.own.kill();
    this.control = null;
    this.reconnect.reset();
    if (this.connecting) await this.connecting.catch(() => {});
    else {
      if (this._state === 'connected') this.setState(this.opts.wanted?.() ? 'lost' : 'idle', this._lastError);
      await this.startConnect().catch(() => {});
    }
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
    this.reconnect.stop();
    const own = this.control?.own;
    this.control = null;
    own?.kill();
    this.askpass?.close();
    this.askpass = null;
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
