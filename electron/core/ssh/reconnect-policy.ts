// When a lost host is tried again, the same for both transports (ssh2's
// SshSession and OpenSshHost): a backoff that doubles from initialMs to maxMs
// and starts over after a login that worked; a failure just seen answers at
// once instead of making every command wait out another try; and a try that
// asked the user and did not get in waits for the user (another would ask
// again, a prompt storm) until the user's reconnect (`reset`).
import { KtrayError } from '../../shared/errors';
import type { KtrayErrorData } from '../../shared/types';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** The error of a host whose last try asked the user and did not get in. */
export function waitingError(id: string, last: KtrayErrorData): KtrayError {
  return new KtrayError({
    ...last,
    code: 'HOST_DOWN',
    message: `${id} waits for you to reconnect it (${last.message.replace(/\.$/, '')}).`,
    hint: `\`ktray reconnect ${id}\` (or Reconnect in the Kernel Tray window) asks its questions again.`,
  });
}

export class ReconnectPolicy {
  private timer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private lastFailureAt = 0;
  private waitingForUser = false;
  private stopped = false;

  /** `retry` tries again when the timer fires, or returns false when it did not (not wanted, closed, already on it). */
  constructor(private readonly o: { id: string; backoff?: BackoffOptions; retry: () => boolean }) {
    this.backoffMs = this.initialMs;
  }

  private get initialMs(): number {
    return this.o.backoff?.initialMs ?? 1000;
  }

  /** For a lost host's connect: the error to answer at once, or null to try. */
  refusal(lastError: KtrayErrorData | null): KtrayError | null {
    if (!lastError) return null;
    if (this.waitingForUser) return waitingError(this.o.id, lastError);
    if (Date.now() - this.lastFailureAt >= this.backoffMs) return null;
    return new KtrayError({
      ...lastError,
      code: 'HOST_DOWN',
      message: `${this.o.id} is unreachable (${lastError.message.replace(/\.$/, '')}); retrying in the background.`,
      hint: lastError.hint ?? `Kernel Tray reconnects by itself; \`ktray reconnect ${this.o.id}\` tries now.`,
    });
  }

  succeeded(): void {
    this.backoffMs = this.initialMs;
    this.waitingForUser = false;
  }

  /** A try failed; if the host is now lost, the next comes after the backoff, or when the user says (it asked them). */
  failed(lost: boolean, askedUser: boolean): void {
    this.lastFailureAt = Date.now();
    if (!lost) return;
    if (askedUser) this.waitingForUser = true;
    else this.schedule();
  }

  /** A connection that worked dropped: try again at once. */
  dropped(): void {
    this.lastFailureAt = 0;
    this.schedule(0);
  }

  /** The user's reconnect: no wait, no backoff, and prompts may be asked again. */
  reset(): void {
    this.cancel();
    this.backoffMs = this.initialMs;
    this.lastFailureAt = 0;
    this.waitingForUser = false;
  }

  /** The host is closed: nothing more is tried. */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private schedule(delayMs = this.backoffMs): void {
    if (this.timer || this.stopped || this.waitingForUser) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const before = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.backoff?.maxMs ?? 30_000);
      if (!this.o.retry()) this.backoffMs = before;
    }, delayMs);
    this.timer.unref?.();
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
