// `npm run bench`: Kernel Tray against (a) the manual ssh recipe and (b)
// jupyter_client's tunnels, in one run, on the harness's real remote host with
// added latency. Prints the table and writes BENCHMARKS.md.
//
//   npm run bench -- [--rtt-ms 50] [--runs 5] [--requests 50] [--display-mb 20]
//                    [--memory-kernels 20] [--plots 500] [--plot-kb 200]
//                    [--only startup,cold,warm,discovery,servers,wire,memory,plots,slurm] [--out FILE]
// Env: BENCH_RTT_MS, BENCH_RUNS.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runJupyterCheck } from '../e2e/harness/jupyter';
import { run } from '../e2e/harness/proc';
import { startRemoteHost, type RemoteHost } from '../e2e/harness/remote-host';
import { kernelNameFromPath } from '../electron/core/jupyter/connection-file';
import { JupyterTunnel } from './baselines/jupyter-tunnel';
import { TrayAgent } from './baselines/ktray';
import { buildCli, KtrayCli } from './baselines/ktray-cli';
import { Manual } from './baselines/manual';
import { describeMachine } from './machine';
import { countKernels, kernelBootMs, runtimeDir, startKernels, stopAllKernels } from './remote-kernels';
import { renderMarkdown, renderText } from './report';
import { type Results, type Settings } from './results';
import { coldSection, warmSection } from './sections/attach';
import { discoverySection } from './sections/discovery';
import { memorySection } from './sections/memory';
import { plotsSection } from './sections/plots';
import { slurmSection } from './sections/slurm';
import { serversSection } from './sections/servers';
import { startupSection } from './sections/startup';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from '../e2e/harness/slurm-cluster';
import { wireSection } from './sections/wire';
import { isAlive, killSshClients, median, memoryOf, now, timed } from './util';

const SECTIONS = ['startup', 'cold', 'warm', 'discovery', 'servers', 'wire', 'memory', 'plots', 'slurm'] as const;
type Section = (typeof SECTIONS)[number];

function options(): { settings: Settings; only: Set<Section>; out: string } {
  const { values } = parseArgs({
    options: {
      'rtt-ms': { type: 'string' },
      runs: { type: 'string' },
      requests: { type: 'string' },
      'display-mb': { type: 'string' },
      'memory-kernels': { type: 'string' },
      plots: { type: 'string' },
      'plot-kb': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const num = (v: string | undefined, env: string | undefined, def: number, what: string) => {
    const n = Number(v ?? env ?? def);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a non-negative number, got ${v ?? env}`);
    return n;
  };
  const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()) as Section[]);
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s} (use ${SECTIONS.join(',')})`);
  const memoryKernels = Math.max(1, Math.round(num(values['memory-kernels'], undefined, 20, '--memory-kernels')));
  return {
    settings: {
      rttMs: num(values['rtt-ms'], process.env.BENCH_RTT_MS, 50, '--rtt-ms'),
      runs: Math.max(1, Math.round(num(values.runs, process.env.BENCH_RUNS, 5, '--runs'))),
      latencyRequests: Math.max(1, Math.round(num(values.requests, undefined, 50, '--requests'))),
      displayMb: num(values['display-mb'], undefined, 20, '--display-mb'),
      memoryKernels,
      discoveryCounts: [1, 10, Math.max(50, memoryKernels)],
      plotCount: Math.max(1, Math.round(num(values.plots, undefined, 500, '--plots'))),
      plotKb: Math.max(1, num(values['plot-kb'], undefined, 200, '--plot-kb')),
    },
    only,
    out: values.out ?? fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url)),
  };
}

const t0 = now();
const log = (line: string) => process.stderr.write(`[bench ${((now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

async function main(): Promise<void> {
  const { settings, only, out } = options();
  const r: Results = { settings, cold: {}, warm: {}, discovery: [], latency: {}, throughput: {}, slurm: null, latencyTty: null, throughputTty: null, memory: null, plots: null, startup: null, servers: null, notes: [], skipped: [], startedAt: new Date(), seconds: 0, endLoad: NaN };
  const dir = await mkdtemp(path.join(tmpdir(), 'kt-bench-'));
  // The OpenSSH column's agents read a copy of the remote's ssh_config, so the baselines' clean-up spares their masters.
  const opensshConfig = path.join(dir, 'ssh_config.openssh');
  let remote: RemoteHost | undefined;
  let cluster: SlurmCluster | undefined;
  let tray: TrayAgent | undefined;
  let cli: KtrayCli | undefined;
  let openssh: TrayAgent | undefined;
  let opensshCli: KtrayCli | undefined;
  const emergency = () => {
    if (cli?.agentPid && isAlive(cli.agentPid)) process.kill(cli.agentPid, 'SIGKILL');
    if (opensshCli?.agentPid && isAlive(opensshCli.agentPid)) process.kill(opensshCli.agentPid, 'SIGKILL');
    if (remote) killSshClients(remote.sshConfigFile);
    killSshClients(opensshConfig);
    if (cluster) killSshClients(cluster.sshConfigFile);
    process.exit(130); // the harness's exit hook ends the remote host and its kernels
  };
  process.once('SIGINT', emergency);
  process.once('SIGTERM', emergency);
  try {
    if (only.has('startup')) {
      // First, while nothing else of the benchmark runs.
      log('CLI start-up');
      r.startup = await startupSection({ runs: Math.max(21, settings.runs), log });
      r.notes.push(startupNote(r.startup));
    }
    const machine = await describeMachine();
    const bundle = [...only].some((s) => s !== 'startup') ? (log('building the ktray CLI bundle for the benchmark'), await buildCli()) : '';
    if ([...only].some((s) => s !== 'startup' && s !== 'slurm')) {
      log(`starting the remote host with ${settings.rttMs} ms RTT`);
      remote = await startRemoteHost({ latencyMs: settings.rttMs / 2 });
      if (!remote.isolated) r.notes.push('The remote host ran in loopback mode (not root): sshd on 127.0.0.1 without its own namespace.');
      const manual = new Manual(remote, dir);
      const jc = new JupyterTunnel(remote, dir, manual);
      await jc.setup();
      await context(r, remote, manual);
      await copyFile(remote.sshConfigFile, opensshConfig);
      const ctx = { remote, dir, bundle, manual, jc, opensshConfig, runs: settings.runs, log };

      if (only.has('cold')) {
        log('cold start');
        r.cold = await coldSection(ctx);
      }
      tray = await TrayAgent.open(remote, path.join(dir, 'tray'));
      cli = new KtrayCli(bundle, remote.sshConfigFile, path.join(dir, 'agent', 'home'), path.join(dir, 'agent', 'runtime'));
      const agentPid = await cli.startAgent();
      const idleMb = memoryOf(agentPid).rssMb;
      // The same host through the system's OpenSSH client, set by hand as `ktray hosts HOST --transport openssh` sets it.
      openssh = await TrayAgent.open(remote, path.join(dir, 'tray-openssh'), 'openssh', opensshConfig);
      if (only.has('warm')) {
        log('warm attach');
        r.warm = await warmSection(ctx, tray, cli, openssh);
      }
      if (only.has('discovery')) {
        log('discovery');
        await stopAllKernels(remote);
        r.discovery = await discoverySection({ remote, manual, tray, cli, openssh, runs: settings.runs, counts: settings.discoveryCounts, log });
      }
      if (only.has('servers')) {
        log('Jupyter servers');
        r.servers = await serversSection({ remote, tray, cli, runs: settings.runs, servers: 2, notebooksPerServer: 5, log });
      }
      const running = await countKernels(remote);
      const needed = only.has('memory') ? settings.memoryKernels : only.has('wire') || only.has('plots') ? 1 : 0;
      if (running < needed) await startKernels(remote, needed - running, 'fill');
      // Memory first: the target is about holding kernels, before any bulk output went through the agent.
      if (only.has('memory')) {
        log(`memory with ${settings.memoryKernels} attached kernels`);
        const m = await memorySection({ remote, cli, kernels: settings.memoryKernels, log });
        r.memory = { kernels: m.kernels, idleMb, rssMb: m.rss, hwmMb: m.hwmMb, afterBulkMb: null, sshForwardMb: null, jcTunnelMb: null };
      }
      // After memory (which is about holding kernels), before wire's bulk display_data.
      if (only.has('plots')) {
        log(`agent memory while ${settings.plotCount} plots of ${settings.plotKb} kB flow`);
        const file = (await remote.exec(`ls ${runtimeDir(remote)}/kernel-*.json | head -1`)).stdout.trim();
        r.plots = await plotsSection({ remote, cli, kernel: { file, id: `${remote.alias}/${kernelNameFromPath(file)}` }, count: settings.plotCount, kb: settings.plotKb, log });
        r.notes.push(plotsNote(r.plots));
      }
      if (only.has('wire')) {
        log('latency and throughput');
        const file = (await remote.exec(`ls ${runtimeDir(remote)}/kernel-*.json | head -1`)).stdout.trim();
        opensshCli = new KtrayCli(bundle, opensshConfig, path.join(dir, 'agent-openssh', 'home'), path.join(dir, 'agent-openssh', 'runtime'));
        await opensshCli.startAgent();
        const w = await wireSection({ remote, manual, jc, cli, opensshCli, kernel: { file, id: `${remote.alias}/${kernelNameFromPath(file)}` }, runs: settings.runs, requests: settings.latencyRequests, displayMb: settings.displayMb, log });
        r.latency = w.latency;
        r.throughput = w.throughput;
        r.latencyTty = w.latencyTty;
        r.throughputTty = w.throughputTty;
        if (w.jcFile) await checkJupyterClient(r, w.jcFile);
        killSshClients(remote.sshConfigFile);
        if (r.memory) Object.assign(r.memory, { sshForwardMb: w.sshForwardMb, jcTunnelMb: w.jcTunnelMb, afterBulkMb: memoryOf(agentPid).rssMb });
      }
      r.notes.push(...jcNotes(jc), ...staticNotes());
    }
    if (only.has('slurm')) {
      const why = slurmUnavailable();
      if (why) {
        r.skipped.push(`Slurm row: ${why}.`);
      } else {
        log(`starting the Slurm cluster with ${settings.rttMs} ms RTT`);
        cluster = await startSlurmCluster({ latencyMs: settings.rttMs / 2 });
        log('slurm submit → first result');
        r.slurm = await slurmSection({ cluster, dir, bundle, runs: settings.runs, log });
        r.notes.push(slurmNote());
        killSshClients(cluster.sshConfigFile);
      }
    }
    r.seconds = (now() - t0) / 1000;
    r.endLoad = loadavg()[0] ?? NaN;
    const text = renderText(r);
    process.stdout.write(text + '\n');
    await writeFile(out, renderMarkdown(r, machine));
    log(`wrote ${out}`);
  } finally {
    log('cleaning up');
    await tray?.close().catch(() => {});
    await openssh?.close().catch(() => {});
    await cli?.dispose().catch(() => {});
    await opensshCli?.dispose().catch(() => {});
    killSshClients(opensshConfig);
    if (remote) {
      killSshClients(remote.sshConfigFile);
      await remote.stop();
    }
    if (cluster) {
      killSshClients(cluster.sshConfigFile);
      await cluster.stop();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function plotsNote(p: NonNullable<Results['plots']>): string {
  return (
    `Plots: a jupyter_client on the remote host ran one cell that displayed ${p.count} PNGs of ${p.kb} kB each (800×600 headers, random data, so nothing compresses) in a kernel the background agent had attached; ` +
    `the agent heard them all on its own iopub in ${p.seconds.toFixed(1)} s. RSS sampled every 200 ms from before the cell until the agent had the last one; "after" is the median of 5 samples a few seconds later. ` +
    `The store then held ${p.inMemoryMb.toFixed(1)} MiB in memory and ${p.spilledMb.toFixed(1)} MiB in its 0600 cache${p.dropped ? `, ${p.dropped} dropped` : ''}.`
  );
}

/** Floors that explain the figures: one ssh command, a kernel's boot on the host. */
async function context(r: Results, remote: RemoteHost, manual: Manual): Promise<void> {
  const ssh: number[] = [];
  for (let i = 0; i < 3; i++) ssh.push((await timed(() => manual.list()))[1]);
  const boot: number[] = [];
  for (let i = 0; i < 3; i++) boot.push(await kernelBootMs(remote));
  const v = await run('ssh', ['-v', '-F', remote.sshConfigFile, '-o', 'ControlPath=none', remote.alias, 'true'], { timeoutMs: 60_000 });
  const kex = /kex: algorithm: (\S+)/.exec(v.stderr)?.[1] ?? 'unknown';
  r.notes.push(
    `Key exchange: OpenSSH negotiates ${kex} with this sshd; ssh2 (Kernel Tray) has no post-quantum kex and uses curve25519-sha256, which costs less CPU per login.`,
  );
  r.notes.push(
    `Floors at this RTT: one fresh OpenSSH command (\`ssh host 'ls; cat; ps'\`) takes ${Math.round(median(ssh))} ms; an ipykernel takes ${Math.round(median(boot))} ms on the host itself (no SSH) from launch to its connection file.`,
  );
}

/** (b) with jupyter_client's own client, once: the baseline must work end to end, not just open ports. */
async function checkJupyterClient(r: Results, file: string): Promise<void> {
  try {
    const c = await runJupyterCheck(file, '1+1', { timeoutSec: 30 });
    r.notes.push(`(b) checked with jupyter_client's own BlockingKernelClient over its tunnels: ${c.status === 'ok' && c.result === '2' ? '1+1 = 2' : `failed: ${c.ename} ${c.evalue}`}.`);
  } catch (err) {
    r.notes.push(`(b) check with jupyter_client's own client failed: ${(err as Error).message}`);
  }
}

function jcNotes(jc: JupyterTunnel): string[] {
  const py = jc.pythonStartMs.length ? ` Not counted in (b): Python start + \`import jupyter_client\`, median ${Math.round(median(jc.pythonStartMs))} ms per call.` : '';
  return [
    `(b) jupyter_client.tunnel_to_kernel from Debian's python3-jupyter-client: ${jc.configNote}. No paramiko is installed, so it uses OpenSSH through pexpect: \`ssh -f HOST exit\` (password probe), then for each of the five ports \`ssh -O check\` and \`ssh -f -S none -L 127.0.0.1:L:IP:R HOST sleep 60\`, i.e. six SSH logins in a row; each tunnel closes 60 s after opening unless a connection is active, and jupyter console's heartbeat gives a kernel 1 s (time_to_dead) before calling it dead.${py}`,
    "(b) why its tunnels die (checked by hand on this machine, not by the benchmark): pexpect runs each `ssh -f` as a session leader on a pty; when that ssh forks to the background and exits, the pty hangs up and SIGHUP can reach the forked child before it has called setsid(). The child's `-E` log ends at `forking to background`, and the same command run with SIGHUP ignored (`sh -c \"trap '' HUP; exec ssh -f ...\"`) kept its tunnel every time. It is a race, so some tunnels live and some do not; Enterprise Gateway met similar flakiness with its own ssh tunnels (jupyter-server/enterprise_gateway#201 mentions the number of ssh tunnel processes fluctuating between 3 and 6).",
  ];
}

function startupNote(st: NonNullable<Results['startup']>): string {
  return `CLI start: \`node bin/ktray.js --version\` (what \`ktray\` and \`npm run ktray --\` run in a checkout: one stat per input of the last build, then the bundle), \`node dist/cli/ktray.js --version\` (the bundle alone) and \`node -e 0\`, each spawned ${st.runs} times, interleaved, from spawn to exit. The first run, not counted, took ${Math.round(st.firstMs)} ms${st.rebuilt ? ' and rebuilt the bundle (its sources had changed since the last build)' : ' (the bundle was up to date)'}.`;
}

function slurmNote(): string {
  return "Slurm: the harness's real cluster (slurmctld + sshd on a login node, slurmd on a compute node only the login node reaches, Debian's slurm-wlm 22.05 and munge), idle, with the same added RTT in front of the login node. (a) by hand: `ssh login sbatch --parsable --time=00:10:00 --wrap 'python3 -m ipykernel_launcher -f FILE --ip=$(hostname -I)'`; `ssh login 'until [ -s FILE ]; do sleep 0.1; done; cat FILE'`; `ssh -f -N -L p:NODE:port x5 login`; then `1+1` (no ControlMaster: each step a fresh login). (c) `start` with `--slurm --time=00:10:00` (sbatch, then the queue and the shared home asked until the kernel runs there), `attach`, `1+1`, from a fresh agent with no connection each run; the CLI the same through `ktray start --slurm` and `ktray attach`. Every job is cancelled between runs.";
}

function staticNotes(): string[] {
  return [
    "(a) the manual recipe with OpenSSH and the harness's ssh_config, no ControlMaster (`-o ControlPath=none`: each step is a fresh SSH login, as the usual recipe has it): `ssh HOST 'setsid nohup python3 -m ipykernel_launcher -f FILE >/dev/null 2>&1 </dev/null &'`; `ssh HOST 'until [ -s FILE ]; do sleep 0.05; done; cat FILE'`; `ssh -f -N -o ExitOnForwardFailure=yes -L p:127.0.0.1:r x5 HOST` (returns once the forwards listen); ports rewritten into a local 0600 connection file.",
    "(a) servers: one fresh `ssh HOST` that cats every jpserver-/nbserver-*.json of the runtime dir and asks each server's /api/sessions on the host with curl (the token read from the file and fed to curl on stdin, not in its argv), plus `ps`; (c) `servers({host, refresh})` / `ktray servers HOST` (one discovery round trip, with the /api/sessions of the servers it already knows asked on streams through the one SSH connection while that round trip runs). Open: (a) `ssh -f -N -o ExitOnForwardFailure=yes -L p:127.0.0.1:PORT HOST`, then `GET http://127.0.0.1:p/api`; (c) `openServer` / `ktray open ID --print` on the connected host (a tunnel on 127.0.0.1, a check that the server answers through it, the 0600 login page), then the same GET; the tunnel is closed between runs.",
    "(a) discovery is the fair expert equivalent of `ktray ls`: one fresh `ssh HOST 'cd ~/.local/share/jupyter/runtime && for f in kernel-*.json; do echo; cat $f; done; ps -u $(id -u) -o pid=,etime=,args='` (no Python started; `jupyter --runtime-dir` would add an interpreter start).",
    '(c) tray: the agent in this process (hostAgent, as Electron main hosts it), already running; cold = host not connected, `start` + `attach` (frontend none) + first result; warm = host connected and kernel listed, `attach` + first result. (c) CLI: the `ktray` bundle (esbuild, as scripts/build.mjs builds it) run by node for each command, talking to its background agent (`ktray agent start`); each figure includes node starting the CLI.',
    "(o) the same host set to the OpenSSH transport by hand (`setTransport`, what `ktray hosts HOST --transport openssh` calls): one `ssh -M -N` master per agent with ControlMaster=yes, BatchMode=yes and the harness's ssh_config, every command (`ssh -S CTL HOST sh -s`, the script on stdin) and every tunnel's accepted socket (`ssh -S CTL -W 127.0.0.1:PORT HOST`) multiplexed through it. Cold, warm and discovery: an in-process agent as in (c) tray (cold: a fresh one per run, so its master's login is counted); latency and throughput: a second background agent process, as (c)'s tunnels are. Each run checks, untimed, that the host really went through OpenSSH.",
    'The first result is measured with the same client for every approach: Kernel Tray\'s Node zeromq KernelClient, already loaded (kernel_info until iopub answers, then execute `1+1`), so no frontend start-up is counted for anyone.',
    'Latency and throughput: one kernel reached at once through (a) one `ssh -N -L x5`, the same forwards from `ssh -tt ... sleep` (OpenSSH sets TCP_NODELAY only for interactive sessions, so `-N` forwards run with Nagle\'s algorithm), (b) the five jupyter_client tunnels, and (c) the tunnels of the background agent (its own process, like the app\'s agent and a separate frontend), requests interleaved; the targets compare (c) with the faster of the two OpenSSH forwards. Memory: VmRSS of that agent process with the kernels attached, read from /proc after its monitors have beaten for a few seconds (median of 5 samples), before the throughput runs; read again after them.',
  ];
}

main().catch((err) => {
  log(`FAILED: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
