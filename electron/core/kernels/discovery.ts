// What discover.sh says about a host, parsed, and which process serves which
// connection file. With Linux /proc the answer is exact: the process that owns
// the kernel's listening socket, and only if its own argv names this file (a
// copy of a live kernel's file, or `tail -f kernel-x.json`, is not that
// kernel). Elsewhere argv decides, and only for processes that look like kernels.
import path from 'node:path';
import type { ConnectionInfo } from '../../shared/types';

export interface DiscoveredFile {
  dir: string;
  path: string;
  mtime: number;
  size: number;
  /** null when the file is too big to be a connection file, and was not read. */
  text: string | null;
}

/** A Jupyter server's file (jpserver-*.json, nbserver-*.json). */
export interface DiscoveredServerFile {
  dir: string;
  path: string;
  mtime: number;
  size: number;
  /** Permission bits, e.g. 0o600; null where stat could not say. */
  mode: number | null;
  /** The folder's permission bits. */
  dirMode: number | null;
  /** null when the file is too big to be a server file, and was not read. */
  text: string | null;
}

export interface DiscoveredProcess {
  pid: number;
  /** The parent's pid: a server's kernels are its children. */
  ppid: number;
  elapsedSec: number;
  /** `ps` args, for display: argv joined by spaces. */
  args: string;
}

/** What /proc says of a process that may be a kernel. */
export interface ProcessDetail {
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): a pid reused later has another. */
  start: string;
  cwd: string | null;
  argv: string[];
}

export interface ProcFacts {
  details: Map<number, ProcessDetail>;
  /** Socket inodes each process holds open. */
  sockets: Map<number, Set<string>>;
  /** Listening TCP sockets: port, inode, and the address they are bound to (`0.0.0.0`, `127.0.0.1`, `::`, `::1`, ...). */
  tcp: Array<{ port: number; inode: string; address: string }>;
  /** Bound unix sockets whose path ends in -PORT (ZeroMQ ipc endpoints). */
  unix: Array<{ inode: string; path: string }>;
}

export interface Discovery {
  now: number;
  home: string;
  files: DiscoveredFile[];
  servers: DiscoveredServerFile[];
  processes: DiscoveredProcess[];
  /** null on hosts without /proc (macOS): matching falls back to argv. */
  procfs: ProcFacts | null;
  /** A scheduler's queue, when the listing asked for it (cluster hosts): its raw lines, or its error. */
  queue: QueueSection | null;
}

export interface QueueSection {
  /** null when the queue was read; else why not (an exit code, `no-squeue`), its words in `lines`. */
  error: string | null;
  lines: string[];
  /** The end of the output file of each job that failed, by kernel name. */
  tails: Map<string, string>;
  /** Running jobs whose kernel answers, by kernel name: what its supervisor said then (`GEN PID`). */
  up: Map<string, string>;
  /** Remembered jobs the queue no longer shows, by job id: the accounting's lines (sacct), or why it could not say. */
  acct: Map<string, { error: string | null; lines: string[] }>;
}

export const MAX_CONNECTION_FILE_BYTES = 65536;

function decodeName(word: string): string {
  if (word.startsWith('hex:')) return Buffer.from(word.slice(4), 'hex').toString('utf8');
  return word.startsWith('raw:') ? word.slice(4) : word;
}

/**
 * Parses discover.sh's output. Anything before its begin line (a login shell's
 * greeting, even one without a newline) is ignored.
 */
export function parseDiscovery(stdout: string, marker: string): Discovery {
  const begin = stdout.indexOf(`\n${marker} begin\n`);
  if (begin < 0) throw new Error('the listing never began (no output from the discovery script)');
  const lines = stdout.slice(begin + 1).split('\n');
  const d: Discovery = { now: Date.now(), home: '', files: [], servers: [], processes: [], procfs: null, queue: null };
  let section = '';
  let body: string[] | null = null;
  let onBody: ((text: string) => void) | null = null;
  let fdsOf: Set<string> | null = null;
  const argvOrder: ProcessDetail[] = [];
  let ended = false;
  const closeBody = () => {
    if (body && onBody) onBody(body.join('\n'));
    body = null;
    onBody = null;
  };
  for (const line of lines) {
    if (line.startsWith(marker + ' ')) {
      closeBody();
      const rest = line.slice(marker.length + 1);
      const [kind, ...words] = rest.split(' ');
      section = kind ?? '';
      if (kind === 'now') d.now = Number(words[0]) * 1000;
      else if (kind === 'home') d.home = decodeName(words.join(' '));
      else if (kind === 'file') {
        const file = decodeName(words.slice(2).join(' '));
        const size = Number(words[1]);
        const f: DiscoveredFile = { dir: path.posix.dirname(file), path: file, mtime: Number(words[0]) * 1000, size, text: null };
        d.files.push(f);
        body = [];
        // The script adds one newline after the text.
        onBody = (text) => (f.text = size > MAX_CONNECTION_FILE_BYTES ? null : text.replace(/\n$/, ''));
      } else if (kind === 'server') {
        const file = decodeName(words.slice(4).join(' '));
        const size = Number(words[1]);
        const octal = (w: string | undefined) => (w && /^[0-7]{3,4}$/.test(w) ? parseInt(w, 8) : null);
        const f: DiscoveredServerFile = { dir: path.posix.dirname(file), path: file, mtime: Number(words[0]) * 1000, size, mode: octal(words[2]), dirMode: octal(words[3]), text: null };
        d.servers.push(f);
        body = [];
        onBody = (text) => (f.text = size > MAX_CONNECTION_FILE_BYTES ? null : text.replace(/\n$/, ''));
      } else if (kind === 'procfs') d.procfs = { details: new Map(), sockets: new Map(), tcp: [], unix: [] };
      else if (kind === 'proc' && d.procfs) {
        const pid = Number(words[0]);
        const detail: ProcessDetail = { pid, start: words[1] ?? '', cwd: decodeName(words.slice(2).join(' ')) || null, argv: [] };
        d.procfs.details.set(pid, detail);
        argvOrder.push(detail);
      } else if ((kind === 'argv' || kind === 'next') && d.procfs) {
        // The argv of each proc above, in their order, one after another.
        const detail = argvOrder.shift();
        if (detail) {
          body = [];
          onBody = (text) => (detail.argv = text.split('\0').filter((a, i, all) => i < all.length - 1 || a !== ''));
        }
      } else if (kind === 'queue' || kind === 'queue-error') {
        const q: QueueSection = { error: kind === 'queue' ? null : words.join(' '), lines: [], tails: new Map(), up: new Map(), acct: new Map() };
        d.queue = q;
        body = [];
        onBody = (text) => (q.lines = text.split('\n').filter((l) => l !== ''));
      } else if (kind === 'up' && d.queue) {
        const q = d.queue;
        const name = words.join(' ');
        body = [];
        onBody = (text) => q.up.set(name, text.trim());
      } else if (kind === 'tail' && d.queue) {
        const q = d.queue;
        const name = words.join(' ');
        body = [];
        onBody = (text) => q.tails.set(name, text.replace(/\n$/, ''));
      } else if ((kind === 'acct' || kind === 'acct-error') && d.queue) {
        const q = d.queue;
        const [jobId = '', ...why] = words;
        const entry = { error: kind === 'acct' ? null : why.join(' ') || 'unknown', lines: [] as string[] };
        q.acct.set(jobId, entry);
        body = [];
        onBody = (text) => (entry.lines = text.split('\n').filter((l) => l !== ''));
      } else if (kind === 'end') ended = true;
      continue;
    }
    if (body) {
      body.push(line);
      continue;
    }
    const facts = d.procfs;
    if (section === 'ps') {
      const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
      if (m) d.processes.push({ pid: Number(m[1]), ppid: Number(m[2]), elapsedSec: parseElapsed(m[3]!), args: m[4]! });
    } else if (section === 'fds' && facts) {
      const header = /^\/proc\/(\d+)\/fd:$/.exec(line);
      if (header) {
        fdsOf = new Set();
        facts.sockets.set(Number(header[1]), fdsOf);
      } else {
        const s = /socket:\[(\d+)\]/.exec(line);
        if (s && fdsOf) fdsOf.add(s[1]!);
      }
    } else if (section === 'tcp' && facts) {
      const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4}) (\d+)$/.exec(line.trim());
      if (m) facts.tcp.push({ port: parseInt(m[2]!, 16), inode: m[3]!, address: procAddress(m[1]!) });
    } else if (section === 'unix' && facts) {
      // Num RefCount Protocol Flags Type St Inode Path
      const m = /^\s*\S+:\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+)\s+(.+)$/.exec(line);
      if (m) facts.unix.push({ inode: m[1]!, path: m[2]! });
    }
  }
  closeBody();
  if (!ended) throw new Error('the listing was cut short');
  return d;
}

/**
 * An address as /proc/net/tcp{,6} prints it: IPv4 as one little-endian 32-bit
 * word, IPv6 as four. `0100007F` is 127.0.0.1; 32 zeros are `::`.
 */
export function procAddress(hex: string): string {
  const word = (w: string) => [6, 4, 2, 0].map((i) => parseInt(w.slice(i, i + 2), 16));
  if (hex.length === 8) return word(hex).join('.');
  if (hex.length !== 32) return hex;
  const bytes = [0, 8, 16, 24].flatMap((i) => word(hex.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The longest run of zero groups becomes `::`.
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** ps's etime: [[DD-]HH:]MM:SS. */
export function parseElapsed(etime: string): number {
  const [days, clock] = etime.includes('-') ? etime.split('-') : ['0', etime];
  const parts = clock!.split(':').map(Number);
  while (parts.length < 3) parts.unshift(0);
  const [h, m, s] = parts as [number, number, number];
  const total = Number(days) * 86400 + h * 3600 + m * 60 + s;
  return Number.isFinite(total) ? total : 0;
}

export interface KernelProcess {
  pid: number;
  elapsedSec: number;
  args: string;
  /** From /proc: guards a later signal against a reused pid. */
  start: string | null;
  /** For ipc kernels: the absolute socket path prefix (`IP` of `IP-PORT`), resolved against the kernel's cwd. */
  ipcBase: string | null;
}

const FRONTEND = /(^|\/)jupyter-(qt)?console$|(^|\/)jupyter$/;
/** Options through which kernels are given their connection file. */
const FILE_OPTIONS = ['-f', '--f', '--ConnectionFileMixin.connection_file', '--KernelApp.connection_file', '--IPKernelApp.connection_file'];

/** The connection files a process's argv names, resolved against its cwd (and as given, when relative and cwd is unknown). */
function filesNamed(argv: string[], cwd: string | null): string[] {
  const out: string[] = [];
  const add = (p: string) => out.push(path.posix.isAbsolute(p) || !cwd ? path.posix.normalize(p) : path.posix.join(cwd, p));
  argv.forEach((a, i) => {
    const eq = a.indexOf('=');
    if (eq > 0 && FILE_OPTIONS.includes(a.slice(0, eq))) add(a.slice(eq + 1));
    else if (FILE_OPTIONS.includes(a) && argv[i + 1] !== undefined) add(argv[i + 1]!);
    else if (i > 0 && a.endsWith('.json') && !a.startsWith('-')) add(a);
  });
  return out;
}

/**
 * A frontend attached to the file (jupyter console --existing) names it too,
 * but serves nothing; so does the nanny that waits for a kernel Kernel Tray
 * started (launcher.py), whose argv holds the kernel's.
 */
function isFrontend(argv: string[]): boolean {
  return argv.includes('--existing') || argv.includes('ktray-nanny') || argv.some((a, i) => i < 2 && FRONTEND.test(a) && argv[i + 1] !== 'kernel');
}

/** The process that serves this connection file, or null: its kernel is not running. */
export function matchKernel(file: string, info: ConnectionInfo, d: Discovery): KernelProcess | null {
  const ps = new Map(d.processes.map((p) => [p.pid, p]));
  const pidNamed = /(?:^|\/)kernel-(\d+)\.json$/.exec(file);
  const result = (pid: number, detail: ProcessDetail | null, ipcBase: string | null): KernelProcess | null => {
    const p = ps.get(pid);
    return p ? { pid, elapsedSec: p.elapsedSec, args: p.args, start: detail?.start ?? null, ipcBase } : null;
  };
  if (d.procfs) {
    const facts = d.procfs;
    // Who owns the socket the kernel listens on for shell (then heartbeat)?
    let owner: number | null = null;
    let ipcBase: string | null = null;
    for (const port of [info.shell_port, info.hb_port]) {
      const inodes =
        info.transport === 'ipc'
          ? facts.unix.filter((u) => u.path === `${info.ip}-${port}` || u.path.endsWith(`/${info.ip}-${port}`)).map((u) => ({ inode: u.inode, path: u.path }))
          : facts.tcp.filter((t) => t.port === port).map((t) => ({ inode: t.inode, path: '' }));
      for (const { inode, path: sock } of inodes) {
        for (const [pid, socks] of facts.sockets) {
          if (!socks.has(inode)) continue;
          const detail = facts.details.get(pid);
          if (info.transport === 'ipc') {
            // /proc shows the path as the kernel bound it: relative ones are relative to the kernel's own cwd.
            const bound = path.posix.isAbsolute(sock) ? sock : detail?.cwd ? path.posix.join(detail.cwd, sock) : null;
            const want = path.posix.isAbsolute(info.ip) ? `${info.ip}-${port}` : detail?.cwd ? path.posix.join(detail.cwd, `${info.ip}-${port}`) : null;
            if (bound === null || bound !== want) continue;
            ipcBase = bound.slice(0, bound.length - `-${port}`.length);
          }
          owner = pid;
          break;
        }
        if (owner !== null) break;
      }
      if (owner !== null) break;
    }
    if (owner === null) return null;
    const detail = facts.details.get(owner) ?? null;
    // It serves these ports; is it this file's kernel, or the kernel of a copy of this file?
    const named = detail ? filesNamed(detail.argv, detail.cwd) : [];
    // Same name is enough: the path in its argv may go through a symlink that discovery resolved.
    const ok = named.some((f) => f === file || path.posix.basename(f) === path.posix.basename(file)) || (pidNamed !== null && Number(pidNamed[1]) === owner) || named.length === 0;
    return ok ? result(owner, detail, ipcBase) : null;
  }
  // No /proc: argv as ps shows it (words split on spaces), for processes that look like kernels.
  for (const p of d.processes) {
    const argv = p.args.split(/\s+/);
    if (isFrontend(argv) || !looksLikeKernel(argv)) continue;
    if (filesNamed(argv, null).some((f) => f === file || (!f.startsWith('/') && file.endsWith('/' + f)))) return result(p.pid, null, null);
  }
  if (pidNamed) {
    const p = ps.get(Number(pidNamed[1]));
    if (p && looksLikeKernel(p.args.split(/\s+/))) return result(p.pid, null, null);
  }
  return null;
}

/** `python -m ipykernel_launcher`, `ipython kernel`, a kernelspec's launcher...: not `tail`, `less` or an editor. */
function looksLikeKernel(argv: string[]): boolean {
  return argv.some(
    (a, i) =>
      /(^|\/)ipykernel(_launcher)?(\.py)?$/.test(a) ||
      (a === 'kernel' && i > 0 && /(^|\/)(i?python[\d.]*|IPython|ipython3?)$/.test(argv[i - 1] ?? '')) ||
      /(^|\/)(IRkernel|ijulia|kernel\.jl)/.test(a),
  );
}
