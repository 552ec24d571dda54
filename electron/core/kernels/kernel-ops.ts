// Kernel lifecycle on one host: list, start, stop, interrupt, restart. Each
// talks to the host through Host.run (one round trip per step) and, for clean
// shutdowns, to the kernel's control channel through a tunnel.
import { randomUUID } from 'node:crypto';
import { parseConnectionFile, kernelNameFromPath, serializeConnectionFile, withLocalChannels } from '../jupyter/connection-file';
import { KtrayError } from '../../shared/errors';
import type { Host } from '../hosts/host';
import { KernelClient } from '../jupyter/kernel-client';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { MAX_CONNECTION_FILE_BYTES, matchKernel, parseDiscovery } from './discovery';
import { findServers, type FoundServer } from '../servers/server-ops';
import { discoveryScript, launchScript, offerScript, parseLaunch, signalScript, stopScript, type LaunchSpec } from './remote-scripts';
import { PrivateChannels } from '../tunnels/channel-tunnel';
import type { ConnectionInfo, HostOffer, KernelSpecChoice, LocalChannels, PythonChoice, SchedulerJob } from '../../shared/types';
import type { QueueListing, Scheduler } from './schedulers/scheduler';

export interface FoundKernel {
  /** Unique on its host: the file's name, `@TAG`-qualified when another runtime dir has a file of that name. */
  name: string;
  connectionFile: string;
  info: ConnectionInfo;
  pid: number | null;
  /** The process's start time (Linux), so no signal reaches a later process with the same pid. */
  processStart?: string | null;
  alive: boolean;
  startedAt: number | null;
  command: string | null;
  /** The name of the live Jupyter server on the same host that runs this kernel (`jpserver-4242`), if any. */
  server?: string | null;
  /** The notebook that server runs it for (`analysis.ipynb`); null: none; undefined: the server could not be asked. */
  notebook?: string | null;
}

/** A kernel as a host's listing gives it to the kernel table: a file's kernel, or a batch job's. */
export interface ListedKernel extends Omit<FoundKernel, 'info'> {
  /** null for a batch job's kernel that has not written its connection file yet (queued, starting). */
  info: ConnectionInfo | null;
  /** The batch job it runs in (cluster hosts). */
  job?: SchedulerJob;
  /** Whether it lives is not known (a cluster's queue could not be read): unknown, not dead. */
  unknown?: boolean;
  /** Its job waits in the queue. */
  waiting?: boolean;
  /** Its job has ended: why, in words for a `kernel-died` (with the tail of its output when it failed). */
  endReason?: string;
}

export interface Listing {
  kernels: FoundKernel[];
  /** Jupyter servers, found in the same round trip. */
  servers: FoundServer[];
  warnings: string[];
  home: string;
  /** The scheduler's queue, when asked for (null otherwise). */
  queue: QueueListing | null;
}

const LIST_TIMEOUT_MS = 30_000;

export async function listKernels(host: Host, extraDirs: string[] = [], scheduler?: Scheduler, rememberedJobs: string[] = []): Promise<Listing> {
  const { script, marker } = discoveryScript(extraDirs, scheduler?.queueScript(rememberedJobs));
  const res = await host.run(script, { timeoutMs: LIST_TIMEOUT_MS });
  let found;
  try {
    found = parseDiscovery(res.stdout, marker);
  } catch (err) {
    throw new KtrayError({
      code: 'REMOTE_COMMAND_FAILED',
      host: host.id,
      message: `Listing kernels on ${host.id} failed: ${(err as Error).message}.`,
      hint: res.stderr.trim() ? `The host said: ${res.stderr.trim().slice(0, 400)}` : 'Check that the host has a POSIX sh and ps.',
    });
  }
  const kernels: FoundKernel[] = [];
  const warnings: string[] = [];
  const files = found.files.filter((f) => !isAttachmentFile(f.path));
  const names = uniqueNames(files.map((f) => f.path));
  for (const file of files) {
    if (file.text === null) {
      warnings.push(`Skipped ${file.path}: ${file.size} bytes is too big for a connection file (they are a few hundred bytes; at most ${MAX_CONNECTION_FILE_BYTES} are read).`);
      continue;
    }
    let info: ConnectionInfo;
    try {
      info = parseConnectionFile(file.text, `${host.id}:${file.path}`);
    } catch (err) {
      warnings.push(`Skipped ${file.path}: ${(err as Error).message}`);
      continue;
    }
    const proc = matchKernel(file.path, info, found);
    // An ipc kernel's relative socket paths are relative to its cwd: say where they are, absolutely.
    if (proc?.ipcBase && info.transport === 'ipc') info = { ...info, ip: proc.ipcBase };
    kernels.push({
      name: names.get(file.path)!,
      connectionFile: file.path,
      info,
      pid: proc?.pid ?? null,
      processStart: proc?.start ?? null,
      alive: proc !== null,
      startedAt: proc ? found.now - proc.elapsedSec * 1000 : file.mtime || null,
      command: proc?.args ?? null,
    });
  }
  const servers = findServers(found, warnings);
  // A server's kernels are its children.
  const parents = new Map(found.processes.map((p) => [p.pid, p.ppid]));
  const byPid = new Map(servers.filter((s) => s.alive && s.pid !== null).map((s) => [s.pid!, s.name]));
  for (const k of kernels) k.server = k.pid !== null ? (byPid.get(parents.get(k.pid) ?? -1) ?? null) : null;
  return { kernels, servers, warnings, home: found.home, queue: scheduler ? scheduler.parseQueue(found.queue) : null };
}

/** Kernel Tray's own local attachment files (`kernel-ktray-HOST-NAME.json`) describe tunnels, not kernels. */
export function isAttachmentFile(file: string): boolean {
  return path.posix.basename(file).startsWith('kernel-ktray-');
}

/**
 * Names unique on a host. A name found in more than one runtime dir keeps its
 * plain form in the first dir that has it (the order discovery looks in, most
 * specific first) and is qualified with a tag of its dir elsewhere, so ids stay
 * stable as long as that first file lives.
 */
export function uniqueNames(files: string[], nameOf: (file: string) => string = kernelNameFromPath): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const file of files) {
    const base = nameOf(file);
    if (!taken.has(base)) {
      taken.add(base);
      out.set(file, base);
      continue;
    }
    const tag = createHash('sha256').update(path.posix.dirname(file)).digest('hex').slice(0, 6);
    out.set(file, `${base}@${tag}`);
  }
  return out;
}

export interface Started {
  kernel: FoundKernel;
  runtimeDir: string;
  /** The Python the kernel runs with. */
  python: string;
  /** The kernelspec it was started from, when one was (asked for, or python3 by default). */
  kernelspec: string | null;
  /** In words: `kernelspec python3 (/usr/share/jupyter/kernels/python3) with /usr/bin/python3`. */
  how: string;
  log: string;
}

export async function startKernel(host: Host, spec: Omit<LaunchSpec, 'id'> & { id?: string }): Promise<Started> {
  const id = spec.id ?? randomUUID();
  const res = await host.run(launchScript({ ...spec, id }), { timeoutMs: ((spec.startTimeoutSec ?? 30) + 30) * 1000 });
  const out = parseLaunch(res.stdout);
  const what = spec.kernel ? `kernelspec ${spec.kernel}` : (spec.python ?? 'the default kernel');
  if (!out) {
    throw new KtrayError({
      code: 'KERNEL_START_FAILED',
      host: host.id,
      message: `Starting a kernel (${what}) on ${host.id} failed before it could report.`,
      hint: (res.stderr || res.stdout).trim().slice(-800) || undefined,
    });
  }
  if (!out.ok) throw launchError(host.id, what, out);
  const info = parseConnectionFile(JSON.stringify(out.info), `${host.id}:${out.file}`);
  return {
    kernel: {
      name: kernelNameFromPath(out.file),
      connectionFile: out.file,
      info,
      pid: out.pid,
      processStart: out.start ?? null,
      alive: true,
      startedAt: Date.now(),
      command: null,
    },
    runtimeDir: out.runtime_dir,
    python: out.python,
    kernelspec: out.kernelspec ?? null,
    how: out.how ?? `python ${out.python}`,
    log: out.log,
  };
}

function launchError(hostId: string, what: string, out: Extract<ReturnType<typeof parseLaunch>, { ok: false }>): KtrayError {
  const py = out.python ?? what;
  switch (out.error) {
    case 'PYTHON_MISSING':
      return new KtrayError({
        code: 'IPYKERNEL_MISSING',
        host: hostId,
        message: `There is no ${py} on ${hostId}.`,
        hint: `Pass the interpreter with --python PATH (e.g. a conda or venv python on ${hostId}).`,
      });
    case 'IPYKERNEL_MISSING': {
      const tried = out.tried ?? [];
      if (tried.length > 1 || (tried.length === 1 && !out.python)) {
        return new KtrayError({
          code: 'IPYKERNEL_MISSING',
          host: hostId,
          message: `No Python on ${hostId} can start ${what}: tried ${tried.map((t) => `${t.python} (${t.why})`).join(', ')}.`,
          hint: `Install ipykernel for one of them there (e.g. \`${tried[0]?.python ?? 'python3'} -m pip install ipykernel\`, or your package manager), or give --python PATH or --kernel SPEC.`,
          detail: { tried },
        });
      }
      return new KtrayError({
        code: 'IPYKERNEL_MISSING',
        host: hostId,
        message: `ipykernel is not installed for ${py} on ${hostId}.`,
        hint: `Install it there with \`${py} -m pip install ipykernel\` (or your package manager), or pick another --python.`,
      });
    }
    case 'KERNELSPEC_MISSING':
      return new KtrayError({
        code: 'BAD_INPUT',
        host: hostId,
        message: `${hostId} has no kernelspec named ${what.replace(/^kernelspec /, '')}${out.tried?.length ? ` (asked ${out.tried.map((t) => t.python).join(', ')})` : ''}.`,
        hint: out.available?.length ? `Available there: ${out.available.join(', ')}.` : `\`jupyter kernelspec list\` on ${hostId} shows none.`,
      });
    case 'UNWRITABLE':
      return new KtrayError({
        code: 'KERNEL_START_FAILED',
        host: hostId,
        message: `Cannot start a kernel on ${hostId}: ${out.path} cannot be written (${out.detail ?? 'permission denied'}).`,
        hint: `Kernels need a writable Jupyter runtime dir and log dir there. Fix the permissions of ${out.path}, or point JUPYTER_RUNTIME_DIR / XDG_CACHE_HOME at a writable place in the host's shell profile.`,
      });
    case 'CWD_MISSING':
      return new KtrayError({
        code: 'BAD_INPUT',
        host: hostId,
        message: `The working directory ${out.cwd} does not exist on ${hostId}.`,
        hint: 'Create it, or pass another --cwd.',
      });
    default: {
      const tail = (out.log ?? out.detail ?? '').trim();
      return new KtrayError({
        code: 'KERNEL_START_FAILED',
        host: hostId,
        message:
          out.error === 'TIMEOUT'
            ? `The kernel (${what}) on ${hostId} did not write its connection file in time.`
            : `The kernel (${what}) on ${hostId} exited while starting${out.code !== undefined ? ` (exit code ${out.code})` : ''}.`,
        hint: tail ? `Last lines of its log:\n${tail.split('\n').slice(-15).join('\n')}` : undefined,
        detail: { log: tail },
      });
    }
  }
}

/** A client on the kernel's control channel, through a short-lived private tunnel when not attached. */
async function withControl<T>(host: Host, k: KernelRef, fn: (c: KernelClient) => Promise<T>): Promise<T> {
  const own = k.local ? null : await PrivateChannels.open(host, k.info, ['control'], { connectionFile: k.connectionFile, allowedAddresses: k.allowedAddresses });
  const client = new KernelClient(withLocalChannels(k.info, k.local ?? own!.local));
  try {
    return await fn(client);
  } finally {
    client.close();
    await own?.close();
  }
}

/** What the lifecycle operations need to know of a kernel. */
export interface KernelRef {
  info: ConnectionInfo;
  pid: number | null;
  /** The process's start time (from the host's /proc), so a reused pid is never signalled. */
  processStart?: string | null;
  connectionFile: string;
  /** Its local ends when attached (its control channel is used), else null. */
  local: LocalChannels | null;
  /** Addresses other than the host's loopback the user allowed for this kernel. */
  allowedAddresses?: readonly string[];
}

/** shutdown_request on control, then signals if the process does not go. */
export async function stopKernel(
  host: Host,
  k: KernelRef,
  opts: { removeFile: boolean; restart?: boolean },
): Promise<void> {
  await withControl(host, k, (c) => c.shutdown({ restart: opts.restart ?? false, timeoutMs: 3000 })).catch(() => false);
  if (k.pid === null) return;
  const res = await host.run(stopScript(k.pid, { graceSec: 5, start: k.processStart ?? null, removeFile: opts.removeFile ? k.connectionFile : undefined }), { timeoutMs: 60_000 });
  if (!res.stdout.includes('gone')) {
    const said = res.stdout.trim().split('\n').join(', ') || 'nothing';
    throw new KtrayError({
      code: 'REMOTE_COMMAND_FAILED',
      host: host.id,
      message: res.stdout.includes('alive')
        ? `Kernel process ${k.pid} on ${host.id} would not stop, even after SIGKILL and 10 s${stateSaid(res.stdout)}.`
        : `Stopping kernel process ${k.pid} on ${host.id} gave no verdict (the stop script said: ${said}; exit ${res.code}).`,
      hint: res.stderr.trim() || 'It may belong to another user or be stuck in the kernel (D state).',
      detail: { said: res.stdout, code: res.code, stderr: res.stderr },
    });
  }
}

/** What stop.sh's `alive STATE WCHAN` line says of the process, as words, or ''. */
export function stateSaid(stdout: string): string {
  const m = /^alive (\S+)(?: (\S+))?/m.exec(stdout);
  if (!m) return '';
  return ` (its state is ${m[1]}${m[2] && m[2] !== '0' ? `, waiting in ${m[2]}` : ''})`;
}

export async function interruptKernel(host: Host, k: KernelRef): Promise<void> {
  if (k.pid !== null) {
    const res = await host.run(signalScript(k.pid, 'INT', k.processStart ?? null), { timeoutMs: 15_000 });
    if (res.stdout.includes('sent')) return;
  }
  const ok = await withControl(host, k, (c) => c.interrupt(5000)).catch(() => false);
  if (!ok) {
    throw new KtrayError({
      code: 'REMOTE_COMMAND_FAILED',
      host: host.id,
      message: `Could not interrupt the kernel on ${host.id}: no signal could be sent and it did not answer interrupt_request.`,
    });
  }
}

/** Stops the process and starts a new one on the same connection file, so ports and key stay. */
export async function restartKernel(
  host: Host,
  k: KernelRef,
  launch: { python?: string; kernel?: string; cwd?: string },
): Promise<Started> {
  await stopKernel(host, k, { removeFile: false, restart: true });
  return startKernel(host, {
    ...launch,
    id: kernelNameFromPath(k.connectionFile),
    reuseFile: k.connectionFile,
    reuseInfo: serializeConnectionFile(k.info),
  });
}

/** How a kernel found running was launched, from its command line. */
export function launchFromCommand(command: string | null): { python?: string } | null {
  if (!command) return null;
  const argv = command.split(/\s+/);
  const first = argv[0];
  if (/(^|\/)python[\d.]*$/.test(first) && /ipykernel_launcher|ipykernel|IPython|ipython/.test(command)) return { python: first };
  if (/(^|\/)ipython3?$/.test(argv[1] ?? '') && /(^|\/)python[\d.]*$/.test(first)) return { python: first };
  return null;
}

export async function hostOffer(host: Host): Promise<HostOffer> {
  const res = await host.run(offerScript(), { timeoutMs: 60_000 });
  const pythons: PythonChoice[] = [];
  const kernelspecs: KernelSpecChoice[] = [];
  let home = '';
  for (const line of res.stdout.split('\n')) {
    if (line.startsWith('@@KTRAY-HOME ')) home = line.slice(13);
    const py = /^@@KTRAY-PY ([01]) (.+)$/.exec(line);
    if (py && !pythons.some((p) => p.path === py[2])) {
      pythons.push({ path: py[2], label: pythonLabel(py[2], home), hasIpykernel: py[1] === '1' });
    }
    if (line.startsWith('@@KTRAY-SPECS ')) {
      const specs = JSON.parse(line.slice(14)) as Record<string, { display_name: string; language: string }>;
      for (const [name, s] of Object.entries(specs)) kernelspecs.push({ name, displayName: s.display_name, language: s.language });
    }
  }
  const python = pythons.find((p) => p.hasIpykernel);
  const preferred = kernelspecs.some((k) => k.name === 'python3') ? { kernel: 'python3' } : python ? { python: python.path } : null;
  return { host: host.id, kernelspecs, pythons, home, preferred };
}

function pythonLabel(path: string, home: string): string {
  const short = home && path.startsWith(home + '/') ? '~' + path.slice(home.length) : path;
  const conda = /\/(?:mini|ana)conda3|miniforge3|mambaforge|\/opt\/conda/.exec(path);
  if (conda) {
    const env = /\/envs\/([^/]+)\/bin\//.exec(path);
    return `conda: ${env ? env[1] : 'base'} (${short})`;
  }
  if (/\/(\.venv|venv|\.virtualenvs|venvs)\//.test(path)) return `venv: ${short.replace(/\/bin\/python[\d.]*$/, '')}`;
  return `system: ${short}`;
}
