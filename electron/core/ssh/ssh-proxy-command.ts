// ProxyCommand the way ssh runs it (sshconnect.c ssh_proxy_connect in OpenSSH
// 9.2): `exec COMMAND` through the user's shell ($SHELL, else /bin/sh) with
// %h %n %p %r %% expanded, its stdin and stdout the SSH transport, its stderr
// the user's to read (kept here, and put in the error when it fails). One
// process per connection; it gets SIGHUP when the connection ends, as ssh does.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import { logger } from '../util/logger';
import type { HostProfile } from './ssh-profile';

const log = logger('proxy');
const STDERR_KEEP = 4000;

/**
 * The command ssh would run for `profile` (expand_proxy_command: only these
 * tokens; any other `%x`, or a lone `%` at the end, is an error there too).
 */
export function expandProxyCommand(command: string, profile: Pick<HostProfile, 'alias' | 'hostname' | 'port' | 'user'>): string {
  const tokens: Record<string, string> = { '%': '%', h: profile.hostname, n: profile.alias, p: String(profile.port), r: profile.user };
  return command.replace(/%(.?)/gs, (_m, t: string) => {
    if (t in tokens) return tokens[t];
    throw new KtrayError({
      code: 'SSH_CONFIG_INVALID',
      host: profile.alias,
      message: t
        ? `ssh config for ${profile.alias}: ProxyCommand has the token %${t}, which ssh does not know there (it knows %h %n %p %r %%).`
        : `ssh config for ${profile.alias}: ProxyCommand ends in a lone %.`,
      hint: 'Fix the line in your ssh config; write %% for a literal %.',
    });
  });
}

export interface ProxyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn itself failed (no such shell). */
  error?: Error;
}

/** A running ProxyCommand and the stream over its stdin/stdout. */
export class ProxyProcess {
  readonly command: string;
  readonly shell: string;
  readonly stream: Duplex;
  private readonly child: ChildProcess;
  private stderrText = '';
  private exitInfo: ProxyExit | null = null;
  private stopping = false;
  private readonly exited: Promise<ProxyExit>;

  constructor(command: string, env: NodeJS.ProcessEnv, private readonly hostId: string) {
    this.command = command;
    this.shell = env.SHELL || '/bin/sh';
    // Node's stdio pipes are socketpairs where ssh uses pipe(2), and bash sources ~/.bashrc
    // when its stdin is a socket and SHLVL is unset (bash shell.c run_startup_files), whose
    // output would corrupt the transport: SHLVL=1, as in any terminal, keeps it from doing so.
    this.child = spawn(this.shell, ['-c', `exec ${command}`], { env: { ...env, SHLVL: env.SHLVL || '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise<ProxyExit>((resolve) => {
      this.child.once('error', (error) => resolve((this.exitInfo = { code: null, signal: null, error })));
      this.child.once('exit', (code, signal) => resolve((this.exitInfo ??= { code, signal })));
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderrText = (this.stderrText + d).slice(-STDERR_KEEP);
      // What it says while we hang up ("Broken pipe") is not news.
      if (!this.stopping) for (const line of d.split('\n')) if (line.trim()) log.info(`${hostId}: ${line.trimEnd()}`);
    });
    // A write after the command exited must end in the connection's close, not an uncaught EPIPE.
    this.child.stdin!.on('error', () => {});
    this.stream = Duplex.from({ readable: this.child.stdout!, writable: this.child.stdin! });
    this.stream.on('error', () => {});
    void this.exited.then((e) => log.debug(`${hostId}: ProxyCommand ended (${describeExit(e)})`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the command wrote to stderr, its last few thousand characters. */
  get stderr(): string {
    return this.stderrText;
  }

  /** The exit, waiting at most `ms` for it (null: still running). */
  async exit(ms: number): Promise<ProxyExit | null> {
    if (this.exitInfo) return this.exitInfo;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    return result;
  }

  /** Ends the command as ssh does on exit (SIGHUP), unless it already ended. */
  stop(): void {
    if (this.exitInfo) return;
    this.stopping = true;
    // The signal first: closing its stdin first lets a command end by itself on EOF instead.
    this.child.kill('SIGHUP');
    this.stream.destroy();
  }

  /** The error for a connection that failed through this command, with its stderr. */
  async failure(profile: HostProfile, via: string, cause: string): Promise<KtrayError> {
    const exit = await this.exit(2000);
    const said = this.stderrText.trim();
    const what = exit?.error
      ? `could not be started (${exit.error.message})`
      : exit
        ? `exited (${describeExit(exit)}) before the SSH handshake was done`
        : `ran, but the SSH handshake through it failed (${cause})`;
    return new KtrayError({
      code: 'HOST_UNREACHABLE',
      host: this.hostId,
      message: `The ProxyCommand for ${profile.alias}${via} ${what}${said ? `; it said: ${said}` : '.'}`,
      hint: `Kernel Tray ran \`${this.shell} -c 'exec ${this.command}'\` as ssh does; run \`ssh ${profile.alias}\` in a terminal to see it fail there, and check ProxyCommand for ${profile.alias} in your ssh config.`,
      detail: { proxyCommand: this.command, stderr: said },
    });
  }
}

function describeExit(e: ProxyExit): string {
  if (e.error) return e.error.message;
  return e.signal ? `signal ${e.signal}` : `status ${e.code}`;
}
