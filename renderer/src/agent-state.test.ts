import { describe, expect, it } from 'vitest';
import type { HostSummary, KernelSummary, PlotSummary } from '../../electron/shared/types';
import { groupByHost, initialAgentState, reduceAgentState } from './agent-state';

function host(id: string, over: Partial<HostSummary> = {}): HostSummary {
  return {
    id, source: 'ssh-config', hostname: id, user: 'me', port: 22, proxyJump: [], connection: 'connected',
    error: null, since: 0, rttMs: 3, kernelCount: 0, warnings: [], ...over,
  };
}

function kernel(hostId: string, name: string, over: Partial<KernelSummary> = {}): KernelSummary {
  return {
    id: `${hostId}/${name}`, host: hostId, name, connectionFile: `/run/kernel-${name}.json`, kernelName: 'python3',
    pid: 100, alive: true, startedAt: 1000, command: null, attached: false, localConnectionFile: null,
    localPorts: null, localChannels: null, listens: 'loopback', state: 'idle', stateSince: 0, busySince: null, watched: false, watchError: null, server: null, notebook: null, ...over,
  };
}

function plot(kernelId: string, seq: number, over: Partial<PlotSummary> = {}): PlotSummary {
  return {
    id: `${kernelId}#${seq}`, kernel: kernelId, seq, at: seq * 1000, updatedAt: seq * 1000, version: 1, mime: 'image/png', otherMimes: [],
    bytes: 100, width: 640, height: 480, source: 'display_data', displayId: null, code: null, executionCount: null,
    client: { session: null, username: null }, ...over,
  };
}

const loaded = reduceAgentState(initialAgentState, {
  type: 'loaded',
  hosts: [host('a'), host('b')],
  kernels: [kernel('a', '1'), kernel('b', '2')],
  servers: [],
});

describe('reduceAgentState', () => {
  it('replaces a kernel on kernel-state and keeps the others', () => {
    const busy = kernel('a', '1', { state: 'busy', busySince: 5 });
    const next = reduceAgentState(loaded, { type: 'event', event: { type: 'kernel-state', at: 5, kernel: busy } });
    expect(next.kernels).toEqual([busy, kernel('b', '2')]);
  });

  it('adds a started kernel', () => {
    const fresh = kernel('b', '3', { state: 'starting' });
    const next = reduceAgentState(loaded, { type: 'event', event: { type: 'kernel-started', at: 1, kernel: fresh } });
    expect(next.kernels.map((k) => k.id)).toEqual(['a/1', 'b/2', 'b/3']);
  });

  it('replaces only the named host’s kernels on kernels-changed', () => {
    const next = reduceAgentState(loaded, {
      type: 'event',
      event: { type: 'kernels-changed', at: 1, host: 'a', kernels: [kernel('a', '9')] },
    });
    expect(next.kernels.map((k) => k.id).sort()).toEqual(['a/9', 'b/2']);
  });

  it('keeps why a host was lost until it is back', () => {
    const lost = reduceAgentState(loaded, {
      type: 'event',
      event: { type: 'host-lost', at: 1, host: host('a', { connection: 'lost' }), reason: 'network down' },
    });
    expect(lost.lostReasons).toEqual({ a: 'network down' });
    expect(lost.hosts[0]!.connection).toBe('lost');
    const back = reduceAgentState(lost, { type: 'event', event: { type: 'host-back', at: 2, host: host('a'), downSeconds: 1 } });
    expect(back.lostReasons).toEqual({});
    expect(back.hosts[0]!.connection).toBe('connected');
  });

  it('keeps the last three notices', () => {
    let state = loaded;
    for (const m of ['1', '2', '3', '4']) {
      state = reduceAgentState(state, { type: 'event', event: { type: 'notice', at: 0, host: null, message: m } });
    }
    expect(state.notices.map((n) => n.message)).toEqual(['2', '3', '4']);
    const dismissed = reduceAgentState(state, { type: 'dismiss-notice', id: state.notices[0]!.id });
    expect(dismissed.notices.map((n) => n.message)).toEqual(['3', '4']);
  });

  it('keeps plots per kernel, newest first: an added one goes first, an updated one keeps its place, removed ones go', () => {
    const withPlots = reduceAgentState(initialAgentState, { type: 'loaded', hosts: [], kernels: [], servers: [], plots: [plot('a/1', 2), plot('b/2', 1), plot('a/1', 1)] });
    expect(withPlots.plots['a/1']!.map((p) => p.id)).toEqual(['a/1#2', 'a/1#1']);
    expect(withPlots.plots['b/2']!.map((p) => p.id)).toEqual(['b/2#1']);
    const added = reduceAgentState(withPlots, { type: 'event', event: { type: 'plot-added', at: 3, plot: plot('a/1', 3) } });
    expect(added.plots['a/1']!.map((p) => p.id)).toEqual(['a/1#3', 'a/1#2', 'a/1#1']);
    const updated = reduceAgentState(added, { type: 'event', event: { type: 'plot-updated', at: 4, plot: plot('a/1', 1, { version: 2, width: 10 }) } });
    expect(updated.plots['a/1']!.map((p) => [p.id, p.version, p.width])).toEqual([['a/1#3', 1, 640], ['a/1#2', 1, 640], ['a/1#1', 2, 10]]);
    // An older version arriving late (an answer after the event) does not undo the update.
    const stale = reduceAgentState(updated, { type: 'event', event: { type: 'plot-updated', at: 4, plot: plot('a/1', 1) } });
    expect(stale.plots['a/1']![2]!.version).toBe(2);
    const removed = reduceAgentState(updated, { type: 'event', event: { type: 'plots-removed', at: 5, kernel: 'a/1', ids: ['a/1#1', 'a/1#3'] } });
    expect(removed.plots['a/1']!.map((p) => p.id)).toEqual(['a/1#2']);
    expect(removed.plots['b/2']).toBe(withPlots.plots['b/2']);
  });

  it('drops a removed host with its kernels', () => {
    const next = reduceAgentState(loaded, { type: 'host-removed', id: 'a' });
    expect(next.hosts.map((h) => h.id)).toEqual(['b']);
    expect(next.kernels.map((k) => k.id)).toEqual(['b/2']);
  });
});

describe('groupByHost', () => {
  it('keeps host order, sorts kernels oldest first, and keeps kernels of unlisted hosts', () => {
    const groups = groupByHost({
      hosts: [host('b'), host('a')],
      kernels: [kernel('a', 'late', { startedAt: 9 }), kernel('a', 'early', { startedAt: 1 }), kernel('gone', 'x')],
    });
    expect(groups.map((g) => [g.id, g.host?.id ?? null, g.kernels.map((k) => k.name)])).toEqual([
      ['b', 'b', []],
      ['a', 'a', ['early', 'late']],
      ['gone', null, ['x']],
    ]);
  });
});

describe('answers to the window’s requests', () => {
  it('do not undo a newer pushed state (an interrupt answer arriving after the idle event)', () => {
    const idle = kernel('a', '1', { state: 'idle', stateSince: 20 });
    const afterEvent = reduceAgentState(loaded, { type: 'event', event: { type: 'kernel-state', at: 20, kernel: idle } });
    const staleAnswer = kernel('a', '1', { state: 'busy', stateSince: 10, busySince: 10 });
    const next = reduceAgentState(afterEvent, { type: 'kernel', kernel: staleAnswer });
    expect(next.kernels.find((k) => k.id === 'a/1')).toEqual(idle);
  });

  it('do apply when no newer state was seen (a restart with a new pid)', () => {
    const restarted = kernel('a', '1', { pid: 555, stateSince: 0 });
    const next = reduceAgentState(loaded, { type: 'kernel', kernel: restarted });
    expect(next.kernels.find((k) => k.id === 'a/1')?.pid).toBe(555);
  });

  it('do not undo a newer host state', () => {
    const lost = reduceAgentState(loaded, {
      type: 'event',
      event: { type: 'host-state', at: 9, host: host('a', { connection: 'lost', since: 9 }) },
    });
    const next = reduceAgentState(lost, { type: 'hosts', hosts: [host('a', { since: 5 }), host('c')] });
    expect(next.hosts.map((h) => [h.id, h.connection])).toEqual([
      ['a', 'lost'],
      ['b', 'connected'],
      ['c', 'connected'],
    ]);
  });
});

describe('notices', () => {
  it('say which kernel finished a long run, and for how long', () => {
    const next = reduceAgentState(loaded, { type: 'event', event: { type: 'run-finished', at: 1, kernel: kernel('a', '1'), seconds: 612 } });
    expect(next.notices.map((n) => [n.host, n.message])).toEqual([['a', 'python3 1 finished a run of 10m.']]);
  });

  it('say why a kernel died', () => {
    const dead = kernel('a', '1', { state: 'dead', alive: false });
    const next = reduceAgentState(loaded, {
      type: 'event',
      event: { type: 'kernel-died', at: 1, kernel: dead, reason: 'its process is gone' },
    });
    expect(next.kernels[0]).toEqual(dead);
    expect(next.notices.map((n) => n.message)).toEqual(['python3 1 died: its process is gone.']);
  });
});
