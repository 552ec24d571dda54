// The native tray menu as a pure function of the agent's state. On Linux this
// menu is all the user gets, so everything the tray can do is reachable here.
import type { MenuItemConstructorOptions } from 'electron';
import { kernelDisplayName, serverAddress, serverAppLabel, transportText } from '../shared/format';
import { LOCAL_HOST, type Frontend, type HostSummary, type KernelSummary, type ServerSummary } from '../shared/types';
import type { AgentSnapshot } from './agent-state';
import { hostStateLabel, jobWhere, kernelStateLabel } from './labels';
import { NOTIFICATION_KINDS, type NotificationKind, type NotificationSwitches } from './notifications';

/** What the menu's clicks ask for; main wires them to the agent and the app. */
export interface MenuIntents {
  attach(kernelId: string, frontend: AttachFrontend): void;
  copyConnectionFile(kernelId: string): void;
  /** The window, on the kernel's plots. */
  openPlots(kernelId: string): void;
  interrupt(kernelId: string): void;
  restart(kernelId: string): void;
  stop(kernelId: string): void;
  startKernel(host: string): void;
  openServer(serverId: string): void;
  copyServerUrl(serverId: string): void;
  closeServer(serverId: string): void;
  stopServer(serverId: string): void;
  startServer(host: string): void;
  reconnect(host: string): void;
  openWindow(): void;
  setStartAtLogin(on: boolean): void;
  setNotification(kind: NotificationKind, on: boolean): void;
  setPreferredFrontend(frontend: AttachFrontend): void;
  retryAgent(): void;
  quit(): void;
}

export type AttachFrontend = Exclude<Frontend, 'none'>;

export interface MenuContext {
  snapshot: AgentSnapshot;
  /** Its Attach item comes first in each kernel's submenu. */
  preferredFrontend: AttachFrontend;
  startAtLogin: boolean;
  notifications: NotificationSwitches;
  /** 'client' when a CLI-started agent serves the socket and the app only talks to it; 'none' while starting. */
  agentMode: 'hosted' | 'client' | 'none';
  now: number;
}

const NOTIFICATION_LABELS: Record<NotificationKind, string> = {
  kernelDied: 'Kernel died',
  hostLost: 'Host connection lost',
  hostBack: 'Host connection back',
  runFinished: 'Long run finished',
  jobStarted: 'Batch job started',
  jobTimeWarning: 'Batch job near its time limit',
  jobEnded: 'Batch job ended',
  newPlot: 'New plot',
};

/** A kernel can take commands when its process runs and its host answers. */
export function kernelIsLive(k: KernelSummary): boolean {
  return k.alive && k.state !== 'dead' && k.state !== 'unknown';
}

function kernelLabel(k: KernelSummary, now: number): string {
  const marks = k.attached ? ' ⇄' : '';
  // A batch job's kernel: where it runs and how long it has left (`c1, 54m left`).
  const job = k.job && k.state !== 'dead' && k.state !== 'queued' ? ` · ${jobWhere(k, now)}` : '';
  // A server's kernel is known by its notebook.
  const name = k.notebook ? kernelDisplayName(k) : k.name;
  return `${name} (${k.kernelName}) — ${kernelStateLabel(k, now)}${job}${marks}`;
}

export function serverItems(s: ServerSummary, kernels: KernelSummary[], i: MenuIntents): MenuItemConstructorOptions {
  const going = kernels.filter((k) => s.kernels.includes(k.id) && k.alive);
  const sub: MenuItemConstructorOptions[] = [
    { label: `${serverAddress(s)}${s.rootDir ? ` — ${s.rootDir}` : ''}`, enabled: false },
  ];
  if (s.localUrl) sub.push({ label: `Here: ${s.localUrl}`, enabled: false });
  if (!s.alive) sub.push({ label: 'Not running: its file is stale', enabled: false });
  if (s.auth === 'password') sub.push({ label: 'Uses a password: the browser asks for it', enabled: false });
  for (const w of s.warnings) sub.push({ label: `⚠ ${w}`, enabled: false });
  if (going.length) sub.push({ label: `Notebooks: ${going.map((k) => kernelDisplayName(k)).join(', ')}`, enabled: false });
  sub.push(
    { type: 'separator' },
    { label: 'Open in browser', enabled: s.alive, click: () => i.openServer(s.id) },
    { label: 'Copy URL', enabled: s.alive, click: () => i.copyServerUrl(s.id) },
  );
  if (s.tunnelled) sub.push({ label: 'Close tunnel', click: () => i.closeServer(s.id) });
  // Says what goes with it: the menu asks no question before acting.
  const stop = !s.alive ? 'Remove stale file' : going.length ? `Stop (and its ${going.length === 1 ? 'kernel' : `${going.length} kernels`})` : 'Stop';
  sub.push({ label: stop, click: () => i.stopServer(s.id) });
  const marks = s.tunnelled ? ' ⇄' : '';
  const warn = s.warnings.length ? ' ⚠' : '';
  return { id: `server:${s.id}`, label: `${serverAppLabel(s)} ${s.name} — ${s.alive ? 'running' : 'dead'}${marks}${warn}`, submenu: sub };
}

const FRONTENDS: readonly AttachFrontend[] = ['qtconsole', 'console'];

export function kernelItems(k: KernelSummary, i: MenuIntents, now: number, preferred: AttachFrontend = 'qtconsole', plots = 0): MenuItemConstructorOptions {
  const live = kernelIsLive(k);
  // A dead kernel can be restarted from its connection file while the host answers; a batch
  // job's kernel only inside its running allocation.
  const canRestart = k.job ? live : k.state !== 'unknown';
  const order = [preferred, ...FRONTENDS.filter((f) => f !== preferred)];
  return {
    id: `kernel:${k.id}`,
    label: kernelLabel(k, now),
    submenu: [
      ...order.map((f) => ({ label: `Attach ${f}`, enabled: live, click: () => i.attach(k.id, f) })),
      {
        label: 'Copy connection file path',
        enabled: k.localConnectionFile !== null || live,
        click: () => i.copyConnectionFile(k.id),
      },
      // Every image any frontend of the kernel showed while Kernel Tray watched it.
      ...(plots > 0 ? [{ label: `Plots (${plots})…`, click: () => i.openPlots(k.id) }] : []),
      { type: 'separator' },
      { label: 'Interrupt', enabled: live, click: () => i.interrupt(k.id) },
      { label: 'Restart', enabled: canRestart, click: () => i.restart(k.id) },
      // A job that waits in the queue can be cancelled as well.
      k.job && !live && (k.state === 'queued' || k.state === 'starting')
        ? { label: 'Cancel job', click: () => i.stop(k.id) }
        : { label: 'Stop', enabled: live, click: () => i.stop(k.id) },
    ],
  };
}

export function hostItems(
  h: HostSummary,
  kernels: KernelSummary[],
  i: MenuIntents,
  now: number,
  preferred: AttachFrontend = 'qtconsole',
  plotCounts: Record<string, number> = {},
  servers: ServerSummary[] = [],
): MenuItemConstructorOptions {
  const sub: MenuItemConstructorOptions[] = [];
  if (h.error) sub.push({ label: h.error.message, enabled: false });
  if (h.error?.hint) sub.push({ label: h.error.hint, enabled: false });
  if (servers.length) {
    sub.push({ label: 'Jupyter servers', enabled: false });
    for (const s of servers) sub.push(serverItems(s, kernels, i));
    sub.push({ type: 'separator' });
  }
  if (kernels.length === 0) sub.push({ label: 'No kernels', enabled: false });
  for (const k of kernels) sub.push(kernelItems(k, i, now, preferred, plotCounts[k.id] ?? 0));
  sub.push({ type: 'separator' });
  sub.push({ label: 'Start kernel', enabled: h.connection !== 'connecting', click: () => i.startKernel(h.id) });
  sub.push({ label: 'Start Jupyter server', enabled: h.connection !== 'connecting', click: () => i.startServer(h.id) });
  if (h.id !== LOCAL_HOST) {
    sub.push({ label: 'Reconnect', enabled: h.connection !== 'connecting', click: () => i.reconnect(h.id) });
    const t = transportText(h);
    sub.push({ label: `${t.label}: ${t.why}`, enabled: false });
  }
  const count = kernels.filter((k) => k.alive).length;
  const label = `${h.id} — ${hostStateLabel(h, now)}${count ? `, ${count} kernel${count === 1 ? '' : 's'}` : ''}`;
  return { id: `host:${h.id}`, label, submenu: sub };
}

/** Local host first, then the others by name; kernels by name within a host. */
function sortedHosts(s: AgentSnapshot): HostSummary[] {
  return [...s.hosts].sort((a, b) => (a.id === LOCAL_HOST ? -1 : b.id === LOCAL_HOST ? 1 : a.id.localeCompare(b.id)));
}

export function buildMenuTemplate(ctx: MenuContext, i: MenuIntents): MenuItemConstructorOptions[] {
  const t: MenuItemConstructorOptions[] = [];
  const { snapshot: s, now } = ctx;
  if (s.error) {
    t.push({ label: s.error, enabled: false });
    t.push({ label: 'Try again', click: () => i.retryAgent() });
  } else if (ctx.agentMode === 'none') {
    t.push({ label: 'Starting the agent…', enabled: false });
  } else {
    if (ctx.agentMode === 'client') t.push({ label: 'Using the agent started by ktray', enabled: false });
    if (s.hosts.length === 0) t.push({ label: 'No hosts', enabled: false });
    for (const h of sortedHosts(s)) {
      const kernels = s.kernels.filter((k) => k.host === h.id).sort((a, b) => a.name.localeCompare(b.name));
      const servers = s.servers.filter((x) => x.host === h.id);
      t.push(hostItems(h, kernels, i, now, ctx.preferredFrontend, s.plotCounts, servers));
    }
  }
  t.push({ type: 'separator' });
  t.push({ label: 'Open Kernel Tray', click: () => i.openWindow() });
  t.push({
    label: 'Notifications',
    submenu: NOTIFICATION_KINDS.map((kind) => ({
      label: NOTIFICATION_LABELS[kind],
      type: 'checkbox' as const,
      checked: ctx.notifications[kind],
      click: () => i.setNotification(kind, !ctx.notifications[kind]),
    })),
  });
  t.push({
    label: 'Preferred frontend',
    submenu: FRONTENDS.map((f) => ({
      label: f,
      type: 'radio' as const,
      checked: ctx.preferredFrontend === f,
      click: () => i.setPreferredFrontend(f),
    })),
  });
  t.push({
    label: 'Start at login',
    type: 'checkbox',
    checked: ctx.startAtLogin,
    click: () => i.setStartAtLogin(!ctx.startAtLogin),
  });
  t.push({ type: 'separator' });
  t.push({
    label: ctx.agentMode === 'hosted' ? 'Quit (kernels keep running)' : 'Quit',
    accelerator: 'CommandOrControl+Q',
    click: () => i.quit(),
  });
  return t;
}
