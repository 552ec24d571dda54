// A batch scheduler Kernel Tray submits kernels to, from a cluster's login
// node: Slurm now, PBS or LSF beside it later with the same interface. A
// scheduler knows its commands (submit, queue, cancel, signal) and its words
// (states, reasons); the agent's jobs service does the rest the same way for
// all of them.
import type { SchedulerJob, SchedulerKind } from '../../../shared/types';
import type { Host } from '../../hosts/host';

/** One of Kernel Tray's jobs as the queue shows it. */
export interface QueuedJob {
  jobId: string;
  /** The kernel's name (its connection file is kernel-NAME.json), from the job's name. */
  name: string;
  state: string;
  reason: string | null;
  node: string | null;
  partition: string | null;
  /** Seconds to the time limit; null when unlimited or not known. */
  timeLeftSec: number | null;
  timeLimit: string | null;
  /** How long it has run (s), null while it waits. */
  elapsedSec: number | null;
  /** The end of its output file, for a job that failed. */
  logTail: string | null;
  /** Its kernel answers (its supervisor said so once it did): a running job's kernel can be attached. */
  up: boolean;
}

/** The queue section of a host's listing: the jobs, or why the queue could not be read. */
/** What the scheduler's accounting (sacct) says of a job the queue no longer knows: how it ended, or why it cannot say. */
export type AccountedJob = { state: string; reason: string | null; exitCode: string | null } | { error: string };

export type QueueListing = { ok: true; jobs: QueuedJob[]; accounting?: Map<string, AccountedJob> } | { ok: false; error: string };

/** The queue sections of one listing, as discovery parsed them. */
export interface QueueSections {
  error: string | null;
  lines: string[];
  tails: Map<string, string>;
  up: Map<string, string>;
  /** Per job id asked of the accounting: `null` error and its lines, or why not (`no-sacct`, an exit code) with its words. */
  acct?: Map<string, { error: string | null; lines: string[] }>;
}

/** Where a job is in its life, as Kernel Tray acts on it. */
export type JobPhase = 'waiting' | 'starting' | 'running' | 'ending' | 'ended';

export interface SubmitSpec {
  /** The kernel's name: a uuid (job and connection file are named after it). */
  name: string;
  /** The scheduler's arguments, checked by parseArgs. */
  args: string[];
  python: string;
  kernel?: string;
  cwd?: string;
}

export interface Submitted {
  jobId: string;
  connectionFile: string;
  logFile: string;
}

export type RestartOutcome = { ok: true } | { ok: false; why: string };

export interface Scheduler {
  readonly kind: SchedulerKind;
  /** `Slurm`: for messages. */
  readonly label: string;
  /** The user's arguments as words, checked; throws BAD_INPUT naming what cannot be used. */
  parseArgs(text: string, host: string): string[];
  /** sh that prints the queue section of a listing, run in discovery's round trip (marker `$m`). */
  /** The queue's script; `forgotten`: job ids this agent remembers, asked of the accounting if the queue no longer shows them. */
  queueScript(remembered?: string[]): string;
  /** The queue section's lines (`queue` / `queue-error` / `tail` / `acct` sections) into jobs. */
  parseQueue(sections: QueueSections | null): QueueListing | null;
  phase(state: string): JobPhase;
  /** Words for how a job ended (`time limit`), from its final state and reason. */
  endedWords(state: string, reason: string | null): string;
  /** Submits; throws SCHEDULER_MISSING, JOB_REFUSED (the scheduler's words), BAD_INPUT. */
  submit(host: Host, spec: SubmitSpec): Promise<Submitted>;
  /** Ends the job and waits until the queue lets it go; removes `files` then. */
  cancel(host: Host, jobId: string, files: string[]): Promise<void>;
  /** Sends SIGINT to the job's kernel (through its supervisor); false when the scheduler refused. */
  interrupt(host: Host, jobId: string): Promise<boolean>;
  /**
   * Waits on the login node (one round trip) until the job's kernel answers,
   * the job ends, or `limitSec` pass: what a start waits for.
   */
  waitUp(host: Host, job: { jobId: string; logFile: string }, limitSec: number): Promise<'up' | 'ended' | 'waiting'>;
  /** Restarts the kernel inside the job's allocation, on the same connection file. */
  restart(host: Host, job: { jobId: string; logFile: string }): Promise<RestartOutcome>;
}

/** A queue record as the summary's job field: time left becomes an end time on this clock. */
export function toSchedulerJob(kind: SchedulerKind, q: QueuedJob, logFile: string, ended: string | null, now = Date.now()): SchedulerJob {
  return {
    scheduler: kind,
    jobId: q.jobId,
    state: q.state,
    reason: q.reason,
    node: q.node,
    partition: q.partition,
    endsAt: q.timeLeftSec === null ? null : now + q.timeLeftSec * 1000,
    timeLimit: q.timeLimit,
    logFile,
    ended,
  };
}
