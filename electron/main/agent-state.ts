// The tray's picture of the agent: hosts and kernels, kept current from the
// event stream. Pure reducer plus a small holder that reloads and notifies.
import type { AgentConnection } from '../shared/agent-api';
import type { AgentEvent, HostSummary, KernelSummary, ServerSummary } from '../shared/types';

export interface AgentSnapshot {
  hosts: HostSummary[];
  kernels: KernelSummary[];
  servers: ServerSummary[];
  /** Set when the agent could not be reached or started; the menu says so. */
  error: string | null;
  /** How many plots the agent holds per kernel id (kernels without any are absent). */
  plotCounts?: Record<string, number>;
}

export const EMPTY_SNAPSHOT: AgentSnapshot = { hosts: [], kernels: [], servers: [], error: null };

function upsertKernel(kernels: KernelSummary[], kernel: KernelSummary): KernelSummary[] {
  const i = kernels.findIndex((k) => k.id === kernel.id);
  if (i < 0) return [...kernels, kernel];
  const next = kernels.slice();
  next[i] = kernel;
  return next;
}

function upsertServer(servers: ServerSummary[], server: ServerSummary): ServerSummary[] {
  const i = servers.findIndex((s) => s.id === server.id);
  if (i < 0) return [...servers, server];
  const next = servers.slice();
  next[i] = server;
  return next;
}

function upsertHost(hosts: HostSummary[], host: HostSummary): HostSummary[] {
  const i = hosts.findIndex((h) => h.id === host.id);
  if (i < 0) return [...hosts, host];
  const next = hosts.slice();
  next[i] = host;
  return next;
}

/** The snapshot after one event; unrelated events return the same object. */
export function applyEvent(s: AgentSnapshot, e: AgentEvent): AgentSnapshot {
  switch (e.type) {
    case 'kernel-started':
    case 'kernel-state':
    case 'kernel-died':
    case 'run-finished':
    case 'job-started':
    case 'job-time-warning':
      return { ...s, kernels: upsertKernel(s.kernels, e.kernel) };
    case 'kernels-changed':
      return { ...s, kernels: [...s.kernels.filter((k) => k.host !== e.host), ...e.kernels] };
    case 'servers-changed':
      return { ...s, servers: [...s.servers.filter((x) => x.host !== e.host), ...e.servers] };
    case 'server-state':
      return { ...s, servers: upsertServer(s.servers, e.server) };
    case 'host-lost':
    case 'host-back':
    case 'host-state':
      return { ...s, hosts: upsertHost(s.hosts, e.host) };
    case 'plot-added':
      return { ...s, plotCounts: { ...s.plotCounts, [e.plot.kernel]: (s.plotCounts?.[e.plot.kernel] ?? 0) + 1 } };
    case 'plots-removed': {
      const left = Math.max(0, (s.plotCounts?.[e.kernel] ?? 0) - e.ids.length);
      return { ...s, plotCounts: { ...s.plotCounts, [e.kernel]: left } };
    }
    case 'notice':
    case 'plot-updated':
      return s;
  }
}

/** Holds the snapshot for one agent connection and tells a listener after each change. */
export class AgentStateHolder {
  private snapshot: AgentSnapshot = EMPTY_SNAPSHOT;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly onChange: (s: AgentSnapshot) => void) {}

  get current(): AgentSnapshot {
    return this.snapshot;
  }

  /** Subscribes first, then loads, so no event between the two is lost. */
  async attach(agent: AgentConnection): Promise<void> {
    this.detach();
    this.unsubscribe = agent.onEvent((e) => {
      const next = applyEvent(this.snapshot, e);
      if (next !== this.snapshot) this.set(next);
    });
    await this.reload(agent);
  }

  async reload(agent: AgentConnection): Promise<void> {
    try {
      const [hosts, kernels, plots, servers] = await Promise.all([agent.hosts({}), agent.kernels({}), agent.plots({}), agent.servers({})]);
      const plotCounts: Record<string, number> = {};
      for (const p of plots.plots) plotCounts[p.kernel] = (plotCounts[p.kernel] ?? 0) + 1;
      this.set({ hosts, kernels, servers, error: null, plotCounts });
    } catch (err) {
      this.fail(`Could not read the agent's state: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Back to "nothing known yet", e.g. before trying to reach the agent again. */
  reset(): void {
    this.set(EMPTY_SNAPSHOT);
  }

  fail(message: string): void {
    this.set({ ...this.snapshot, error: message });
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private set(next: AgentSnapshot): void {
    this.snapshot = next;
    this.onChange(next);
  }
}
