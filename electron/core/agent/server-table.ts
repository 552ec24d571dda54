// The agent's table of Jupyter servers: the only writer of server summaries
// and the only emitter of server events, as the kernel table is for kernels.
// It alone holds the servers' tokens; summaries (what faces see) never do.
import { KtrayError } from '../../shared/errors';
import { serverId } from '../../shared/server-id';
import type { ServerSummary } from '../../shared/types';
import { serverAuth, urlWithoutToken, type ServerInfo, type ServerPlace } from '../servers/server-file';
import type { FoundServer } from '../servers/server-ops';
import type { EventBus } from './event-bus';

interface Entry {
  summary: ServerSummary;
  info: ServerInfo;
  place: ServerPlace;
  processStart: string | null;
}

export interface ServerTableOptions {
  events: EventBus;
  /** Started by `ktray server start` (remembered across agent restarts). */
  startedHere: (id: string) => boolean;
}

export class ServerTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: ServerTableOptions) {}

  // ---- reading ---------------------------------------------------------------

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): ServerSummary | undefined {
    const e = this.entries.get(id);
    return e ? copy(e.summary) : undefined;
  }

  require(id: string): ServerSummary {
    const s = this.get(id);
    if (!s) {
      const host = id.includes('/') ? id.slice(0, id.indexOf('/')) : id;
      throw new KtrayError({
        code: 'SERVER_NOT_FOUND',
        host,
        message: `No Jupyter server ${id}.`,
        hint: `\`ktray servers ${host}\` lists the servers there; ids look like HOST/jpserver-PID or HOST/nbserver-PID.`,
      });
    }
    return s;
  }

  /** What the agent needs to reach and log in to the server; the token never leaves the agent's process. */
  secret(id: string): { info: ServerInfo; place: ServerPlace; processStart: string | null } {
    const e = this.entries.get(id);
    if (!e) this.require(id);
    return { info: e!.info, place: e!.place, processStart: e!.processStart };
  }

  summaries(host?: string): ServerSummary[] {
    return [...this.entries.values()]
      .filter((e) => !host || e.summary.host === host)
      .map((e) => copy(e.summary))
      .sort((a, b) => a.host.localeCompare(b.host) || (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id.localeCompare(b.id));
  }

  ids(host?: string): string[] {
    return [...this.entries.values()].filter((e) => !host || e.summary.host === host).map((e) => e.summary.id);
  }

  // ---- what hosts said -----------------------------------------------------------

  /**
   * Merges one host's listing. `kernels` maps each server name to its kernels'
   * ids; servers whose files are gone are dropped unless `keep` (tunnelled
   * ones stay visible as dead).
   */
  listed(host: string, found: FoundServer[], kernels: Map<string, string[]>, keep: (id: string) => boolean): { removed: string[] } {
    const seen = new Set<string>();
    for (const f of found) {
      const id = serverId(host, f.name);
      seen.add(id);
      const e = this.entries.get(id);
      const s = this.fill(host, f, e?.summary);
      s.kernels = kernels.get(f.name) ?? [];
      this.entries.set(id, { summary: s, info: f.info, place: f.place, processStart: f.processStart ?? e?.processStart ?? null });
    }
    const removed: string[] = [];
    for (const e of [...this.entries.values()]) {
      const id = e.summary.id;
      if (e.summary.host !== host || seen.has(id)) continue;
      if (keep(id)) {
        e.summary.alive = false;
        e.summary.kernels = [];
      } else {
        this.entries.delete(id);
        removed.push(id);
      }
    }
    this.announce(host);
    return { removed };
  }

  /** A server this agent just started. */
  started(host: string, f: FoundServer): ServerSummary {
    const id = serverId(host, f.name);
    this.entries.set(id, { summary: this.fill(host, f, undefined), info: f.info, place: f.place, processStart: f.processStart });
    this.announce(host);
    return this.require(id);
  }

  // ---- what the agent did ----------------------------------------------------------

  tunnelled(id: string, local: { port: number }): void {
    const e = this.entry(id);
    e.summary.tunnelled = true;
    e.summary.localPort = local.port;
    e.summary.localUrl = `http://127.0.0.1:${local.port}${e.info.baseUrl}`;
    this.changed(e);
  }

  untunnelled(id: string): void {
    const e = this.entries.get(id);
    if (!e || !e.summary.tunnelled) return;
    e.summary.tunnelled = false;
    e.summary.localPort = null;
    e.summary.localUrl = null;
    this.changed(e);
  }

  /** Stopped by the user: gone from the table. */
  stopped(id: string): ServerSummary {
    const e = this.entry(id);
    const s = e.summary;
    Object.assign(s, { alive: false, tunnelled: false, localPort: null, localUrl: null, kernels: [] });
    this.entries.delete(id);
    this.announce(s.host);
    return copy(s);
  }

  notice(id: string, message: string): void {
    this.opts.events.emit({ type: 'notice', at: Date.now(), host: this.entries.get(id)?.summary.host ?? null, message });
  }

  // ---- inside --------------------------------------------------------------------

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) this.require(id);
    return e!;
  }

  private fill(host: string, f: FoundServer, before: ServerSummary | undefined): ServerSummary {
    const id = serverId(host, f.name);
    return {
      id,
      host,
      name: f.name,
      file: f.file,
      app: f.info.app,
      version: f.info.version,
      rootDir: f.info.rootDir,
      pid: f.pid,
      alive: f.alive,
      startedAt: before && before.pid === f.pid && before.startedAt ? before.startedAt : f.startedAt,
      command: f.command ?? before?.command ?? null,
      endpoint: f.place.endpoint,
      remoteUrl: urlWithoutToken(f.info.url),
      baseUrl: f.info.baseUrl,
      secure: f.info.secure,
      auth: serverAuth(f.info),
      listens: f.place.listens,
      warnings: f.warnings,
      tunnelled: before?.tunnelled ?? false,
      localUrl: before?.localUrl ?? null,
      localPort: before?.localPort ?? null,
      kernels: before?.kernels ?? [],
      startedByKtray: this.opts.startedHere(id),
    };
  }

  private changed(e: Entry): void {
    this.opts.events.emit({ type: 'server-state', at: Date.now(), server: copy(e.summary) });
  }

  private announce(host: string): void {
    this.opts.events.emit({ type: 'servers-changed', at: Date.now(), host, servers: this.summaries(host) });
  }
}

function copy(s: ServerSummary): ServerSummary {
  return { ...s, endpoint: { ...s.endpoint }, warnings: [...s.warnings], kernels: [...s.kernels] };
}
