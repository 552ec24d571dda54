// Attachments: the tunnels and local connection file of each attached kernel,
// remembered across agent restarts so frontends find the same ports again.
import { rm } from 'node:fs/promises';
import { KtrayError } from '../../shared/errors';
import { LOCAL_HOST, type Channel, type ChannelPorts } from '../../shared/types';
import type { Host } from '../hosts/host';
import { Attachment, localFileName } from '../tunnels/attachment';
import { logger } from '../util/logger';
import type { KernelTable } from './kernel-table';
import type { Persisted } from './persisted';

const log = logger('attach');

/** A refused forward is said once per channel in this long, not once per ZeroMQ retry. */
const NOTICE_EVERY_MS = 60_000;

export interface AttachmentsOptions {
  table: KernelTable;
  host: (hostId: string) => Host;
  runtimeDir: string;
  persisted: Persisted;
}

export class Attachments {
  private readonly open = new Map<string, Attachment>();
  private readonly noticed = new Map<string, number>();

  constructor(private readonly opts: AttachmentsOptions) {}

  has(id: string): boolean {
    return this.open.has(id) || (this.opts.table.get(id)?.attached ?? false);
  }

  ports(id: string): ChannelPorts | null {
    return this.open.get(id)?.ports ?? null;
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

  /** Opens tunnels and writes the local file; true when this call did it, false when it was attached already. */
  async attach(id: string): Promise<boolean> {
    if (this.has(id)) return false;
    const k = this.opts.table.require(id);
    const { state } = this.opts.persisted;
    if (k.host === LOCAL_HOST) {
      // Same machine: the kernel's own file already works for every frontend.
      this.opts.table.attached(id, { file: k.connectionFile, ports: null });
      return true;
    }
    {
      const host = this.opts.host(k.host);
      await host.connect();
      const a = await Attachment.open({
        host,
        info: this.opts.table.info(id),
        runtimeDir: this.opts.runtimeDir,
        fileName: localFileName(k.host, k.name),
        connectionFile: k.connectionFile,
        wantedPorts: state.attached[id]?.ports,
        onError: (channel, err) => this.tunnelError(id, channel, err),
      });
      this.open.set(id, a);
      this.opts.table.attached(id, { file: a.localFile, ports: a.ports });
      state.attached[id] = { ports: a.ports, localFile: a.localFile, info: this.opts.table.info(id), remoteFile: k.connectionFile };
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
