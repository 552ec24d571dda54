// Hosts as the agent keeps them: the registry's sessions, their connection
// state as events, saved and used hosts, host keys and trust, offers.
import { KtrayError } from '../../shared/errors';
import { LOCAL_HOST, type HostKeyInfo, type HostOffer, type HostScheduler, type HostSummary, type KtrayErrorData, type SavedHost, type TransportSetting } from '../../shared/types';
import type { Host } from '../hosts/host';
import { HostRegistry, validateSavedHost } from '../hosts/host-registry';
import { hostOffer } from '../kernels/kernel-ops';
import { trustHostKey, type HostKeySeen } from '../ssh/host-key-verifier';
import type { AnswerPrompt } from '../keychain/kept-answers';
import type { Keychain } from '../keychain/keychain';
import { relayThrough } from '../ssh/node-relay';
import { OpenSshHost } from '../ssh/openssh-host';
import { SshSession } from '../ssh/ssh-session';
import { parseTransportSetting } from '../ssh/transport-choice';
import type { EventBus } from './event-bus';
import type { Persisted } from './persisted';

export interface HostsOptions {
  events: EventBus;
  persisted: Persisted;
  sshConfigFile?: string;
  askPassphrase?: AnswerPrompt;
  keychain?: Keychain;
  /** Whether anything still needs the host's connection (tunnels, watches): decides reconnects. */
  wanted: (hostId: string) => boolean;
  /** Live kernels the host has, for its summary. */
  kernelCount: (hostId: string) => number;
  rtt: (hostId: string) => number | null;
  /** The host's batch scheduler, if its kernels are jobs. */
  scheduler: (hostId: string) => HostScheduler | null;
  /** The host dropped (its kernels' state is unknown now). */
  onLost: (hostId: string) => void;
  /** The host answers again after it was lost. */
  onBack: (hostId: string) => void;
  /** Sessions of a kind of our own (tests). */
  createHost?: (hostId: string) => Host | undefined;
}

export class Hosts {
  private readonly registry: HostRegistry;
  private readonly since = new Map<string, number>();
  /** When each lost host was lost: a host-back says how long it was away. */
  private readonly lostAt = new Map<string, number>();
  private readonly warnings = new Map<string, string[]>();
  private readonly startedAt = Date.now();
  /** SSH sessions to compute nodes through their login node's connection, by `HOST NODE`. */
  private readonly nodes = new Map<string, SshSession>();

  constructor(private readonly opts: HostsOptions) {
    this.registry = new HostRegistry({
      sshConfigFile: opts.sshConfigFile,
      savedHosts: () => opts.persisted.state.savedHosts,
      transports: () => opts.persisted.state.transports ?? {},
      askPassphrase: opts.askPassphrase,
      keychain: opts.keychain,
      wanted: opts.wanted,
      notice: (host, message, attention) => opts.events.emit({ type: 'notice', at: Date.now(), host, message, ...(attention ? { attention } : {}) }),
      createHost: opts.createHost,
    });
  }

  get configFile(): string {
    return this.registry.configFile;
  }

  /** How many hosts there are; never fails (status must answer even with a broken ssh config). */
  count(): number {
    try {
      return this.registry.ids().length;
    } catch {
      return this.registry.knownWithoutConfig().length;
    }
  }

  /** What is wrong with the ssh config right now, read afresh; null when nothing is. */
  configError(): KtrayErrorData | null {
    return this.registry.configError()?.toData() ?? null;
  }

  /** The host's one session, created (and listened to) on first use. */
  get(id: string): Host {
    const known = this.registry.peek(id);
    if (known) return known;
    const host = this.registry.get(id);
    host.onStateChange((change) => this.stateChanged(id, change.state, change.error?.message ?? ''));
    return host;
  }

  /**
   * An SSH session to a cluster's compute node (its sshd on port 22), over a
   * relay in the login node's connection: for sites whose login node forbids
   * TCP forwarding. The cluster's user and keys; the node's host key is
   * checked in known_hosts under the node's name like any host's, never
   * accepted unasked (StrictHostKeyChecking no does not carry over).
   */
  node(hostId: string, node: string): Host {
    const key = `${hostId} ${node}`;
    const known = this.nodes.get(key);
    if (known) return known;
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(node)) {
      throw new KtrayError({ code: 'BAD_INPUT', host: hostId, message: `"${node}" is not a compute node name Kernel Tray can reach by SSH.` });
    }
    const through = this.get(hostId);
    if (through instanceof OpenSshHost) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: hostId,
        message: `${hostId} goes through your OpenSSH client (${through.reason}); Kernel Tray's SSH to its compute nodes (nodeSsh) works only over its own connections so far.`,
        hint: `\`ktray slurm ${hostId} --node-ssh off\` goes back to forwarding through the login node.`,
      });
    }
    this.sshSession(hostId);
    const p = this.registry.profile(hostId);
    const session = new SshSession({
      profile: { ...p, alias: node, hostname: node, port: 22, proxyJump: [], proxyCommand: null, hostKeyAlias: null, strictHostKeyChecking: p.strictHostKeyChecking === 'no' ? 'yes' : p.strictHostKeyChecking },
      resolveHop: () => {
        throw new Error('a compute node has no hops of its own');
      },
      // The login node's session as it is now (a trust or an edit makes a new one).
      via: (name, port) => relayThrough(this.sshSession(hostId), name, port),
      askPassphrase: this.opts.askPassphrase,
      keychain: this.opts.keychain,
      wanted: () => this.opts.wanted(hostId),
      notice: (message) => this.opts.events.emit({ type: 'notice', at: Date.now(), host: hostId, message }),
    });
    this.nodes.set(key, session);
    return session;
  }

  isUp(id: string): boolean {
    return (this.registry.peek(id)?.state ?? 'idle') === 'connected';
  }

  validateId(id: string): void {
    this.registry.validateId(id);
  }

  /** Hosts used through Kernel Tray, listed by `ktray ls` without naming them. */
  used(): string[] {
    return this.opts.persisted.state.usedHosts;
  }

  async markUsed(id: string): Promise<void> {
    const used = this.opts.persisted.state.usedHosts;
    if (used.includes(id)) return;
    used.push(id);
    await this.opts.persisted.save();
  }

  setWarnings(id: string, warnings: string[]): void {
    this.warnings.set(id, warnings);
  }

  async list(): Promise<HostSummary[]> {
    const ids = new Set([...this.registry.ids(), ...this.used()]);
    return [...ids].map((id) => this.summary(id));
  }

  /** The key files a login to this host offers (its IdentityFiles), or none when its config cannot be read. */
  keyFiles(id: string): string[] {
    try {
      return [...this.registry.profile(id).identityFiles];
    } catch {
      return [];
    }
  }

  summary(id: string): HostSummary {
    const host = this.registry.peek(id);
    let hostname = id;
    let user = '';
    let port = 22;
    let proxyJump: string[] = [];
    let proxyCommand: string | undefined;
    if (id === LOCAL_HOST) {
      hostname = 'localhost';
      port = 0;
    } else {
      try {
        const p = this.registry.profile(id);
        ({ hostname, user, port } = p);
        proxyJump = p.proxyJump.map((h) => `${h.user ? h.user + '@' : ''}${h.host}${h.port ? ':' + h.port : ''}`);
        // The jump hosts' own ProxyJump first, as the connection goes (a loop says so when used).
        try {
          const chain = this.registry.jumpChain(id);
          proxyJump = [...chain.slice(0, chain.length - p.proxyJump.length).map((h) => h.alias), ...proxyJump];
        } catch {
          // Shown as configured; connecting names the loop.
        }
        proxyCommand = p.proxyCommand ?? undefined;
      } catch {
        // An unparsable profile still lists; connecting will say what is wrong.
      }
    }
    return {
      id,
      source: this.registry.source(id),
      hostname,
      user,
      port,
      proxyJump,
      ...(proxyCommand ? { proxyCommand } : {}),
      ...this.transportOf(id),
      connection: host?.state ?? (id === LOCAL_HOST ? 'connected' : 'idle'),
      error: host?.lastError ?? null,
      since: this.since.get(id) ?? this.startedAt,
      rttMs: this.opts.rtt(id),
      kernelCount: this.opts.kernelCount(id),
      warnings: this.warnings.get(id) ?? [],
      scheduler: this.opts.scheduler(id),
    };
  }

  /** Shown when OpenSSH carries the host, or when the user set a transport by hand. */
  private transportOf(id: string): Pick<HostSummary, 'transport'> {
    if (id === LOCAL_HOST) return {};
    // The setting as saved now; a live session may still be on the transport of an earlier one (in use when it changed).
    const saved = this.opts.persisted.state.transports?.[id];
    const setting = saved ? { setting: saved } : {};
    const host = this.registry.peek(id);
    if (host instanceof OpenSshHost) return { transport: { kind: 'openssh', why: host.reason, ...setting } };
    if (host && !(host instanceof SshSession)) return {};
    try {
      const c = this.registry.transportChoice(id);
      return c.kind === 'openssh' || c.setting !== 'auto' || saved ? { transport: { kind: c.kind, why: c.why, ...setting } } : {};
    } catch {
      return {};
    }
  }

  private stateChanged(id: string, state: string, reason: string): void {
    const now = Date.now();
    const lostAt = this.lostAt.get(id);
    const events = this.opts.events;
    // A lost host's error may change while it is away (dropped, then refused): it is still the same outage.
    if (!(state === 'lost' && lostAt !== undefined)) this.since.set(id, now);
    if (state === 'lost' && lostAt === undefined) {
      this.lostAt.set(id, now);
      this.opts.onLost(id);
      events.emit({ type: 'host-lost', at: now, host: this.summary(id), reason });
    } else if (state === 'connected' && lostAt !== undefined) {
      this.lostAt.delete(id);
      events.emit({ type: 'host-back', at: now, host: this.summary(id), downSeconds: Math.round((now - lostAt) / 1000) });
      this.opts.onBack(id);
    }
    events.emit({ type: 'host-state', at: now, host: this.summary(id) });
  }

  // ---- keys, reconnect, offers, saved hosts --------------------------------------

  private sshSession(id: string): SshSession {
    if (id === LOCAL_HOST) {
      throw new KtrayError({ code: 'BAD_INPUT', host: id, message: 'The local host needs no host key: it does not use SSH.' });
    }
    const host = this.get(id);
    if (host instanceof OpenSshHost) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: id,
        message: `${id} goes through your OpenSSH client (${host.reason}), which checks its host key itself.`,
        hint: `Run \`ssh ${id}\` in a terminal to see and accept the key.`,
      });
    }
    if (!(host instanceof SshSession)) throw new KtrayError({ code: 'INTERNAL', host: id, message: `${id} is not an SSH host.` });
    return host;
  }

  async hostKey(params: { host: string }): Promise<HostKeyInfo> {
    const seen = await this.sshSession(params.host).fetchHostKey();
    return { ...keyInfo(params.host, seen), known: seen.known, changed: seen.changed, revoked: seen.revoked };
  }

  /** Trusts the key the user confirmed; a changed one only with `replace` (see trustHostKey). */
  async trust(params: { host: string; fingerprint: string; replace?: boolean }): Promise<HostKeyInfo> {
    const session = this.sshSession(params.host);
    const seen = await session.fetchHostKey();
    const { replaced } = await trustHostKey(seen, params.fingerprint, params.host, { replace: params.replace === true });
    // Start afresh so the next connect reads the updated known_hosts.
    if (session.state !== 'connected') await this.registry.drop(params.host);
    return { ...keyInfo(params.host, seen), known: true, changed: [], revoked: null, replaced };
  }

  /** Checks the given host now, or every host in use. */
  async reconnect(params: { host?: string }, inUse: string[]): Promise<HostSummary[]> {
    const ids = params.host ? [params.host] : [...new Set([...this.used(), ...inUse])];
    await Promise.all(ids.filter((id) => id !== LOCAL_HOST).map((id) => this.get(id).check()));
    return ids.map((id) => this.summary(id));
  }

  offer(params: { host: string }): Promise<HostOffer> {
    return hostOffer(this.get(params.host));
  }

  async save(params: SavedHost): Promise<HostSummary> {
    validateSavedHost(params);
    const { state } = this.opts.persisted;
    state.savedHosts = [...state.savedHosts.filter((h) => h.id !== params.id), params];
    await this.opts.persisted.save();
    await this.registry.drop(params.id);
    return this.summary(params.id);
  }

  /** The transport set by hand (or auto again); the host's next session uses it. */
  async setTransport(params: { host: string; transport: TransportSetting }): Promise<HostSummary> {
    const id = params.host;
    this.registry.validateId(id);
    const setting = parseTransportSetting(String(params.transport));
    if (!setting) {
      throw new KtrayError({ code: 'BAD_INPUT', host: id, message: `"${params.transport}" is not a transport.`, hint: 'Use auto, ssh2 or openssh.' });
    }
    if (id === LOCAL_HOST) throw new KtrayError({ code: 'BAD_INPUT', host: id, message: 'The local host uses no SSH transport.' });
    if (setting === 'openssh' && this.registry.source(id) === 'saved') {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: id,
        message: `${id} is a host saved in Kernel Tray, which your ssh has no config for, so it can only go through ssh2.`,
        hint: `Add a Host ${id} block to ${this.registry.configFile} and remove the saved one to let ssh reach it.`,
      });
    }
    if (!this.registry.ids().includes(id) && !this.used().includes(id)) {
      throw new KtrayError({ code: 'BAD_INPUT', host: id, message: `${id} is not a host Kernel Tray knows.`, hint: `\`ktray hosts\` lists them; hosts come from ${this.registry.configFile} or are saved in the app.` });
    }
    const live = this.registry.peek(id);
    const now = live instanceof OpenSshHost ? 'openssh' : 'ssh2';
    if (live && live.state === 'connected' && this.opts.wanted(id) && setting !== 'auto' && setting !== now) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host: id,
        message: `${id} is in use over ${now === 'openssh' ? 'OpenSSH' : 'ssh2'} (attached or watched kernels); its transport is left as it is.`,
        hint: `Detach its kernels (\`ktray detach ID\`), then set the transport again.`,
      });
    }
    const { state } = this.opts.persisted;
    const transports = { ...(state.transports ?? {}) };
    if (setting === 'auto') delete transports[id];
    else transports[id] = setting;
    state.transports = transports;
    await this.opts.persisted.save();
    if (!(live && live.state === 'connected' && this.opts.wanted(id))) await this.registry.drop(id);
    return this.summary(id);
  }

  async remove(params: { id: string }): Promise<void> {
    const { state } = this.opts.persisted;
    const before = state.savedHosts.length;
    state.savedHosts = state.savedHosts.filter((h) => h.id !== params.id);
    if (before === state.savedHosts.length) {
      throw new KtrayError({ code: 'BAD_INPUT', host: params.id, message: `${params.id} is not a host saved in Kernel Tray (hosts from ~/.ssh/config are edited there).` });
    }
    await this.opts.persisted.save();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.close()));
    this.nodes.clear();
    return this.registry.closeAll();
  }
}

function keyInfo(host: string, seen: HostKeySeen): Omit<HostKeyInfo, 'known'> {
  return { host, hostname: seen.hostname, port: seen.port, keyType: seen.keyType, fingerprint: seen.fingerprint, knownHostsFile: seen.knownHostsFile, lookupName: seen.lookupName };
}
