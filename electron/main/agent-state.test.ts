import { describe, expect, it } from 'vitest';
import { AgentStateHolder, EMPTY_SNAPSHOT, applyEvent, type AgentSnapshot } from './agent-state';
import { FakeAgent, T0, host, kernel, samplePlot } from './test/fixtures';

describe('applyEvent', () => {
  const base: AgentSnapshot = { hosts: [host('local'), host('gpu')], kernels: [kernel('gpu', 'a'), kernel('local', 'b')], servers: [], error: null };

  it('replaces a kernel on a state change and adds a new one', () => {
    const busy = kernel('gpu', 'a', { state: 'busy', busySince: T0 });
    const s1 = applyEvent(base, { type: 'kernel-state', at: T0, kernel: busy });
    expect(s1.kernels.find((k) => k.id === 'gpu/a')?.state).toBe('busy');
    expect(s1.kernels).toHaveLength(2);
    const s2 = applyEvent(s1, { type: 'kernel-started', at: T0, kernel: kernel('gpu', 'c') });
    expect(s2.kernels.map((k) => k.id)).toEqual(['gpu/a', 'local/b', 'gpu/c']);
    expect(base.kernels[0].state).toBe('idle'); // the input is not mutated
  });

  it('replaces all kernels of one host on kernels-changed, leaving other hosts alone', () => {
    const s = applyEvent(base, { type: 'kernels-changed', at: T0, host: 'gpu', kernels: [kernel('gpu', 'x'), kernel('gpu', 'y')] });
    expect(s.kernels.map((k) => k.id).sort()).toEqual(['gpu/x', 'gpu/y', 'local/b']);
  });

  it('updates hosts on host-lost, host-back and host-state', () => {
    const lost = applyEvent(base, { type: 'host-lost', at: T0, host: host('gpu', { connection: 'lost' }), reason: 'timeout' });
    expect(lost.hosts.find((h) => h.id === 'gpu')?.connection).toBe('lost');
    const back = applyEvent(lost, { type: 'host-back', at: T0, host: host('gpu'), downSeconds: 5 });
    expect(back.hosts.find((h) => h.id === 'gpu')?.connection).toBe('connected');
    const added = applyEvent(back, { type: 'host-state', at: T0, host: host('new', { connection: 'connecting' }) });
    expect(added.hosts.map((h) => h.id)).toEqual(['local', 'gpu', 'new']);
  });

  it('counts plots per kernel: added ones, removed ones; an update is no new plot', () => {
    const one = applyEvent(base, { type: 'plot-added', at: T0, plot: samplePlot(1) });
    const two = applyEvent(one, { type: 'plot-added', at: T0, plot: samplePlot(2) });
    expect(two.plotCounts).toEqual({ 'gpu/train': 2 });
    expect(applyEvent(two, { type: 'plot-updated', at: T0, plot: samplePlot(2) })).toBe(two);
    expect(applyEvent(two, { type: 'plots-removed', at: T0, kernel: 'gpu/train', ids: ['gpu/train#1'] }).plotCounts).toEqual({ 'gpu/train': 1 });
  });

  it('returns the same snapshot for notices', () => {
    expect(applyEvent(base, { type: 'notice', at: T0, host: null, message: 'hi' })).toBe(base);
  });
});

describe('AgentStateHolder', () => {
  it('loads hosts and kernels, then follows events, telling the listener each time', async () => {
    const agent = new FakeAgent();
    agent.kernelList = [kernel('local', 'k1')];
    const seen: AgentSnapshot[] = [];
    const holder = new AgentStateHolder((s) => seen.push(s));
    await holder.attach(agent);
    expect(holder.current.hosts.map((h) => h.id)).toEqual(['local']);
    expect(holder.current.kernels.map((k) => k.id)).toEqual(['local/k1']);
    expect(holder.current.plotCounts).toEqual({});
    agent.emit({ type: 'kernel-died', at: T0, kernel: kernel('local', 'k1', { alive: false, state: 'dead' }), reason: 'exit 1' });
    expect(holder.current.kernels[0].state).toBe('dead');
    expect(seen).toHaveLength(2);
    holder.detach();
    expect(agent.listenerCount).toBe(0);
  });

  it('records a failed load as the snapshot error', async () => {
    const agent = new FakeAgent();
    agent.hosts = async () => {
      throw new Error('socket closed');
    };
    const holder = new AgentStateHolder(() => {});
    await holder.attach(agent);
    expect(holder.current.error).toMatch(/Could not read the agent's state: socket closed/);
    holder.reset();
    expect(holder.current).toEqual(EMPTY_SNAPSHOT);
  });
});
