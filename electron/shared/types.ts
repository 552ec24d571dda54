// Shared vocabulary of the agent, its faces (CLI, tray, window) and its RPC.
// Plain data only: everything here crosses a socket or an IPC bridge.

/** The built-in host that runs kernels on this computer without SSH. */
export const LOCAL_HOST = 'local';

/** What a Jupyter connection file holds (see jupyter_client's connect.py). */
export interface ConnectionInfo {
  ip: string;
  transport: 'tcp' | 'ipc';
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export const CHANNELS = ['shell', 'iopub', 'stdin', 'control', 'hb'] as const;
export type Channel = (typeof CHANNELS)[number];
export type ChannelPorts = Record<Channel, number>;

/**
 * Where a kernel's channels are reachable on this computer: unix sockets
 * `IP-PORT` in a 0700 folder (ipc, the default where the platform has them),
 * or 127.0.0.1 ports (tcp), which every local user can reach.
 */
export interface LocalChannels {
  transport: 'tcp' | 'ipc';
  /** 127.0.0.1, or the sockets' common path without `-PORT`. */
  ip: string;
  ports: ChannelPorts;
}

/**
 * How a kernel listens on its host, as its connection file says: loopback or
 * unix sockets (reachable there by the host's users only); all interfaces
 * (0.0.0.0: anyone on the host's network can connect); another address
 * (forwarded only where the user allowed it).
 */
export type ListenScope = 'loopback' | 'ipc' | 'all-interfaces' | 'other-address';

/**
 * queued: its batch job waits for the scheduler (a cluster host); starting:
 * launched, not yet answering; running: the process is alive but not watched,
 * so idle/busy is not known; idle/busy: from iopub status; unresponsive:
 * heartbeat lost while the process is alive; dead: process gone (or its job
 * ended); unknown: the host cannot be reached, so nobody knows.
 */
export type KernelState = 'queued' | 'starting' | 'running' | 'idle' | 'busy' | 'unresponsive' | 'dead' | 'unknown';

/** Batch schedulers Kernel Tray submits kernels to (PBS, LSF would sit beside Slurm). */
export type SchedulerKind = 'slurm';

/** A host whose kernels run as batch jobs on its compute nodes, submitted from it (the login node). */
export interface HostScheduler {
  kind: SchedulerKind;
  /** Default arguments for each submission, e.g. `--partition=gpu --time=04:00:00` (sbatch's own words). */
  args: string;
  /**
   * Reach job kernels by SSH to their compute node (its sshd), relayed through
   * the login node's connection, instead of forwarding through the login node
   * (for sites whose login node has AllowTcpForwarding no).
   */
  nodeSsh?: boolean;
}

/** The batch job a kernel runs in, as the scheduler last said. */
export interface SchedulerJob {
  scheduler: SchedulerKind;
  jobId: string;
  /** The scheduler's own state word: PENDING, RUNNING, COMPLETING, TIMEOUT, CANCELLED, FAILED, ... */
  state: string;
  /** Why it waits (Priority, Resources, ...) or why it ended (TimeLimit, NonZeroExitCode), in its words; null: none given. */
  reason: string | null;
  /** The compute node it runs on, once it runs. */
  node: string | null;
  partition: string | null;
  /** Epoch ms when its time limit is reached (from squeue's time left at the last look); null: no limit. */
  endsAt: number | null;
  /** Its time limit as the scheduler prints it (`1:00:00`, `UNLIMITED`). */
  timeLimit: string | null;
  /** The job's output file on the login node: its tail says why a job failed. */
  logFile: string;
  /** How it ended, in words (`time limit`, `cancelled (scancel)`, ...); null while it waits or runs. */
  ended: string | null;
}

export interface KernelSummary {
  /** `HOST/KERNEL`, KERNEL being the connection file's name without `kernel-` and `.json`. */
  id: string;
  host: string;
  name: string;
  /** Absolute path of the connection file on the host. */
  connectionFile: string;
  kernelName: string;
  pid: number | null;
  /** The process is running (from `ps` on the host at the last look). */
  alive: boolean;
  /** Epoch ms, from the process's elapsed time, else the file's mtime. */
  startedAt: number | null;
  /** Command line of the kernel process, when found. */
  command: string | null;
  /** Tunnels are open here and a local connection file exists. */
  attached: boolean;
  localConnectionFile: string | null;
  /** The local ends' ports (for ipc, the numbers in the socket names); see localChannels. */
  localPorts: ChannelPorts | null;
  /** Where the attached kernel is reachable here, null when not attached through tunnels. */
  localChannels: LocalChannels | null;
  /** How it listens on its host (its connection file's ip/transport). */
  listens: ListenScope;
  state: KernelState;
  /** Epoch ms when `state` was entered. */
  stateSince: number;
  /** Epoch ms when the current busy spell began; null unless busy. */
  busySince: number | null;
  /** Watched with heartbeat and iopub (attached or pinned). */
  watched: boolean;
  /** Why the kernel should be watched but is not (its tunnels failed); retried when the host comes back. */
  watchError: string | null;
  /** How Kernel Tray started it, in words (`kernelspec python3 (...) with /usr/bin/python3`), when it did. */
  launchedWith?: string;
  /** The batch job it runs in, on a cluster host (absent for kernels that are plain processes). */
  job?: SchedulerJob;
  /** The Jupyter server (`HOST/jpserver-PID`) that started this kernel, when one did. */
  server: string | null;
  /** The notebook (or console) the server runs this kernel for, from its sessions API: `analysis.ipynb`. */
  notebook: string | null;
}

/** `notebook`: classic Notebook < 7 (nbserver-*.json); `jupyter-server`: jupyter_server (Lab, Notebook 7, nbclassic, ...). */
export type ServerApp = 'notebook' | 'jupyter-server';

/**
 * How the browser logs in: `token`: Kernel Tray holds the server's token and
 * logs the browser in; `password`: the server asks for its password; `none`:
 * the server checks nothing (anyone who reaches it can run code).
 */
export type ServerAuth = 'token' | 'password' | 'none';

/** Where a server listens on its host: a TCP address, or a unix socket (`--sock`). */
export type ServerEndpoint = { kind: 'tcp'; address: string; port: number } | { kind: 'unix'; path: string };

/** A Jupyter server on a host, from its jpserver-*.json / nbserver-*.json. Never carries its token. */
export interface ServerSummary {
  /** `HOST/jpserver-PID` (the file's name without `.json`, `@TAG`-qualified like kernel ids when two runtime dirs share a name). */
  id: string;
  host: string;
  name: string;
  /** Absolute path of the server's file on the host. */
  file: string;
  app: ServerApp;
  /** From the file (jupyter_server writes it; classic Notebook does not). */
  version: string | null;
  rootDir: string;
  pid: number | null;
  /** Its process runs (and is the one that wrote the file). */
  alive: boolean;
  /** Epoch ms, from the process's elapsed time, else the file's mtime. */
  startedAt: number | null;
  command: string | null;
  endpoint: ServerEndpoint;
  /** `http://127.0.0.1:8888/` or `http+unix://...`: the server's own URL on its host, no token. */
  remoteUrl: string;
  baseUrl: string;
  /** Served over https. */
  secure: boolean;
  auth: ServerAuth;
  /** How it listens on its host, as for kernels: `all-interfaces` (`--ip=0.0.0.0`) and `other-address` are reachable from the network. */
  listens: ListenScope;
  /** What a user should know: the network can reach it, its file is readable by others, ... */
  warnings: string[];
  /** A 127.0.0.1 listener here forwards to it. */
  tunnelled: boolean;
  /** `http://127.0.0.1:PORT/BASE/` when tunnelled (no token). */
  localUrl: string | null;
  localPort: number | null;
  /** Kernels this server runs (ids as `ktray ls` prints them). */
  kernels: string[];
  /** Started by `ktray server start`. */
  startedByKtray: boolean;
}

export interface ServerStartOptions {
  host: string;
  /** Working (and root) directory on the host; default the remote home. */
  cwd?: string;
  /** lab, notebook or server; default: the first of them installed. */
  app?: 'lab' | 'notebook' | 'server';
  /** Python on the host (default python3). */
  python?: string;
}

/** What opening a server gives the caller, who opens the browser. */
export interface ServerOpened {
  server: ServerSummary;
  localUrl: string;
  /**
   * A 0600 page under KTRAY_HOME that logs the browser in and goes on to the
   * server (it holds the token, so no argv does); null when the server has no
   * token (password or no auth): open localUrl.
   */
  loginFile: string | null;
  /** What the user should be told, e.g. that the browser will ask for the server's password. */
  note: string | null;
}

export interface ServerStopped {
  server: ServerSummary;
  /** Kernels that went with it. */
  kernels: KernelSummary[];
  /** How it went: `api` (its shutdown API), `signal` (SIGTERM/SIGKILL), `stale` (its file was stale, removed). */
  how: 'api' | 'signal' | 'stale';
}

export type HostConnection = 'idle' | 'connecting' | 'connected' | 'lost';

export interface HostSummary {
  id: string;
  /** Where the profile came from. */
  source: 'local' | 'ssh-config' | 'saved';
  hostname: string;
  user: string;
  port: number;
  proxyJump: string[];
  /** The ProxyCommand that carries the connection, as written in the ssh config. */
  proxyCommand?: string;
  /**
   * Set when the host goes through the system's OpenSSH client rather than ssh2,
   * or when the user set the transport by hand (`setting`), and why.
   */
  transport?: { kind: 'openssh' | 'ssh2'; why: string; setting?: 'ssh2' | 'openssh' };
  connection: HostConnection;
  /** The last error met on this host, in words a user can act on. */
  error: KtrayErrorData | null;
  /** Epoch ms of the last state change. */
  since: number;
  /** Measured SSH round-trip time in ms, when connected. */
  rttMs: number | null;
  kernelCount: number;
  /** Problems met at the last listing, e.g. a malformed connection file (skipped). */
  warnings: string[];
  /** Kernels started here run as batch jobs of this scheduler; null: as processes on the host. */
  scheduler?: HostScheduler | null;
}

/** A host the user saved in the app, beside those of ~/.ssh/config. */
/** Which transport a host goes through: `auto` lets its ssh config decide (see `ktray hosts`). */
export type TransportSetting = 'auto' | 'ssh2' | 'openssh';

export interface SavedHost {
  id: string;
  hostname: string;
  user?: string;
  port?: number;
  identityFile?: string[];
  proxyJump?: string[];
}

export interface StartOptions {
  host: string;
  /** Python interpreter on the host (default: python3). */
  python?: string;
  /** Kernelspec name on the host; exclusive with python. */
  kernel?: string;
  /** Working directory on the host (default: the remote home). */
  cwd?: string;
  /** 'ipc': unix sockets in the user's private runtime dir instead of TCP ports (shared hosts). */
  transport?: 'tcp' | 'ipc';
  /**
   * Submit the kernel as a Slurm batch job with these sbatch arguments, added
   * after the host's defaults (a later option wins, as in sbatch). Makes the
   * host a Slurm cluster if it was not one yet, with these as its defaults.
   */
  slurm?: string;
  /** On a cluster host: run the kernel on the login node itself, not as a job. */
  loginNode?: boolean;
  /** On a cluster host: how long to wait for the job to run before returning it queued (s, default 60). */
  waitSec?: number;
}

export type Frontend = 'qtconsole' | 'console' | 'none';
/** A frontend Kernel Tray opens in a window of its own. */
export type FrontendWindow = Exclude<Frontend, 'none'>;

export interface AttachOptions {
  id: string;
  /**
   * The local end: 'ipc' (unix sockets only you can reach; the default except
   * on Windows) or 'tcp' (127.0.0.1 ports, for frontends that cannot use ipc;
   * any local user can connect to them). Default: as it was last attached.
   */
  localTransport?: 'tcp' | 'ipc';
  /**
   * Allow forwarding to this address, which is not the host's loopback (the
   * kernel's connection file names it); remembered for this kernel.
   */
  allowAddress?: string;
}

export interface AttachResult {
  kernel: KernelSummary;
  localConnectionFile: string;
  /** This call opened the tunnels (false: the kernel was attached already). */
  newlyAttached: boolean;
}

export interface OpenedFrontend extends AttachResult {
  launched: FrontendWindow;
}

export interface HostKeyInfo {
  host: string;
  hostname: string;
  port: number;
  keyType: string;
  /** `SHA256:...` as ssh-keygen -l prints it. */
  fingerprint: string;
  knownHostsFile: string;
  /** Already trusted (and matching) in known_hosts. */
  known: boolean;
  /** The name known_hosts holds it under: `host`, `[host]:port`, or its HostKeyAlias. */
  lookupName?: string;
  /** known_hosts lines holding another key of this type for the host: its key has CHANGED. */
  changed?: KnownHostsLineRef[];
  /** The @revoked line for this very key: never trusted. */
  revoked?: KnownHostsLineRef | null;
  /** After `trust` with `replace`: the old lines removed (as `ssh-keygen -R` does) and the backups kept. */
  replaced?: ReplacedKnownHosts[];
}

/** One line of a known_hosts file, and the key on it. */
export interface KnownHostsLineRef {
  file: string;
  line: number;
  keyType: string;
  fingerprint: string;
}

export interface ReplacedKnownHosts {
  file: string;
  /** 1-based numbers of the removed lines. */
  lines: number[];
  /** Their host fields (a line naming several hosts goes whole, as with `ssh-keygen -R`). */
  hosts: string[];
  /** FILE.old, the file as it was. */
  backup: string | null;
}

export interface KernelSpecChoice {
  name: string;
  displayName: string;
  language: string;
}

export interface PythonChoice {
  path: string;
  /** e.g. `conda: base`, `venv: ~/proj/.venv`, `system`. */
  label: string;
  hasIpykernel: boolean;
}

export interface HostOffer {
  host: string;
  kernelspecs: KernelSpecChoice[];
  pythons: PythonChoice[];
  home: string;
  /** What `ktray start HOST` with nothing asked for starts there: the python3 kernelspec, else the first Python with ipykernel. */
  preferred: { kernel: string } | { python: string } | null;
}

export interface AgentStatus {
  pid: number;
  version: string;
  startedAt: number;
  socket: string;
  home: string;
  hosts: number;
  attached: number;
  /** 'electron' when hosted by the tray app, 'headless' when started by the CLI. */
  mode: 'electron' | 'headless';
  /** The ssh_config file the agent reads hosts from. */
  sshConfigFile: string;
  /** What is wrong with that file now (read afresh for every status), if anything. */
  sshConfigError?: KtrayErrorData | null;
}

export interface AgentSettings {
  /** A busy spell at least this long ends in a `run-finished` event. */
  longRunSeconds: number;
  /** Terminal emulator command for `console`, e.g. `gnome-terminal --`; empty = detect. */
  terminal: string;
  /** A batch job's kernel is announced this many minutes before its time limit (`job-time-warning`). */
  jobWarningMinutes: number;
  /** How often a cluster host's queue is asked while Kernel Tray's jobs wait or run there (s). */
  jobPollSeconds: number;
  /**
   * Consoles Kernel Tray opens show what other frontends of the same kernel run and
   * print, marked as theirs (jupyter_console's include_other_output).
   */
  consoleOtherOutput: boolean;
}

// ---- plots -------------------------------------------------------------------

/** The image types kept from iopub; one per output, in this order of preference. */
export const PLOT_MIMES = ['image/png', 'image/jpeg', 'image/svg+xml'] as const;
export type PlotMime = (typeof PLOT_MIMES)[number];

/**
 * An image a kernel sent on iopub, from any of its clients, as the agent saw it
 * while watching the kernel. Metadata only: the bytes are fetched by id (`plot`).
 */
export interface PlotSummary {
  /** `HOST/KERNEL#N`, N counting this kernel's plots from 1 in this agent's life. */
  id: string;
  kernel: string;
  seq: number;
  /** Epoch ms when the agent received it. */
  at: number;
  /** Epoch ms of its last update (update_display_data); `at` when never updated. */
  updatedAt: number;
  /** 1, plus one per update of its display. */
  version: number;
  mime: PlotMime;
  /** Other image types the same output offered (only `mime` is kept). */
  otherMimes: PlotMime[];
  /** Size of the image in bytes (decoded, as the kernel's frontends would save it). */
  bytes: number;
  /** Pixels, from the PNG or JPEG header; null for SVG or an unreadable header. */
  width: number | null;
  height: number | null;
  /** The iopub message that carried it (last). */
  source: 'display_data' | 'execute_result' | 'update_display_data';
  /** transient.display_id: an update_display_data with it replaces this image. */
  displayId: string | null;
  /** The code that produced it, from iopub's execute_input (first 2000 characters); null when not seen. */
  code: string | null;
  executionCount: number | null;
  /** Which client's request caused it (parent_header.session / username); null for output no request caused. */
  client: { session: string | null; username: string | null };
}

/** How much the plot store holds, against its limits. */
export interface PlotUsage {
  plots: number;
  /** Image bytes held in the agent's memory. */
  memoryBytes: number;
  /** Image bytes spilled to the 0600 cache under KTRAY_HOME. */
  diskBytes: number;
  /** Plots dropped since the agent started (oldest first, past the disk or count limits). */
  dropped: number;
  cacheDir: string;
  limits: PlotLimits;
  kernels: Record<string, { plots: number; memoryBytes: number; diskBytes: number }>;
}

export interface PlotLimits {
  memoryBytesPerKernel: number;
  memoryBytesTotal: number;
  diskBytesPerKernel: number;
  diskBytesTotal: number;
  plotsPerKernel: number;
  plotsTotal: number;
}

export interface PlotList {
  /** Newest first. */
  plots: PlotSummary[];
  usage: PlotUsage;
}

/** One plot with its bytes, base64 (what crosses a JSON socket or the IPC bridge). */
export interface PlotData {
  plot: PlotSummary;
  base64: string;
}

/**
 * What the agent asks a person while connecting: an encrypted key's passphrase,
 * the account's password, or a prompt of the server's own (keyboard-interactive:
 * "Verification code:", a Duo menu). Answers are used once and never stored by the agent.
 */
export interface AuthPrompt {
  host: string;
  /** Absent: a passphrase (clients from before the other kinds). */
  kind?: 'passphrase' | 'password' | 'server';
  /** The encrypted key, for a passphrase. */
  keyFile?: string;
  /** The question: the server's own words for `server`, e.g. "Verification code: ". */
  prompt?: string;
  /** keyboard-interactive: the server's name for the exchange and its instructions, shown above the prompt. */
  name?: string;
  instructions?: string;
  /** The server allows the answer to be shown as it is typed. */
  echo?: boolean;
  /**
   * Whether the answer may be kept in the OS keychain (a password or a key passphrase,
   * never a one-time code): offered, or not and why (said once per agent run). Absent: not keepable.
   */
  keep?: { offered: true; keychain: string } | { offered: false; reason: string };
}

/** What `forgetSecrets` removed: how many secrets, from which keychain (or why there is none). */
export interface ForgottenSecrets {
  host: string;
  removed: number;
  keychain: string;
  unavailable?: string;
  /**
   * The host's key files (IdentityFile, as its ssh config names them): the app
   * forgets the passphrases it kept for them itself (safeStorage) as well.
   */
  keyFiles?: string[];
}

/** What a prompt gets back: the answer, or the answer and the user's wish to keep it. */
export type AuthAnswer = string | { answer: string; keep: boolean };

export type AgentEvent =
  | { type: 'kernel-started'; at: number; kernel: KernelSummary }
  | { type: 'kernel-died'; at: number; kernel: KernelSummary; reason: string }
  | { type: 'kernel-state'; at: number; kernel: KernelSummary }
  | { type: 'kernels-changed'; at: number; host: string; kernels: KernelSummary[] }
  | { type: 'run-finished'; at: number; kernel: KernelSummary; seconds: number }
  /** A queued batch job began to run (its kernel starts on `kernel.job.node`). */
  | { type: 'job-started'; at: number; kernel: KernelSummary }
  /** A batch job's time limit is this close (from the scheduler's time left). Its end is a `kernel-died`. */
  | { type: 'job-time-warning'; at: number; kernel: KernelSummary; minutesLeft: number }
  | { type: 'host-lost'; at: number; host: HostSummary; reason: string }
  | { type: 'host-back'; at: number; host: HostSummary; downSeconds: number }
  | { type: 'host-state'; at: number; host: HostSummary }
  | { type: 'servers-changed'; at: number; host: string; servers: ServerSummary[] }
  | { type: 'server-state'; at: number; server: ServerSummary }
  /** attention: the user must act (type a code to reconnect): worth a notification. */
  | { type: 'notice'; at: number; host: string | null; message: string; kernel?: string; attention?: boolean }
  // Plots carry metadata only: a face fetches the bytes it wants by id.
  | { type: 'plot-added'; at: number; plot: PlotSummary }
  | { type: 'plot-updated'; at: number; plot: PlotSummary }
  | { type: 'plots-removed'; at: number; kernel: string; ids: string[] };

export type AgentEventType = AgentEvent['type'];

/** Errors as they cross the socket: a code to branch on, words to show. */
export interface KtrayErrorData {
  code: KtrayErrorCode;
  message: string;
  host?: string;
  /** What the user can do next, e.g. the command that fixes it. */
  hint?: string;
  /** Extra facts, e.g. the fingerprint of an unknown host key. */
  detail?: Record<string, unknown>;
}

export type KtrayErrorCode =
  | 'HOST_UNKNOWN'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'HOST_UNREACHABLE'
  | 'HOST_DOWN'
  | 'AUTH_FAILED'
  | 'PASSPHRASE_NEEDED'
  | 'KERNEL_NOT_FOUND'
  | 'KERNEL_DEAD'
  | 'KERNEL_START_FAILED'
  | 'PLOT_NOT_FOUND'
  | 'SERVER_NOT_FOUND'
  | 'SERVER_DEAD'
  | 'SERVER_START_FAILED'
  | 'SERVER_UNREACHABLE'
  | 'IPYKERNEL_MISSING'
  | 'SCHEDULER_MISSING'
  | 'JOB_REFUSED'
  | 'JOB_FAILED'
  | 'KERNEL_QUEUED'
  | 'REMOTE_COMMAND_FAILED'
  | 'FRONTEND_FAILED'
  | 'FORWARD_REFUSED'
  | 'FORWARD_FAILED'
  | 'ADDRESS_NOT_ALLOWED'
  | 'BAD_INPUT'
  /** A line of an ssh config that ssh would reject too; detail: { file, line, problems }. */
  | 'SSH_CONFIG_INVALID'
  | 'USAGE'
  | 'AGENT_UNAVAILABLE'
  | 'TIMEOUT'
  | 'INTERNAL';
