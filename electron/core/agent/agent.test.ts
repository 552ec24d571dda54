// The agent facade and its services against a fake host (scripts run for real
// here, in a private HOME; streams reach this computer's loopback; the test
// decides when the "connection" drops or refuses forwards), with real
// ipykernels and a real Jupyter client through the tunnels.
import { readFile, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectUnix } from '../../../e2e/harness/net';
import { eventually, until } from '../../../e2e/harness/wait';
import type { AgentEvent, KernelSummary } from '../../shared/types';
import { FakeHost } from '../hosts/test-host';
import { parseConnectionFile } from '../jupyter/connection-file';
import { KernelClient } from '../jupyter/kernel-client';
import { Agent } from './agent';

const PYTHON = '/usr/bin/python3';
let base: string;
let fake: FakeHost;
const agents: Agent[] = [];
const clients: KernelClient[] = [];

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'kt-agent-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const a of agents.splice(0)) await a.close();
  await fake?.dispose();
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** An agent whose host `fake` is the fake remote; its home and runtime dir are its own. */
async function agentOn(host: FakeHost, name: string, over: { runtimeDir?: string } = {}) {
  const events: AgentEvent[] = [];
  const agent = await Agent.create({
    home: path.join(base, name, 'home'),
    mode: 'headless',
    runtimeDir: over.runtimeDir ?? path.join(base, name, 'runtime'),
    sshConfigFile: path.join(base, 'no-ssh-config'),
    createHost: (id) => (id === host.id ? host : undefined),
    monitor: { intervalMs: 250 },
  });
  agent.onEvent((e) => events.push(e));
  agents.push(agent);
  const kernel = async (id: string): Promise<KernelSummary> => (await agent.kernels({})).find((k) => k.id === id)!;
  return { agent, events, kernel };
}

async function clientOn(file: string): Promise<KernelClient> {
  const c = new KernelClient(parseConnectionFile(await readFile(file, 'utf8'), file));
  clients.push(c);
  return c;
}

describe('the agent against a fake host', () => {
  it('starts, lists, attaches, runs code through the tunnels, detaches and stops a kernel', async () => {
    fake = await FakeHost.create();
    const { agent, events, kernel } = await agentOn(fake, 'lifecycle');
    const k = await agent.start({ host: 'fake', python: PYTHON });
    expect(k).toMatchObject({ host: 'fake', alive: true });
    expect(events.some((e) => e.type === 'kernel-started' && e.kernel.id === k.id)).toBe(true);
    expect((await agent.kernels({ host: 'fake', refresh: true })).map((x) => x.id)).toEqual([k.id]);

    const attached = await agent.attach({ id: k.id });
    expect(attached.newlyAttached).toBe(true);
    expect((await agent.attach({ id: k.id })).newlyAttached).toBe(false);
    const c = await clientOn(attached.localConnectionFile);
    expect((await c.execute('6*7', { timeoutMs: 30_000 })).result).toBe('42');
    await until(async () => (await kernel(k.id)).state === 'idle', { what: `${k.id} idle` });

    const detached = await agent.detach({ id: k.id });
    expect(detached).toMatchObject({ attached: false, localConnectionFile: null });
    // Started here, so still watched (on tunnels of its own).
    expect(detached.watched).toBe(true);

    const stopped = await agent.stop({ id: k.id });
    expect(stopped.state).toBe('dead');
    expect(await agent.kernels({ host: 'fake', refresh: true })).toEqual([]);
    expect(events.some((e) => e.type === 'kernel-died')).toBe(false);
  });

  it('shows a watch whose tunnels are refused as not watched, with the reason, and retries it when the host is back', async () => {
    fake = await FakeHost.create();
    const { agent, kernel } = await agentOn(fake, 'refused-watch');
    fake.refuseForwards = true;
    const k = await agent.start({ host: 'fake', python: PYTHON });
    const failed = await eventually(async () => {
      const now = await kernel(k.id);
      return now.watchError ? now : undefined;
    }, { what: 'the watch to fail' });
    expect(failed).toMatchObject({ watched: false, state: 'running' });
    expect(failed.watchError).toMatch(/refused to forward/);
    expect(failed.watchError).toMatch(/AllowTcpForwarding/);

    // The server allows forwards again (an admin fixed sshd_config); the connection drops and returns.
    fake.refuseForwards = false;
    fake.setState('lost');
    fake.setState('connected');
    await until(async () => (await kernel(k.id)).state === 'idle', { what: 'the retried watch to see the kernel idle' });
    expect(await kernel(k.id)).toMatchObject({ watched: true, watchError: null });
  });

  it('turns a forward the server refuses on an attachment into a notice on that kernel', async () => {
    fake = await FakeHost.create();
    const { agent, events } = await agentOn(fake, 'refused-attach');
    const k = await agent.start({ host: 'fake', python: PYTHON });
    const { localConnectionFile, kernel: attached } = await agent.attach({ id: k.id });
    expect(localConnectionFile).toBeTruthy();
    fake.refuseForwards = true;
    // A frontend connects to the local shell socket: its forward is refused.
    expect(attached.localChannels?.transport).toBe('ipc');
    const sock = await connectUnix(`${attached.localChannels!.ip}-${attached.localChannels!.ports.shell}`);
    sock.on('error', () => {});
    const notice = await eventually(
      () => events.find((e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice' && e.kernel === k.id),
      { what: 'a notice on the kernel' },
    );
    sock.destroy();
    expect(notice.host).toBe('fake');
    expect(notice.message).toMatch(/shell connection .* could not be forwarded: The SSH server on fake refused/);
  });

  it('reports a re-attach that fails after an agent restart, on the kernel it concerns', async () => {
    fake = await FakeHost.create();
    const first = await agentOn(fake, 'reattach');
    const k = await first.agent.start({ host: 'fake', python: PYTHON });
    await first.agent.attach({ id: k.id });
    await first.agent.close();
    // The next agent cannot write its local runtime dir (a file stands where the folder should be).
    const blocked = path.join(base, 'reattach', 'not-a-dir');
    await writeFile(blocked, 'x');
    const second = await agentOn(fake, 'reattach', { runtimeDir: blocked });
    await second.agent.restoreAttachments();
    const notice = second.events.find((e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice' && e.kernel === k.id);
    expect(notice?.message).toMatch(new RegExp(`Could not re-attach ${k.id}`));
    expect(await second.kernel(k.id)).toMatchObject({ alive: true, attached: false });
  });

  it('after an agent restart with the host down, shows the kernels it had attached as unknown, and re-attaches them once the host answers', async () => {
    fake = await FakeHost.create();
    const first = await agentOn(fake, 'restart-down');
    const k = await first.agent.start({ host: 'fake', python: PYTHON });
    await first.agent.attach({ id: k.id });
    await first.agent.close();
    fake.setState('lost');
    const second = await agentOn(fake, 'restart-down');
    await second.agent.restoreAttachments();
    const listed = await second.agent.kernels({ host: 'fake', refresh: true });
    expect(listed.map((x) => [x.id, x.state, x.attached])).toEqual([[k.id, 'unknown', false]]);
    const notice = second.events.find((e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice' && e.kernel === k.id);
    expect(notice?.message).toMatch(/shown as unknown until fake answers; Kernel Tray re-attaches it then/);
    fake.setState('connected');
    await second.agent.kernels({ host: 'fake', refresh: true });
    await until(async () => (await second.kernel(k.id)).attached && (await second.kernel(k.id)).state === 'idle', { what: 're-attached and idle once the host answers', timeoutMs: 20_000 });
  });

  it('lists an unreachable host\'s known kernels as unknown; an agent that knows none of them has only the error', async () => {
    fake = await FakeHost.create();
    const { agent } = await agentOn(fake, 'outage');
    const k = await agent.start({ host: 'fake', python: PYTHON });
    fake.setState('lost');
    const listed = await agent.kernels({ host: 'fake', refresh: true });
    expect(listed.map((x) => [x.id, x.state])).toEqual([[k.id, 'unknown']]);
    const stranger = await agentOn(fake, 'outage-stranger');
    await expect(stranger.agent.kernels({ host: 'fake', refresh: true })).rejects.toMatchObject({ code: 'HOST_DOWN', host: 'fake' });
    fake.setState('connected');
  });

  it('checks an address allowance against the kernel\'s own file, and wants none for loopback', async () => {
    fake = await FakeHost.create();
    const { agent } = await agentOn(fake, 'allow');
    const k = await agent.start({ host: 'fake', python: PYTHON });
    await expect(agent.attach({ id: k.id, allowAddress: '10.99.0.1' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/needs no --allow-address/) });
    await expect(agent.attach({ id: k.id, localTransport: 'udp' as 'tcp' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(agent.allowances.of(k.id)).toEqual([]);
    expect((await agent.kernels({ host: 'fake' }))[0]).toMatchObject({ attached: false });
  });

  it('after the host comes back, an attached kernel settles to idle without any code run', async () => {
    fake = await FakeHost.create();
    const { agent, kernel } = await agentOn(fake, 'back');
    const k = await agent.start({ host: 'fake', python: PYTHON });
    await agent.attach({ id: k.id });
    await until(async () => (await kernel(k.id)).state === 'idle', { what: 'idle after attach' });
    fake.setState('lost');
    expect((await kernel(k.id)).state).toBe('unknown');
    fake.setState('connected');
    await until(async () => (await kernel(k.id)).state === 'idle', { what: 'idle again after the host is back', timeoutMs: 20_000 });
  });
});
