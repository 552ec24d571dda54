// What the window knows of the agent: one snapshot, then kept current by the
// agent's pushed events and by the answers to the window's own requests.
import type { AgentEvent, HostSummary, KernelSummary, PlotSummary, ServerSummary } from '../../electron/shared/types';
import { formatDuration, shortKernelName } from './format';

const kernelLabel = (k: KernelSummary) => `${k.kernelName} ${shortKernelName(k.name)}`;

export interface Notice {
  id: number;
  at: number;
  host: string | null;
  message: string;
}

export interface AgentState {
  loaded: boolean;
  hosts: HostSummary[];
  kernels: KernelSummary[];
  servers: ServerSummary[];
  /** Why a host was last lost, from `host-lost`; cleared by `host-back`. */
  lostReasons: Record<string, string>;
  notices: Notice[];
  /** The plots the agent holds, per kernel, newest first: metadata only (the Plots view fetches bytes by id). */
  plots: Record<string, PlotSummary[]>;
}

/**
 * `host`, `hosts` and `kernel` carry answers to the window's own requests. Such an answer
 * can reach the window after a pushed event that is newer (an interrupt's answer still
 * says busy when the idle event is already here), so an answer never replaces a state
 * the window saw begin later.
 */
export type AgentAction =
  | { type: 'loaded'; hosts: HostSummary[]; kernels: KernelSummary[]; servers: ServerSummary[]; plots?: PlotSummary[] }
  | { type: 'event'; event: AgentEvent }
  | { type: 'host'; host: HostSummary }
  | { type: 'hosts'; hosts: HostSummary[] }
  | { type: 'host-removed'; id: string }
  | { type: 'kernel'; kernel: KernelSummary }
  | { type: 'kernel-removed'; id: string }
  /** A fresh list of one host's kernels, or of all when host is undefined. */
  | { type: 'kernels'; host?: string; kernels: KernelSummary[] }
  | { type: 'server'; server: ServerSummary }
  | { type: 'server-removed'; id: string }
  /** A fresh list of one host's servers, or of all when host is undefined. */
  | { type: 'servers'; host?: string; servers: ServerSummary[] }
  | { type: 'dismiss-notice'; id: number };

export const initialAgentState: AgentState = {
  loaded: false,
  hosts: [],
  kernels: [],
  servers: [],
  lostReasons: {},
  notices: [],
  plots: {},
};

const MAX_NOTICES = 3;

function upsert<T extends { id: string }>(list: T[], item: T): T[] {
  const at = list.findIndex((x) => x.id === item.id);
  if (at < 0) return [...list, item];
  const next = list.slice();
  next[at] = item;
  return next;
}

function upsertHostAnswer(list: HostSummary[], host: HostSummary): HostSummary[] {
  const seen = list.find((h) => h.id === host.id);
  return seen && seen.since > host.since ? list : upsert(list, host);
}

function upsertKernelAnswer(list: KernelSummary[], kernel: KernelSummary): KernelSummary[] {
  const seen = list.find((k) => k.id === kernel.id);
  return seen && seen.stateSince > kernel.stateSince ? list : upsert(list, kernel);
}

function withNotice(state: AgentState, at: number, host: string | null, message: string): AgentState {
  const id = (state.notices.at(-1)?.id ?? 0) + 1;
  const notices = [...state.notices, { id, at, host, message }].slice(-MAX_NOTICES);
  return { ...state, notices };
}

function withoutKey(record: Record<string, string>, key: string): Record<string, string> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

function applyEvent(state: AgentState, event: AgentEvent): AgentState {
  switch (event.type) {
    case 'kernel-started':
    case 'kernel-state':
      return { ...state, kernels: upsert(state.kernels, event.kernel) };
    case 'kernel-died': {
      const next = { ...state, kernels: upsert(state.kernels, event.kernel) };
      return withNotice(next, event.at, event.kernel.host, `${kernelLabel(event.kernel)} died: ${event.reason}.`);
    }
    case 'run-finished': {
      const next = { ...state, kernels: upsert(state.kernels, event.kernel) };
      const took = formatDuration(event.seconds * 1000);
      return withNotice(next, event.at, event.kernel.host, `${kernelLabel(event.kernel)} finished a run of ${took}.`);
    }
    case 'job-started': {
      const next = { ...state, kernels: upsert(state.kernels, event.kernel) };
      const where = event.kernel.job?.node ? ` on ${event.kernel.job.node}` : '';
      return withNotice(next, event.at, event.kernel.host, `${kernelLabel(event.kernel)}: its job ${event.kernel.job?.jobId ?? ''} runs${where}.`);
    }
    case 'job-time-warning': {
      const next = { ...state, kernels: upsert(state.kernels, event.kernel) };
      return withNotice(next, event.at, event.kernel.host, `${kernelLabel(event.kernel)}: its job reaches its time limit in ${event.minutesLeft} min; save your work.`);
    }
    case 'kernels-changed':
      return reduceAgentState(state, { type: 'kernels', host: event.host, kernels: event.kernels });
    case 'host-lost':
      return {
        ...state,
        hosts: upsert(state.hosts, event.host),
        lostReasons: { ...state.lostReasons, [event.host.id]: event.reason },
      };
    case 'host-back':
      return { ...state, hosts: upsert(state.hosts, event.host), lostReasons: withoutKey(state.lostReasons, event.host.id) };
    case 'host-state':
      return { ...state, hosts: upsert(state.hosts, event.host) };
    case 'servers-changed':
      return reduceAgentState(state, { type: 'servers', host: event.host, servers: event.servers });
    case 'server-state':
      return { ...state, servers: upsert(state.servers, event.server) };
    case 'notice':
      return withNotice(state, event.at, event.host, event.message);
    case 'plot-added':
    case 'plot-updated':
      return { ...state, plots: withPlot(state.plots, event.plot) };
    case 'plots-removed': {
      const gone = new Set(event.ids);
      const left = (state.plots[event.kernel] ?? []).filter((p) => !gone.has(p.id));
      return { ...state, plots: { ...state.plots, [event.kernel]: left } };
    }
  }
}

/** A new plot goes first; an updated one keeps its place (its display was replaced, not moved). */
function withPlot(plots: Record<string, PlotSummary[]>, plot: PlotSummary): Record<string, PlotSummary[]> {
  const list = plots[plot.kernel] ?? [];
  const at = list.findIndex((p) => p.id === plot.id);
  if (at >= 0 && list[at]!.version > plot.version) return plots;
  const next = at >= 0 ? list.map((p, i) => (i === at ? plot : p)) : [plot, ...list];
  return { ...plots, [plot.kernel]: next };
}

/** The agent's list (newest first, all kernels) as the window keeps it. */
function plotsByKernel(list: PlotSummary[]): Record<string, PlotSummary[]> {
  const out: Record<string, PlotSummary[]> = {};
  for (const p of list) (out[p.kernel] ??= []).push(p);
  return out;
}

export function reduceAgentState(state: AgentState, action: AgentAction): AgentState {
  switch (action.type) {
    case 'loaded':
      return { ...state, loaded: true, hosts: action.hosts, kernels: action.kernels, servers: action.servers, plots: action.plots ? plotsByKernel(action.plots) : state.plots };
    case 'event':
      return applyEvent(state, action.event);
    case 'host':
      return { ...state, hosts: upsertHostAnswer(state.hosts, action.host) };
    case 'hosts':
      return { ...state, hosts: action.hosts.reduce(upsertHostAnswer, state.hosts) };
    case 'host-removed':
      return {
        ...state,
        hosts: state.hosts.filter((h) => h.id !== action.id),
        kernels: state.kernels.filter((k) => k.host !== action.id),
        servers: state.servers.filter((s) => s.host !== action.id),
      };
    case 'kernel':
      return { ...state, kernels: upsertKernelAnswer(state.kernels, action.kernel) };
    case 'kernel-removed':
      return { ...state, kernels: state.kernels.filter((k) => k.id !== action.id) };
    case 'kernels': {
      const { host } = action;
      const others = host === undefined ? [] : state.kernels.filter((k) => k.host !== host);
      return { ...state, kernels: [...others, ...action.kernels] };
    }
    case 'server':
      return { ...state, servers: upsert(state.servers, action.server) };
    case 'server-removed':
      return { ...state, servers: state.servers.filter((s) => s.id !== action.id) };
    case 'servers': {
      const { host } = action;
      const others = host === undefined ? [] : state.servers.filter((s) => s.host !== host);
      return { ...state, servers: [...others, ...action.servers] };
    }
    case 'dismiss-notice':
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
  }
}

export interface HostGroup {
  /** The host's summary; null for kernels of a host the agent no longer lists. */
  host: HostSummary | null;
  id: string;
  kernels: KernelSummary[];
  servers: ServerSummary[];
}

/** Hosts in the agent's order, each with its kernels, oldest first, and its Jupyter servers. */
export function groupByHost(state: Pick<AgentState, 'hosts' | 'kernels'> & { servers?: ServerSummary[] }): HostGroup[] {
  const groups = new Map<string, HostGroup>();
  const groupOf = (id: string) => {
    let group = groups.get(id);
    if (!group) {
      group = { host: null, id, kernels: [], servers: [] };
      groups.set(id, group);
    }
    return group;
  };
  for (const host of state.hosts) groups.set(host.id, { host, id: host.id, kernels: [], servers: [] });
  for (const kernel of state.kernels) groupOf(kernel.host).kernels.push(kernel);
  for (const server of state.servers ?? []) groupOf(server.host).servers.push(server);
  for (const group of groups.values()) {
    group.kernels.sort((a, b) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity) || a.id.localeCompare(b.id));
  }
  return [...groups.values()];
}
