import { describe, expect, it } from 'vitest';
import { formatDuration, hostStateLabel, jobLabel, kernelStateHelp, kernelStateLabel, timeLeftLabel } from './format';
import type { SchedulerJob } from './types';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [45_900, '45s'],
    [59_999, '59s'],
    [3 * 60_000 + 10_000, '3m'],
    [65 * 60_000, '1h 5m'],
    [2 * 3_600_000, '2h'],
    [51 * 3_600_000, '2d 3h'],
    [48 * 3_600_000, '2d'],
    [-5, '0s'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('kernelStateLabel', () => {
  const at = { stateSince: 1_000, busySince: null };
  it('says how long a kernel has been busy, from busySince', () => {
    expect(kernelStateLabel({ ...at, state: 'busy', busySince: 2_000 }, 14_000)).toBe('busy 12s');
    expect(kernelStateLabel({ ...at, state: 'busy', busySince: 0 }, 3 * 60_000)).toBe('busy 3m');
  });
  it('falls back to stateSince for a busy kernel without busySince', () => {
    expect(kernelStateLabel({ ...at, state: 'busy' }, 11_000)).toBe('busy 10s');
  });
  it('says how long a kernel has been unresponsive', () => {
    expect(kernelStateLabel({ ...at, state: 'unresponsive' }, 61_000)).toBe('unresponsive 1m');
  });
  it('says the plain state otherwise', () => {
    expect(kernelStateLabel({ ...at, state: 'idle' }, 99_000)).toBe('idle');
    expect(kernelStateLabel({ ...at, state: 'unknown' }, 99_000)).toBe('unknown');
  });
});

describe('kernelStateHelp', () => {
  it('gives the reason a watch failed', () => {
    expect(kernelStateHelp({ state: 'running', watchError: 'tunnel refused' })).toMatch(/watching it failed: tunnel refused/);
    expect(kernelStateHelp({ state: 'running', watchError: null })).toMatch(/attach or watch/);
  });
});

describe('hostStateLabel', () => {
  it('words each connection state', () => {
    expect(hostStateLabel({ connection: 'lost', since: 0 }, 120_000)).toBe('lost 2m ago');
    expect(hostStateLabel({ connection: 'idle', since: 0 }, 1)).toBe('not connected');
    expect(hostStateLabel({ connection: 'connected', since: 0 }, 1)).toBe('connected');
    expect(hostStateLabel({ connection: 'connecting', since: 0 }, 1)).toBe('connecting…');
  });
});

describe('batch jobs', () => {
  const job = (over: Partial<SchedulerJob> = {}): SchedulerJob => ({
    scheduler: 'slurm', jobId: '12', state: 'RUNNING', reason: null, node: 'c1', partition: 'gpu', endsAt: 100_000 + 54 * 60_000,
    timeLimit: '1:00:00', logFile: '/h/.cache/ktray/slurm-x.log', ended: null, ...over,
  });
  it('says why a queued kernel waits', () => {
    expect(kernelStateLabel({ state: 'queued', stateSince: 0, busySince: null, job: job({ state: 'PENDING', reason: 'Priority', node: null }) }, 1)).toBe('queued (Priority)');
    expect(kernelStateLabel({ state: 'queued', stateSince: 0, busySince: null }, 1)).toBe('queued');
  });
  it('says where a job runs and how long it has left', () => {
    expect(jobLabel({ alive: true, job: job() }, 100_000)).toBe('job 12 on c1 (gpu), 54m left');
    expect(jobLabel({ alive: false, job: job({ state: 'PENDING', node: null, endsAt: null }) }, 100_000)).toBe('job 12 (gpu)');
    expect(timeLeftLabel({ endsAt: null }, 0)).toBe('no limit');
    expect(timeLeftLabel({ endsAt: 5 }, 10)).toBe('time up');
  });
  it('gives a dead job kernel the way its job ended', () => {
    expect(kernelStateHelp({ state: 'dead', watchError: null, job: job({ ended: 'time limit' }) })).toBe('Its batch job ended: time limit.');
  });
});
