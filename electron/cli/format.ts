// Plain-text tables and lines for the terminal.
import { formatDuration, hostStateLabel, kernelStateLabel, listenWarning, serverAddress, serverAppLabel, timeLeftLabel } from '../shared/format';
import type { AgentEvent, HostSummary, KernelSummary, PlotSummary, ServerSummary } from '../shared/types';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

export function formatKernels(kernels: KernelSummary[], now: number): string {
  if (!kernels.length) return 'No kernels. Start one with `ktray start HOST` (HOST may be `local`).';
  // Batch jobs' columns only where a kernel is one: most hosts have none.
  const jobs = kernels.some((k) => k.job);
  const withServers = kernels.some((k) => k.server);
  const rows = [['ID', 'STATE', 'PID', 'AGE', 'ATTACHED', 'KERNEL', ...(withServers ? ['NOTEBOOK'] : []), ...(jobs ? ['JOB', 'NODE', 'PARTITION', 'LEFT'] : [])]];
  for (const k of kernels) {
    const j = k.job;
    rows.push([
      k.id,
      kernelStateLabel(k, now),
      k.pid ? String(k.pid) : '-',
      k.startedAt ? formatDuration(now - k.startedAt) : '-',
      k.attached ? 'yes' : 'no',
      k.kernelName,
      ...(withServers ? [k.server ? `${k.notebook ?? '(no notebook)'} on ${k.server.slice(k.server.indexOf('/') + 1)}` : '-'] : []),
      ...(jobs ? [j?.jobId ?? '-', j?.node ?? '-', j?.partition ?? '-', j && k.alive && !j.ended ? timeLeftLabel(j, now).replace(/ left$/, '') : '-'] : []),
    ]);
  }
  const failed = kernels.filter((k) => k.watchError);
  const notes = failed.map((k) => `note: ${k.id} is not watched: ${k.watchError}`);
  for (const k of kernels) if (k.state === 'dead' && k.job?.ended) notes.push(`note: ${k.id}: its job ${k.job.jobId} ended: ${k.job.ended} (${k.job.state}); its output: ${k.job.logFile}`);
  // A batch job's kernel listens on its node's address, which Kernel Tray itself allowed: no warning.
  const exposed = kernels.filter((k) => k.alive && !k.job && k.listens !== 'loopback' && k.listens !== 'ipc').map((k) => `warning: ${listenWarning(k)}`);
  return [table(rows), ...exposed, ...notes].join('\n');
}

export function formatServers(servers: ServerSummary[], now: number): string {
  if (!servers.length) return 'No Jupyter servers. Start one with `ktray server start HOST` (HOST may be `local`).';
  const rows = [['ID', 'APP', 'STATE', 'PID', 'AGE', 'ROOT', 'REMOTE', 'LOCAL', 'KERNELS']];
  for (const s of servers) {
    rows.push([
      s.id,
      serverAppLabel(s),
      s.alive ? 'running' : 'dead',
      s.pid ? String(s.pid) : '-',
      s.startedAt ? formatDuration(now - s.startedAt) : '-',
      s.rootDir || '-',
      serverAddress(s),
      s.localUrl ?? '-',
      String(s.kernels.length),
    ]);
  }
  const notes: string[] = [];
  for (const s of servers) {
    if (!s.alive) notes.push(`note: ${s.id} is not running: ${s.file} is a stale file (\`ktray server stop ${s.id}\` removes it).`);
    if (s.auth === 'password') notes.push(`note: ${s.id} uses a password: \`ktray open\` opens it and the browser asks for the password.`);
    for (const w of s.warnings) notes.push(`warning: ${s.id}: ${w}`);
  }
  return [table(rows), ...notes].join('\n');
}

export function formatHosts(hosts: HostSummary[], now = Date.now()): string {
  const rows = [['HOST', 'CONNECTION', 'ADDRESS', 'KERNELS', 'SOURCE']];
  for (const h of hosts) {
    const address = h.id === 'local' ? 'this computer' : `${h.user ? h.user + '@' : ''}${h.hostname}:${h.port}${h.proxyJump.length ? ` via ${h.proxyJump.join(',')}` : ''}${h.proxyCommand ? ` via ProxyCommand ${h.proxyCommand}` : ''}${h.transport ? ` (${h.transport.kind === 'openssh' ? 'OpenSSH' : 'ssh2'}: ${h.transport.why})` : ''}`;
    const connection = h.error && h.connection !== 'connected' ? `${hostStateLabel(h, now)}: ${h.error.message}` : hostStateLabel(h, now);
    rows.push([h.id, connection, address, String(h.kernelCount), h.source]);
  }
  return table(rows);
}

export function formatEvent(e: AgentEvent): string {
  const t = new Date(e.at).toLocaleTimeString();
  switch (e.type) {
    case 'kernel-started':
      return `${t} started   ${e.kernel.id}`;
    case 'kernel-died':
      return `${t} died      ${e.kernel.id}: ${e.reason}`;
    case 'kernel-state':
      return `${t} state     ${e.kernel.id} ${e.kernel.state}`;
    case 'run-finished':
      return `${t} finished  ${e.kernel.id} after ${formatDuration(e.seconds * 1000)}`;
    case 'job-started':
      return `${t} job runs  ${e.kernel.id}: job ${e.kernel.job?.jobId ?? '?'}${e.kernel.job?.node ? ` on ${e.kernel.job.node}` : ''}`;
    case 'job-time-warning':
      return `${t} time      ${e.kernel.id}: job ${e.kernel.job?.jobId ?? '?'} reaches its time limit in ${e.minutesLeft} min`;
    case 'host-lost':
      return `${t} host lost ${e.host.id}: ${e.reason}`;
    case 'host-back':
      return `${t} host back ${e.host.id} after ${formatDuration(e.downSeconds * 1000)}`;
    case 'notice':
      return `${t} notice    ${e.kernel ?? e.host ?? ''}${e.kernel || e.host ? ': ' : ''}${e.message}`;
    case 'plot-added':
      return `${t} plot      ${formatPlot(e.plot)}`;
    case 'plot-updated':
      return `${t} replotted ${formatPlot(e.plot)}`;
    case 'server-state':
      return `${t} server    ${e.server.id} ${e.server.alive ? 'running' : 'dead'}${e.server.localUrl ? ` at ${e.server.localUrl}` : ''}`;
    default:
      return '';
  }
}

/** `gpu/k#3  640×480 PNG  14 kB  12:03:04  plt.plot([1, 2, 3])`: one plot on one line. */
export function formatPlot(p: PlotSummary): string {
  const size = p.width !== null && p.height !== null ? `${p.width}×${p.height} ` : '';
  const type = { 'image/png': 'PNG', 'image/jpeg': 'JPEG', 'image/svg+xml': 'SVG' }[p.mime];
  const kb = p.bytes < 1000 ? `${p.bytes} B` : `${Math.round(p.bytes / 1000)} kB`;
  // The first line that does something: imports say little about which plot it is.
  const lines = (p.code ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => !/^(import|from)\s/.test(l)) ?? lines[0];
  const code = line ? `  ${line}` : '';
  return `${p.id}  ${size}${type}  ${kb}  ${new Date(p.updatedAt).toLocaleTimeString()}${p.version > 1 ? ` (v${p.version})` : ''}${code.slice(0, 80)}`;
}
