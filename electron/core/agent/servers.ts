// The Jupyter servers the faces ask about: their part of each host listing
// (and the notebooks their kernels serve), start, open (a tunnel on a stable
// 127.0.0.1 port and a page that logs the browser in), close and stop, each
// told to the server table as it happens.
import { rm } from 'node:fs/promises';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import { kernelId } from '../../shared/kernel-id';
import { parseServerId } from '../../shared/server-id';
import { LOCAL_HOST, type KernelSummary, type ServerOpened, type ServerStartOptions, type ServerStopped, type ServerSummary } from '../../shared/types';
import type { Listing } from '../kernels/kernel-ops';
import { landingPath, serverLeftovers, serverSessions, serverStream, serverVersion, startServer, stopServer } from '../servers/server-ops';
import { loginFilePath, removeLoginFile, writeLoginFile } from '../servers/login-file';
import type { ServerSession } from '../servers/server-http';
import { Tunnel } from '../tunnels/tunnel';
import { quote } from '../util/shell-quote';
import { errorText, logger } from '../util/logger';
import type { Hosts } from './hosts';
import type { KernelTable } from './kernel-table';
import type { Persisted } from './persisted';
import type { ServerTable } from './server-table';

const log = logger('servers');

export interface ServersOptions {
  table: ServerTable;
  kernels: KernelTable;
  hosts: Hosts;
  persisted: Persisted;
  /** KTRAY_HOME: login pages are written under it (0700). */
  home: string;
  /** Lists the host again (kernels and servers, one round trip). */
  refresh: (host: string) => Promise<void>;
  /** Stops a kernel the usual way (what is left of a stopped server's kernels). */
  stopKernel: (id: string) => Promise<KernelSummary>;
}

export class Servers {
  private readonly tunnels = new Map<string, Tunnel>();

  constructor(private readonly o: ServersOptions) {}

  wantsHost(hostId: string): boolean {
    return this.o.table.ids(hostId).some((id) => this.tunnels.has(id));
  }

  // ---- listing: the servers' part of a host's one round trip --------------------------

  /**
   * Sessions asked at once of the servers this agent already knows to be
   * alive on the host, while the listing's own round trip runs: the two
   * overlap, so a listing costs about one round trip, not three.
   */
  prefetch(hostId: string): Map<string, { token: string; sessions: Promise<ServerSession[]> }> {
    const early = new Map<string, { token: string; sessions: Promise<ServerSession[]> }>();
    if (!this.o.hosts.isUp(hostId) && hostId !== LOCAL_HOST) return early;
    const host = this.o.hosts.get(hostId);
    for (const s of this.o.table.summaries(hostId)) {
      if (!s.alive) continue;
      const { info, place } = this.o.table.secret(s.id);
      if (!info.token || !place.target) continue;
      const sessions = serverSessions(serverStream(host, place, s.name), info);
      sessions.catch(() => {});
      early.set(s.name, { token: info.token, sessions });
    }
    return early;
  }

  /**
   * Before the kernels are merged: which server runs each kernel (the
   * server's children, and its sessions) and the notebook it serves, from
   * each live server's /api/sessions on a stream through the host's
   * connection. A server that cannot be asked keeps its kernels' last names.
   */
  async annotate(hostId: string, listing: Listing, early: ReturnType<Servers['prefetch']> = new Map()): Promise<void> {
    const host = this.o.hosts.get(hostId);
    await Promise.all(
      listing.servers.map(async (s) => {
        if (!s.alive || !s.info.token || !s.place.target) {
          for (const k of listing.kernels) if (k.server === s.name) k.notebook = s.info.token ? undefined : null;
          return;
        }
        let sessions: ServerSession[];
        const stream = serverStream(host, s.place, s.name);
        // Classic Notebook's file has no version; its /api says it (asked once per server).
        const known = this.o.table.get(`${hostId}/${s.name}`)?.version ?? null;
        const version = s.info.version || known ? Promise.resolve(s.info.version ?? known) : serverVersion(stream, s.info).catch(() => null);
        const asked = early.get(s.name);
        try {
          sessions = asked && asked.token === s.info.token ? await asked.sessions.catch(() => serverSessions(stream, s.info)) : await serverSessions(stream, s.info);
          s.info = { ...s.info, version: await version };
        } catch (err) {
          listing.warnings.push(`Could not ask the Jupyter server ${s.name} which notebooks its kernels run: ${errorText(err)}.`);
          for (const k of listing.kernels) if (k.server === s.name) k.notebook = undefined;
          return;
        }
        const dir = s.file.slice(0, s.file.lastIndexOf('/'));
        for (const k of listing.kernels) {
          const session = sessions.find((x) => k.name === x.kernelId || (k.name.startsWith(`${x.kernelId}@`) && k.connectionFile.startsWith(`${dir}/`)));
          if (session) {
            k.server = s.name;
            k.notebook = session.path;
          } else if (k.server === s.name) {
            k.notebook = null;
          }
        }
      }),
    );
  }

  /** After the kernels are merged: the servers, each with its kernels. */
  async merge(hostId: string, listing: Listing): Promise<void> {
    const kernels = new Map<string, string[]>();
    for (const k of listing.kernels) if (k.server) kernels.set(k.server, [...(kernels.get(k.server) ?? []), kernelId(hostId, k.name)]);
    const { removed } = this.o.table.listed(hostId, listing.servers, kernels, (id) => this.tunnels.has(id));
    // A dead server's token opens nothing: its login page goes now, the tunnel stays until closed.
    for (const s of this.o.table.summaries(hostId)) if (!s.alive) await removeLoginFile(this.o.home, s.id);
    if (removed.length === 0) return;
    const { state } = this.o.persisted;
    for (const id of removed) {
      delete state.servers[id];
      await removeLoginFile(this.o.home, id);
    }
    await this.o.persisted.save();
  }

  /** `listed` lists the hosts as kernels do (servers come in the same round trip). */
  async list(params: { host?: string; refresh?: boolean }, listed: (p: { host?: string; refresh?: boolean }) => Promise<unknown>): Promise<ServerSummary[]> {
    await listed(params);
    return this.o.table.summaries(params.host);
  }

  /** The server's summary, listing its host first if this agent has not seen it yet. */
  private async lookup(id: string): Promise<ServerSummary> {
    const { host } = parseServerId(id);
    if (!this.o.table.has(id)) await this.o.refresh(host);
    if (!this.o.table.has(id) && this.o.kernels.has(id)) {
      throw new KtrayError({ code: 'BAD_INPUT', host, message: `${id} is a kernel, not a Jupyter server.`, hint: `\`ktray servers ${host}\` lists the servers there.` });
    }
    return this.o.table.require(id);
  }

  private requireAlive(s: ServerSummary, action: string): void {
    if (!s.alive) {
      throw new KtrayError({
        code: 'SERVER_DEAD',
        host: s.host,
        message: `Cannot ${action} ${s.id}: its process (pid ${s.pid ?? '?'}) is not running; ${s.file} is a stale server file.`,
        hint: `\`ktray server stop ${s.id}\` removes the stale file; \`ktray server start ${s.host}\` starts a new server.`,
      });
    }
  }

  // ---- start -------------------------------------------------------------------------

  async start(params: ServerStartOptions): Promise<ServerSummary> {
    this.o.hosts.validateId(params.host);
    if (params.app !== undefined && !['lab', 'notebook', 'server'].includes(params.app)) {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.host, message: `--app must be lab, notebook or server, not ${params.app}.` });
    }
    const host = this.o.hosts.get(params.host);
    const started = await startServer(host, { app: params.app, cwd: params.cwd, python: params.python });
    const id = `${params.host}/${started.server.name}`;
    this.o.persisted.state.servers[id] = { ...this.o.persisted.state.servers[id], started: { app: started.app, cwd: params.cwd, python: started.python } };
    await this.o.persisted.save();
    await this.o.hosts.markUsed(params.host);
    this.o.table.started(params.host, started.server);
    if (!started.ownToken) {
      this.o.table.notice(id, `${id} uses the token or password set in your Jupyter config on ${params.host}, not a fresh one from Kernel Tray.`);
    }
    return this.o.table.require(id);
  }

  // ---- open: a tunnel and a logged-in browser -----------------------------------------------

  /** The 127.0.0.1 listener for a server, on the port it had before where that is free. */
  private async tunnel(id: string): Promise<number> {
    const open = this.tunnels.get(id);
    if (open) return open.port;
    const s = this.o.table.require(id);
    const { place } = this.o.table.secret(id);
    const host = this.o.hosts.get(s.host);
    const stream = serverStream(host, place, id);
    await host.connect();
    const record = this.o.persisted.state.servers[id] ?? {};
    const t = new Tunnel({ open: stream, localPort: record.localPort, onError: (err) => log.debug(`${id}: ${err.message}`) });
    const port = await t.listen();
    this.tunnels.set(id, t);
    this.o.persisted.state.servers[id] = { ...record, localPort: port, open: true };
    await this.o.persisted.save();
    await this.o.hosts.markUsed(s.host);
    this.o.table.tunnelled(id, { port });
    return port;
  }

  /**
   * Forwards the server to 127.0.0.1 here and checks that it answers through
   * the tunnel; writes the page that logs a browser in (0600: it holds the
   * token) for the caller to open.
   */
  async open(params: { id: string }): Promise<ServerOpened> {
    const s = await this.lookup(params.id);
    this.requireAlive(s, 'open');
    const fresh = !this.tunnels.has(s.id);
    const port = await this.tunnel(s.id);
    const { info } = this.o.table.secret(s.id);
    const local = () => connectLocal(port);
    let landing: string;
    try {
      landing = await landingPath(local, info);
    } catch (err) {
      if (fresh) await this.close({ id: s.id }).catch(() => {});
      throw new KtrayError({
        code: 'SERVER_UNREACHABLE',
        host: s.host,
        message: `The Jupyter server ${s.id} did not answer through its tunnel: ${errorText(err)}.`,
        hint: `Check that it still runs on ${s.host} (\`ktray servers ${s.host}\`); its log may say why.`,
      });
    }
    const summary = this.o.table.require(s.id);
    const localUrl = summary.localUrl!;
    let loginFile: string | null = null;
    let note: string | null = null;
    if (info.token) {
      loginFile = await writeLoginFile(this.o.home, s.id, localUrl, landing, info.token);
    } else if (info.password) {
      note = `${s.id} uses a password, not a token: the browser will ask for it (Kernel Tray never sees it).`;
    } else {
      note = `${s.id} asks for no token or password: anyone who reaches it can run code in it.`;
    }
    return { server: summary, localUrl: new URL(landing, localUrl).toString(), loginFile, note };
  }

  /** Closes the tunnel; the server keeps running and keeps its local port for next time. */
  async close(params: { id: string }): Promise<ServerSummary> {
    const t = this.tunnels.get(params.id);
    this.tunnels.delete(params.id);
    await t?.close();
    const record = this.o.persisted.state.servers[params.id];
    if (record?.open) {
      record.open = false;
      await this.o.persisted.save();
    }
    await removeLoginFile(this.o.home, params.id);
    this.o.table.untunnelled(params.id);
    return this.o.table.require(params.id);
  }

  // ---- stop --------------------------------------------------------------------------

  /** Which kernels go with the server: asked before a stop, so the user is told first. */
  kernelsOf(id: string): KernelSummary[] {
    const { host } = parseServerId(id);
    return this.o.kernels.summaries(host).filter((k) => k.server === id && k.alive);
  }

  async stop(params: { id: string }): Promise<ServerStopped> {
    const s = await this.lookup(params.id);
    const kernels = this.kernelsOf(s.id);
    const host = this.o.hosts.get(s.host);
    let how: ServerStopped['how'];
    if (s.alive) {
      const secret = this.o.table.secret(s.id);
      how = await stopServer(host, { id: s.id, file: s.file, info: secret.info, place: secret.place, pid: s.pid, processStart: secret.processStart });
    } else {
      // A dead server's stale file goes because the user asked.
      await host.run(`rm -f -- ${[s.file, ...serverLeftovers({ file: s.file, info: this.o.table.secret(s.id).info })].map(quote).join(' ')}\n`, { timeoutMs: 15_000 });
      how = 'stale';
    }
    if (this.tunnels.has(s.id)) await this.close({ id: s.id });
    await removeLoginFile(this.o.home, s.id);
    delete this.o.persisted.state.servers[s.id];
    await this.o.persisted.save();
    const stopped = this.o.table.stopped(s.id);
    // The server stops its kernels on a clean shutdown; after signals some may be left.
    await this.o.refresh(s.host).catch(() => {});
    for (const k of kernels) {
      const now = this.o.kernels.get(k.id);
      if (now?.alive) await this.o.stopKernel(k.id).catch((err) => log.warn(`stopping ${k.id} after its server: ${errorText(err)}`));
    }
    return { server: stopped, kernels, how };
  }

  // ---- agent lifecycle -------------------------------------------------------------------

  /** After an agent restart: tunnels again for servers that were open, on the same ports. */
  async restore(): Promise<void> {
    const open = Object.entries(this.o.persisted.state.servers).filter(([, r]) => r.open).map(([id]) => id);
    const hosts = new Set(open.map((id) => parseServerId(id).host));
    await Promise.all(
      [...hosts].map(async (hostId) => {
        try {
          await this.o.refresh(hostId);
        } catch (err) {
          log.warn(`re-opening servers on ${hostId}: ${errorText(err)}`);
          return;
        }
        for (const id of open.filter((x) => parseServerId(x).host === hostId)) {
          if (!this.o.table.get(id)?.alive) continue;
          await this.tunnel(id).catch((err) => this.o.table.notice(id, `Could not re-open the tunnel to ${id}: ${errorText(err)}`));
        }
      }),
    );
  }

  /** Agent shutdown: tunnels close; ports and open state stay remembered. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.tunnels.values()].map((t) => t.close()));
    this.tunnels.clear();
  }

  loginFile(id: string): string {
    return loginFilePath(this.o.home, id);
  }
}

function connectLocal(port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
