// Which connection files on a cluster host may be forwarded to their node's
// address: those of running jobs in the user's own queue under Kernel Tray's
// name, never a plain file's, a dismissed job's or one not running yet.
import { describe, expect, it } from 'vitest';
import type { AgentEvent, ConnectionInfo, SchedulerJob } from '../../shared/types';
import type { FoundKernel, ListedKernel } from '../kernels/kernel-ops';
import { withJobs } from '../kernels/schedulers/job-kernels';
import { slurm } from '../kernels/schedulers/slurm';
import { AddressAllowances } from './address-allowances';
import { EventBus } from './event-bus';
import { Jobs } from './jobs';
import { KernelTable } from './kernel-table';
import type { Hosts } from './hosts';
import { Persisted } from './persisted';
import { emptyState, type StateStore } from './state-store';

const info = (ip: string): ConnectionInfo =>
  ({ ip, transport: 'tcp', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: 'k', signature_scheme: 'hmac-sha256', kernel_name: 'python3' }) as ConnectionInfo;
const job = (jobId: string): SchedulerJob => ({ scheduler: 'slurm', jobId, state: 'RUNNING', reason: null, node: 'c1', partition: 'debug', endsAt: null, timeLimit: null, logFile: '/l', ended: null });
const kernel = (name: string, ip: string, extra: Partial<ListedKernel> = {}): ListedKernel => ({
  name,
  connectionFile: `/home/u/.local/share/jupyter/runtime/kernel-${name}.json`,
  info: info(ip),
  pid: null,
  alive: true,
  startedAt: null,
  command: null,
  ...extra,
});

function setup(table: KernelTable = {} as KernelTable, state = emptyState()) {
  let saves = 0;
  const persisted = new Persisted({ save: async () => void saves++ } as unknown as StateStore, state);
  const allowances = new AddressAllowances(persisted);
  const jobs = new Jobs({
    table,
    hosts: { validateId: () => {} } as unknown as Hosts,
    persisted,
    allowances,
    settings: () => state.settings,
    refresh: async () => {},
  });
  return { state, allowances, jobs, saves: () => saves };
}

describe('Jobs.allowNodes', () => {
  it("allows a running job's node address for that kernel alone, submitted here or found again in the queue", async () => {
    const { state, allowances, jobs } = setup();
    state.jobs['hpc/a'] = { scheduler: 'slurm', jobId: '7', logFile: '/l', connectionFile: '/c', submittedAt: 0 };
    await jobs.allowNodes('hpc', [kernel('a', '10.0.0.2', { job: job('7') }), kernel('b', '10.0.0.3', { job: job('8') })]);
    expect(allowances.of('hpc/a')).toEqual(['10.0.0.2']);
    expect(allowances.of('hpc/b')).toEqual(['10.0.0.3']);
  });

  it('allows nothing for a plain file, a job not running yet, a dismissed job, or a loopback kernel', async () => {
    const { state, allowances, jobs, saves } = setup();
    state.jobs['hpc/gone'] = { scheduler: 'slurm', jobId: '9', logFile: '/l', connectionFile: '/c', submittedAt: 0, dismissed: true };
    await jobs.allowNodes('hpc', [
      kernel('plain', '10.0.0.2'),
      kernel('starting', '10.0.0.2', { job: job('10'), alive: false }),
      kernel('gone', '10.0.0.2', { job: job('9') }),
      kernel('local', '127.0.0.1', { job: job('11') }),
      kernel('nofile', '10.0.0.2', { job: job('12'), info: null }),
    ]);
    expect(state.allowedAddresses).toEqual({});
    expect(allowances.of('hpc/plain')).toEqual([]);
    expect(saves()).toBe(0);
  });
});

describe('Jobs.afterListing: the time-limit warning', () => {
  // What the host's queue script printed: squeue's own line for a running Kernel Tray job, 8 minutes left.
  const SQUEUE = ['4242|RUNNING|None|c1|debug|8:00|10:00|2:00|ktray-found-1'];
  const file: FoundKernel = { name: 'found-1', connectionFile: '/home/u/.cache/ktray/kernels/kernel-found-1.json', info: info('10.0.0.2'), pid: null, alive: false, startedAt: null, command: null };

  /** One listing of host `hpc` as kernels.ts makes it: the files, squeue's lines parsed, what this agent remembers. */
  async function listing(table: KernelTable, jobs: Jobs, lines = SQUEUE) {
    const queue = slurm.parseQueue({ error: null, lines, tails: new Map(), up: new Map([['found-1', '1 777']]) })!;
    const kernels = withJobs([file], queue, jobs.remembered('hpc'), slurm, { home: '/home/u' });
    table.listed('hpc', kernels, () => false);
    await jobs.afterListing('hpc', kernels, new Set([file.name, ...(queue.ok ? queue.jobs.map((j) => j.name) : [])]));
  }

  function world(state = emptyState()) {
    const events = new EventBus();
    const seen: AgentEvent[] = [];
    events.on((e) => seen.push(e));
    const table = new KernelTable({ events });
    const s = setup(table, state);
    const warnings = () => seen.filter((e) => e.type === 'job-time-warning');
    return { ...s, table, warnings };
  }

  it('warns of a job found again in the queue (submitted by another agent) once, across an agent restart', async () => {
    const first = world();
    expect(first.jobs.remembered('hpc').size).toBe(0);
    await listing(first.table, first.jobs);
    expect(first.warnings()).toMatchObject([{ type: 'job-time-warning', kernel: { id: 'hpc/found-1', job: { jobId: '4242' } }, minutesLeft: 8 }]);
    await listing(first.table, first.jobs);
    expect(first.warnings()).toHaveLength(1);
    first.jobs.close();
    // The next agent reads the same state: no second warning for job 4242.
    const next = world(first.state);
    await listing(next.table, next.jobs);
    expect(next.warnings()).toHaveLength(0);
    next.jobs.close();
    // Gone from the queue and the shared home: forgotten, so state.json does not grow.
    const queueless = world(first.state);
    const kernels = withJobs([], { ok: true, jobs: [] }, queueless.jobs.remembered('hpc'), slurm, { home: '/home/u' });
    await queueless.jobs.afterListing('hpc', kernels, new Set());
    expect(first.state.warnedJobs).toEqual({});
    queueless.jobs.close();
  });

  it('gives no warning while more time is left than the setting, and warns a job submitted here as before', async () => {
    const w = world();
    w.state.settings.jobWarningMinutes = 5;
    await listing(w.table, w.jobs);
    expect(w.warnings()).toHaveLength(0);
    w.state.jobs['hpc/found-1'] = { scheduler: 'slurm', jobId: '4242', logFile: '/l', connectionFile: file.connectionFile, submittedAt: 0 };
    await listing(w.table, w.jobs, ['4242|RUNNING|None|c1|debug|4:00|10:00|6:00|ktray-found-1']);
    expect(w.warnings()).toMatchObject([{ kernel: { id: 'hpc/found-1' }, minutesLeft: 4 }]);
    expect(w.state.jobs['hpc/found-1']!.warned).toBe(true);
    expect(w.state.warnedJobs).toEqual({});
    w.jobs.close();
  });
});

describe('Jobs.setScheduler: nodeSsh', () => {
  it('keeps nodeSsh when only arguments are given (the window saves arguments alone), and turns it off when told', async () => {
    const { state, jobs } = setup();
    await jobs.setScheduler('hpc', { kind: 'slurm', args: ' --time=1:00:00 ', nodeSsh: true });
    expect(state.schedulers.hpc).toEqual({ kind: 'slurm', args: '--time=1:00:00', nodeSsh: true });
    await jobs.setScheduler('hpc', { kind: 'slurm', args: '--partition=gpu' });
    expect(state.schedulers.hpc).toEqual({ kind: 'slurm', args: '--partition=gpu', nodeSsh: true });
    await jobs.setScheduler('hpc', { kind: 'slurm', args: '--partition=gpu', nodeSsh: false });
    expect(state.schedulers.hpc).toEqual({ kind: 'slurm', args: '--partition=gpu' });
  });
});
