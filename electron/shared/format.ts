// Words for durations and states, the same in the CLI, the tray menu, the
// notifications and the window.
import type { HostSummary, KernelSummary, SchedulerJob, ServerSummary } from './types';

/** `45s`, `3m`, `1h 5m`, `2h`, `2d 3h`: short enough for a menu line or a table cell. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** `busy 3m`, `unresponsive 20s`, `idle`, `queued (Priority)`, `dead`, ...: the state, and for how long where that matters. */
export function kernelStateLabel(k: Pick<KernelSummary, 'state' | 'stateSince' | 'busySince' | 'job'>, now: number): string {
  if (k.state === 'queued') return k.job?.reason ? `queued (${k.job.reason})` : 'queued';
  if (k.state === 'busy') return `busy ${formatDuration(now - (k.busySince ?? k.stateSince))}`;
  if (k.state === 'unresponsive') return `unresponsive ${formatDuration(now - k.stateSince)}`;
  return k.state;
}

/** Why a kernel shows its state, for a tooltip or a hint. */
export function kernelStateHelp(k: Pick<KernelSummary, 'state' | 'watchError' | 'job'>): string {
  switch (k.state) {
    case 'queued':
      return `Its batch job waits for the scheduler${k.job?.reason ? ` (${k.job.reason})` : ''}.`;
    case 'starting':
      return 'Launched, not answering yet.';
    case 'running':
      return k.watchError
        ? `The process is alive, but watching it failed: ${k.watchError}`
        : 'The process is alive; attach or watch it to see whether it is idle or busy.';
    case 'idle':
      return 'Ready for code.';
    case 'busy':
      return 'Running code.';
    case 'unresponsive':
      return 'The process is alive but its heartbeat stopped answering.';
    case 'dead':
      return k.job?.ended ? `Its batch job ended: ${k.job.ended}.` : 'The kernel process is gone.';
    case 'unknown':
      return 'The host cannot be reached right now.';
  }
}

/** `connected`, `connecting…`, `not connected`, `lost 2m ago`. */
export function hostStateLabel(h: Pick<HostSummary, 'connection' | 'since'>, now: number): string {
  switch (h.connection) {
    case 'connected':
      return 'connected';
    case 'connecting':
      return 'connecting…';
    case 'idle':
      return 'not connected';
    case 'lost':
      return `lost ${formatDuration(now - h.since)} ago`;
  }
}

/** What a user should know about where a kernel listens on its host; null when only its host's users can reach it. */
export function listenWarning(k: Pick<KernelSummary, 'id' | 'host' | 'listens'>): string | null {
  switch (k.listens) {
    case 'all-interfaces':
      return `${k.id} listens on all interfaces of ${k.host}: anyone on ${k.host}'s network can connect to it and read what it prints (Kernel Tray goes in through ${k.host}'s loopback). Start kernels with --ip=127.0.0.1, or with ktray.`;
    case 'other-address':
      return `${k.id} listens on an address that is not ${k.host}'s loopback; Kernel Tray forwards there only if you allow it (\`ktray attach ${k.id} --allow-address ADDR\`, the address in its connection file).`;
    default:
      return null;
  }
}

/** `54m left`, `unlimited`, `over` (its end is due): from the scheduler's time left at the last look. */
export function timeLeftLabel(job: Pick<SchedulerJob, 'endsAt'>, now: number): string {
  if (job.endsAt === null) return 'no limit';
  const left = job.endsAt - now;
  return left > 0 ? `${formatDuration(left)} left` : 'time up';
}

/** `job 12 on c1 (gpu), 54m left`, `job 13 (gpu)`: where a batch job's kernel runs, for a menu line or a row. */
export function jobLabel(k: Pick<KernelSummary, 'job' | 'alive'>, now: number): string {
  const j = k.job;
  if (!j) return '';
  const where = `${j.node ? ` on ${j.node}` : ''}${j.partition ? ` (${j.partition})` : ''}`;
  return `job ${j.jobId}${where}${k.alive && !j.ended ? `, ${timeLeftLabel(j, now)}` : ''}`;
}

/** `127.0.0.1:8888`, `[::1]:8888`, `unix:/run/user/1000/jupyter/x.sock`: where a server listens on its host. */
export function serverAddress(s: Pick<ServerSummary, 'endpoint'>): string {
  const e = s.endpoint;
  if (e.kind === 'unix') return `unix:${e.path}`;
  return `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
}

/**
 * `Notebook`, `JupyterLab (jupyter_server 2.1.0)`, `Jupyter Server 1.23.3`: jpserver files are
 * written by every jupyter_server app, so the command line says which one.
 */
export function serverAppLabel(s: Pick<ServerSummary, 'app' | 'version' | 'command'>): string {
  if (s.app === 'notebook') return `Notebook${s.version ? ` ${s.version}` : ''}`;
  const c = s.command ?? '';
  const app = /jupyter-lab|jupyterlab|jupyter lab/.test(c) ? 'JupyterLab' : /nbclassic/.test(c) ? 'NbClassic' : /jupyter-notebook|-m notebook|jupyter notebook/.test(c) ? 'Notebook 7' : null;
  if (!app) return `Jupyter Server${s.version ? ` ${s.version}` : ''}`;
  return s.version ? `${app} (jupyter_server ${s.version})` : app;
}

/** A kernel as people know it: the notebook a server runs it for, else its kernelspec name. */
export function kernelDisplayName(k: Pick<KernelSummary, 'notebook' | 'kernelName'>): string {
  return k.notebook ? k.notebook.split('/').pop()! : k.kernelName;
}

/** Which SSH transport a host goes through, as `ktray hosts HOST --transport` and the window's note say it. */
export function transportSentence(h: Pick<HostSummary, 'id' | 'transport'>): string {
  const kind = h.transport?.kind === 'openssh' ? 'your OpenSSH client' : 'ssh2';
  return `${h.id} goes through ${kind}${h.transport?.why ? ` (${h.transport.why})` : ''}.`;
}

/** A host's transport line (window row, tray menu): which one, and why (the agent's words, as `ktray hosts` prints them). */
export function transportText(host: Pick<HostSummary, 'transport'>): { label: string; why: string } {
  const t = host.transport;
  if (t?.kind === 'openssh') return { label: 'Through your OpenSSH client', why: t.why };
  return { label: 'Through ssh2 (built in)', why: t?.why || 'nothing needs OpenSSH' };
}
