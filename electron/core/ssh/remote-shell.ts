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
    /** unsupported: the host has no `base64 -d`, the script did not run; use `sh -s` on stdin. */
    readonly kind: 'timeout' | 'ended' | 'busy' | 'unsupported',
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
   * touch this shell), between a begin marker and an end marker with its
   * status, on both streams: whatever else reaches the channel (a login
   * shell's greeting, without a newline even) stays outside the result.
   * The script travels as text on the channel, never in an argv: `echo` is
   * the shell's builtin, and `base64 -d` and `sh` get it on stdin. Without a
   * working `base64 -d` the inner sh only reports that, on stderr.
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
      const noBase64 = `echo ${this.mark}-nobase64 >&2`;
      this.channel.write(
        `printf '\\n%s\\n' ${this.mark}-b; printf '\\n%s\\n' ${this.mark}-b >&2; ` +
          `{ echo ${b64} | base64 -d 2>/dev/null || echo '${noBase64}'; } | sh; printf '\\n%s %s\\n' ${this.mark} $?; printf '\\n%s\\n' ${this.mark} >&2\n`,
      );
    });
  }

  close(): void {
    this.fail(new ShellError('ended', 'the shell was closed'));
    this.channel.close();
  }

  private settle(): void {
    const p = this.current;
    if (!p) return;
    const begin = `\n${this.mark}-b\n`;
    const outStart = this.stdout.indexOf(begin);
    const errStart = this.stderr.indexOf(begin);
    if (outStart < 0 || errStart < 0) return;
    const out = this.stdout.slice(outStart + begin.length);
    const err = this.stderr.slice(errStart + begin.length);
    const end = new RegExp(`\\n${this.mark} (\\d+)\\n`).exec(out);
    const errEnd = err.indexOf(`\n${this.mark}\n`);
    if (!end || errEnd < 0) return;
    const result: ExecResult = { code: Number(end[1]), stdout: out.slice(0, end.index), stderr: err.slice(0, errEnd) };
    this.stdout = out.slice(end.index + end[0].length);
    this.stderr = err.slice(errEnd + this.mark.length + 2);
    this.current = null;
    if (p.timer) clearTimeout(p.timer);
    if (result.stderr.endsWith(`${this.mark}-nobase64\n`)) {
      p.reject(new ShellError('unsupported', 'the host has no base64 -d'));
      return;
    }
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

/**
 * A script for a fresh `sh -s` session, between begin markers: a login shell
 * may print before sh starts (a greeting in .bashrc, on either stream, even
 * without a newline), and `unframe` cuts that away.
 */
export function framed(script: string): { script: string; unframe(res: ExecResult): ExecResult } {
  const mark = `@@KTEX${randomBytes(8).toString('hex')}`;
  const begin = `\n${mark}\n`;
  const cut = (text: string) => {
    const at = text.indexOf(begin);
    return at < 0 ? text : text.slice(at + begin.length);
  };
  return {
    script: `printf '\\n%s\\n' ${mark}; printf '\\n%s\\n' ${mark} >&2\n${script}`,
    unframe: (res) => ({ ...res, stdout: cut(res.stdout), stderr: cut(res.stderr) }),
  };
}
