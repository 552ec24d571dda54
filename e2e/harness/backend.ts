// What remote-host.ts needs from either way of running the fake remote's sshd.
import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';
import type { RunResult } from './proc';

export interface BackendKeys {
  dir: string;
  id: string; // random hex, names the namespace / marker
  hostname: string; // the remote's own hostname where it can have one (UTS namespace)
  hostKey: string; // private host key path
  authorizedKeys: string; // authorized_keys content
  /** The remote user's login shell (sshd runs every command through it), default /bin/sh. */
  loginShell?: string;
  /** false: the remote's PID 1 reaps only its own children, as a container's non-init PID 1 does. */
  reapOrphans?: boolean;
  /** Password/OTP logins (isolated mode only): see RemoteAuth in remote-host.ts. */
  auth?: RemoteAuth;
  /** More sshd_config lines. */
  sshdExtra?: string[];
}

/**
 * sshd logs in through PAM: `password` (the SSH password method, pam_unix) or
 * `otp` (keyboard-interactive: pam_unix's "Password:" then
 * pam_google_authenticator's "Verification code:"). The user's password is set
 * for the remote's life; the TOTP secret goes to ~/.google_authenticator.
 */
export interface RemoteAuth {
  kind: 'password' | 'otp';
  password: string;
  /** base32, for kind otp. */
  totpSecret?: string;
}

export interface Backend {
  user: string;
  home: string;
  isolated: boolean;
  namespace: string | null;
  connectUpstream(): net.Socket;
  exec(cmd: string, timeoutMs: number): Promise<RunResult>;
  /** The remote user's uid where it is a user of its own (isolated), else null. */
  uid: number | null;
  /**
   * Starts argv on the remote as another local user (e.g. `nobody`), in the remote's own
   * namespaces, stdio piped; null where the remote is not isolated (no other user to be).
   */
  spawnAs: ((user: string, argv: string[]) => ChildProcess) | null;
  restartSshd(): Promise<void>;
  /** Recent sshd output, for error messages. */
  logs(): string;
  stop(): Promise<void>;
  /** Best effort, synchronous: for process 'exit' when stop() was never awaited. */
  stopSync(): void;
}

/** Keeps the last `max` characters of a stream of log text. */
export class LogTail {
  private text = '';
  constructor(private readonly max = 16_000) {}
  add(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/** Resolves on the next line equal to `want`, rejects after the safety timeout. */
export function waitForLine(
  subscribe: (cb: (line: string) => void) => () => void,
  want: string,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${describe()}\n(no "${want}" within ${timeoutMs} ms)`));
    }, timeoutMs);
    const unsubscribe = subscribe((line) => {
      if (line !== want) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}
