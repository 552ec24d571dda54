// The kernel table alone: what each intent does to the summaries and which
// events it emits (it is the only emitter of kernel events).
import { describe, expect, it } from 'vitest';
import type { AgentEvent, ConnectionInfo, SchedulerJob } from '../../shared/types';
import type { FoundKernel, ListedKernel } from '../kernels/kernel-ops';
import { EventBus } from './event-bus';
import { KernelTable } from './kernel-table';

const INFO: ConnectionInfo = {
  ip: '127.0.0.1',
  transport: 'tcp',
  shell_port: 1,
  iopub_port: 2,
  stdin_port: 3,
  control_port: 4,
  hb_port: 5,
  key: 'k',
  signature_scheme: 'hmac-sha256',
  kernel_name: 'python3',
};

function found(name: string, over: Partial<FoundKernel> = {}): FoundKernel {
  return { name, connectionFile: `/rt/kernel-${name}.json`, info: INFO, pid: 100, alive: true, startedAt: 1000, command: 'python3 -m ipykernel_launcher', ...over };
}

function setup() {
  const events = new EventBus();
  const seen: AgentEvent[] = [];
  events.on((e) => seen.push(e));
  const table = new KernelTable({ events, rememberedFile: (id) => (id === 'h/old' ? '/local/old.json' : null) });
  const types = () => seen.map((e) => e.type);
  return { table, seen, types };
}

describe('KernelTable', () => {
  it('adds what a listing found, updates it on the next, and drops vanished files', () => {
    const { table, seen } = setup();
    table.listed('h', [found('a'), found('b', { alive: false, pid: null })], () => false);
    expect(table.summaries('h').map((k) => [k.id, k.state])).toEqual([
      ['h/a', 'running'],
      ['h/b', 'dead'],
    ]);
    const change = table.listed('h', [found('a', { pid: 200 })], () => false);
    expect(change).toEqual({ died: [], removed: ['h/b'], started: [] });
    expect(table.get('h/a')?.pid).toBe(200);
    expect(table.has('h/b')).toBe(false);
    expect(seen.filter((e) => e.type === 'kernels-changed')).toHaveLength(2);
  });

  it('keeps a kernel whose file is briefly gone while it restarts (a listing in between must not lose it)', () => {
    const { table } = setup();
    table.listed('h', [found('a')], () => false);
    table.exitExpected('h/a', true);
    expect(table.listed('h', [], () => false).removed).toEqual([]);
    table.restarted('h/a', { pid: 300, startedAt: 2000 });
    table.exitExpected('h/a', false);
    expect(table.get('h/a')?.pid).toBe(300);
  });

  it('tells a death once, with its reason, and not when an exit was asked for', () => {
    const { table, seen } = setup();
    table.listed('h', [found('a'), found('b')], () => false);
    expect(table.listed('h', [found('a', { alive: false }), found('b')], () => false).died).toEqual(['h/a']);
    table.listed('h', [found('a', { alive: false }), found('b')], () => false);
    table.exitExpected('h/b', true);
    table.died('h/b', 'its process is gone');
    const deaths = seen.filter((e): e is Extract<AgentEvent, { type: 'kernel-died' }> => e.type === 'kernel-died');
    expect(deaths.map((e) => [e.kernel.id, e.reason])).toEqual([['h/a', 'its process is gone']]);
    expect(table.get('h/b')?.state).toBe('dead');
  });

  it('keeps an attached kernel whose file vanished, as dead', () => {
    const { table, seen } = setup();
    table.listed('h', [found('a')], () => true);
    const change = table.listed('h', [], (id) => id === 'h/a');
    expect(change.died).toEqual(['h/a']);
    expect(table.get('h/a')).toMatchObject({ alive: false, state: 'dead' });
    expect(seen.some((e) => e.type === 'kernel-died' && e.reason === 'its connection file was removed')).toBe(true);
  });

  it('shows a failed watch as not watched, with its reason, and clears it when the watch starts again', () => {
    const { table } = setup();
    table.listed('h', [found('a')], () => false);
    table.watchStarted('h/a');
    table.observed('h/a', 'idle');
    table.watchFailed('h/a', 'the SSH server refused to forward');
    expect(table.get('h/a')).toMatchObject({ watched: false, watchError: 'the SSH server refused to forward', state: 'running' });
    table.watchStarted('h/a');
    expect(table.get('h/a')).toMatchObject({ watched: true, watchError: null });
  });

  it('marks live kernels unknown while their host is unreachable, and back to running when listed alive', () => {
    const { table } = setup();
    table.listed('h', [found('a'), found('d', { alive: false })], () => false);
    table.hostUnreachable('h');
    expect(table.summaries('h').map((k) => k.state)).toEqual(['unknown', 'dead']);
    table.listed('h', [found('a'), found('d', { alive: false })], () => false);
    expect(table.get('h/a')?.state).toBe('running');
  });

  it('says how each kernel listens on its host, from its file, as the file changes', () => {
    const { table } = setup();
    table.listed('h', [found('lo'), found('all', { info: { ...INFO, ip: '0.0.0.0' } }), found('far', { info: { ...INFO, ip: '10.99.0.1' } }), found('sock', { info: { ...INFO, transport: 'ipc', ip: '/rt/k' } })], () => false);
    expect(table.summaries('h').map((k) => [k.name, k.listens])).toEqual([
      ['lo', 'loopback'],
      ['all', 'all-interfaces'],
      ['far', 'other-address'],
      ['sock', 'ipc'],
    ]);
    table.listed('h', [found('lo', { info: { ...INFO, ip: '*' } })], () => false);
    expect(table.get('h/lo')?.listens).toBe('all-interfaces');
  });

  it('tracks attach and detach, and remembers the local file of an earlier attachment', () => {
    const { table } = setup();
    table.listed('h', [found('old')], () => false);
    expect(table.get('h/old')?.localConnectionFile).toBe('/local/old.json');
    const ports = { shell: 11, iopub: 12, stdin: 13, control: 14, hb: 15 };
    const channels = { transport: 'tcp' as const, ip: '127.0.0.1', ports };
    table.attached('h/old', { file: '/local/new.json', channels });
    expect(table.get('h/old')).toMatchObject({ attached: true, localConnectionFile: '/local/new.json', localPorts: ports, localChannels: channels });
    table.detached('h/old', { fileKept: false });
    expect(table.get('h/old')).toMatchObject({ attached: false, localConnectionFile: null, localPorts: null, localChannels: null });
  });

  it('starts busy spells with a start time and ends them', () => {
    const { table } = setup();
    table.listed('h', [found('a')], () => false);
    table.observed('h/a', 'busy');
    expect(table.get('h/a')?.busySince).not.toBeNull();
    table.observed('h/a', 'idle');
    expect(table.get('h/a')?.busySince).toBeNull();
  });

  it('announces a started kernel, and a stopped one leaves the table', () => {
    const { table, types } = setup();
    const k = table.started('h', found('n'));
    expect(k).toMatchObject({ id: 'h/n', state: 'running' });
    expect(types()).toEqual(['kernel-started', 'kernels-changed']);
    const stopped = table.stopped('h/n');
    expect(stopped).toMatchObject({ state: 'dead', alive: false });
    expect(table.has('h/n')).toBe(false);
    expect(types().slice(-1)).toEqual(['kernels-changed']);
  });

  it('says what it does not know, by code', () => {
    const { table } = setup();
    expect(() => table.require('h/none')).toThrow(expect.objectContaining({ code: 'KERNEL_NOT_FOUND', host: 'h' }));
  });

  it('puts a notice on the kernel it concerns', () => {
    const { table, seen } = setup();
    table.notice('h/a', 'a tunnel was refused');
    expect(seen).toEqual([expect.objectContaining({ type: 'notice', host: 'h', kernel: 'h/a', message: 'a tunnel was refused' })]);
  });

  describe("a batch job's kernel", () => {
    it('is not news when it runs while its submit still waits for it', () => {
      const { table, types } = setup();
      table.submitted('h', listedJob({ job: job() }));
      table.listed('h', [listedJob({ info: INFO, alive: true, job: job({ state: 'RUNNING', reason: null, node: 'c1' }) })], () => false);
      table.startReturned('h/j');
      expect(table.get('h/j')!.state).toBe('running');
      expect(types()).not.toContain('job-started');
    });

    const job = (over: Partial<SchedulerJob> = {}): SchedulerJob => ({
      scheduler: 'slurm', jobId: '7', state: 'PENDING', reason: 'Priority', node: null, partition: 'gpu', endsAt: null,
      timeLimit: '1:00:00', logFile: '/h/.cache/ktray/slurm-j.log', ended: null, ...over,
    });
    const listedJob = (over: Partial<ListedKernel>): ListedKernel => ({
      name: 'j', connectionFile: '/rt/kernel-j.json', info: null, pid: null, alive: false, startedAt: null, command: null, ...over,
    });

    it('is queued with its reason, then starting on its node, then running once its file is there: one job-started', () => {
      const { table, seen, types } = setup();
      table.submitted('h', listedJob({ job: job() }));
      expect(table.get('h/j')).toMatchObject({ state: 'queued', alive: false, job: { reason: 'Priority' } });
      expect(() => table.info('h/j')).toThrow(expect.objectContaining({ code: 'KERNEL_QUEUED', message: 'h/j has no connection file yet: its job 7 is pending (Priority).' }));
      table.listed('h', [listedJob({ waiting: true, job: job({ reason: 'Resources' }) })], () => false);
      expect(table.get('h/j')!.job!.reason).toBe('Resources');
      // While its submit waits for it, the submit says whether it runs; then its start is news.
      table.startReturned('h/j');
      table.listed('h', [listedJob({ job: job({ state: 'RUNNING', reason: null, node: 'c1' }) })], () => false);
      expect(table.get('h/j')).toMatchObject({ state: 'starting', alive: false, job: { node: 'c1' } });
      const change = table.listed('h', [listedJob({ info: INFO, alive: true, job: job({ state: 'RUNNING', reason: null, node: 'c1', endsAt: 99 }) })], () => false);
      expect(change.started).toEqual(['h/j']);
      expect(table.get('h/j')).toMatchObject({ state: 'running', alive: true });
      expect(table.info('h/j')).toEqual(INFO);
      expect(types().filter((t) => t === 'job-started')).toHaveLength(1);
      expect(seen.find((e) => e.type === 'job-started')).toMatchObject({ kernel: { id: 'h/j', job: { node: 'c1' } } });
      // The monitor's states stay: a later listing does not reset idle to running.
      table.observed('h/j', 'idle');
      table.listed('h', [listedJob({ info: INFO, alive: true, job: job({ state: 'RUNNING', reason: null, node: 'c1', endsAt: 99 }) })], () => false);
      expect(table.get('h/j')!.state).toBe('idle');
    });

    it("dies once with the scheduler's reason; a job that ended before this agent saw it is dead without news", () => {
      const { table, seen } = setup();
      table.listed('h', [listedJob({ info: INFO, alive: true, job: job({ state: 'RUNNING' }) })], () => false);
      const change = table.listed('h', [listedJob({ info: INFO, job: job({ state: 'TIMEOUT', ended: 'time limit' }), endReason: 'Slurm job 7 ended: time limit (TIMEOUT)' })], () => false);
      expect(change.died).toEqual(['h/j']);
      table.listed('h', [listedJob({ info: INFO, job: job({ state: 'TIMEOUT', ended: 'time limit' }), endReason: 'Slurm job 7 ended: time limit (TIMEOUT)' })], () => false);
      expect(seen.filter((e) => e.type === 'kernel-died')).toEqual([expect.objectContaining({ reason: 'Slurm job 7 ended: time limit (TIMEOUT)', kernel: expect.objectContaining({ state: 'dead', job: expect.objectContaining({ ended: 'time limit' }) }) })]);

      const fresh = setup();
      fresh.table.listed('h', [listedJob({ name: 'old', job: job({ state: 'CANCELLED', ended: 'cancelled' }), endReason: 'x' })], () => false);
      expect(fresh.table.get('h/old')!.state).toBe('dead');
      expect(fresh.types()).not.toContain('kernel-died');
    });

    it('is unknown, not dead, while its queue cannot be read or its host is lost; the time warning is an event of its own', () => {
      const { table, seen } = setup();
      table.submitted('h', listedJob({ job: job() }));
      table.hostUnreachable('h');
      expect(table.get('h/j')!.state).toBe('unknown');
      table.listed('h', [listedJob({ waiting: true, job: job() })], () => false);
      expect(table.get('h/j')!.state).toBe('queued');
      table.listed('h', [listedJob({ unknown: true })], () => false);
      expect(table.get('h/j')).toMatchObject({ state: 'unknown', job: { state: 'PENDING' } });
      table.timeWarning('h/j', 9);
      expect(seen.at(-1)).toMatchObject({ type: 'job-time-warning', minutesLeft: 9, kernel: { id: 'h/j' } });
    });
  });
});
