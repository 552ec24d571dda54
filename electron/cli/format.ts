// Plain-text tables and lines for the terminal.
import type { AgentEvent, HostSummary, KernelSummary } from '../shared/types';

export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

export function stateLabel(k: KernelSummary, now: number): string {
  if (k.state === 'busy' && k.busySince) return `busy ${age(now - k.busySince)}`;
  return k.state;
}

export function formatKernels(kernels: KernelSummary[], now: number): string {
  if (!kernels.length) return 'No kernels. Start one with `ktray start HOST` (HOST may be `local`).';
  const rows = [['ID', 'STATE', 'PID', 'AGE', 'ATTACHED', 'KERNEL']];
  for (const k of kernels) {
    rows.push([k.id, stateLabel(k, now), k.pid ? String(k.pid) : '-', k.startedAt ? age(now - k.startedAt) : '-', k.attached ? 'yes' : 'no', k.kernelName]);
  }
  return table(rows);
}

export function formatHosts(hosts: HostSummary[]): string {
  const rows = [['HOST', 'CONNECTION', 'ADDRESS', 'KERNELS', 'SOURCE']];
  for (const h of hosts) {
    const address = h.id === 'local' ? 'this computer' : `${h.user ? h.user + '@' : ''}${h.hostname}:${h.port}${h.proxyJump.length ? ` via ${h.proxyJump.join(',')}` : ''}`;
    rows.push([h.id, h.error && h.connection !== 'connected' ? `${h.connection}: ${h.error.message}` : h.connection, address, String(h.kernelCount), h.source]);
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
      return `${t} finished  ${e.kernel.id} after ${Math.round(e.seconds)} s`;
    case 'host-lost':
      return `${t} host lost ${e.host.id}: ${e.reason}`;
    case 'host-back':
      return `${t} host back ${e.host.id} after ${e.downSeconds} s`;
    case 'notice':
      return `${t} notice    ${e.host ? e.host + ': ' : ''}${e.message}`;
    default:
      return '';
  }
}
