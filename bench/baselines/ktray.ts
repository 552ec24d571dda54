// (c) Kernel Tray, two ways: the agent in this process (as the tray app hosts it
// in Electron's main process; a click calls it directly), and the `ktray` CLI
// talking to its long-lived background agent over the local socket.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { hostAgent, type HostedAgent } from '../../electron/core/agent/agent-host';
import type { AgentConnection } from '../../electron/shared/agent-api';
import { firstResult } from '../client';
import { now, parseInfo } from '../util';
import type { Phases } from './manual';
import type { KtrayCli } from './ktray-cli';

export async function localInfo(file: string, what: string) {
  return parseInfo(await readFile(file, 'utf8'), what);
}

/** The transport the host goes through: ssh2 (auto: the harness's config needs nothing else), or OpenSSH set by hand. */
export type BenchTransport = 'ssh2' | 'openssh';

/** The in-process agent, as the tray app runs it. */
export class TrayAgent {
  private constructor(
    private readonly hosted: HostedAgent,
    private readonly remote: RemoteHost,
    readonly transport: BenchTransport,
  ) {}

  /**
   * `sshConfigFile`: for OpenSSH, a copy of the remote's, so that the baselines' clean-up (every ssh
   * whose argv names the remote's own file, see killSshClients) leaves this agent's master alone.
   */
  static async open(remote: RemoteHost, dir: string, transport: BenchTransport = 'ssh2', sshConfigFile = remote.sshConfigFile): Promise<TrayAgent> {
    await mkdir(dir, { recursive: true });
    const hosted = await hostAgent({
      mode: 'headless',
      home: path.join(dir, 'home'),
      runtimeDir: path.join(dir, 'runtime'),
      sshConfigFile,
      serve: false,
    });
    // As `ktray hosts HOST --transport openssh` sets it (the same agent method), before any connection.
    if (transport === 'openssh') await hosted.connection.setTransport({ host: remote.alias, transport: 'openssh' });
    return new TrayAgent(hosted, remote, transport);
  }

  /** Throws unless the host goes through the transport this agent is measured with (untimed; a figure of the wrong one would mislead). */
  async checkTransport(): Promise<void> {
    const h = (await this.agent.hosts({})).find((x) => x.id === this.remote.alias);
    const kind = h?.transport?.kind ?? 'ssh2';
    if (kind !== this.transport) throw new Error(`${this.remote.alias} went through ${kind}, not ${this.transport} (${h?.transport?.why ?? 'auto'})`);
  }

  get agent(): AgentConnection {
    return this.hosted.connection;
  }

  async hostState(): Promise<string> {
    return (await this.agent.hosts({})).find((h) => h.id === this.remote.alias)?.connection ?? 'missing';
  }

  /** Cold: host not connected, no kernel -> first result. */
  async cold(): Promise<{ phases: Phases; id: string }> {
    const state = await this.hostState();
    if (state !== 'idle') throw new Error(`(${this.transport === 'openssh' ? 'o' : 'c'}) cold run expected ${this.remote.alias} not connected, it is ${state}`);
    // The host-state event splits `start` into the SSH login and the kernel launch.
    let connectedAt = NaN;
    const off = this.agent.onEvent((e) => {
      if (e.type === 'host-state' && e.host.id === this.remote.alias && e.host.connection === 'connected' && Number.isNaN(connectedAt)) connectedAt = now();
    });
    const t0 = now();
    const k = await this.agent.start({ host: this.remote.alias });
    const t1 = now();
    off();
    const { localConnectionFile } = await this.agent.attach({ id: k.id });
    const t2 = now();
    await firstResult(await localInfo(localConnectionFile, '(c) cold'), '(c) cold');
    const t3 = now();
    await this.checkTransport();
    const connect = this.transport === 'openssh' ? 'ssh master up' : 'ssh2 connect';
    return { phases: { [connect]: connectedAt - t0, 'launch kernel': t1 - connectedAt, attach: t2 - t1, '1+1': t3 - t2 }, id: k.id };
  }

  /** Warm: host connected, kernel listed (as the tray menu shows it) -> first result; then detach. */
  async warm(id: string): Promise<Phases> {
    const state = await this.hostState();
    if (state !== 'connected') throw new Error(`(${this.transport === 'openssh' ? 'o' : 'c'}) warm run expected ${this.remote.alias} connected, it is ${state}`);
    const t0 = now();
    const { localConnectionFile } = await this.agent.attach({ id });
    const t1 = now();
    await firstResult(await localInfo(localConnectionFile, '(c) warm'), '(c) warm');
    const t2 = now();
    await this.agent.detach({ id });
    await this.checkTransport();
    return { attach: t1 - t0, '1+1': t2 - t1 };
  }

  async list(): Promise<number> {
    return (await this.agent.kernels({ host: this.remote.alias, refresh: true })).filter((k) => k.alive).length;
  }

  close(): Promise<void> {
    return this.hosted.close();
  }
}

/** `ktray start` + `ktray attach --frontend none` (+ the client) against a running agent. */
export async function cliCold(cli: KtrayCli, remote: RemoteHost): Promise<{ phases: Phases; id: string }> {
  const state = await cli.hostState(remote.alias);
  if (state !== 'idle') throw new Error(`(c) CLI cold run expected ${remote.alias} not connected, it is ${state}`);
  const t0 = now();
  const k = await cli.json<{ id: string }>(['start', remote.alias]);
  const t1 = now();
  const a = await cli.json<{ localConnectionFile: string }>(['attach', k.id, '--frontend', 'none']);
  const t2 = now();
  await firstResult(await localInfo(a.localConnectionFile, '(c) CLI cold'), '(c) CLI cold');
  const t3 = now();
  return { phases: { 'ktray start': t1 - t0, 'ktray attach': t2 - t1, '1+1': t3 - t2 }, id: k.id };
}

export async function cliWarm(cli: KtrayCli, remote: RemoteHost, id: string): Promise<Phases> {
  const state = await cli.hostState(remote.alias);
  if (state !== 'connected') throw new Error(`(c) CLI warm run expected ${remote.alias} connected, it is ${state}`);
  const t0 = now();
  const a = await cli.json<{ localConnectionFile: string }>(['attach', id, '--frontend', 'none']);
  const t1 = now();
  await firstResult(await localInfo(a.localConnectionFile, '(c) CLI warm'), '(c) CLI warm');
  const t2 = now();
  await cli.json(['detach', id]);
  return { 'ktray attach': t1 - t0, '1+1': t2 - t1 };
}
