// The agent's table of kernels: what each host's listing said, merged with what
// the agent knows (attachments, watches), and every state change as an event.
import type { Attachment } from '../tunnels/attachment';
import { KtrayError } from '../../shared/errors';
import type { FoundKernel } from '../kernels/kernel-ops';
import type { AgentEvent, ConnectionInfo, KernelState, KernelSummary } from '../../shared/types';

export interface KernelRecord {
  summary: KernelSummary;
  info: ConnectionInfo;
  attachment: Attachment | null;
  /** A stop or restart asked by the user is under way: its exit is not a death. */
  expectingExit: boolean;
}

export interface KernelRecordsOptions {
  emit: (event: AgentEvent) => void;
  /** Stop watching a kernel that is gone. */
  unwatch: (id: string) => void;
  /** The local connection file a kernel had when last attached, if any. */
  rememberedFile: (id: string) => string | null;
}

export class KernelRecords {
  private readonly byId = new Map<string, KernelRecord>();

  constructor(private readonly opts: KernelRecordsOptions) {}

  get(id: string): KernelRecord | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  all(): KernelRecord[] {
    return [...this.byId.values()];
  }

  onHost(hostId: string): KernelRecord[] {
    return this.all().filter((r) => r.summary.host === hostId);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** Copies, in a stable order: by host, then oldest first. */
  summaries(host?: string): KernelSummary[] {
    return this.all()
      .filter((r) => !host || r.summary.host === host)
      .map((r) => ({ ...r.summary }))
      .sort((a, b) => a.host.localeCompare(b.host) || (a.startedAt ?? 0) - (b.startedAt ?? 0));
  }

  find(id: string): KernelRecord {
    const r = this.byId.get(id);
    if (!r) {
      const host = id.split('/')[0];
      throw new KtrayError({
        code: 'KERNEL_NOT_FOUND',
        host,
        message: `No kernel ${id}.`,
        hint: `\`ktray ls ${host}\` lists the kernels there; ids look like HOST/KERNEL.`,
      });
    }
    return r;
  }

  add(hostId: string, k: FoundKernel, state?: KernelState): KernelRecord {
    const id = `${hostId}/${k.name}`;
    const r: KernelRecord = {
      info: k.info,
      attachment: null,
      expectingExit: false,
      summary: {
        id,
        host: hostId,
        name: k.name,
        connectionFile: k.connectionFile,
        kernelName: k.info.kernel_name || 'python3',
        pid: k.pid,
        alive: k.alive,
        startedAt: k.startedAt,
        command: k.command,
        attached: false,
        localConnectionFile: this.opts.rememberedFile(id),
        localPorts: null,
        state: state ?? (k.alive ? 'running' : 'dead'),
        stateSince: Date.now(),
        busySince: null,
        watched: false,
      },
    };
    this.byId.set(id, r);
    return r;
  }

  /** Merges one host's listing: new kernels added, known ones updated, vanished ones dropped. */
  mergeListing(hostId: string, kernels: FoundKernel[]): void {
    const seen = new Set<string>();
    for (const k of kernels) {
      const id = `${hostId}/${k.name}`;
      seen.add(id);
      const r = this.byId.get(id);
      if (r) this.merge(r, k);
      else this.add(hostId, k);
    }
    for (const r of this.onHost(hostId)) {
      if (seen.has(r.summary.id)) continue;
      // The file is gone: a kernel that shut down cleanly. Keep attached ones visible as dead.
      if (r.attachment) this.markDead(r, 'its connection file was removed');
      else this.byId.delete(r.summary.id);
    }
  }

  private merge(r: KernelRecord, k: FoundKernel): void {
    const s = r.summary;
    const restarted = k.alive && s.pid !== null && k.pid !== null && k.pid !== s.pid;
    r.info = k.info;
    Object.assign(s, { connectionFile: k.connectionFile, pid: k.pid ?? s.pid, command: k.command ?? s.command, alive: k.alive });
    if (restarted || (k.startedAt && !s.startedAt)) s.startedAt = k.startedAt;
    if (!k.alive && s.state !== 'dead') this.markDead(r, 'its process is gone');
    else if (k.alive && (s.state === 'dead' || s.state === 'unknown')) this.setState(r, s.watched ? 'starting' : 'running');
  }

  /** Live kernels of a host whose state nobody can know now (the host is unreachable). */
  markUnknown(hostId: string): void {
    for (const r of this.onHost(hostId)) if (r.summary.alive) this.setState(r, 'unknown');
  }

  markDead(r: KernelRecord, reason: string): void {
    const s = r.summary;
    s.alive = false;
    const wasDead = s.state === 'dead';
    this.setState(r, 'dead');
    if (s.watched) {
      this.opts.unwatch(s.id);
      s.watched = false;
    }
    if (!wasDead && !r.expectingExit) this.opts.emit({ type: 'kernel-died', at: Date.now(), kernel: { ...s }, reason });
  }

  setState(r: KernelRecord, state: KernelState): void {
    const s = r.summary;
    if (s.state === state) return;
    const now = Date.now();
    s.state = state;
    s.stateSince = now;
    s.busySince = state === 'busy' ? now : null;
    this.changed(r);
  }

  /** Tells every face about this kernel as it is now. */
  changed(r: KernelRecord): void {
    this.opts.emit({ type: 'kernel-state', at: Date.now(), kernel: { ...r.summary } });
  }
}
