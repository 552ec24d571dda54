// Jupyter server files (jupyter_server's jpserver-PID.json, classic Notebook's
// nbserver-PID.json), checked where they enter from a host, and what they say
// about the server: where it listens, how a browser logs in, which process it is.
import path from 'node:path';
import { KtrayError } from '../../shared/errors';
import type { ListenScope, ServerApp, ServerAuth, ServerEndpoint } from '../../shared/types';
import { listenScope } from '../tunnels/forward-policy';
import type { Discovery, DiscoveredServerFile } from '../kernels/discovery';

/** What a server file holds, validated. The token stays inside the agent. */
export interface ServerInfo {
  app: ServerApp;
  pid: number;
  url: string;
  hostname: string;
  port: number;
  sock: string;
  baseUrl: string;
  secure: boolean;
  token: string;
  password: boolean;
  rootDir: string;
  version: string | null;
}

function bad(source: string, what: string): KtrayError {
  return new KtrayError({
    code: 'BAD_INPUT',
    message: `Server file ${source}: ${what}`,
    hint: 'A server file is the JSON a Jupyter server writes in its runtime dir (jpserver-PID.json, or nbserver-PID.json for Notebook < 7).',
  });
}

export function serverAppOf(file: string): ServerApp {
  return path.posix.basename(file).startsWith('nbserver-') ? 'notebook' : 'jupyter-server';
}

/** `jpserver-4242` from `/run/user/1000/jupyter/jpserver-4242.json`. */
export function serverNameFromPath(file: string): string {
  return path.posix.basename(file).replace(/\.json$/, '');
}

/** Parses and checks a server file's text; copies out only the fields Kernel Tray uses. */
export function parseServerFile(text: string, source: string): ServerInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(source, `not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(source, 'expected a JSON object');
  const r = raw as Record<string, unknown>;
  const int = (k: string, min: number) => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > (k === 'port' ? 65535 : 2 ** 31)) throw bad(source, `${k} must be an integer, found ${JSON.stringify(v)}`);
    return v;
  };
  const str = (k: string, fallback?: string) => {
    const v = r[k] ?? fallback;
    if (typeof v !== 'string') throw bad(source, `${k} must be a string, found ${JSON.stringify(v)}`);
    return v;
  };
  const pid = int('pid', 1);
  const port = int('port', 0);
  const url = str('url');
  const sock = str('sock', '');
  const token = str('token', '');
  const hostname = str('hostname', 'localhost');
  let baseUrl = str('base_url', '/');
  if (!baseUrl.startsWith('/')) baseUrl = `/${baseUrl}`;
  if (!baseUrl.endsWith('/')) baseUrl = `${baseUrl}/`;
  if (typeof r.password !== 'boolean' && r.password !== undefined) throw bad(source, `password must be true or false, found ${JSON.stringify(r.password)}`);
  if (!sock && port === 0) throw bad(source, 'it names neither a port nor a unix socket');
  const rootDir = typeof r.root_dir === 'string' ? r.root_dir : typeof r.notebook_dir === 'string' ? r.notebook_dir : '';
  return {
    app: serverAppOf(source),
    pid,
    url,
    hostname,
    port,
    sock,
    baseUrl,
    secure: r.secure === true,
    token,
    password: r.password === true,
    rootDir,
    version: typeof r.version === 'string' ? r.version : null,
  };
}

export function serverAuth(info: Pick<ServerInfo, 'token' | 'password'>): ServerAuth {
  if (info.token) return 'token';
  return info.password ? 'password' : 'none';
}


/** What a server process looks like in `ps`: Notebook, Lab, jupyter_server, nbclassic, voila, ... */
const SERVER_PROCESS = /(^|[\/\s])(jupyter-(notebook|lab|server|nbclassic)|jupyter_server|jupyterlab|notebook|nbclassic|voila)(\.py)?(\s|$)|(^|[\/\s])jupyter\s+(notebook|lab|server|nbclassic)(\s|$)/;

export interface ServerProcess {
  pid: number;
  elapsedSec: number;
  args: string;
}

/**
 * The process that wrote this server file, or null: it is not running. The
 * pid comes from the file; the process must look like a Jupyter server and
 * have started before the file was written (a pid reused by a later process
 * did not write it).
 */
export function matchServer(file: DiscoveredServerFile, info: ServerInfo, d: Discovery): ServerProcess | null {
  const p = d.processes.find((x) => x.pid === info.pid);
  if (!p) return null;
  const argv = d.procfs?.details.get(p.pid)?.argv.join(' ') ?? p.args;
  if (!SERVER_PROCESS.test(argv) && !SERVER_PROCESS.test(p.args)) return null;
  // ps's etime and stat's mtime both count whole seconds.
  const startedAt = d.now - p.elapsedSec * 1000;
  if (file.mtime && startedAt > file.mtime + 2000) return null;
  return { pid: p.pid, elapsedSec: p.elapsedSec, args: p.args };
}

export interface ServerPlace {
  endpoint: ServerEndpoint;
  /** Where a forward goes on the host: its loopback, or the socket; null: it listens only on an address other than loopback. */
  target: { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string } | null;
  /** As for kernels (forward-policy.ts): `all-interfaces` and `other-address` are reachable from the network. */
  listens: ListenScope;
}

export function isExposed(listens: ListenScope): boolean {
  return listens === 'all-interfaces' || listens === 'other-address';
}

/**
 * Where the server listens, from /proc where the host has it (the sockets its
 * process holds), else from its file. A server on all interfaces is forwarded
 * through its loopback side and flagged as exposed; one bound to another
 * address only is not forwarded at all (Kernel Tray forwards only to a host's
 * own loopback).
 */
export function serverPlace(info: ServerInfo, d: Discovery, pid: number | null): ServerPlace {
  if (info.sock) return { endpoint: { kind: 'unix', path: info.sock }, target: { kind: 'unix', path: info.sock }, listens: 'ipc' };
  let addresses: string[] = [];
  const facts = d.procfs;
  if (facts && pid !== null) {
    const held = facts.sockets.get(pid);
    addresses = facts.tcp.filter((t) => t.port === info.port && held?.has(t.inode)).map((t) => t.address);
  }
  if (addresses.length === 0) addresses = [info.hostname];
  // The loopback rule is the kernels' own (forward-policy.ts), address by address.
  const scopes = addresses.map((a) => ({ a, scope: listenScope({ ip: a, transport: 'tcp' }) }));
  const listens: ListenScope = scopes.some((x) => x.scope === 'all-interfaces') ? 'all-interfaces' : scopes.some((x) => x.scope === 'other-address') ? 'other-address' : 'loopback';
  const usable = scopes.filter((x) => x.scope === 'loopback' || x.scope === 'all-interfaces').map((x) => x.a);
  const v6Only = usable.length > 0 && usable.every((a) => a.includes(':') && !a.startsWith('::ffff:'));
  const target = usable.length === 0 ? null : { kind: 'tcp' as const, host: v6Only ? '::1' : '127.0.0.1', port: info.port };
  const shown = scopes.find((x) => x.scope !== 'loopback')?.a ?? addresses[0]!;
  return { endpoint: { kind: 'tcp', address: shown === '' ? '0.0.0.0' : shown, port: info.port }, target, listens };
}

/** The server's own URL without any token in it (files written with `?token=` in `url` exist). */
export function urlWithoutToken(url: string): string {
  return url.replace(/([?&])token=[^&#]*&?/, '$1').replace(/[?&]$/, '');
}
