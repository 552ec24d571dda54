// Discovery: time to list 1, 10 and 50 running kernels on a host. The target for
// Kernel Tray is two round trips plus process time, so the process time is
// measured too: the same discovery script run on the host without SSH, plus
// parsing its output here.
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { parseConnectionFile } from '../../electron/core/jupyter/connection-file';
import { matchKernel, parseDiscovery } from '../../electron/core/kernels/discovery';
import { discoveryScript } from '../../electron/core/kernels/remote-scripts';
import type { TrayAgent } from '../baselines/ktray';
import type { KtrayCli } from '../baselines/ktray-cli';
import type { Manual } from '../baselines/manual';
import { countKernels, startKernels } from '../remote-kernels';
import { emptyRow, Measure, rotated, type Approach, type Results } from '../results';
import { now, timed } from '../util';

export interface DiscoveryContext {
  remote: RemoteHost;
  manual: Manual;
  tray: TrayAgent;
  cli: KtrayCli;
  /** The in-process agent with the host set to the OpenSSH transport. */
  openssh: TrayAgent;
  runs: number;
  counts: number[];
  log: (line: string) => void;
}

/** Remote script time (as sshd runs it: the login shell starting `sh -s`) plus local parsing, in ms. */
async function processMs(remote: RemoteHost, expected: number): Promise<number> {
  const { script, marker } = discoveryScript();
  const b64 = Buffer.from(script).toString('base64');
  const r = await remote.exec(
    `f=$(mktemp); echo ${b64} | base64 -d > "$f"; s=$(date +%s%N); sh -c 'sh -s' < "$f" > "$f.out"; e=$(date +%s%N); ` +
      `echo $(( (e - s) / 1000 )) >&2; cat "$f.out"; rm -f "$f" "$f.out"`,
  );
  const remoteMs = Number(r.stderr.trim().split('\n').pop()) / 1000;
  const t = now();
  const found = parseDiscovery(r.stdout, marker);
  let alive = 0;
  for (const f of found.files) {
    if (f.text === null) continue;
    if (matchKernel(f.path, parseConnectionFile(f.text, f.path), found)) alive++;
  }
  const localMs = now() - t;
  if (alive !== expected) throw new Error(`discovery script found ${alive} live kernels, expected ${expected}`);
  return remoteMs + localMs;
}

export async function discoverySection(ctx: DiscoveryContext): Promise<Results['discovery']> {
  const out: Results['discovery'] = [];
  const { remote } = ctx;
  let running = await countKernels(remote);
  const check = (who: string, got: number, count: number) => {
    if (got !== count) throw new Error(`${who} listed ${got} kernels, ${count} are running`);
  };
  for (const count of ctx.counts) {
    if (count > running) await startKernels(remote, count - running, `disc${count}`);
    running = await countKernels(remote);
    if (running !== count) throw new Error(`discovery: ${running} kernels on the host, wanted ${count}`);
    const row = emptyRow('ms', ['a', 'c', 'cli', 'o']);
    const proc = new Measure('ms');
    const steps: Partial<Record<Approach, () => Promise<void>>> = {
      a: async () => {
        const [n, ms] = await timed(() => ctx.manual.list());
        check('(a) ssh listing', n, count);
        row.a!.add(ms);
      },
      c: async () => {
        const [n, ms] = await timed(() => ctx.tray.list());
        check('(c) kernels({refresh})', n, count);
        row.c!.add(ms);
      },
      cli: async () => {
        const [list, ms] = await timed(() => ctx.cli.json<{ alive: boolean }[]>(['ls', remote.alias]));
        check('(c) ktray ls', list.filter((k) => k.alive).length, count);
        row.cli!.add(ms);
      },
      o: async () => {
        const [n, ms] = await timed(() => ctx.openssh.list());
        check('(c) kernels({refresh}) over OpenSSH', n, count);
        await ctx.openssh.checkTransport();
        row.o!.add(ms);
      },
    };
    for (let i = 0; i < ctx.runs; i++) {
      for (const a of rotated<Approach>(['a', 'c', 'cli', 'o'], i)) {
        try {
          await steps[a]!();
        } catch (err) {
          row[a]!.fail(err);
          ctx.log(`  discovery ${count} ${a} run ${i + 1} failed: ${(err as Error).message}`);
        }
      }
      proc.add(await processMs(remote, count));
    }
    out.push({ count, row, processMs: proc });
    ctx.log(`  discovery of ${count} kernel(s) done`);
  }
  return out;
}
