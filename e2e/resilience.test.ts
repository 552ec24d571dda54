// Live state, events, and surviving a dropped connection, against the real
// sshd/ipykernel harness, with the agent driven in-process.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConnection } from '../electron/shared/agent-api';
import { hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import { parseConnectionFile } from '../electron/core/jupyter/connection-file';
import { KernelClient } from '../electron/core/jupyter/kernel-client';
import type { AgentEvent, KernelSummary } from '../electron/shared/types';
import { runJupyterCheck } from './harness/jupyter';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

let remote: RemoteHost;
let base: string;
let hosted: HostedAgent;
let sshConfigFile: string;
let agent: AgentConnection;
const events: AgentEvent[] = [];

async function startAgent(): Promise<void> {
  hosted = await hostAgent({ mode: 'headless', home: path.join(base, 'home'), runtimeDir: path.join(base, 'runtime'), sshConfigFile, serve: false });
  agent = hosted.connection;
  agent.onEvent((e) => events.push(e));
}

/** Waits for an event matching `pred` that arrived after index `from`. */
async function waitEvent<T extends AgentEvent['type']>(type: T, pred: (e: Extract<AgentEvent, { type: T }>) => boolean, from: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = events.slice(from).find((e) => e.type === type && pred(e as Extract<AgentEvent, { type: T }>));
    if (hit) return hit as Extract<AgentEvent, { type: T }>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${type} event within ${timeoutMs} ms; saw: ${events.slice(from).map((e) => e.type).join(', ')}`);
}

async function kernel(id: string): Promise<KernelSummary> {
  const k = (await agent.kernels({})).find((x) => x.id === id);
  if (!k) throw new Error(`no kernel ${id}`);
  return k;
}

async function waitState(id: string, state: KernelSummary['state'], timeoutMs = 30_000): Promise<KernelSummary> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const k = await kernel(id);
    if (k.state === state) return k;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id} never became ${state}: ${(await kernel(id)).state}`);
}

beforeAll(async () => {
  remote = await startRemoteHost();
  base = await mkdtemp(path.join(tmpdir(), 'kt-resilience-'));
  // Keepalive out of the way: a dead link must be found by what the test exercises, not by it.
  sshConfigFile = path.join(base, 'ssh_config');
  const config = await readFile(remote.sshConfigFile, 'utf8');
  await writeFile(sshConfigFile, config.replace(`Host ${remote.alias}\n`, `Host ${remote.alias}\n  ServerAliveInterval 600\n`), { mode: 0o600 });
  await startAgent();
});

afterAll(async () => {
  await hosted?.close();
  await remote?.stop();
  await rm(base, { recursive: true, force: true });
});

describe('live status and resilience', () => {
  let id = '';
  let localFile = '';

  it('an attached kernel is watched: starting, then idle, busy with a start time, idle again', async () => {
    const from = events.length;
    const k = await agent.start({ host: remote.alias, python: remote.python });
    id = k.id;
    await waitEvent('kernel-started', (e) => e.kernel.id === id, from);
    const res = await agent.attach({ id });
    localFile = res.localConnectionFile;
    expect(res.kernel.watched).toBe(true);
    await waitState(id, 'idle');
    const running = runJupyterCheck(localFile, 'import time\ntime.sleep(4)\nv = 7');
    const busy = await waitState(id, 'busy');
    expect(busy.busySince).not.toBeNull();
    expect((await running).status).toBe('ok');
    await waitState(id, 'idle');
  });

  it('a long run ends in a run-finished event, a short one does not', async () => {
    await agent.setSettings({ longRunSeconds: 3 });
    const from = events.length;
    expect((await runJupyterCheck(localFile, 'import time\ntime.sleep(0.2)')).status).toBe('ok');
    expect((await runJupyterCheck(localFile, 'import time\ntime.sleep(4)')).status).toBe('ok');
    const done = await waitEvent('run-finished', (e) => e.kernel.id === id, from);
    expect(done.seconds).toBeGreaterThanOrEqual(3);
    expect(events.slice(from).filter((e) => e.type === 'run-finished')).toHaveLength(1);
    await agent.setSettings({ longRunSeconds: 60 });
  });

  it('a busy kernel on a slow link is never shown unresponsive or dead', async () => {
    const from = events.length;
    // jupyter_client gives a heartbeat 1 s at connect, so the link slows down once the run has begun.
    const run = runJupyterCheck(localFile, 'import time\ntime.sleep(10)\n"slept"', { timeoutSec: 60 });
    await waitState(id, 'busy');
    remote.setLatency(200);
    let r;
    try {
      r = await run;
    } finally {
      remote.setLatency(0);
    }
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'ok', result: "'slept'" });
    const bad = events.slice(from).filter((e) => e.type === 'kernel-died' || (e.type === 'kernel-state' && ['unresponsive', 'dead'].includes(e.kernel.state)));
    expect(bad).toEqual([]);
    expect(events.slice(from).some((e) => e.type === 'kernel-state' && e.kernel.id === id && e.kernel.state === 'idle')).toBe(true);
  });

  it('survives a dropped SSH connection: the same client executes again with its variable intact', async () => {
    const info = parseConnectionFile(await readFile(localFile, 'utf8'), localFile);
    const client = new KernelClient(info);
    try {
      expect((await client.execute('kept = 41 + 1\nkept', { timeoutMs: 30_000 })).result).toBe('42');
      const before = (await kernel(id)).localChannels;
      const from = events.length;
      remote.dropConnections();
      await waitEvent('host-lost', (e) => e.host.id === remote.alias, from);
      await waitEvent('host-back', (e) => e.host.id === remote.alias, from);
      expect((await client.execute('kept', { timeoutMs: 60_000 })).result).toBe('42');
      expect((await kernel(id)).localChannels).toEqual(before);
    } finally {
      client.close();
    }
    // And a new real jupyter_client through the same local file.
    expect((await runJupyterCheck(localFile, 'kept')).result).toBe('42');
  });

  it('an unreachable host is lost, fails fast, and comes back, saying how long it was away', async () => {
    const from = events.length;
    remote.setReachable(false);
    let lost: Extract<AgentEvent, { type: 'host-lost' }>;
    try {
      lost = await waitEvent('host-lost', (e) => e.host.id === remote.alias, from);
      // Away long enough that "how long" is more than a rounding of zero.
      await new Promise((r) => setTimeout(r, 2500));
      expect((await kernel(id)).state).toBe('unknown');
      let t0 = Date.now();
      // Listing says what is known, as unknown; a command that needs the host fails with its error.
      expect((await agent.kernels({ host: remote.alias, refresh: true })).find((k) => k.id === id)?.state).toBe('unknown');
      expect(Date.now() - t0).toBeLessThan(10_000);
      t0 = Date.now();
      await expect(agent.offer({ host: remote.alias })).rejects.toMatchObject({ code: expect.stringMatching(/HOST_DOWN|HOST_UNREACHABLE/) });
      // "Fast" is judged loosely (noisy machines): well under a connect timeout.
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      remote.setReachable(true);
    }
    const back = await waitEvent('host-back', (e) => e.host.id === remote.alias, from, 90_000);
    expect(events.slice(from).filter((e) => e.type === 'host-lost' && e.host.id === remote.alias)).toHaveLength(1);
    expect(back.downSeconds).toBeGreaterThanOrEqual(2);
    expect(Math.abs(back.downSeconds - (back.at - lost!.at) / 1000)).toBeLessThanOrEqual(1);
    expect((await runJupyterCheck(localFile, 'kept')).result).toBe('42');
  });

  it('the reconnect hook (sleep/resume) replaces a connection that died without TCP noticing', async () => {
    expect((await runJupyterCheck(localFile, 'kept')).result).toBe('42');
    const from = events.length;
    const accepted = remote.acceptedCount();
    // As after a laptop's sleep: the old connection carries nothing, and keepalive (600 s here) would take ages.
    remote.freezeConnections();
    const hosts = await agent.reconnect({ host: remote.alias });
    expect(hosts.find((h) => h.id === remote.alias)?.connection).toBe('connected');
    expect(remote.acceptedCount()).toBeGreaterThan(accepted);
    await waitEvent('host-lost', (e) => e.host.id === remote.alias, from);
    await waitEvent('host-back', (e) => e.host.id === remote.alias, from);
    expect((await runJupyterCheck(localFile, 'kept')).result).toBe('42');
  });

  it('a stopped (SIGSTOP) kernel is unresponsive, not dead, and recovers', async () => {
    const { pid } = await kernel(id);
    await remote.exec(`kill -STOP ${pid}`);
    try {
      await waitState(id, 'unresponsive', 60_000);
      expect((await kernel(id)).alive).toBe(true);
    } finally {
      await remote.exec(`kill -CONT ${pid}`);
    }
    await waitState(id, 'idle', 60_000);
  });

  it('restarting the agent re-attaches attached kernels on the same local sockets', async () => {
    const before = await kernel(id);
    expect(before.localChannels?.transport).toBe('ipc');
    await hosted.close();
    await startAgent();
    const after = await kernel(id);
    expect(after.attached).toBe(true);
    expect(after.localChannels).toEqual(before.localChannels);
    expect(after.localConnectionFile).toBe(localFile);
    expect((await runJupyterCheck(localFile, 'kept')).result).toBe('42');
  });

  it('a killed kernel process ends in a kernel-died event within seconds', async () => {
    const { pid } = await kernel(id);
    const from = events.length;
    await remote.exec(`kill -KILL ${pid}`);
    const died = await waitEvent('kernel-died', (e) => e.kernel.id === id, from, 30_000);
    expect(died.reason).toMatch(/process is gone/);
    expect((await kernel(id)).state).toBe('dead');
  });
});
