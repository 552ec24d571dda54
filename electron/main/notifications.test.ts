import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../shared/types';
import { ALL_NOTIFICATIONS_ON, NOTIFICATION_KINDS, Notifier, notificationFor, type FocusTarget } from './notifications';
import { Notification, resetElectronStub } from './test/electron-stub';
import { T0, host, kernel, samplePlot } from './test/fixtures';

const died: AgentEvent = { type: 'kernel-died', at: T0, kernel: kernel('gpu', 'train', { alive: false, state: 'dead' }), reason: 'process exited (code 137)' };
const lost: AgentEvent = { type: 'host-lost', at: T0, host: host('gpu', { connection: 'lost' }), reason: 'keepalive timeout' };
const back: AgentEvent = { type: 'host-back', at: T0, host: host('gpu'), downSeconds: 125 };
const finished: AgentEvent = { type: 'run-finished', at: T0, kernel: kernel('gpu', 'train'), seconds: 3720 };
const job = (over: Record<string, unknown> = {}) => ({
  scheduler: 'slurm' as const, jobId: '812', state: 'RUNNING', reason: null, node: 'gpu07', partition: 'gpu', endsAt: T0 + 600_000,
  timeLimit: '4:00:00', logFile: '/home/ada/.cache/ktray/slurm-j.log', ended: null, ...over,
});
const jobStarted: AgentEvent = { type: 'job-started', at: T0, kernel: kernel('cluster', 'j', { pid: null, job: job() }) };
const jobWarning: AgentEvent = { type: 'job-time-warning', at: T0, kernel: kernel('cluster', 'j', { pid: null, job: job() }), minutesLeft: 10 };
const jobEnded: AgentEvent = {
  type: 'kernel-died',
  at: T0,
  kernel: kernel('cluster', 'j', { pid: null, alive: false, state: 'dead', job: job({ state: 'TIMEOUT', ended: 'time limit' }) }),
  reason: 'Slurm job 812 ended: time limit (TIMEOUT)',
};
const plotted: AgentEvent = { type: 'plot-added', at: T0, plot: samplePlot(2, { code: "db.login(password='hunter2')" }) };

describe('notificationFor', () => {
  it('words each kind and points at the kernel or host concerned', () => {
    expect(notificationFor(died, ALL_NOTIFICATIONS_ON)).toEqual({
      kind: 'kernelDied',
      title: 'Kernel train died',
      body: 'On gpu: process exited (code 137)',
      target: { kernelId: 'gpu/train', host: 'gpu' },
    });
    expect(notificationFor(lost, ALL_NOTIFICATIONS_ON)).toEqual({
      kind: 'hostLost',
      title: 'Lost connection to gpu',
      body: 'keepalive timeout. Remote kernels keep running; Kernel Tray reconnects when the host answers.',
      target: { host: 'gpu' },
    });
    expect(notificationFor(back, ALL_NOTIFICATIONS_ON)).toMatchObject({ kind: 'hostBack', title: 'gpu is back', body: 'Reconnected after 2m.' });
    expect(notificationFor(finished, ALL_NOTIFICATIONS_ON)).toMatchObject({
      kind: 'runFinished',
      title: 'Run finished on train',
      body: 'gpu: busy for 1h 2m, now idle.',
      target: { kernelId: 'gpu/train', host: 'gpu' },
    });
  });

  it("words a batch job's start, its time warning and its end (by the scheduler's reason, not as a death)", () => {
    expect(notificationFor(jobStarted, ALL_NOTIFICATIONS_ON)).toEqual({
      kind: 'jobStarted',
      title: 'Kernel j is running',
      body: 'Its job 812 on cluster left the queue and runs on gpu07.',
      target: { kernelId: 'cluster/j', host: 'cluster' },
    });
    expect(notificationFor(jobWarning, ALL_NOTIFICATIONS_ON)).toMatchObject({
      kind: 'jobTimeWarning',
      title: 'Kernel j: 10 min left',
      body: 'Its job 812 on cluster reaches its time limit (4:00:00) in 10 min; the kernel ends with it. Save your work.',
    });
    expect(notificationFor(jobEnded, ALL_NOTIFICATIONS_ON)).toMatchObject({ kind: 'jobEnded', title: 'Job 812 of kernel j ended', body: 'On cluster: time limit.' });
    expect(notificationFor(jobEnded, { ...ALL_NOTIFICATIONS_ON, kernelDied: false })?.kind).toBe('jobEnded');
  });

  it('tells of a new plot, opening the window on that kernel\'s plots, and never shows its code', () => {
    const spec = notificationFor(plotted, ALL_NOTIFICATIONS_ON);
    expect(spec).toEqual({
      kind: 'newPlot',
      title: 'New plot on train',
      body: 'gpu: a 640×480 PNG from client session-. Click to see it.',
      target: { kernelId: 'gpu/train', host: 'gpu', view: 'plots' },
    });
    expect(JSON.stringify(spec)).not.toContain('hunter2');
    expect(notificationFor({ type: 'plot-updated', at: T0, plot: samplePlot(2) }, ALL_NOTIFICATIONS_ON)).toBeNull();
  });

  it('does not double the full stop of a reason that has one', () => {
    const e: AgentEvent = { ...lost, reason: 'Connection reset.' } as AgentEvent;
    expect(notificationFor(e, ALL_NOTIFICATIONS_ON)?.body.startsWith('Connection reset. Remote')).toBe(true);
  });

  it('stays quiet for a kind that is switched off, and only for that kind', () => {
    const events = { kernelDied: died, hostLost: lost, hostBack: back, runFinished: finished, jobStarted, jobTimeWarning: jobWarning, jobEnded, newPlot: plotted };
    for (const off of NOTIFICATION_KINDS) {
      const switches = { ...ALL_NOTIFICATIONS_ON, [off]: false };
      for (const kind of NOTIFICATION_KINDS) {
        const spec = notificationFor(events[kind], switches);
        if (kind === off) expect(spec).toBeNull();
        else expect(spec?.kind).toBe(kind);
      }
    }
  });

  it('tells of a host that waits for the user to reconnect (a fresh code), under the lost-connection switch', () => {
    const e: AgentEvent = { type: 'notice', at: T0, host: 'hpc', message: 'hpc asks for "Verification code:" to reconnect', attention: true };
    expect(notificationFor(e, ALL_NOTIFICATIONS_ON)).toEqual({
      kind: 'hostLost',
      title: 'hpc needs you to reconnect',
      body: 'hpc asks for "Verification code:" to reconnect.',
      target: { host: 'hpc' },
    });
    expect(notificationFor(e, { ...ALL_NOTIFICATIONS_ON, hostLost: false })).toBeNull();
    expect(notificationFor({ ...e, attention: undefined }, ALL_NOTIFICATIONS_ON)).toBeNull();
  });

  it('has nothing to say about the other events', () => {
    const quiet: AgentEvent[] = [
      { type: 'kernel-started', at: T0, kernel: kernel('gpu', 'a') },
      { type: 'kernel-state', at: T0, kernel: kernel('gpu', 'a') },
      { type: 'kernels-changed', at: T0, host: 'gpu', kernels: [] },
      { type: 'host-state', at: T0, host: host('gpu') },
      { type: 'notice', at: T0, host: null, message: 'x' },
    ];
    for (const e of quiet) expect(notificationFor(e, ALL_NOTIFICATIONS_ON)).toBeNull();
  });
});

describe('Notifier', () => {
  beforeEach(() => resetElectronStub());

  it('shows one New plot notification per kernel in 30 s, however many plots flow', () => {
    let t = T0;
    const n = new Notifier({ switches: () => ALL_NOTIFICATIONS_ON, onClick: () => {}, now: () => t });
    const plot = (i: number, kernelId = 'gpu/train') => ({ type: 'plot-added', at: t, plot: samplePlot(i, { kernel: kernelId, id: `${kernelId}#${i}` }) }) as AgentEvent;
    expect(n.handle(plot(1))?.kind).toBe('newPlot');
    for (let i = 2; i < 50; i++) expect(n.handle(plot(i))).toBeNull();
    expect(n.handle(plot(1, 'gpu/other'))?.kind).toBe('newPlot');
    t += 30_000;
    expect(n.handle(plot(51))?.kind).toBe('newPlot');
    expect(Notification.instances).toHaveLength(3);
  });

  it('shows a notification whose click opens the window on the kernel, and keeps it alive until then', () => {
    const clicked: FocusTarget[] = [];
    let switches = { ...ALL_NOTIFICATIONS_ON };
    const n = new Notifier({ switches: () => switches, onClick: (t) => clicked.push(t) });
    expect(n.handle(died)?.kind).toBe('kernelDied');
    const shown = Notification.instances.at(-1)!;
    expect(shown.shown).toBe(true);
    expect(shown.options).toEqual({ title: 'Kernel train died', body: 'On gpu: process exited (code 137)' });
    expect(n.pending).toBe(1);
    shown.emit('click', {});
    expect(clicked).toEqual([{ kernelId: 'gpu/train', host: 'gpu' }]);
    expect(n.pending).toBe(0);

    switches = { ...switches, kernelDied: false };
    expect(n.handle(died)).toBeNull();
    expect(Notification.instances).toHaveLength(1);
  });

  it('releases a dismissed notification', () => {
    const n = new Notifier({ switches: () => ALL_NOTIFICATIONS_ON, onClick: () => {} });
    n.handle(lost);
    Notification.instances.at(-1)!.close();
    expect(n.pending).toBe(0);
  });

  it('reports false where the OS has no notifications, so the caller can fall back', () => {
    Notification.supported = false;
    try {
      const n = new Notifier({ switches: () => ALL_NOTIFICATIONS_ON, onClick: () => {} });
      expect(n.handle(died)).toBeNull();
      expect(n.showMessage('Could not stop gpu/a', 'Host down')).toBe(false);
      expect(Notification.instances).toHaveLength(0);
    } finally {
      Notification.supported = true;
    }
  });
});
