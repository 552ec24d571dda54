// A cluster host's listing merged with its queue, without a cluster.
import { describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../../../shared/types';
import type { FoundKernel } from '../kernel-ops';
import { withJobs } from './job-kernels';
import type { QueuedJob } from './scheduler';
import { slurm } from './slurm';

const INFO: ConnectionInfo = { ip: '10.0.0.2', transport: 'tcp', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: 'k', signature_scheme: 'hmac-sha256' };
const file = (name: string, over: Partial<FoundKernel> = {}): FoundKernel => ({
  name, connectionFile: `/h/.local/share/jupyter/runtime/kernel-${name}.json`, info: INFO, pid: null, alive: false, startedAt: 5, command: null, ...over,
});
const job = (name: string, state: string, over: Partial<QueuedJob> = {}): QueuedJob => ({
  jobId: '7', name, state, reason: null, node: 'c1', partition: 'gpu', timeLeftSec: 600, timeLimit: '10:00', elapsedSec: 30, logTail: null, up: true, ...over,
});
const NOW = 1_000_000;
const merge = (files: FoundKernel[], jobs: QueuedJob[] | null, remembered = new Map()) =>
  withJobs(files, jobs ? { ok: true, jobs } : { ok: false, error: 'squeue failed' }, remembered, slurm, { home: '/h', now: NOW });

describe('withJobs', () => {
  it('gives a job kernel its life from the queue, never from a process on the login node that owns the same port', () => {
    const [k] = merge([file('a', { pid: 999, alive: true, command: 'nc -l 1' })], [job('a', 'RUNNING')]);
    expect(k).toMatchObject({ name: 'a', pid: null, command: null, alive: true, startedAt: NOW - 30_000, job: { jobId: '7', state: 'RUNNING', node: 'c1', endsAt: NOW + 600_000, ended: null } });
  });

  it('is starting, not alive, while its file is there but its kernel does not answer yet', () => {
    const [k] = merge([file('a')], [job('a', 'RUNNING', { up: false })]);
    expect(k).toMatchObject({ alive: false, job: { state: 'RUNNING' } });
    expect(k!.waiting).toBeUndefined();
  });

  it('lists a job without a connection file as a kernel: queued, or starting on its node', () => {
    const [q, s] = merge([], [job('q', 'PENDING', { reason: 'Resources', node: null }), job('s', 'RUNNING')]);
    expect(q).toMatchObject({ name: 'q', info: null, waiting: true, alive: false, job: { reason: 'Resources', endsAt: null } });
    expect(q!.connectionFile).toBe('/h/.local/share/jupyter/runtime/kernel-q.json');
    expect(s).toMatchObject({ name: 's', info: null, alive: false, job: { state: 'RUNNING' } });
    expect(s!.waiting).toBeUndefined();
  });

  it("ends a kernel with the scheduler's reason, and the tail of a failed job's output", () => {
    const mem = new Map([['f', { jobId: '8', logFile: '/h/.cache/ktray/slurm-f.log', connectionFile: '/c' }]]);
    const [t, f] = merge([file('t')], [job('t', 'TIMEOUT', { reason: 'TimeLimit' }), job('f', 'FAILED', { jobId: '8', reason: 'NonZeroExitCode', logTail: 'ktray: ipykernel is not installed' })], mem);
    expect(t!.endReason).toBe('Slurm job 7 ended: time limit (TIMEOUT)');
    expect(t!.job!.ended).toBe('time limit');
    expect(f!.endReason).toBe('Slurm job 8 ended: failed (its batch step exited with an error) (FAILED). Last lines of its output (/h/.cache/ktray/slurm-f.log):\nktray: ipykernel is not installed');
  });

  it("shows no kernel for another agent's job that is over and left no file", () => {
    expect(merge([], [job('x', 'CANCELLED')])).toEqual([]);
  });

  it('leaves plain kernels as they are, and hides jobs the user already ended', () => {
    const plain = file('p', { pid: 12, alive: true, info: { ...INFO, ip: '127.0.0.1' } });
    const out = merge([plain, file('gone')], [job('gone', 'CANCELLED')], new Map([['gone', { jobId: '7', logFile: '/l', connectionFile: '/c', dismissed: true }]]));
    expect(out).toEqual([plain]);
  });

  it('says unknown, not dead, when the queue could not be read', () => {
    const out = merge([file('a')], null, new Map([['a', { jobId: '7', logFile: '/l', connectionFile: '/c' }], ['b', { jobId: '8', logFile: '/l', connectionFile: '/cb' }]]));
    expect(out.map((k) => [k.name, k.unknown, k.endReason])).toEqual([['a', true, undefined], ['b', true, undefined]]);
  });

  it('ends a remembered job that the queue no longer knows whose file was left behind', () => {
    const [k] = merge([file('a')], [], new Map([['a', { jobId: '7', logFile: '/l', connectionFile: '/c' }]]));
    expect(k!.endReason).toMatch(/^Slurm job 7 has ended \(the queue no longer knows it\)/);
  });

  it("gives such a job sacct's reason where the site keeps accounting, and sacct's words where it cannot say", () => {
    const mem = new Map([['a', { jobId: '7', logFile: '/l', connectionFile: '/c' }]]);
    const list = (acct: [string, { state: string; reason: null; exitCode: string } | { error: string }]) =>
      withJobs([file('a')], { ok: true, jobs: [], accounting: new Map([acct]) }, mem, slurm, { home: '/h', now: NOW })[0]!.endReason;
    expect(list(['7', { state: 'TIMEOUT', reason: null, exitCode: '0:0' }])).toMatch(/^Slurm job 7 ended: time limit \(TIMEOUT, from the accounting: the queue no longer knows it\); its connection file /);
    expect(list(['7', { error: 'the cluster keeps no job accounting (sacct: Slurm accounting storage is disabled)' }])).toMatch(
      /^Slurm job 7 has ended \(the queue no longer knows it, and the cluster keeps no job accounting \(sacct: Slurm accounting storage is disabled\)\); its connection file/,
    );
  });
});
