// A real Slurm cluster for end-to-end tests: Debian's slurm-wlm and munge as
// plain root processes in namespaces of their own, no systemd.
//
//   this machine ── TcpBridge ── unix socket ─┐
//                                            login node (net+pid+mount+uts ns):
//                                              sshd on 127.0.0.1:22, slurmctld, munged
//                                              │ veth, a /24 this machine does not use
//                                            compute node (its own net+pid+mount+uts ns):
//                                              slurmd, munged; reachable only from the login node
//
// Both nodes see the same home (a folder of this harness bind-mounted over the
// test user's home), the same /etc/slurm and /etc/hosts (bind mounts too), and
// each its own /run/munge with a munged that holds a key generated for this
// cluster. Nodes are entered with `nsenter --net` plus `unshare --mount --uts
// --pid`, not `ip netns exec`, which remounts /sys (see slurm-files.ts for the
// plugin choices that work without systemd or cgroup delegation).
//
// Every instance has its own namespaces (kts-ID-l, kts-ID-c), hostnames,
// cluster name, state dirs and test user (from host-state.ts's pool), so
// parallel runs do not collide; a claim file in /run/kts-harness lets the
// next run remove what a crashed one left.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LogTail, waitForLine, type Backend, type BackendKeys } from './backend';
import { claimUser, ensureUser, killUserProcesses, releaseUser } from './host-state';
import { isAlive, processStartTime, run, runOk, SYSTEM_PATH, sleep, tryKill, type RunResult } from './proc';
import { userIds } from './isolated-remote';
import { startRemoteHost, type RemoteHost } from './remote-host';
import { keygen, SSHD, sshdConfig, writeSshdConfig } from './ssh-files';
import { hostsFile, slurmConf, type ClusterNames } from './slurm-files';

const INIT = fileURLToPath(new URL('./remote-init.py', import.meta.url));
const env = { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' };
const CLAIMS = '/run/kts-harness';
const NS_PATTERN = /^kts-[0-9a-f]{8}-[lc]$/;

export interface SlurmCluster extends RemoteHost {
  /** The login node (the SSH host) and the compute node, as the cluster names them. */
  login: { hostname: string; address: string };
  /** The compute node also runs an sshd (port 22, the shared home's authorized_keys); `knownHostsLine` is its key under its name. */
  compute: { hostname: string; address: string; cpus: number; knownHostsLine: string };
  /** Rewrites the login node's sshd_config with AllowTcpForwarding yes or no and restarts it (connections made before keep theirs). */
  setLoginForwarding(allowed: boolean): Promise<void>;
  /** The default partition. */
  partition: string;
  /** `sh -c cmd` as the test user on the compute node (never through SSH). */
  execCompute(cmd: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** `sh -c cmd` as root on the login node: the cluster's administrator (scontrol, scancel of anyone's job). */
  execAdmin(cmd: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Starts argv as another local user on the compute node (its process list as they see it), stdio piped. */
  spawnComputeAs(user: string, argv: string[]): ChildProcess;
  /** The test user's jobs in squeue's default states (pending, running, completing...): `ID STATE NAME` lines. */
  queue(): Promise<string[]>;
}

/** Why a Slurm cluster cannot be made here, or null when it can. */
export function slurmUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the Slurm harness needs root (namespaces, munge and slurmd run as root)';
  for (const bin of ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', '/usr/sbin/mungekey', '/usr/bin/sbatch', '/usr/bin/nsenter', '/usr/bin/unshare', SSHD, '/usr/bin/socat']) {
    if (!existsSync(bin)) return `${bin} is missing (Debian packages slurm-wlm, munge, openssh-server, socat, util-linux)`;
  }
  return null;
}

export async function startSlurmCluster(opts: { latencyMs?: number } = {}): Promise<SlurmCluster> {
  const why = slurmUnavailable();
  if (why) throw new Error(`Cannot start a Slurm cluster: ${why}.`);
  let nodes: SlurmBackend | undefined;
  const remote = await startRemoteHost({ ...opts, backend: async (k) => (nodes = await startSlurmBackend(k)) });
  const b = nodes!;
  return {
    ...remote,
    login: b.names.login,
    compute: { ...b.names.compute, knownHostsLine: b.computeKnownHostsLine },
    setLoginForwarding: (allowed) => b.setLoginForwarding(allowed),
    partition: b.names.partition,
    execCompute: (cmd, o) => b.execCompute(cmd, o?.timeoutMs ?? 120_000),
    execAdmin: (cmd, o) => b.execAdmin(cmd, o?.timeoutMs ?? 120_000),
    spawnComputeAs: (user, argv) => b.spawnComputeAs(user, argv),
    async queue() {
      const r = await b.exec(`squeue -h -u "$(id -un)" -o '%i %T %j'`, 60_000);
      if (r.code !== 0) throw new Error(`squeue failed on the login node: ${r.stderr}`);
      return r.stdout.split('\n').filter(Boolean);
    },
  };
}

interface SlurmBackend extends Backend {
  names: ClusterNames;
  execCompute(cmd: string, timeoutMs: number): Promise<RunResult>;
  execAdmin(cmd: string, timeoutMs: number): Promise<RunResult>;
  spawnComputeAs(user: string, argv: string[]): ChildProcess;
  computeKnownHostsLine: string;
  setLoginForwarding(allowed: boolean): Promise<void>;
}

interface Node {
  child: ChildProcess;
  initPid: number;
  ns: string;
  logs: LogTail;
  subscribe(cb: (line: string) => void): () => void;
}

async function startSlurmBackend(k: BackendKeys): Promise<SlurmBackend> {
  await sweepStaleClusters();
  const id = k.id;
  const nsLogin = `kts-${id}-l`;
  const nsCompute = `kts-${id}-c`;
  const user = await claimUser(nsLogin, k.dir);
  const undo: (() => Promise<unknown>)[] = [async () => releaseUser(user), () => killUserProcesses(user)];
  const nodes: Node[] = [];
  try {
    writeClaim(id, [nsLogin, nsCompute], k.dir);
    undo.push(async () => rmSync(claimPath(id), { force: true }));
    const u = await ensureUser(user, k.loginShell);
    await killUserProcesses(user);
    const subnet = await pickSubnet();
    const s = join(k.dir, 'slurm');
    const names: ClusterNames = {
      cluster: `kts${id}`,
      login: { hostname: `ktl-${id}`, address: `${subnet}.1` },
      compute: { hostname: `ktc-${id}`, address: `${subnet}.2`, cpus: Math.max(1, Math.min(2, cpus().length)) },
      partition: 'debug',
      stateDir: join(s, 'ctld'),
      spoolDir: join(s, 'spool'),
    };

    // The shared home: one folder of ours over the user's home on both nodes.
    const home = join(k.dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(join(home, '.ssh', 'authorized_keys'), k.authorizedKeys, { mode: 0o600 });
    for (const p of [home, join(home, '.ssh'), join(home, '.ssh', 'authorized_keys')]) await chown(p, u.uid, u.gid);
    await chmod(home, 0o755);

    await mkdir(join(s, 'etc'), { recursive: true, mode: 0o755 });
    // slurmstepd execs the job script from the spool dir as the user: the path must be traversable
    // (0711: no listing; the ssh keys in it stay 0600).
    await chmod(k.dir, 0o711);
    for (const d of ['ctld', 'spool', 'munge-l', 'munge-c']) await mkdir(join(s, d), { mode: 0o755 });
    await writeFile(join(s, 'etc', 'slurm.conf'), slurmConf(names), { mode: 0o644 });
    await writeFile(join(s, 'hosts'), hostsFile(names), { mode: 0o644 });
    const key = join(s, 'munge.key');
    await runOk('mungekey', ['--create', `--keyfile=${key}`], { env });
    await chmod(key, 0o400);

    const config = join(k.dir, 'sshd_config');
    const loginSshd = sshdConfig({ listen: '127.0.0.1:22', hostKey: k.hostKey, pidFile: join(k.dir, 'sshd.pid'), user, authorizedKeysFile: '.ssh/authorized_keys', strictModes: true });
    await writeSshdConfig(config, loginSshd);
    // The compute node's own sshd (for sites whose login node forbids forwarding: Kernel Tray's nodeSsh).
    const computeKey = join(k.dir, 'ssh_host_ed25519_key_compute');
    const computeKeyLine = await keygen(computeKey, names.compute.hostname);
    const computeConfig = join(k.dir, 'sshd_config_compute');
    await writeSshdConfig(
      computeConfig,
      sshdConfig({ listen: `${names.compute.address}:22`, hostKey: computeKey, pidFile: join(k.dir, 'sshd-compute.pid'), user, authorizedKeysFile: '.ssh/authorized_keys', strictModes: true }),
    );

    for (const ns of [nsLogin, nsCompute]) {
      await runOk('ip', ['netns', 'add', ns], { env });
      undo.push(() => removeNamespace(ns));
      await runOk('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { env });
    }
    await runOk('ip', ['-n', nsLogin, 'link', 'add', 'kt0', 'type', 'veth', 'peer', 'name', 'kt0', 'netns', nsCompute], { env });
    await runOk('ip', ['-n', nsLogin, 'addr', 'add', `${names.login.address}/24`, 'dev', 'kt0'], { env });
    await runOk('ip', ['-n', nsCompute, 'addr', 'add', `${names.compute.address}/24`, 'dev', 'kt0'], { env });
    for (const ns of [nsLogin, nsCompute]) await runOk('ip', ['-n', ns, 'link', 'set', 'kt0', 'up'], { env });

    const mounts = (munge: string) => [
      [join(s, 'etc'), '/etc/slurm'],
      [join(s, 'hosts'), '/etc/hosts'],
      [join(s, munge), '/run/munge'],
      [home, u.home],
    ];
    const munged = (node: string) => ({
      name: 'munged',
      ready: 'Created socket',
      argv: ['/usr/sbin/munged', '-F', '--force', `--key-file=${key}`, '--socket=/run/munge/munge.socket.2',
        `--pid-file=${join(s, `munged-${node}.pid`)}`, `--log-file=${join(s, `munged-${node}.log`)}`, `--seed-file=${join(s, `munged-${node}.seed`)}`],
    });
    const socket = join(k.dir, 'sshd.sock');
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    await mkdir('/run/munge', { recursive: true, mode: 0o755 });
    await mkdir('/etc/slurm', { recursive: true, mode: 0o755 });

    const login = await startNode(nsLogin, {
      hostname: names.login.hostname,
      mounts: mounts('munge-l'),
      daemons: [munged('l'), { name: 'slurmctld', ready: 'Running as primary controller', argv: ['/usr/sbin/slurmctld', '-D', '-i'] }],
      sshd: [SSHD, '-D', '-e', '-f', config],
      bridge: ['/usr/bin/socat', `UNIX-LISTEN:${socket},fork,mode=600,unlink-early`, 'TCP:127.0.0.1:22'],
    }, ['munged-ready', 'slurmctld-ready', 'sshd-ready']);
    nodes.push(login);
    undo.push(() => stopNode(login));
    const compute = await startNode(nsCompute, {
      hostname: names.compute.hostname,
      mounts: mounts('munge-c'),
      daemons: [munged('c'), { name: 'slurmd', ready: 'slurmd started on', argv: ['/usr/sbin/slurmd', '-D'] }],
      sshd: [SSHD, '-D', '-e', '-f', computeConfig],
    }, ['munged-ready', 'slurmd-ready', 'sshd-ready']);
    nodes.push(compute);
    undo.push(() => stopNode(compute));

    const asUser = (node: Node, cmd: string, timeoutMs: number) =>
      run('nsenter', ['--target', String(node.initPid), '--net', '--pid', '--mount', '--uts', `--wd=${u.home}`, '--',
        'setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--reset-env', '--', '/bin/sh', '-c', cmd], { env, timeoutMs });
    const asRoot = (node: Node, cmd: string, timeoutMs: number) =>
      run('nsenter', ['--target', String(node.initPid), '--net', '--pid', '--mount', '--uts', '--', '/bin/sh', '-c', cmd], { env, timeoutMs });
    const spawnAs = (node: Node, other: string, argv: string[]) => {
      const ids = userIds(other);
      return spawn('nsenter', ['--target', String(node.initPid), '--net', '--pid', '--mount', '--uts', '--wd=/', '--',
        'setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--reset-env', '--', ...argv],
      { env, stdio: ['pipe', 'pipe', 'pipe'] });
    };
    const logs = () => `login node:\n${login.logs}\ncompute node:\n${compute.logs}`;

    // The node registers with slurmctld on its own; it takes jobs once sinfo says idle.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await asRoot(login, `sinfo -h -n ${names.compute.hostname} -o %t`, 30_000);
      if (r.stdout.trim() === 'idle') break;
      if (Date.now() > deadline) throw new Error(`the compute node never became idle (sinfo: ${r.stdout.trim() || r.stderr.trim()}).\n${logs()}`);
      await sleep(200);
    }

    return {
      user,
      home: u.home,
      isolated: true,
      namespace: nsLogin,
      uid: u.uid,
      // Another local user on the login node (the process list as they see it).
      spawnAs: (other, argv) => spawnAs(login, other, argv),
      spawnComputeAs: (other, argv) => spawnAs(compute, other, argv),
      names,
      connectUpstream: () => net.createConnection(socket),
      logs,
      exec: (cmd, timeoutMs) => asUser(login, cmd, timeoutMs),
      execCompute: (cmd, timeoutMs) => asUser(compute, cmd, timeoutMs),
      execAdmin: (cmd, timeoutMs) => asRoot(login, cmd, timeoutMs),
      async restartSshd() {
        const ready = waitForLine(login.subscribe, 'sshd-ready', 30_000, logs);
        login.child.stdin!.write('restart-sshd\n');
        await ready;
      },
      computeKnownHostsLine: `${names.compute.hostname} ${computeKeyLine}\n`,
      async setLoginForwarding(allowed) {
        await writeSshdConfig(config, loginSshd.replace('AllowTcpForwarding yes', `AllowTcpForwarding ${allowed ? 'yes' : 'no'}`));
        const ready = waitForLine(login.subscribe, 'sshd-ready', 30_000, logs);
        login.child.stdin!.write('restart-sshd\n');
        await ready;
      },
      stop: () => runUndo(undo),
      stopSync() {
        for (const n of nodes) if (n.child.pid) tryKill(n.child.pid);
        for (const ns of [nsLogin, nsCompute]) removeNamespaceSync(ns);
        try {
          execFileSync('pkill', ['-KILL', '-u', user], { env, stdio: 'ignore' });
        } catch {
          // best effort at exit
        }
        rmSync(claimPath(id), { force: true });
        releaseUser(user);
      },
    };
  } catch (err) {
    await runUndo(undo);
    throw err;
  }
}

async function startNode(ns: string, cfg: Record<string, unknown>, ready: string[]): Promise<Node> {
  const logs = new LogTail();
  // --kill-child: if unshare dies, our init gets SIGKILL and the kernel empties the namespace.
  const child = spawn(
    'nsenter',
    [`--net=/run/netns/${ns}`, '--', 'unshare', '--pid', '--fork', '--mount-proc', '--uts', '--kill-child', '--',
      '/usr/bin/python3', '-u', INIT, JSON.stringify(cfg)],
    { env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines = new Set<(line: string) => void>();
  const seen = new Set<string>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    seen.add(line);
    lines.forEach((cb) => cb(line));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => logs.add(d));
  child.stdin!.on('error', () => {});
  const subscribe = (cb: (line: string) => void) => {
    lines.add(cb);
    return () => lines.delete(cb);
  };
  const node: Node = { child, initPid: 0, ns, logs, subscribe };
  try {
    for (const want of ready) {
      if (seen.has(want)) continue;
      await waitForLine(subscribe, want, 60_000, () => `${cfg.hostname} (namespace ${ns}) did not come up. Its log:\n${logs}`);
    }
    node.initPid = await initPidOf(child.pid!);
    return node;
  } catch (err) {
    await stopNode(node);
    throw err;
  }
}

/** nsenter (no --pid, so no fork) execs unshare, whose only child is our init. */
async function initPidOf(unsharePid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const pid = Number((await run('pgrep', ['-P', String(unsharePid)], { env })).stdout.trim().split('\n')[0]);
    if (pid > 0) return pid;
    await sleep(20);
  }
  throw new Error(`cannot find the init process under unshare (pid ${unsharePid})`);
}

async function stopNode(n: Node): Promise<void> {
  // EOF on its stdin makes init exit; as PID 1 that takes every process of the node with it.
  n.child.stdin!.end();
  for (let i = 0; i < 100 && n.child.exitCode === null && n.child.signalCode === null; i++) await sleep(50);
  if (n.child.pid && isAlive(n.child.pid)) tryKill(n.child.pid);
}

async function runUndo(undo: (() => Promise<unknown>)[]): Promise<void> {
  const errors: unknown[] = [];
  while (undo.length) {
    try {
      await undo.pop()!();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}

// ---- the subnet between the nodes ------------------------------------------------

const CANDIDATES = ['10.213.7', '10.214.7', '172.30.213', '10.99.213'];

/** A /24 that no address or route of this machine touches (the nodes' veth must never shadow a real network). */
async function pickSubnet(): Promise<string> {
  const addrs = JSON.parse((await runOk('ip', ['-j', '-4', 'addr'], { env })).stdout) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  const nets: Array<{ base: number; bits: number }> = [];
  for (const a of addrs) for (const i of a.addr_info ?? []) nets.push({ base: ip4(i.local), bits: i.prefixlen });
  const routes = JSON.parse((await runOk('ip', ['-j', '-4', 'route'], { env })).stdout) as Array<{ dst: string }>;
  for (const r of routes) {
    if (r.dst === 'default') continue;
    const [addr, bits] = r.dst.split('/');
    nets.push({ base: ip4(addr!), bits: bits ? Number(bits) : 32 });
  }
  for (const c of CANDIDATES) {
    const base = ip4(`${c}.0`);
    const overlaps = nets.some((n) => {
      const bits = Math.min(n.bits, 24);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      return ((n.base & mask) >>> 0) === ((base & mask) >>> 0);
    });
    if (!overlaps) return c;
  }
  throw new Error(`every candidate subnet for the Slurm harness (${CANDIDATES.join(', ')}.0/24) is in use on this machine`);
}

function ip4(a: string): number {
  return a.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

// ---- claims and what a crashed run left ----------------------------------------------

interface ClusterClaim {
  id: string;
  namespaces: string[];
  dir: string;
  ownerPid: number;
  ownerStart: string | null;
}

const claimPath = (id: string) => `${CLAIMS}/${id}.json`;

function writeClaim(id: string, namespaces: string[], dir: string): void {
  mkdirSync(CLAIMS, { recursive: true, mode: 0o700 });
  const claim: ClusterClaim = { id, namespaces, dir, ownerPid: process.pid, ownerStart: processStartTime(process.pid) };
  writeFileSync(claimPath(id), JSON.stringify(claim), { flag: 'wx', mode: 0o600 });
}

/** Namespaces (and with them daemons, jobs, kernels and mounts) and folders of runs whose owner process is gone. */
async function sweepStaleClusters(): Promise<void> {
  mkdirSync(CLAIMS, { recursive: true, mode: 0o700 });
  const live = new Set<string>();
  for (const file of readdirSync(CLAIMS)) {
    let c: ClusterClaim | null = null;
    try {
      c = JSON.parse(readFileSync(`${CLAIMS}/${file}`, 'utf8')) as ClusterClaim;
    } catch {
      c = null;
    }
    if (c && c.ownerStart !== null && processStartTime(c.ownerPid) === c.ownerStart) {
      c.namespaces.forEach((ns) => live.add(ns));
      continue;
    }
    for (const ns of c?.namespaces ?? []) await removeNamespace(ns);
    if (c && /\/kt-remote-[0-9a-f]{8}-[^/]+$/.test(c.dir)) rmSync(c.dir, { recursive: true, force: true });
    try {
      unlinkSync(`${CLAIMS}/${file}`);
    } catch {
      // another sweeper was first
    }
  }
  const list = await run('ip', ['netns', 'list'], { env });
  for (const line of list.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    if (NS_PATTERN.test(ns) && !live.has(ns)) await removeNamespace(ns);
  }
}

function namespacePids(ns: string): number[] | null {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

/** SIGKILLs everything in the namespace, waits until it is empty, then deletes it (its veth end goes with it). */
async function removeNamespace(ns: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const pids = namespacePids(ns);
    if (pids === null) return;
    if (pids.length === 0) break;
    for (const pid of pids) tryKill(pid);
    await sleep(50);
  }
  await run('ip', ['netns', 'delete', ns], { env });
}

function removeNamespaceSync(ns: string): void {
  for (const pid of namespacePids(ns) ?? []) tryKill(pid);
  try {
    execFileSync('ip', ['netns', 'delete', ns], { env, stdio: 'ignore' });
  } catch {
    // already gone
  }
}
