// Attachments: the tunnels and local connection file of each attached kernel,
// remembered across agent restarts so frontends find the same sockets (or
// ports) again.
import { rm } from 'node:fs/promises';
import { KtrayError } from '../../shared/errors';
import { LOCAL_HOST, type Channel, type KernelSummary, type LocalChannels } from '../../shared/types';
import type { Host } from '../hosts/host';
import { Attachment, localFileName } from '../tunnels/attachment';
import { logger } from '../util/logger';
import { unixSocketsHere } from '../util/paths';
import type { AddressAllowances } from './address-allowances';
import type { KernelTable } from './kernel-table';
import type { Persisted } from './persisted';
import type { AttachedRecord } from './state-store';

const log = logger('attach');

/** A refused forward is said once per channel in this long, not once per ZeroMQ retry. */
const NOTICE_EVERY_MS = 60_000;

export interface AttachmentsOptions {
  table: KernelTable;
  host: (hostId: string) => Host;
  /** Where a kernel's tunnels go from: its host's session, or its compute node's (a cluster's nodeSsh). */
  tunnelHost?: (k: KernelSummary) => Host;
  runtimeDir: string;
  persisted: Persisted;
  allowances: AddressAllowances;
}

export class Attachments {
  private readonly open = new Map<string, Attachment>();
  private readonly noticed = new Map<string, number>();

  constructor(private readonly opts: AttachmentsOptions) {}

  has(id: string): boolean {
    return this.open.has(id) || (this.opts.table.get(id)?.attached ?? false);
  }

  /** Where an open attachment is reachable here, null when none is open. */
  local(id: string): LocalChannels | null {
    return this.open.get(id)?.local ?? null;
  }

  /** Hosts with an attachment open: their connections are wanted. */
  wantsHost(hostId: string): boolean {
    return this.opts.table.ids(hostId).some((id) => this.has(id));
  }

  /** Remembered from before an agent restart. */
  remembered(): string[] {
    return Object.keys(this.opts.persisted.state.attached);
  }

  rememberedFile(id: string): string | null {
    return this.opts.persisted.state.attached[id]?.localFile ?? null;
  }

  /**
   * Opens tunnels and writes the local file; true when this call did it, false
   * when it was attached already. The local end is `localTransport` if given,
   * else what it was before an agent restart, else unix sockets (tcp on Windows).
   */
  async attach(id: string, opts: { localTransport?: 'tcp' | 'ipc' } = {}): Promise<boolean> {
    const k = this.opts.table.require(id);
    if (this.has(id)) {
      const now = this.open.get(id)?.local.transport;
      if (opts.localTransport && now && now !== opts.localTransport) {
        throw new KtrayError({
          code: 'BAD_INPUT',
          host: k.host,
          message: `${id} is attached already, over ${words(now)} (${k.localConnectionFile}); changing that would cut off the frontends using it.`,
          hint: `Detach it first (\`ktray detach ${id}\`), then attach it again${opts.localTransport === 'tcp' ? ' with --tcp' : ''}.`,
        });
      }
      return false;
    }
    if (k.host === LOCAL_HOST) {
      // Same machine: the kernel's own file already works for every frontend.
      this.opts.table.attached(id, { file: k.connectionFile, channels: null });
      return true;
    }
    const { state } = this.opts.persisted;
    const before = state.attached[id];
    const localTransport = opts.localTransport ?? transportOf(before) ?? (unixSocketsHere() ? 'ipc' : 'tcp');
    if (localTransport === 'ipc' && !unixSocketsHere()) {
      throw new KtrayError({ code: 'BAD_INPUT', host: k.host, message: 'Unix sockets for local frontends are not offered on Windows.', hint: 'Attach over tcp (127.0.0.1).' });
    }
    {
      const host = this.opts.tunnelHost?.(k) ?? this.opts.host(k.host);
      const viaNode = host.id !== k.host;
      await host.connect().catch((err: unknown) => {
        throw viaNode ? nodeError(k, host.id, err) : err;
      });
      const a = await Attachment.open({
        host,
        info: this.opts.table.info(id),
        kernel: id,
        runtimeDir: this.opts.runtimeDir,
        fileName: localFileName(k.host, k.name),
        connectionFile: k.connectionFile,
        localTransport,
        wanted: localOf(before),
        allowedAddresses: this.opts.allowances.of(id),
        onError: (channel, err) => this.tunnelError(id, channel, err),
      });
      // A job's kernel is on another machine than its host: one forward tried now, so a login
      // node that forbids forwarding is said at attach, with the setting that goes round it.
      if (k.job) {
        try {
          await probe(host, this.opts.table.info(id));
        } catch (err) {
          await a.close({ removeFile: true });
          throw viaNode ? nodeError(k, host.id, err) : forwardError(k, err);
        }
      }
      this.open.set(id, a);
      this.opts.table.attached(id, { file: a.localFile, channels: a.local });
      state.attached[id] = {
        ports: a.ports,
        localFile: a.localFile,
        info: this.opts.table.info(id),
        remoteFile: k.connectionFile,
        localTransport: a.local.transport,
        localIp: a.local.ip,
      };
    }
    await this.opts.persisted.save();
    return true;
  }

  /** Closes the tunnels; the local file goes too unless `keepFile` (agent shutdown: a restart re-attaches). */
  async detach(id: string, opts: { keepFile?: boolean } = {}): Promise<void> {
    const a = this.open.get(id);
    this.open.delete(id);
    const k = this.opts.table.get(id);
    if (a) await a.close({ removeFile: !opts.keepFile });
    else if (!opts.keepFile && k?.localConnectionFile && k.host !== LOCAL_HOST) await rm(k.localConnectionFile, { force: true });
    const before = localOf(this.opts.persisted.state.attached[id]);
    // Sockets a killed agent left for an attachment not open now.
    if (!a && !opts.keepFile && before) await Attachment.removeLeftovers(before);
    if (!opts.keepFile) {
      delete this.opts.persisted.state.attached[id];
      await this.opts.persisted.save();
    }
    this.opts.table.detached(id, { fileKept: opts.keepFile ?? false });
  }

  /** Agent shutdown: tunnels close, files and memory stay for the next agent. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open.values()].map((a) => a.close({ removeFile: false })));
    this.open.clear();
  }

  private tunnelError(id: string, channel: Channel, err: Error): void {
    const code = err instanceof KtrayError ? err.code : 'INTERNAL';
    // Only a refusal by the server is news: while a host is down every retry fails
    // (host-lost says so), and nothing listening means the kernel exited (its death is told).
    if (code !== 'FORWARD_REFUSED') {
      log.debug(`${id}: ${channel}: ${err.message}`);
      return;
    }
    const key = `${id} ${channel}`;
    const last = this.noticed.get(key) ?? 0;
    if (Date.now() - last < NOTICE_EVERY_MS) return;
    this.noticed.set(key, Date.now());
    const hint = err instanceof KtrayError && err.hint ? ` ${err.hint}` : '';
    log.warn(`${id}: ${channel}: ${err.message}`);
    this.opts.table.notice(id, `A frontend's ${channel} connection to ${id} could not be forwarded: ${err.message}${hint}`);
  }
}

function transportOf(r: AttachedRecord | undefined): 'tcp' | 'ipc' | undefined {
  if (!r) return undefined;
  return r.localTransport ?? 'tcp';
}

function localOf(r: AttachedRecord | undefined): LocalChannels | null {
  if (!r) return null;
  const transport = r.localTransport ?? 'tcp';
  return { transport, ip: r.localIp ?? '127.0.0.1', ports: r.ports };
}

function words(transport: 'tcp' | 'ipc'): string {
  return transport === 'ipc' ? 'unix sockets' : '127.0.0.1 TCP ports';
}

/** Opens a stream to the kernel's heartbeat port and closes it again. */
async function probe(host: Host, info: { transport: string; ip: string; hb_port: number }): Promise<void> {
  if (info.transport !== 'tcp') return;
  const stream = await host.openStream(info.ip, info.hb_port);
  stream.destroy();
}

function forwardError(k: KernelSummary, err: unknown): unknown {
  if (!(err instanceof KtrayError) || err.code !== 'FORWARD_REFUSED') return err;
  return new KtrayError({
    code: 'FORWARD_REFUSED',
    host: k.host,
    message: `${k.host} (the login node) refused to forward to ${k.id}'s kernel on its compute node ${k.job?.node ?? ''}: ${err.message}`,
    hint:
      `If the site forbids forwarding on its login node (AllowTcpForwarding no) but runs sshd on the compute nodes, ` +
      `\`ktray slurm ${k.host} --node-ssh on\` reaches kernels by SSH to their node, through the login node's connection.`,
  });
}

function nodeError(k: KernelSummary, node: string, err: unknown): unknown {
  if (!(err instanceof KtrayError)) return err;
  if (err.code === 'HOST_KEY_UNKNOWN') {
    const d = err.detail as { fingerprint?: string; keyType?: string; knownHostsFile?: string } | undefined;
    return new KtrayError({
      code: 'HOST_KEY_UNKNOWN',
      host: k.host,
      message: `The compute node ${node} of ${k.host} (reached by SSH for ${k.id}: nodeSsh is on) is not in known_hosts. It offers ${d?.keyType} key ${d?.fingerprint}.`,
      hint:
        `Check that fingerprint with the cluster's administrator, then add the node's line to ${d?.knownHostsFile ?? '~/.ssh/known_hosts'}: ` +
        `\`ssh ${k.host} ssh-keyscan -t ${(d?.keyType ?? 'ed25519').replace(/^ssh-/, '')} ${node}\` prints it (\`| ssh-keygen -lf -\` shows its fingerprint). Nothing was trusted.`,
      detail: err.detail,
    });
  }
  return new KtrayError({ ...err.toData(), host: k.host, message: `Reaching ${k.id}'s compute node ${node} by SSH (nodeSsh is on for ${k.host}): ${err.message}` });
}
