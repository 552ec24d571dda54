// What the agent remembers across restarts: which kernels were attached and on
// which local ports, how kernels it started were launched, saved hosts,
// settings. The file holds kernels' HMAC keys, so it is 0600 in a 0700 dir.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir } from '../util/paths';
import type { AgentSettings, ChannelPorts, ConnectionInfo, HostScheduler, SavedHost, SchedulerKind } from '../../shared/types';

export interface AttachedRecord {
  ports: ChannelPorts;
  localFile: string;
  info: ConnectionInfo;
  remoteFile: string;
  /** Its local ends: unix sockets (ipc) or 127.0.0.1 ports; records written before ipc have neither field and were tcp. */
  localTransport?: 'tcp' | 'ipc';
  /** The local ends' address: 127.0.0.1, or the sockets' path without `-PORT`. */
  localIp?: string;
}

export interface LaunchRecord {
  python?: string;
  kernel?: string;
  cwd?: string;
}

/** A batch job Kernel Tray submitted for a kernel (found again by its name in the queue, too). */
export interface JobRecord {
  scheduler: SchedulerKind;
  jobId: string;
  /** Its output file on the login node. */
  logFile: string;
  /** Where its kernel writes its connection file (the shared home). */
  connectionFile: string;
  submittedAt: number;
  /** The time-limit warning was given (once per job, across agent restarts). */
  warned?: boolean;
  /** Stopped, or its failed start told: not listed again while the queue still shows it. */
  dismissed?: boolean;
}

/** What the agent keeps of a Jupyter server: its local port (the same one every time), whether it was open, how it was started. */
export interface ServerRecord {
  localPort?: number;
  /** Tunnelled when the agent stopped: the next agent opens the tunnel again, on the same port. */
  open?: boolean;
  /** Started by `ktray server start`. */
  started?: { app: string; cwd?: string; python: string };
}

export interface AgentState {
  version: 1;
  attached: Record<string, AttachedRecord>;
  pinned: string[];
  launches: Record<string, LaunchRecord>;
  /** Jupyter servers by id. No tokens: those are read from the host each time. */
  servers: Record<string, ServerRecord>;
  /** Hosts used through Kernel Tray, listed by `ktray ls` without naming them. */
  usedHosts: string[];
  savedHosts: SavedHost[];
  /** Per host id: the transport the user set by hand (absent: auto). */
  transports: Record<string, 'ssh2' | 'openssh'>;
  settings: AgentSettings;
  /** Per kernel id, addresses other than its host's loopback its channels may be forwarded to. */
  allowedAddresses: Record<string, string[]>;
  /** Per host id: its kernels are batch jobs of this scheduler, with these default arguments. */
  schedulers: Record<string, HostScheduler>;
  /** Per kernel id: the batch job it runs in. */
  jobs: Record<string, JobRecord>;
  /**
   * Per kernel id of a job this agent did not submit (found again in the
   * user's queue): the job id whose time-limit warning was given, so it is
   * given once per job across agent restarts, as for the jobs above.
   */
  warnedJobs: Record<string, string>;
}

export const DEFAULT_SETTINGS: AgentSettings = { longRunSeconds: 60, terminal: '', jobWarningMinutes: 10, jobPollSeconds: 15, consoleOtherOutput: true };

export function emptyState(): AgentState {
  return { version: 1, attached: {}, pinned: [], launches: {}, servers: {}, usedHosts: [], savedHosts: [], transports: {}, settings: { ...DEFAULT_SETTINGS }, allowedAddresses: {}, schedulers: {}, jobs: {}, warnedJobs: {} };
}

export class StateStore {
  private readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(home: string) {
    this.file = path.join(home, 'state.json');
  }

  async load(): Promise<AgentState> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return emptyState();
    }
    try {
      const raw = JSON.parse(text) as Partial<AgentState>;
      const base = emptyState();
      return {
        ...base,
        ...raw,
        version: 1,
        settings: { ...base.settings, ...(raw.settings ?? {}) },
      };
    } catch {
      // Keep the unreadable file for the user to look at; start afresh.
      await rename(this.file, `${this.file}.unreadable-${Date.now()}`).catch(() => {});
      return emptyState();
    }
  }

  /** Writes atomically; calls are serialised. */
  save(state: AgentState): Promise<void> {
    const text = JSON.stringify(state, null, 1) + '\n';
    const write = async () => {
      await ensurePrivateDir(path.dirname(this.file));
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      try {
        await rename(tmp, this.file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    };
    // One failed save must not fail every later one.
    const run = this.writing.then(write, write);
    this.writing = run.catch(() => {});
    return run;
  }
}
