// Which connection files on a cluster host may be forwarded to their node's
// address: those of running jobs in the user's own queue under Kernel Tray's
// name, never a plain file's, a dismissed job's or one not running yet.
import { describe, expect, it } from 'vitest';
import type { ConnectionInfo, SchedulerJob } from '../../shared/types';
import type { ListedKernel } from '../kernels/kernel-ops';
import { AddressAllowances } from './address-allowances';
import { Jobs } from './jobs';
import type { KernelTable } from './kernel-table';
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

function setup() {
  const state = emptyState();
  let saves = 0;
  const persisted = new Persisted({ save: async () => void saves++ } as unknown as StateStore, state);
  const allowances = new AddressAllowances(persisted);
  const jobs = new Jobs({
    table: {} as KernelTable,
    hosts: {} as Hosts,
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
