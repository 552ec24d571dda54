// A few standing shells per host, so that commands side by side each take one
// round trip and no script text ever goes into an exec request (which the host
// would put in an argv that every user there can read in /proc). A command
// takes a free shell, else opens another up to a bound, else waits its turn.
import type { ClientChannel } from 'ssh2';
import type { ExecResult } from '../hosts/host';
import { RemoteShell, ShellError } from './remote-shell';

/**
 * Each shell is one SSH session; sshd allows 10 per connection by default
 * (MaxSessions, sshd_config(5)). Forwarded channels do not count.
 */
export const MAX_SHELLS = 4;
/** Shells beyond the first close after this long unused. */
const SPARE_IDLE_MS = 30_000;

/** Why a command never got a shell before its deadline. */
export class PoolTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super(`no shell became free within ${waitedMs} ms`);
    this.name = 'PoolTimeout';
  }
}

interface Waiter {
  take: (shell: RemoteShell | null) => void;
  fail: (err: unknown) => void;
  timer: NodeJS.Timeout | null;
}

export class ShellPool {
  private readonly shells: RemoteShell[] = [];
  private readonly busy = new Set<RemoteShell>();
  private readonly spareTimers = new Map<RemoteShell, NodeJS.Timeout>();
  private readonly waiters: Waiter[] = [];
  private opening = 0;
  private limit: number;
  /** Why the server last refused a session. */
  private refusal: unknown = null;

  /** `open` starts `sh -s` on a new channel (see SHELL_COMMAND). */
  constructor(
    private readonly open: () => Promise<ClientChannel>,
    private readonly max = MAX_SHELLS,
  ) {
    this.limit = max;
  }

  /** Shells open now (for tests and diagnostics). */
  get size(): number {
    return this.shells.filter((s) => s.alive).length;
  }

  async run(script: string, timeoutMs?: number): Promise<ExecResult> {
    const started = Date.now();
    const shell = await this.acquire(timeoutMs);
    try {
      const left = timeoutMs === undefined ? undefined : Math.max(1, timeoutMs - (Date.now() - started));
      return await shell.run(script, left);
    } finally {
      this.release(shell);
    }
  }

  close(): void {
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.fail(new ShellError('ended', 'the session was closed'));
    }
    for (const t of this.spareTimers.values()) clearTimeout(t);
    this.spareTimers.clear();
    for (const s of this.shells.splice(0)) s.close();
    this.busy.clear();
  }

  private async acquire(timeoutMs?: number): Promise<RemoteShell> {
    for (;;) {
      this.prune();
      const free = this.shells.find((s) => s.idle && !this.busy.has(s));
      if (free) return this.claim(free);
      if (this.shells.length + this.opening < this.limit) {
        const opened = await this.openOne();
        if (opened) return this.claim(opened);
        // The server would not give another session: wait for one of ours. Unless
        // there is none to wait for: refusals that came in one packet settle one
        // after another before any of us waits, so the last one, finding no other
        // shell, found no waiter to fail either.
        if (this.shells.length + this.opening === 0) throw this.refusal;
      }
      const shell = await this.waitTurn(timeoutMs);
      if (shell) return this.claim(shell);
      // Woken without a shell (one died): look again.
    }
  }

  /** A new shell, or null when the server refuses a session while others of ours are open. */
  private async openOne(): Promise<RemoteShell | null> {
    this.opening++;
    try {
      const shell = new RemoteShell(await this.open());
      this.shells.push(shell);
      return shell;
    } catch (err) {
      this.refusal = err;
      this.prune();
      const others = this.shells.length + this.opening - 1;
      if (others === 0) {
        // No shell at all, nor one coming: nobody waiting would ever get one.
        for (const w of this.waiters.splice(0)) {
          if (w.timer) clearTimeout(w.timer);
          w.fail(err);
        }
        throw err;
      }
      // Its MaxSessions is lower than ours: as many as it gave (or may still give) it is.
      this.limit = others;
      return null;
    } finally {
      this.opening--;
    }
  }

  private waitTurn(timeoutMs?: number): Promise<RemoteShell | null> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        take: (shell) => resolve(shell),
        fail: reject,
        timer: timeoutMs
          ? setTimeout(() => {
              this.waiters.splice(this.waiters.indexOf(waiter), 1);
              reject(new PoolTimeout(timeoutMs));
            }, timeoutMs)
          : null,
      };
      this.waiters.push(waiter);
    });
  }

  private claim(shell: RemoteShell): RemoteShell {
    this.busy.add(shell);
    const t = this.spareTimers.get(shell);
    if (t) clearTimeout(t);
    this.spareTimers.delete(shell);
    return shell;
  }

  private release(shell: RemoteShell): void {
    this.busy.delete(shell);
    const waiter = this.waiters.shift();
    if (waiter) {
      if (waiter.timer) clearTimeout(waiter.timer);
      // Handed over directly, so no newcomer takes it first; a dead one makes the waiter look again.
      waiter.take(shell.alive ? shell : null);
      return;
    }
    if (!shell.alive) return this.prune();
    if (this.shells.length > 1) {
      const timer = setTimeout(() => {
        this.spareTimers.delete(shell);
        if (this.busy.has(shell) || this.shells.filter((s) => s.alive).length <= 1) return;
        this.shells.splice(this.shells.indexOf(shell), 1);
        shell.close();
      }, SPARE_IDLE_MS);
      timer.unref?.();
      this.spareTimers.set(shell, timer);
    }
  }

  private prune(): void {
    for (let i = this.shells.length - 1; i >= 0; i--) {
      const s = this.shells[i];
      if (s.alive) continue;
      this.shells.splice(i, 1);
      this.busy.delete(s);
      const t = this.spareTimers.get(s);
      if (t) clearTimeout(t);
      this.spareTimers.delete(s);
    }
    // A new connection may allow what the last one did not.
    if (this.shells.length === 0) this.limit = this.max;
  }
}
