// Memory of the agent (its own process, as `ktray agent` runs it) while plots
// flow: N PNG display_data outputs of a given size from a client ON THE REMOTE
// BOX (so the only copy that crosses the tunnel is the agent's own watch of
// iopub), into a kernel the agent has attached. VmRSS before, sampled every
// 200 ms while they flow, and after; what the plot store holds in memory and
// has spilled to its cache.
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { connectAgent } from '../../electron/core/agent/agent-host';
import type { KtrayCli } from '../baselines/ktray-cli';
import { Measure } from '../results';
import { memoryOf, median, now, sleep } from '../util';

export interface PlotsContext {
  remote: RemoteHost;
  cli: KtrayCli;
  /** A running kernel: its remote connection file and Kernel Tray id. */
  kernel: { file: string; id: string };
  count: number;
  kb: number;
  log: (line: string) => void;
}

export interface PlotsResult {
  count: number;
  kb: number;
  beforeMb: number;
  /** Highest VmRSS sampled while the plots flowed and until the agent had them all. */
  peakMb: number;
  afterMb: Measure;
  /** The store's own account once all had arrived. */
  inMemoryMb: number;
  spilledMb: number;
  dropped: number;
  seconds: number;
}

// PNGs with a real header (800×600, RGB) and random bytes as their data: their size is what is
// asked, they do not compress, and the store reads their pixel size as from any PNG.
const DRIVER = `
import base64, json, os, struct, sys, zlib
from jupyter_client import BlockingKernelClient
f, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = BlockingKernelClient()
c.load_connection_file(f)
c.start_channels()
c.wait_for_ready(timeout=60)
code = '''
import base64, os, struct, zlib
from IPython.display import display
def _kt_chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
for _kt_i in range(%d):
    _kt_png = b'\\\\x89PNG\\\\r\\\\n\\\\x1a\\\\n' + _kt_chunk(b'IHDR', struct.pack('>IIBBBBB', 800, 600, 8, 2, 0, 0, 0)) + _kt_chunk(b'IDAT', os.urandom(%d)) + _kt_chunk(b'IEND', b'')
    display({'image/png': base64.b64encode(_kt_png).decode()}, raw=True)
''' % (n, size)
msg_id = c.execute(code, store_history=False)
while True:
    r = c.get_shell_msg(timeout=600)
    if r['parent_header'].get('msg_id') == msg_id:
        break
print(json.dumps({'status': r['content']['status']}))
`;

export async function plotsSection(ctx: PlotsContext): Promise<PlotsResult> {
  const pid = ctx.cli.agentPid;
  if (!pid) throw new Error('plots: the background agent is not running');
  const agent = await connectAgent({ home: ctx.cli.home });
  if (!agent) throw new Error(`plots: no agent answers on ${ctx.cli.home}`);
  try {
    await agent.attach({ id: ctx.kernel.id });
    const already = (await agent.plots({ kernel: ctx.kernel.id })).plots.length;
    // Let the watch settle, then the figure before.
    await sleep(3000);
    const before: number[] = [];
    for (let i = 0; i < 3; i++) {
      before.push(memoryOf(pid).rssMb);
      await sleep(500);
    }
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, memoryOf(pid).rssMb);
        await sleep(200);
      }
    })();
    const t0 = now();
    const b64 = Buffer.from(DRIVER).toString('base64');
    const size = Math.round(ctx.kb * 1000);
    const driven = await ctx.remote.exec(`echo ${b64} | base64 -d > ~/kt-bench-plots.py && ${ctx.remote.python} ~/kt-bench-plots.py '${ctx.kernel.file}' ${ctx.count} ${size}`, { timeoutMs: 900_000 });
    if (driven.code !== 0 || !driven.stdout.includes('"ok"')) {
      sampling = false;
      await sampler;
      throw new Error(`plots: the remote client failed (exit ${driven.code}): ${driven.stdout.trim()} ${driven.stderr.trim().slice(-400)}`);
    }
    // Until the agent has every one (it hears them on its own iopub, a little later).
    // Dropped ones (past the disk or count caps) count as heard: this agent watches this one kernel here.
    let usage = (await agent.plots({ kernel: ctx.kernel.id })).usage;
    const heard = () => (usage.kernels[ctx.kernel.id]?.plots ?? 0) + usage.dropped;
    for (let waited = 0; heard() < already + ctx.count; waited += 250) {
      if (waited > 120_000) throw new Error(`plots: the agent has heard ${heard()} of ${already + ctx.count} plots after 2 min`);
      await sleep(250);
      usage = (await agent.plots({ kernel: ctx.kernel.id })).usage;
    }
    const seconds = (now() - t0) / 1000;
    sampling = false;
    await sampler;
    await sleep(3000);
    const after = new Measure('MB');
    for (let i = 0; i < 5; i++) {
      after.add(memoryOf(pid).rssMb);
      await sleep(1000);
    }
    usage = (await agent.plots({ kernel: ctx.kernel.id })).usage;
    ctx.log(`  plots: ${usage.plots} kept (${(usage.memoryBytes / 2 ** 20).toFixed(1)} MiB in memory, ${(usage.diskBytes / 2 ** 20).toFixed(1)} MiB spilled, ${usage.dropped} dropped) in ${seconds.toFixed(1)} s`);
    return {
      count: ctx.count,
      kb: ctx.kb,
      beforeMb: median(before),
      peakMb: Math.max(peak, median(after.samples)),
      afterMb: after,
      inMemoryMb: usage.memoryBytes / 2 ** 20,
      spilledMb: usage.diskBytes / 2 ** 20,
      dropped: usage.dropped,
      seconds,
    };
  } finally {
    agent.dispose();
  }
}
