// A host runs scripts and opens byte streams to its own ports. `local` does it
// directly; an SSH host over its one ssh2 connection.
import type { Duplex } from 'node:stream';
import type { HostConnection, KtrayErrorData } from '../../shared/types';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
}

export interface HostStateChange {
  state: HostConnection;
  error: KtrayErrorData | null;
}

export interface Host {
  readonly id: string;
  readonly state: HostConnection;
  readonly lastError: KtrayErrorData | null;
  /**
   * Runs a POSIX sh script on the host. The script goes to `sh -s` on stdin,
   * so the user's login shell (fish, tcsh, ...) never parses it.
   */
  run(script: string, options?: RunOptions): Promise<ExecResult>;
  /** A stream to host:port as seen from the host (its loopback, typically). */
  openStream(host: string, port: number): Promise<Duplex>;
  /** A stream to a unix socket on the host (kernels on the ipc transport). */
  openUnixStream(path: string): Promise<Duplex>;
  /** Connects now if not connected; rejects with a KtrayError saying why not. */
  connect(): Promise<void>;
  /** Drops and re-establishes the connection if it looks dead (after sleep, network change). */
  check(): Promise<void>;
  onStateChange(listener: (change: HostStateChange) => void): () => void;
  close(): Promise<void>;
}
