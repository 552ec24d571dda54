// One long-lived `sh` on the host, fed scripts one after another. A command
// through it costs one round trip and no new SSH session (no channel to open,
// no login shell to start), which is what makes `ktray ls` take one round trip
// plus the script's own time.
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import type { ExecResult } from '../hosts/host';

/** Why a command through the shell did not complete; callers branch on `kind`. */
export class ShellError extends Error {
  constructor(
    readonly kind: 'timeout' | 'ended' | 'busy',
    message: string,
  ) {
    super(message);
    this.name = 'ShellError';
  }
}

interface Pending {
  resolve: (r: ExecResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

export class RemoteShell {
  private readonly mark = `@@KTSH${randomBytes(8).toString('hex')}`;
  private stdout = '';
  private stderr = '';
  private current: Pending | null = null;
  private dead: ShellError | null = null;

  /** `channel` runs `sh -s` (see shellCommand). */
  constructor(private readonly channel: ClientChannel) {
    channel.setEncoding('utf8');
    channel.stderr.setEncoding('utf8');
    channel.on('data', (d: string) => {
      this.stdout += d;
      this.settle();
    });
    channel.stderr.on('data', (d: string) => {
      this.stderr += d;
      this.settle();
    });
    channel.on('close', () => this.fail(new ShellError('ended', 'the shell ended')));
    channel.on('error', (err: Error) => this.fail(new ShellError('ended', err.message)));
  }

  /** Free for a command right now. */
  get idle(): boolean {
    return !this.dead && !this.current;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /**
   * Runs the script in its own `sh` (a syntax error or `exit` in it cannot
   * touch this shell), then prints a marker with its status on both streams.
   */
  run(script: string, timeoutMs?: number): Promise<ExecResult> {
    if (!this.idle) return Promise.reject(this.dead ?? new ShellError('busy', 'the shell is busy'));
    const b64 = Buffer.from(script, 'utf8').toString('base64');
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = timeoutMs
        ? setTimeout(() => {
            this.fail(new ShellError('timeout', `timed out after ${timeoutMs} ms`));
            this.channel.close();
          }, timeoutMs)
        : null;
      this.current = { resolve, reject, timer };
      this.channel.write(`echo ${b64} | base64 -d | sh; printf '\\n%s %s\\n' ${this.mark} $?; printf '%s\\n' ${this.mark} >&2\n`);
    });
  }

  close(): void {
    this.fail(new ShellError('ended', 'the shell was closed'));
    this.channel.close();
  }

  private settle(): void {
    const p = this.current;
    if (!p) return;
    const end = new RegExp(`\\n${this.mark} (\\d+)\\n`).exec(this.stdout);
    const errEnd = this.stderr.indexOf(`${this.mark}\n`);
    if (!end || errEnd < 0) return;
    const result: ExecResult = {
      code: Number(end[1]),
      stdout: this.stdout.slice(0, end.index),
      stderr: this.stderr.slice(0, errEnd),
    };
    this.stdout = this.stdout.slice(end.index + end[0].length);
    this.stderr = this.stderr.slice(errEnd + this.mark.length + 1);
    this.current = null;
    if (p.timer) clearTimeout(p.timer);
    p.resolve(result);
  }

  private fail(err: ShellError): void {
    if (!this.dead) this.dead = err;
    const p = this.current;
    this.current = null;
    if (p) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
  }
}

/** What the exec request runs: a plain `sh` reading commands from the channel. */
export const SHELL_COMMAND = 'sh -s';
