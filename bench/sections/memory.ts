// Memory of the agent (its own process, as `ktray agent` runs it) holding N
// attached kernels: VmRSS sampled after the heartbeats have settled, and VmHWM.
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { connectAgent } from '../../electron/core/agent/agent-host';
import type { KtrayCli } from '../baselines/ktray-cli';
import { Measure } from '../results';
import { memoryOf, sleep } from '../util';

export interface MemoryContext {
  remote: RemoteHost;
  cli: KtrayCli;
  kernels: number;
  log: (line: string) => void;
}

export async function memorySection(ctx: MemoryContext): Promise<{ kernels: number; rss: Measure; hwmMb: number }> {
  const pid = ctx.cli.agentPid;
  if (!pid) throw new Error('memory: the background agent is not running');
  const agent = await connectAgent({ home: ctx.cli.home });
  if (!agent) throw new Error(`memory: no agent answers on ${ctx.cli.home}`);
  try {
    const listed = (await agent.kernels({ host: ctx.remote.alias, refresh: true })).filter((k) => k.alive);
    if (listed.length < ctx.kernels) throw new Error(`memory: ${listed.length} kernels running, need ${ctx.kernels}`);
    // Attach as a user would, one after the other (some may already be attached).
    for (const k of listed.slice(0, ctx.kernels)) await agent.attach({ id: k.id });
    const status = await agent.status({});
    if (status.attached < ctx.kernels) throw new Error(`memory: the agent holds ${status.attached} attached kernels, not ${ctx.kernels}`);
    // Let every monitor connect and beat a few times (2 s period) before reading.
    await sleep(6000);
    const rss = new Measure('MB');
    for (let i = 0; i < 5; i++) {
      rss.add(memoryOf(pid).rssMb);
      await sleep(1000);
    }
    const watched = (await agent.kernels({ host: ctx.remote.alias })).filter((k) => k.attached && k.watched).length;
    ctx.log(`  memory: ${status.attached} attached, ${watched} watched`);
    return { kernels: status.attached, rss, hwmMb: memoryOf(pid).hwmMb };
  } finally {
    agent.dispose();
  }
}
