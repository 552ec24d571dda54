// One ssh2 connection per host, shared by every kernel, tunnel and command on
// it: ProxyJump chains, known_hosts verification, agent/key auth, keepalive,
// and reconnect with backoff when the link drops.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import ssh2, { type Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { AuthLog, authFailure, authMethods } from './ssh-auth';
import { KeptAnswers, type AnswerPrompt } from '../keychain/kept-answers';
import type { Keychain } from '../keychain/keychain';
import { eagerWindow } from './ssh2-window';
import { framed, SHELL_COMMAND, ShellError } from './remote-shell';
import { PoolTimeout, ShellPool } from './shell-pool';
import { KtrayError } from '../../shared/errors';
import type { ExecResult, Host, HostStateChange, RunOptions } from '../hosts/host';
import { verifyHostKey, type HostKeySeen } from './host-key-verifier';
import type { HostProfile, ProxyHop } from './ssh-profile';
import { expandProxyCommand, ProxyProcess } from './ssh-proxy-command';
import { ReconnectPolicy, type BackoffOptions } from './reconnect-policy';
import { jumpChain } from './ssh-proxy-jump';
import type { HostConnection, KtrayErrorData } from '../../shared/types';

export interface SshSessionOptions {
  profile: HostProfile;
  /** Resolves a ProxyJump hop through the same ssh_config (with its own ProxyJump: chains are followed). */
  resolveHop: (hop: ProxyHop) => HostProfile;
  askPassphrase?: AnswerPrompt;
  /** Where answers the user chose to keep are kept (none: nothing is offered or kept). */
  keychain?: Keychain;
  /** Whether anything still needs this connection (tunnels, watches): decides reconnects. */
  wanted?: () => boolean;
  /**
   * A notice for the user that is not an error (a key added under accept-new);
   * attention: the user must act (a reconnect waits for a typed code).
   */
  notice?: (message: string, attention?: boolean) => void;
  createClient?: () => Client;
  /** The environment a ProxyCommand runs in (default: this process's, as ssh passes its own). */
  env?: NodeJS.ProcessEnv;
  /** Backoff bounds in ms for reconnects. */
  backoff?: BackoffOptions;
  /**
   * The stream to the host's sshd, made by another session (a compute node
   * reached through its login node's connection); without it, a TCP socket
   * (or the ProxyJump hops).
   */
  via?: (hostname: string, port: number) => Promise<Duplex>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

export class SshSession implements Host {
  readonly id: string;
  private readonly opts: SshSessionOptions;
  private readonly events = new EventEmitter();
  private clients: Client[] = [];
  private connecting: Promise<void> | null = null;
  private readonly reconnect: ReconnectPolicy;
  private closed = false;
  private _state: HostConnection = 'idle';
  private _lastError: KtrayErrorData | null = null;
  /** Standing shells on the host, for one-round-trip commands. */
  private readonly shells = new ShellPool(() => this.openShellChannel());
  /** Whether this host's shells can take scripts (it has `base64 -d`); learnt on first use. */
  private shellsWork = true;
  /** Passphrases typed this session, so a reconnect does not ask again. */
  private readonly passphrases = new Map<string, string>();
  /** Whether the try under way asked the user something. */
  private askedThisTry = false;

  constructor(opts: SshSessionOptions) {
    this.opts = opts;
    this.id = opts.profile.alias;
    this.reconnect = new ReconnectPolicy({ id: this.id, backoff: opts.backoff, retry: () => this.retry() });
  }

  get state(): HostConnection {
    return this._state;
  }

  get lastError(): KtrayErrorData | null {
    return this._lastError;
  }

  get profile(): HostProfile {
    return this.opts.profile;
  }

  onStateChange(listener: (change: HostStateChange) => void): () => void {
    this.events.on('state', listener);
    return () => this.events.off('state', listener);
  }

  async connect(): Promise<void> {
    if (this.closed) throw new KtrayError({ code: 'HOST_DOWN', host: this.id, message: `The session to ${this.id} is closed.` });
    if (this._state === 'connected') return;
    if (this.connecting) return this.connecting;
    // A host that just failed, or waits for the user, answers at once (see ReconnectPolicy).
    const refusal = this._state === 'lost' ? this.reconnect.refusal(this._lastError) : null;
    if (refusal) throw refusal;
    return this.startConnect();
  }

  private startConnect(): Promise<void> {
    const wasLost = this._state === 'lost';
    if (!wasLost) this.setState('connecting', null);
    this.askedThisTry = false;
    this.connecting = this.establishKept()
      .then((clients) => {
        this.clients = clients;
        this.reconnect.succeeded();
        const final = clients[clients.length - 1];
        final.on('close', () => this.onDropped(final));
        this.setState('connected', null);
      })
      .catch((err: unknown) => {
        const error = KtrayError.from(err);
        const lost = wasLost || Boolean(this.opts.wanted?.());
        // A try that asked the user and did not get in is not repeated by itself (each would ask
        // again): the next use, or `ktray reconnect`, tries again.
        this.reconnect.failed(lost, this.askedThisTry);
        this.setState(lost ? 'lost' : 'idle', error.toData());
        throw error;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  private onDropped(client: Client): void {
    if (this.clients[this.clients.length - 1] !== client) return;
    for (const c of this.clients) c.end();
    this.clients = [];
    if (this.closed) return;
    if (this.opts.wanted?.() ?? false) {
      this.reconnect.dropped();
      this.setState('lost', { code: 'HOST_DOWN', host: this.id, message: `The SSH connection to ${this.id} dropped.` });
    } else {
      this.setState('idle', null);
    }
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

  async check(): Promise<void> {
    if (this.closed) return;
    if (this._state === 'connected') {
      try {
        await this.run('true', { timeoutMs: 5000 });
        return;
      } catch {
        // The link is dead but TCP has not noticed (laptop slept): drop it now.
        const final = this.clients[this.clients.length - 1];
        if (final) final.destroy();
      }
    }
    this.reconnect.reset();
    if (this.connecting) await this.connecting.catch(() => {});
    else await this.startConnect().catch(() => {});
  }

  /**
   * Never puts script text in an exec request: sshd would hand it to the
   * login shell as `-c` argument, in the host's process list for every user
   * to read (scripts carry kernel keys). A standing shell takes it on its
   * channel; without `base64 -d` there, `sh -s` takes it on stdin.
   */
  async run(script: string, options: RunOptions = {}): Promise<ExecResult> {
    if (this.shellsWork) {
      try {
        return await this.shells.run(script, options.timeoutMs);
      } catch (err) {
        if (!(err instanceof ShellError && err.kind === 'unsupported')) throw this.shellFailure(err, options);
        // The script did not run (the inner sh only said so): stdin it is, for good on this host.
        this.shellsWork = false;
      }
    }
    const f = framed(script);
    return f.unframe(await this.exec('sh -s', f.script, options));
  }

  /** A command's channel as a stream (its stdin and stdout); its stderr apart. */
  async execStream(command: string): Promise<ClientChannel> {
    await this.connect();
    const client = this.clients[this.clients.length - 1];
    return new Promise<ClientChannel>((resolve, reject) =>
      client.exec(command, (err, s) => (err ? reject(this.channelError('command', err)) : resolve(s))),
    );
  }

  private async openShellChannel(): Promise<ClientChannel> {
    await this.connect();
    const client = this.clients[this.clients.length - 1];
    return new Promise<ClientChannel>((resolve, reject) =>
      client.exec(SHELL_COMMAND, (err, s) => (err ? reject(this.channelError('command', err)) : resolve(s))),
    );
  }

  private shellFailure(err: unknown, options: RunOptions): KtrayError {
    if (err instanceof KtrayError) return err;
    const timedOut = (err instanceof ShellError && err.kind === 'timeout') || err instanceof PoolTimeout;
    return new KtrayError({
      code: timedOut ? 'TIMEOUT' : 'HOST_DOWN',
      host: this.id,
      message: timedOut
        ? `A command on ${this.id} took longer than ${options.timeoutMs} ms.`
        : `The SSH connection to ${this.id} dropped while a command was running.`,
      hint: timedOut ? undefined : 'Kernel Tray reconnects by itself; try again.',
    });
  }

  private async exec(command: string, stdin: string, options: RunOptions): Promise<ExecResult> {
    await this.connect();
    const client = this.clients[this.clients.length - 1];
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      client.exec(command, (err, s) => (err ? reject(this.channelError('command', err)) : resolve(s))),
    );
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let code: number | null = null;
      const timer = options.timeoutMs
        ? setTimeout(() => {
            stream.close();
            reject(new KtrayError({ code: 'TIMEOUT', host: this.id, message: `A command on ${this.id} took longer than ${options.timeoutMs} ms.` }));
          }, options.timeoutMs)
        : null;
      stream.on('data', (d: Buffer) => out.push(d));
      stream.stderr.on('data', (d: Buffer) => errOut.push(d));
      stream.on('exit', (c: number | null) => {
        code = c ?? 255;
      });
      stream.on('close', () => {
        if (timer) clearTimeout(timer);
        if (code === null) {
          // No exit status: the connection went away under the command.
          reject(
            new KtrayError({
              code: 'HOST_DOWN',
              host: this.id,
              message: `The SSH connection to ${this.id} dropped while a command was running.`,
              hint: 'Kernel Tray reconnects by itself; try again.',
            }),
          );
          return;
        }
        resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
      });
      stream.end(stdin);
    });
  }

  async openStream(host: string, port: number): Promise<Duplex> {
    await this.connect();
    const client = this.clients[this.clients.length - 1];
    return new Promise((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, host, port, (err, stream) =>
        err ? reject(this.channelError({ tcp: `${host}:${port}` }, err)) : resolve(eagerWindow(stream)),
      ),
    );
  }

  async openUnixStream(path: string): Promise<Duplex> {
    await this.connect();
    const client = this.clients[this.clients.length - 1];
    return new Promise((resolve, reject) =>
      client.openssh_forwardOutStreamLocal(path, (err, stream) =>
        err ? reject(this.channelError({ unix: path }, err)) : resolve(eagerWindow(stream)),
      ),
    );
  }

  /** Connects only far enough to see the host key, then hangs up. */
  async fetchHostKey(): Promise<HostKeySeen> {
    let seen: HostKeySeen | null = null;
    const clients = await this.establish((key) => {
      seen = key;
      return false;
    }).catch((err) => {
      if (seen) return [] as Client[];
      throw err;
    });
    for (const c of clients) c.end();
    if (!seen) throw new KtrayError({ code: 'HOST_UNREACHABLE', host: this.id, message: `${this.id} offered no host key.` });
    return seen;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.shells.close();
    this.reconnect.stop();
    for (const c of this.clients) c.end();
    this.clients = [];
    this.setState('idle', null);
  }

  private setState(state: HostConnection, error: KtrayErrorData | null): void {
    const changed = state !== this._state || error?.message !== this._lastError?.message;
    this._state = state;
    this._lastError = error;
    if (changed) this.events.emit('state', { state, error } satisfies HostStateChange);
  }

  /**
   * Connects through every ProxyJump hop and then the host itself. With
   * `captureKey`, the final host's key is handed over and the handshake ends there.
   */
  /** establish, with the keychain layer around its logins: one more try when a kept answer was refused. */
  private async establishKept(): Promise<Client[]> {
    const kept = new KeptAnswers(this.opts.keychain);
    const notice = (m: string) => this.opts.notice?.(m);
    try {
      const clients = await this.establish(undefined, kept);
      await kept.succeeded(notice);
      return clients;
    } catch (err) {
      if (!(err instanceof KtrayError && err.code === 'AUTH_FAILED' && (await kept.failed()))) throw err;
    }
    // A kept answer was refused: this time the user is asked.
    const clients = await this.establish(undefined, kept);
    await kept.succeeded(notice);
    return clients;
  }

  private async establish(captureKey?: (seen: HostKeySeen) => boolean, kept?: KeptAnswers): Promise<Client[]> {
    const chain = this.opts.via ? [this.opts.profile] : [...jumpChain(this.opts.profile, this.opts.resolveHop, this.id), this.opts.profile];
    const clients: Client[] = [];
    let sock: Duplex | undefined = this.opts.via ? await this.opts.via(this.opts.profile.hostname, this.opts.profile.port) : undefined;
    try {
      for (let i = 0; i < chain.length; i++) {
        const last = i === chain.length - 1;
        const client = await this.connectOne(chain[i], sock, last ? captureKey : undefined, kept);
        clients.push(client);
        if (!last) {
          const next = chain[i + 1];
          sock = await new Promise<Duplex>((resolve, reject) =>
            client.forwardOut('127.0.0.1', 0, next.hostname, next.port, (err, s) =>
              err
                ? reject(
                    new KtrayError({
                      code: 'HOST_UNREACHABLE',
                      host: this.id,
                      message: `The jump host ${chain[i].alias} could not reach ${next.hostname}:${next.port} (${err.message}).`,
                      hint: `Check ProxyJump for ${this.id} in your ssh config.`,
                    }),
                  )
                : resolve(s),
            ),
          );
        }
      }
      return clients;
    } catch (err) {
      for (const c of clients) c.end();
      throw err;
    }
  }

  private connectOne(profile: HostProfile, sock: Duplex | undefined, captureKey?: (seen: HostKeySeen) => boolean, kept?: KeptAnswers): Promise<Client> {
    const client = this.opts.createClient?.() ?? new ssh2.Client();
    let keyError: KtrayError | null = null;
    const log = new AuthLog();
    const via = profile.alias === this.id ? '' : ` (jump host for ${this.id})`;
    /** One notice per login that asks, however many prompts it has. */
    let noticed = false;
    // The first hop of a chain (or the host itself) may be reached through its own ProxyCommand;
    // later hops ride the one before, as `ssh -J` makes them.
    let proxy: ProxyProcess | null = null;
    if (!sock && profile.proxyCommand) {
      proxy = new ProxyProcess(expandProxyCommand(profile.proxyCommand, profile), this.opts.env ?? process.env, this.id);
      sock = proxy.stream;
      const p = proxy;
      client.once('close', () => p.stop());
    }
    const config: ConnectConfig = {
      host: profile.hostname,
      port: profile.port,
      username: profile.user,
      sock: sock as ConnectConfig['sock'],
      readyTimeout: (profile.connectTimeoutSec ?? DEFAULT_CONNECT_TIMEOUT_MS / 1000) * 1000,
      keepaliveInterval: profile.serverAliveIntervalSec * 1000,
      keepaliveCountMax: profile.serverAliveCountMax,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey({ profile, key, hostId: this.id, capture: captureKey, notice: (m) => this.opts.notice?.(m) })
          .then((result) => {
            if (result !== true) keyError = result;
            verify(result === true);
          })
          .catch((err: unknown) => {
            keyError = KtrayError.from(err);
            verify(false);
          });
      },
      authHandler: authMethods({
        profile,
        hostId: this.id,
        log,
        passphrases: this.passphrases,
        // The keychain layer first: a kept answer is not asked (nor noticed as asked).
        askPassphrase: (kept ?? new KeptAnswers(undefined)).wrap(
          this.opts.askPassphrase &&
            ((prompt) => {
              // A reconnect that needs a password or a fresh code: the user is told, not left guessing.
              if (prompt.kind !== 'passphrase' && this._state === 'lost' && !noticed) {
                noticed = true;
                const what = prompt.kind === 'password' ? 'your password' : `"${(prompt.prompt ?? '').trim()}"`;
                this.opts.notice?.(
                  `${this.id} asks for ${what} to reconnect: answer it in the Kernel Tray window, or run \`ktray reconnect ${this.id}\` in a terminal.`,
                  true,
                );
              }
              this.askedThisTry = true;
              return this.opts.askPassphrase!(prompt);
            }),
          profile,
        ),
      }),
    };
    return new Promise<Client>((resolve, reject) => {
      let failed = false;
      const fail = (err: Error & { level?: string; code?: string }) => {
        if (failed) return;
        failed = true;
        client.removeAllListeners('ready');
        client.end();
        const known = keyError ?? (err.level === 'client-authentication' || err instanceof KtrayError ? translateError(err, profile, this.id, via, log) : null);
        if (known || !proxy) {
          proxy?.stop();
          reject(known ?? translateError(err, profile, this.id, via, log));
          return;
        }
        // The transport was the command: its exit and stderr say more than ssh2's "Connection lost".
        const p = proxy;
        void p.failure(profile, via, err.message).then((e) => {
          p.stop();
          reject(e);
        });
      };
      client.once('ready', () => {
        client.removeListener('error', fail);
        client.on('error', () => {
          // After ready, errors end in 'close', which drives the reconnect.
        });
        resolve(client);
      });
      // `on`, not `once`: a connection reset before the handshake emits 'error' twice
      // (the socket's, then "Connection lost before handshake"), and an 'error' with no
      // listener kills the agent.
      client.on('error', fail);
      client.connect(config);
    });
  }

  private channelError(kind: 'command' | { tcp: string } | { unix: string }, err: Error & { reason?: number }): KtrayError {
    if (kind === 'command') {
      return new KtrayError({
        code: 'REMOTE_COMMAND_FAILED',
        host: this.id,
        message: `Could not run a command on ${this.id}: ${err.message}.`,
        hint: `The SSH server on ${this.id} may limit sessions (MaxSessions in sshd_config).`,
      });
    }
    const unix = 'unix' in kind;
    const where = unix ? `the unix socket ${kind.unix}` : kind.tcp;
    // RFC 4254 channel open failure reasons: 1 administratively prohibited, 2 connect failed.
    if (err.reason === 1) {
      return new KtrayError({
        code: 'FORWARD_REFUSED',
        host: this.id,
        message: `The SSH server on ${this.id} refused to forward to ${where}: ${err.message}.`,
        hint: unix
          ? `It needs AllowStreamLocalForwarding yes in sshd_config on ${this.id}.`
          : `It needs AllowTcpForwarding yes in sshd_config on ${this.id}.`,
      });
    }
    return new KtrayError({
      code: 'FORWARD_FAILED',
      host: this.id,
      message: `Could not open a tunnel to ${where} on ${this.id}: ${err.message}.`,
      hint: err.reason === 2 ? `Nothing listens there on ${this.id}: has the kernel exited? \`ktray ls ${this.id}\` shows.` : undefined,
    });
  }
}

function translateError(
  err: Error & { level?: string; code?: string },
  profile: HostProfile,
  hostId: string,
  via: string,
  log: AuthLog,
): KtrayError {
  const where = `${profile.user}@${profile.hostname}:${profile.port}`;
  if (err instanceof KtrayError) return err;
  if (err.level === 'client-authentication') return authFailure(profile, hostId, via, log);
  if (err.level === 'client-timeout') {
    return new KtrayError({
      code: 'HOST_UNREACHABLE',
      host: hostId,
      message: `${profile.alias}${via} (${where}) did not complete the SSH handshake in time.`,
      hint: `Check that ${profile.hostname} is up and that \`ssh ${profile.alias}\` works from this computer.`,
    });
  }
  if (err.level === 'client-socket' || err.level === 'client-dns' || err.code) {
    const reason =
      err.code === 'ECONNREFUSED'
        ? 'connection refused'
        : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
          ? 'host name not found'
          : err.code === 'ETIMEDOUT'
            ? 'timed out'
            : err.message;
    return new KtrayError({
      code: 'HOST_UNREACHABLE',
      host: hostId,
      message: `Cannot reach ${profile.alias}${via} at ${profile.hostname}:${profile.port}: ${reason}.`,
      hint: `Check that ${profile.hostname} is up and that \`ssh ${profile.alias}\` works from this computer.`,
    });
  }
  return new KtrayError({ code: 'HOST_UNREACHABLE', host: hostId, message: `SSH to ${profile.alias}${via} (${where}) failed: ${err.message}.` });
}
