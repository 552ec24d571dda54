// Through the tunnel: per-request latency (execute round trips) and bulk
// throughput (one large display_data) for the SAME kernel reached three ways:
// (a) one OpenSSH `ssh -N -L x5` (and the same with a tty, which OpenSSH treats
// as interactive: TCP_NODELAY), (b) jupyter_client's five `ssh -L` tunnels,
// (c) Kernel Tray's tunnels, served by the agent in its own process (as in the
// app, where the frontend is a different process from the agent), and (o) the
// same from a second agent process with the host set to the OpenSSH transport
// (each accepted socket an `ssh -W` through its one master).
import type { RemoteHost } from '../../e2e/harness/remote-host';
import type { KernelClient } from '../../electron/core/jupyter/kernel-client';
import type { ConnectionInfo } from '../../electron/shared/types';
import { openClient } from '../client';
import type { JupyterTunnel } from '../baselines/jupyter-tunnel';
import { localInfo } from '../baselines/ktray';
import type { KtrayCli } from '../baselines/ktray-cli';
import type { Manual } from '../baselines/manual';
import { emptyRow, Measure, rotated, type Row } from '../results';
import { memoryOf, now, parseInfo } from '../util';
import { readdirSync, readFileSync } from 'node:fs';

export interface WireContext {
  remote: RemoteHost;
  manual: Manual;
  jc: JupyterTunnel;
  cli: KtrayCli;
  /** A background agent whose host is set to the OpenSSH transport (`ktray hosts HOST --transport openssh`). */
  opensshCli: KtrayCli;
  /** The remote connection file of a running kernel and its Kernel Tray id. */
  kernel: { file: string; id: string };
  runs: number;
  requests: number;
  displayMb: number;
  log: (line: string) => void;
}

type Path = 'a' | 'tty' | 'b' | 'c' | 'o';

export interface WireResult {
  latency: Row;
  throughput: Row;
  /** (a)'s forwards again, from `ssh -tt` (interactive: TCP_NODELAY) instead of `ssh -N`. */
  latencyTty: Measure;
  throughputTty: Measure;
  /** RSS of the OpenSSH clients holding the forwards of one kernel, MB. */
  sshForwardMb: number | null;
  jcTunnelMb: number | null;
  /** The local connection file of (b)'s tunnels, when they came up. */
  jcFile: string | null;
}

const EXEC_TIMEOUT_MS = 120_000; // safety net

/** Mean RSS of this remote's ssh clients whose argv matches, times how many one kernel needs. */
function sshRss(sshConfigFile: string, match: (argv: string[]) => boolean, perKernel: number): number | null {
  let total = 0;
  let found = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    if (!/(^|\/)ssh$/.test(argv[0] ?? '') || !argv.includes(sshConfigFile) || !match(argv)) continue;
    total += memoryOf(pid).rssMb;
    found++;
  }
  return found ? (total / found) * perKernel : null;
}

export async function wireSection(ctx: WireContext): Promise<WireResult> {
  const latencyRow = emptyRow('ms', ['a', 'b', 'c', 'o']);
  const throughputRow = emptyRow('MB/s', ['a', 'b', 'c', 'o']);
  const latency: Record<Path, Measure> = { a: latencyRow.a!, b: latencyRow.b!, c: latencyRow.c!, o: latencyRow.o!, tty: new Measure('ms') };
  const throughput: Record<Path, Measure> = { a: throughputRow.a!, b: throughputRow.b!, c: throughputRow.c!, o: throughputRow.o!, tty: new Measure('MB/s') };
  const { remote } = ctx;
  const clients: Partial<Record<Path, KernelClient>> = {};
  const infos: Partial<Record<Path, ConnectionInfo>> = {};
  const remoteInfo = parseInfo((await remote.exec(`cat ${ctx.kernel.file}`)).stdout, ctx.kernel.file);

  infos.a = (await ctx.manual.forward(remoteInfo, 'wire')).info;
  infos.tty = (await ctx.manual.forward(remoteInfo, 'wire-tty', { tty: true })).info;
  try {
    infos.b = await ctx.jc.open(remoteInfo);
  } catch (err) {
    // The time it spent says nothing about latency or throughput: keep only why.
    latency.b.fail(new Error((err as Error).message));
    throughput.b.fail(new Error((err as Error).message));
  }
  const attached = await ctx.cli.json<{ localConnectionFile: string }>(['attach', ctx.kernel.id, '--frontend', 'none']);
  infos.c = await localInfo(attached.localConnectionFile, '(c) wire');
  try {
    const host = await ctx.opensshCli.json<{ transport?: { kind: string } }>(['hosts', remote.alias, '--transport', 'openssh']);
    if (host.transport?.kind !== 'openssh') throw new Error(`${remote.alias} was set to openssh but goes through ${host.transport?.kind ?? 'ssh2'}`);
    const viaSsh = await ctx.opensshCli.json<{ localConnectionFile: string }>(['attach', ctx.kernel.id, '--frontend', 'none']);
    infos.o = await localInfo(viaSsh.localConnectionFile, '(o) wire');
  } catch (err) {
    latency.o.fail(err);
    throughput.o.fail(err);
  }
  // Not the agents' own OpenSSH masters (`ssh -M -N`, ControlMaster=yes): only (a)'s forward.
  const sshForwardMb = sshRss(remote.sshConfigFile, (argv) => argv.includes('-N') && !argv.includes('ControlMaster=yes'), 1);
  if (sshForwardMb === null) throw new Error('wire: the ssh -N forward of (a) is not running');
  // jupyter_client runs one ssh per port (some may have died: see the failures).
  const jcTunnelMb = sshRss(remote.sshConfigFile, (argv) => argv.includes('sleep') && !argv.includes('-tt'), 5);

  const which = (['a', 'tty', 'b', 'c', 'o'] as Path[]).filter((a) => infos[a]);
  const bytes = Math.round((ctx.displayMb * 1e6 * 3) / 4); // base64 makes 4 chars of 3 bytes
  try {
    for (const a of which) {
      const c = (clients[a] = openClient(infos[a]!, `wire ${a}`));
      // Warm up each path, and build the payload once in the kernel (untimed).
      await c.execute('1+1', { timeoutMs: EXEC_TIMEOUT_MS });
    }
    await clients[which[0]!]!.execute(`import base64, os\nfrom IPython.display import display\n_kt_blob = base64.b64encode(os.urandom(${bytes})).decode()`, {
      timeoutMs: EXEC_TIMEOUT_MS,
      silent: true,
    });

    for (let i = 0; i < ctx.requests; i++) {
      for (const a of rotated(which, i)) {
        const t = now();
        const r = await clients[a]!.execute('1+1', { timeoutMs: EXEC_TIMEOUT_MS });
        const ms = now() - t;
        if (r.result !== '2') throw new Error(`wire ${a}: 1+1 gave ${r.result}`);
        latency[a].add(ms);
      }
    }
    ctx.log(`  latency: ${ctx.requests} requests per path done`);

    for (let i = 0; i < ctx.runs; i++) {
      for (const a of rotated(which, i)) {
        const t = now();
        const r = await clients[a]!.execute("display({'image/png': _kt_blob}, raw=True)", { timeoutMs: EXEC_TIMEOUT_MS });
        const s = (now() - t) / 1000;
        if (r.displayBytes < ctx.displayMb * 1e6 * 0.99) throw new Error(`wire ${a}: display_data carried ${r.displayBytes} bytes`);
        throughput[a].add(r.displayBytes / 1e6 / s);
      }
    }
    ctx.log(`  throughput: ${ctx.runs} x ${ctx.displayMb} MB display_data per path done`);
  } finally {
    for (const c of Object.values(clients)) c?.close();
  }
  return { latency: latencyRow, throughput: throughputRow, latencyTty: latency.tty, throughputTty: throughput.tty, sshForwardMb, jcTunnelMb, jcFile: infos.b ? ctx.jc.wireFile : null };
}
