// A cluster host's listing as the kernel table sees it: the connection files
// discovery found, and the queue's jobs, merged. A file of one of Kernel
// Tray's jobs takes its life from the queue, never from a process on the
// login node (the kernel runs on a compute node; whatever listens on the same
// port number here is not it), and a job without a file yet is a kernel too:
// queued, or starting on its node.
import type { FoundKernel, ListedKernel } from '../kernel-ops';
import { toSchedulerJob, type QueuedJob, type QueueListing, type Scheduler } from './scheduler';

/** What the agent remembers of a job it submitted. */
export interface RememberedJob {
  jobId: string;
  logFile: string;
  connectionFile: string;
  /** Ended or stopped and told: not listed again while the queue still shows it. */
  dismissed?: boolean;
}

export function withJobs(
  files: FoundKernel[],
  queue: QueueListing | null,
  remembered: ReadonlyMap<string, RememberedJob>,
  scheduler: Scheduler,
  opts: { home: string; now?: number },
): ListedKernel[] {
  const now = opts.now ?? Date.now();
  const jobs = new Map<string, QueuedJob>();
  if (queue?.ok) for (const j of queue.jobs) if (!jobs.has(j.name) || Number(j.jobId) > Number(jobs.get(j.name)!.jobId)) jobs.set(j.name, j);
  const out: ListedKernel[] = [];
  const withFile = new Set<string>();
  for (const f of files) {
    const name = f.name;
    const job = jobs.get(name);
    const mem = remembered.get(name);
    if (!job && !mem) {
      out.push(f);
      continue;
    }
    withFile.add(name);
    if (mem?.dismissed) continue;
    const base: ListedKernel = { ...f, pid: null, processStart: null, command: null, alive: false };
    if (!queue?.ok) {
      out.push({ ...base, unknown: true });
    } else if (job) {
      out.push(jobKernel(base, job, mem, scheduler, now, opts.home));
    } else {
      // In memory, gone from the queue, its file left behind (the kernel was killed, not shut down):
      // how it ended from the accounting where the site keeps one, else that it cannot say.
      const acct = queue.accounting?.get(mem!.jobId);
      const left = `its connection file ${f.connectionFile} was left behind`;
      const endReason =
        acct && 'state' in acct
          ? `${scheduler.label} job ${mem!.jobId} ended: ${scheduler.endedWords(acct.state, acct.reason)} (${acct.state}, from the accounting: the queue no longer knows it); ${left}`
          : `${scheduler.label} job ${mem!.jobId} has ended (the queue no longer knows it${acct ? `, and ${acct.error}` : ''}); ${left}`;
      out.push({ ...base, endReason });
    }
  }
  for (const [name, job] of jobs) {
    if (withFile.has(name)) continue;
    const mem = remembered.get(name);
    if (mem?.dismissed) continue;
    // Ended, no file, not ours: another agent's job that is over; nothing here to show or do.
    if (!mem && scheduler.phase(job.state) === 'ended') continue;
    const base: ListedKernel = {
      name,
      connectionFile: mem?.connectionFile ?? `${opts.home}/.local/share/jupyter/runtime/kernel-${name}.json`,
      info: null,
      pid: null,
      processStart: null,
      alive: false,
      startedAt: null,
      command: null,
    };
    out.push(jobKernel(base, job, mem, scheduler, now, opts.home));
  }
  // Remembered jobs the queue could not be asked about: unknown, not gone.
  if (!queue?.ok) {
    for (const [name, mem] of remembered) {
      if (withFile.has(name) || mem.dismissed) continue;
      out.push({ name, connectionFile: mem.connectionFile, info: null, pid: null, processStart: null, alive: false, startedAt: null, command: null, unknown: true });
    }
  }
  return out;
}

function jobKernel(base: ListedKernel, job: QueuedJob, mem: RememberedJob | undefined, scheduler: Scheduler, now: number, home: string): ListedKernel {
  const phase = scheduler.phase(job.state);
  // Found in the queue without memory (another computer submitted it): where slurm-submit.sh puts it.
  const logFile = mem?.logFile ?? `${home}/.cache/ktray/slurm-${base.name}.log`;
  const ended = phase === 'ended' ? scheduler.endedWords(job.state, job.reason) : null;
  const summary = toSchedulerJob(scheduler.kind, phase === 'running' ? job : { ...job, timeLeftSec: null }, logFile, ended, now);
  const k: ListedKernel = { ...base, job: summary };
  if (phase === 'running' && job.elapsedSec !== null) k.startedAt = now - job.elapsedSec * 1000;
  switch (phase) {
    case 'waiting':
      return { ...k, waiting: true };
    case 'starting':
      return k;
    case 'running':
      // Alive once its kernel answers: its connection file is written before the kernel starts.
      return { ...k, alive: base.info !== null && job.up };
    case 'ending':
      // The kernel is being stopped; its final state (and with it the reason) comes next.
      return { ...k, alive: base.info !== null };
    case 'ended': {
      const tail = job.logTail?.trim();
      const reason = `${scheduler.label} job ${job.jobId} ended: ${ended} (${job.state})`;
      return { ...k, endReason: tail ? `${reason}. Last lines of its output (${logFile}):\n${tail}` : reason };
    }
  }
}
