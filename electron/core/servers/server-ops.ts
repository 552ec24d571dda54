// Jupyter servers on one host: found in the kernels' discovery round trip,
// started detached, asked for their sessions, stopped (their REST API, then
// signals). Each step is one round trip to the host or one HTTP request on a
// stream to the server.
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import type { Host } from '../hosts/host';
import type { Discovery } from '../kernels/discovery';
import { MAX_CONNECTION_FILE_BYTES } from '../kernels/discovery';
import { stateSaid, uniqueNames } from '../kernels/kernel-ops';
import { parseServerLaunch, serverLaunchScript, stopScript, type ServerLaunchSpec } from '../kernels/remote-scripts';
import { httpRequest, parseSessions, type ServerSession } from './server-http';
import { errorText, logger } from '../util/logger';

const log = logger('servers');
import { isExposed, matchServer, parseServerFile, serverAuth, serverNameFromPath, serverPlace, type ServerInfo, type ServerPlace } from './server-file';

export interface FoundServer {
  /** Unique on its host: the file's name without `.json`, `@TAG`-qualified like kernel names. */
  name: string;
  file: string;
  info: ServerInfo;
  pid: number | null;
  /** The process's start time (Linux /proc), so no signal reaches a later process with the same pid. */
  processStart: string | null;
  alive: boolean;
  startedAt: number | null;
  command: string | null;
  place: ServerPlace;
  warnings: string[];
}

/** Whether users other than the owner can read a file in a folder: a read bit, and the folder's search bit, for group or others. */
export function othersCanRead(mode: number | null, dirMode: number | null): boolean {
  if (mode === null) return false;
  const dir = dirMode ?? 0o755;
  return ((mode & 0o040) !== 0 && (dir & 0o010) !== 0) || ((mode & 0o004) !== 0 && (dir & 0o001) !== 0);
}

/** The server files in a discovery, checked; malformed ones become warnings and are skipped. */
export function findServers(d: Discovery, warnings: string[]): FoundServer[] {
  const names = uniqueNames(d.servers.map((f) => f.path), serverNameFromPath);
  const out: FoundServer[] = [];
  for (const file of d.servers) {
    if (file.text === null) {
      warnings.push(`Skipped ${file.path}: ${file.size} bytes is too big for a Jupyter server file (at most ${MAX_CONNECTION_FILE_BYTES} are read).`);
      continue;
    }
    let info: ServerInfo;
    try {
      info = parseServerFile(file.text, file.path);
    } catch (err) {
      warnings.push(`Skipped ${file.path}: ${(err as Error).message}`);
      continue;
    }
    const proc = matchServer(file, info, d);
    const place = serverPlace(info, d, proc?.pid ?? null);
    out.push({
      name: names.get(file.path)!,
      file: file.path,
      info,
      pid: info.pid,
      processStart: proc ? (d.procfs?.details.get(proc.pid)?.start ?? null) : null,
      alive: proc !== null,
      startedAt: proc ? d.now - proc.elapsedSec * 1000 : file.mtime || null,
      command: proc?.args ?? null,
      place,
      warnings: serverWarnings(info, place, othersCanRead(file.mode, file.dirMode) ? file.mode : null, file.path),
    });
  }
  return out;
}

/** `readableMode`: the file's mode when other users can read it, else null. */
export function serverWarnings(info: ServerInfo, place: ServerPlace, readableMode: number | null, file: string): string[] {
  const w: string[] = [];
  if (isExposed(place.listens) && place.endpoint.kind === 'tcp') {
    w.push(
      `It listens on ${place.endpoint.address}:${place.endpoint.port}, so the network can reach it, not just this host's loopback${serverAuth(info) === 'none' ? ', and it asks for no token or password: anyone who reaches it can run code' : ''}. ` +
        'Restart it without --ip (or with --ip=127.0.0.1), or use `ktray server start`.',
    );
  } else if (serverAuth(info) === 'none') {
    w.push('It asks for no token or password: every user of this host can run code in it.');
  }
  if (place.target === null && place.endpoint.kind === 'tcp') {
    w.push(`It listens only on ${place.endpoint.address}, not on loopback, and Kernel Tray forwards only to the host's own loopback: it cannot be opened from here.`);
  }
  if (readableMode !== null && info.token) {
    w.push(`Its file ${file} (mode ${readableMode.toString(8)}, in a folder others can enter) can be read by other users of the host, and it holds the server's token.`);
  }
  return w;
}

/** A stream to the server on its host: its loopback port or its unix socket. */
export function serverStream(host: Host, place: ServerPlace, id: string): () => Promise<Duplex> {
  const target = place.target;
  if (target === null) {
    throw new KtrayError({
      code: 'ADDRESS_NOT_ALLOWED',
      host: host.id,
      message: `${id} listens only on ${place.endpoint.kind === 'tcp' ? place.endpoint.address : '?'}, not on ${host.id}'s loopback; Kernel Tray forwards only to a host's own loopback.`,
      hint: `Restart it on ${host.id} bound to loopback (without --ip, or --ip=127.0.0.1), or start one with \`ktray server start ${host.id}\`.`,
    });
  }
  return target.kind === 'unix' ? () => host.openUnixStream(target.path) : () => host.openStream(target.host, target.port);
}

/** Which notebook each of the server's kernels runs for. Needs the token: a password-only server cannot be asked. */
export async function serverSessions(open: () => Promise<Duplex>, info: ServerInfo, timeoutMs = 5000): Promise<ServerSession[]> {
  const res = await httpRequest(open, { method: 'GET', path: `${info.baseUrl}api/sessions`, token: info.token, timeoutMs });
  if (res.status !== 200) throw new Error(`/api/sessions answered ${res.status}`);
  return parseSessions(res.body);
}

/** `GET /api`, which needs no login: `{"version": "6.4.12"}`. */
export async function serverVersion(open: () => Promise<Duplex>, info: ServerInfo, timeoutMs = 5000): Promise<string | null> {
  const res = await httpRequest(open, { method: 'GET', path: `${info.baseUrl}api`, timeoutMs });
  const v = res.status === 200 ? (JSON.parse(res.body) as { version?: unknown }).version : null;
  return typeof v === 'string' ? v : null;
}

/**
 * The page a logged-in browser lands on (`/tree`, `/lab`): the server's own
 * redirects from its base URL, asked with the token in a header. Logging in
 * with `?token=` on a page that answers 200 keeps the token out of the
 * server's log, which records redirects with their URL.
 */
export async function landingPath(open: () => Promise<Duplex>, info: ServerInfo, timeoutMs = 10_000): Promise<string> {
  const res = await httpRequest(open, { method: 'GET', path: info.baseUrl, token: info.token || undefined, timeoutMs });
  const location = res.headers['location'];
  if (res.status >= 300 && res.status < 400 && location) {
    const u = new URL(location, 'http://127.0.0.1');
    const next = u.pathname + (u.search === '?' ? '' : u.search);
    // The login page means the token was not taken (or there is none): the browser starts at the base.
    return /\/login(\?|$)/.test(next) || !next.startsWith(info.baseUrl) ? info.baseUrl : next;
  }
  if (res.status >= 400) throw new Error(`${info.baseUrl} answered ${res.status}`);
  return info.baseUrl;
}

/** The URL that logs a browser in: the landing page with `token=` added. */
export function loginUrl(localBase: string, landing: string, token: string): string {
  const u = new URL(landing, localBase);
  u.searchParams.set('token', token);
  return u.toString();
}

export interface StartedServer {
  server: FoundServer;
  app: string;
  python: string;
  log: string;
  /** false: the user's Jupyter config set a token or password of its own, which the server uses instead. */
  ownToken: boolean;
}

export async function startServer(host: Host, spec: Omit<ServerLaunchSpec, 'id'>): Promise<StartedServer> {
  const id = randomUUID();
  const res = await host.run(serverLaunchScript({ ...spec, id }), { timeoutMs: ((spec.startTimeoutSec ?? 60) + 30) * 1000 });
  const out = parseServerLaunch(res.stdout);
  const what = spec.app ? `a Jupyter ${spec.app} server` : 'a Jupyter server';
  if (!out) {
    throw new KtrayError({
      code: 'SERVER_START_FAILED',
      host: host.id,
      message: `Starting ${what} on ${host.id} failed before it could report.`,
      hint: res.stderr.trim().slice(-800) || undefined,
    });
  }
  if (!out.ok) throw serverLaunchError(host.id, what, spec, out);
  const info = parseServerFile(out.text, out.file);
  const place: ServerPlace = info.sock
    ? { endpoint: { kind: 'unix', path: info.sock }, target: { kind: 'unix', path: info.sock }, listens: 'ipc' }
    : { endpoint: { kind: 'tcp', address: '127.0.0.1', port: info.port }, target: { kind: 'tcp', host: '127.0.0.1', port: info.port }, listens: 'loopback' };
  return {
    server: {
      name: serverNameFromPath(out.file),
      file: out.file,
      info,
      pid: out.pid,
      processStart: out.start ?? null,
      alive: true,
      startedAt: Date.now(),
      command: null,
      place,
      warnings: serverWarnings(info, place, othersCanRead(out.mode, out.dir_mode) ? out.mode : null, out.file),
    },
    app: out.app,
    python: out.python,
    log: out.log,
    ownToken: out.own_token,
  };
}

function serverLaunchError(hostId: string, what: string, spec: Omit<ServerLaunchSpec, 'id'>, out: Extract<ReturnType<typeof parseServerLaunch>, { ok: false }>): KtrayError {
  const py = out.python ?? spec.python ?? 'python3';
  const install: Record<string, string> = {
    lab: '`pip install jupyterlab`',
    notebook: '`pip install notebook` (Debian: `apt install jupyter-notebook`)',
    server: '`pip install jupyter-server` (Debian: `apt install python3-jupyter-server`)',
  };
  switch (out.error) {
    case 'PYTHON_MISSING':
      return new KtrayError({ code: 'SERVER_START_FAILED', host: hostId, message: `There is no ${py} on ${hostId}.`, hint: 'Pass the interpreter with --python PATH (e.g. a conda or venv python there).' });
    case 'APP_UNKNOWN':
      return new KtrayError({ code: 'BAD_INPUT', host: hostId, message: `--app must be lab, notebook or server, not ${out.app}.` });
    case 'APP_MISSING': {
      const has = out.installed?.length ? ` ${py} there has: ${out.installed.join(', ')}.` : '';
      return new KtrayError({
        code: 'SERVER_START_FAILED',
        host: hostId,
        message: out.app ? `Jupyter ${out.app} is not installed for ${py} on ${hostId}.${has}` : `No Jupyter server (lab, notebook or jupyter_server) is installed for ${py} on ${hostId}.`,
        hint: `Install one there: ${out.app ? install[out.app] : install.lab}, ${out.installed?.length ? `pick --app ${out.installed[0]}, ` : ''}or pick another --python.`,
      });
    }
    case 'CWD_MISSING':
      return new KtrayError({ code: 'BAD_INPUT', host: hostId, message: `The directory ${out.cwd} does not exist on ${hostId}.`, hint: 'Create it, or pass another --cwd.' });
    case 'UNWRITABLE':
      return new KtrayError({
        code: 'SERVER_START_FAILED',
        host: hostId,
        message: `Cannot start ${what} on ${hostId}: ${out.path} cannot be written (${out.detail ?? 'permission denied'}).`,
        hint: `A server needs a writable Jupyter runtime dir and log dir there; fix the permissions of ${out.path} or set JUPYTER_RUNTIME_DIR / XDG_CACHE_HOME in the host's shell profile.`,
      });
    default: {
      const tail = (out.log ?? out.detail ?? '').trim();
      return new KtrayError({
        code: 'SERVER_START_FAILED',
        host: hostId,
        message:
          out.error === 'TIMEOUT'
            ? `The Jupyter ${out.app ?? 'server'} on ${hostId} did not write its server file in time.`
            : `The Jupyter ${out.app ?? 'server'} on ${hostId} exited while starting${out.code !== undefined ? ` (exit code ${out.code})` : ''}.`,
        hint:
          (tail ? `Last lines of its log (${hostId}:${out.log_path ?? '~/.cache/ktray/'}):\n${tail.split('\n').slice(-15).join('\n')}\n` : '') +
          (out.error === 'TIMEOUT'
            ? `It may still be coming up: \`ktray servers ${hostId}\` lists it once it has written its file.`
            : `Fix what the log says (often an upgrade of the package it names, for ${py}), or pick another --app or --python.`),
        detail: { log: tail },
      });
    }
  }
}

/** What a server leaves behind when it cannot clean up: its -open.html page (it holds the token) and a socket Kernel Tray made for it. */
export function serverLeftovers(s: { file: string; info: ServerInfo }): string[] {
  const out = [s.file.replace(/\.json$/, '-open.html')];
  if (s.info.sock && /\/ktray-[^/]+\.sock$/.test(s.info.sock)) out.push(s.info.sock);
  return out;
}

export interface ServerRef {
  id: string;
  file: string;
  info: ServerInfo;
  place: ServerPlace;
  pid: number | null;
  processStart: string | null;
}

/**
 * Shuts the server down: POST /api/shutdown with its token (it then stops its
 * kernels and removes its files), then SIGTERM (which servers also take as a
 * clean shutdown), then SIGKILL. Its file goes when the process has gone.
 */
export async function stopServer(host: Host, s: ServerRef): Promise<'api' | 'signal'> {
  let asked = false;
  if (s.info.token && s.place.target) {
    const open = serverStream(host, s.place, s.id);
    let sent = false;
    try {
      const res = await httpRequest(
        async () => {
          const stream = await open();
          sent = true;
          return stream;
        },
        { method: 'POST', path: `${s.info.baseUrl}api/shutdown`, token: s.info.token, timeoutMs: 5000 },
      );
      asked = res.status >= 200 && res.status < 300;
      if (!asked) log.warn(`${s.id}: POST ${s.info.baseUrl}api/shutdown answered ${res.status}; signals next`);
    } catch (err) {
      log.info(`${s.id}: POST ${s.info.baseUrl}api/shutdown: ${errorText(err)} (${sent ? 'sent, so it was asked' : 'not sent; signals next'})`);
      // Unreachable: signals next. Reached but no answer: it was asked all the
      // same. Classic Notebook stops its loop inside the request, so the answer
      // is often never written; jupyter_server answers only once its kernels are
      // stopped, which can take longer than we wait. Either is shutting down.
      asked = sent;
    }
  }
  if (!s.info.token || !s.place.target) log.info(`${s.id}: ${s.info.token ? 'not reachable on its host\'s loopback' : 'no token to ask its API with'}: signals`);
  else if (asked) log.info(`${s.id}: asked to shut down through its API`);
  if (s.pid === null) return asked ? 'api' : 'signal';
  const stop = (graceSec: number) =>
    host.run(stopScript(s.pid!, { graceSec, termWaitSec: 10, start: s.processStart, removeFile: s.file, alsoRemove: serverLeftovers(s) }), { timeoutMs: 60_000 });
  let res = await stop(asked ? 15 : 0);
  if (!res.stdout.includes('gone')) {
    // The script did not get to its verdict (seen once under load in e2e, cause not known):
    // ask again. It signals only a process that is still that server, so this is safe.
    log.warn(`${s.id} (pid ${s.pid}): the stop script said ${JSON.stringify(res.stdout.trim())} (exit ${res.code}${res.stderr.trim() ? `, stderr ${JSON.stringify(res.stderr.trim().slice(-300))}` : ''}); asking again`);
    const again = await stop(0);
    res = { ...again, stdout: res.stdout + again.stdout };
  }
  if (!res.stdout.includes('gone')) {
    throw new KtrayError({
      code: 'REMOTE_COMMAND_FAILED',
      host: host.id,
      message: `The Jupyter server ${s.id} (pid ${s.pid}) would not stop, even after SIGKILL${stateSaid(res.stdout)}.`,
      hint: res.stderr.trim() || 'It may belong to another user or be stuck in the kernel (D state).',
    });
  }
  log.info(`${s.id} (pid ${s.pid}): ${res.stdout.trim().split('\n').join(', ')}`);
  // Gone within the grace after the API call, no signal needed: the API did it.
  return asked && !res.stdout.includes('sent ') ? 'api' : 'signal';
}
