// Jupyter servers found, started, asked and stopped for real: Debian's
// jupyter-notebook 6.4 and jupyter_server 1.23 on this machine, through
// LocalHost (the same scripts an SSH host runs), in a runtime dir of our own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../e2e/harness/net';
import { until } from '../../../e2e/harness/wait';
import { LocalHost } from '../hosts/local-host';
import { listKernels } from '../kernels/kernel-ops';
import { httpRequest } from './server-http';
import { parseServerFile } from './server-file';
import { landingPath, serverSessions, serverStream, startServer, stopServer, type FoundServer } from './server-ops';

const PY = '/usr/bin/python3';
const host = new LocalHost();
let root: string;
let runtime: string;
let work: string;
const children: ChildProcess[] = [];
const pids = new Set<number>();

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME: root, JUPYTER_RUNTIME_DIR: runtime, JUPYTER_CONFIG_DIR: path.join(root, 'jupyter-config'), JUPYTER_DATA_DIR: path.join(root, 'data'), XDG_CACHE_HOME: path.join(root, 'cache'), IPYTHONDIR: path.join(root, 'ipython'), ...extra };
}

/** A server started by hand, as a user types it (`jupyter notebook --no-browser --port=8887 &`). */
async function byHand(args: string[], extra: Record<string, string> = {}): Promise<{ child: ChildProcess; file: string }> {
  const child = spawn('/usr/bin/jupyter-notebook', [...args, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], { cwd: work, env: env(extra), stdio: 'ignore', detached: true });
  children.push(child);
  const file = path.join(runtime, `nbserver-${child.pid}.json`);
  await until(() => existsSync(file) && readFileSync(file, 'utf8').trim().endsWith('}'), { timeoutMs: 60_000, what: `the server file of jupyter notebook ${args.join(' ')}` });
  pids.add(child.pid!);
  return { child, file };
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function listed(): Promise<{ servers: FoundServer[]; warnings: string[] }> {
  const l = await listKernels(host);
  return { servers: l.servers.filter((s) => s.file.startsWith(runtime)), warnings: l.warnings };
}

beforeAll(async () => {
  root = realpathSync(await mkdtemp(path.join(tmpdir(), 'ktray-servers-')));
  runtime = path.join(root, 'runtime');
  work = path.join(root, 'work');
  await mkdir(runtime, { recursive: true, mode: 0o700 });
  await mkdir(work);
  // LocalHost's sh inherits this process's environment.
  for (const [k, v] of Object.entries(env())) if (k !== 'PATH') vi.stubEnv(k, v!);
});

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await until(() => [...pids].every((p) => !alive(p)), { timeoutMs: 10_000, what: 'the test servers to go' }).catch(() => {});
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

describe('servers started by hand, found in the kernels round trip', () => {
  let nb: { child: ChildProcess; file: string };
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    nb = await byHand(['--no-browser', `--port=${port}`]);
  });

  it('lists a `jupyter notebook --no-browser --port=P` server with its process, port, root and token auth', async () => {
    const { servers } = await listed();
    const s = servers.find((x) => x.pid === nb.child.pid)!;
    expect(s).toMatchObject({ name: `nbserver-${nb.child.pid}`, alive: true, file: nb.file });
    expect(s.info).toMatchObject({ app: 'notebook', port, rootDir: work, password: false });
    expect(s.info.token).toMatch(/^[0-9a-f]{48}$/);
    expect(s.place).toMatchObject({ listens: 'loopback', target: { kind: 'tcp', host: '127.0.0.1', port } });
    expect(s.command).toContain('jupyter-notebook');
  });

  it('asks it which notebook each kernel runs, on a stream to its port, and maps kernels to it', async () => {
    const { servers } = await listed();
    const s = servers.find((x) => x.pid === nb.child.pid)!;
    const stream = serverStream(host, s.place, s.name);
    const made = await httpRequest(stream, { method: 'POST', path: '/api/sessions', token: s.info.token, timeoutMs: 30_000, body: JSON.stringify({ path: 'analysis.ipynb', type: 'notebook', kernel: { name: 'python3' } }) });
    expect(made.status).toBe(201);
    const kernelId = JSON.parse(made.body).kernel.id as string;
    const sessions = await serverSessions(stream, s.info);
    expect(sessions).toEqual([{ kernelId, path: 'analysis.ipynb', type: 'notebook' }]);
    // The kernel's own connection file is in the runtime dir; it is the server's child.
    await until(async () => (await listKernels(host)).kernels.some((k) => k.name === kernelId && k.alive), { timeoutMs: 30_000, what: 'the notebook kernel to be listed' });
    const k = (await listKernels(host)).kernels.find((x) => x.name === kernelId)!;
    expect(k.server).toBe(s.name);
    // Without the token the API refuses: the token is what gets us in.
    const refused = await httpRequest(stream, { method: 'GET', path: '/api/sessions' });
    expect(refused.status).toBe(403);
  });

  it('finds the page a logged-in browser lands on without putting the token in a redirect', async () => {
    const s = (await listed()).servers.find((x) => x.pid === nb.child.pid)!;
    expect(await landingPath(serverStream(host, s.place, s.name), s.info)).toBe('/tree');
  });

  it('flags a server on --ip=0.0.0.0 as reachable from the network, and still forwards to its loopback', async () => {
    const wide = await byHand(['--no-browser', '--ip=0.0.0.0', `--port=${await freePort()}`]);
    const s = (await listed()).servers.find((x) => x.pid === wide.child.pid)!;
    expect(s.place.listens).toBe('all-interfaces');
    expect(s.place.endpoint).toMatchObject({ kind: 'tcp', address: '0.0.0.0' });
    expect(s.place.target).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    expect(s.warnings.join(' ')).toMatch(/listens on 0\.0\.0\.0:\d+, so the network can reach it/);
    expect(await stopServer(host, { id: s.name, file: s.file, info: s.info, place: s.place, pid: s.pid, processStart: s.processStart })).toBe('api');
    expect(existsSync(wide.file)).toBe(false);
  });

  it('counts a shutdown request the server took without answering as asked (classic Notebook stops its loop mid-request)', async () => {
    // A server that reads POST /api/shutdown, hangs up without a word, and exits a second later, as Notebook 6.4 can.
    const port = await freePort();
    const code = [
      'import socket, sys, time',
      "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(1)",
      "print('ready', flush=True)",
      'c, _ = s.accept(); data = b""',
      "while b'\\r\\n\\r\\n' not in data: data += c.recv(4096)",
      "c.close(); time.sleep(1.0 if data.startswith(b'POST /api/shutdown ') else 60)",
    ].join('\n');
    const child = spawn(PY, ['-c', code, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    pids.add(child.pid!);
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const file = path.join(runtime, `nbserver-${child.pid}.json`);
    await writeFile(file, '{}', { mode: 0o600 });
    const info = { app: 'notebook', pid: child.pid!, url: `http://127.0.0.1:${port}/`, hostname: '127.0.0.1', port, sock: '', baseUrl: '/', secure: false, token: 'abc', password: false, rootDir: work, version: null } as const;
    const place = { endpoint: { kind: 'tcp', address: '127.0.0.1', port }, target: { kind: 'tcp', host: '127.0.0.1', port }, listens: 'loopback' } as const;
    const start = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19]!;
    expect(await stopServer(host, { id: 'silent', file, info, place, pid: child.pid!, processStart: start })).toBe('api');
    expect(alive(child.pid!)).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('lists a password-only server with auth `password` and no token; stopping it takes a signal', async () => {
    const config = path.join(root, 'pw-config');
    await mkdir(config);
    const hashed = (await run(PY, ['-c', "from notebook.auth import passwd; print(passwd('s3cret'))"])).trim();
    await writeFile(path.join(config, 'jupyter_notebook_config.json'), JSON.stringify({ NotebookApp: { password: hashed } }));
    const pw = await byHand(['--no-browser', `--port=${await freePort()}`], { JUPYTER_CONFIG_DIR: config });
    const s = (await listed()).servers.find((x) => x.pid === pw.child.pid)!;
    expect(s.info).toMatchObject({ password: true, token: '' });
    expect(s.alive).toBe(true);
    expect(await stopServer(host, { id: s.name, file: s.file, info: s.info, place: s.place, pid: s.pid, processStart: s.processStart })).toBe('signal');
    await until(() => !alive(pw.child.pid!), { what: 'the password server to exit' });
  });

  it('shows a stale server file as dead and keeps it; a file naming another live process is dead too', async () => {
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(sleeper);
    pids.add(sleeper.pid!);
    const text = JSON.parse(readFileSync(nb.file, 'utf8'));
    const stale = path.join(runtime, 'nbserver-999999.json');
    await writeFile(stale, JSON.stringify({ ...text, pid: 999999 }), { mode: 0o600 });
    const reused = path.join(runtime, `nbserver-${sleeper.pid}.json`);
    await writeFile(reused, JSON.stringify({ ...text, pid: sleeper.pid }), { mode: 0o600 });
    try {
      const { servers } = await listed();
      expect(servers.find((s) => s.file === stale)).toMatchObject({ alive: false, pid: 999999 });
      expect(servers.find((s) => s.file === reused)).toMatchObject({ alive: false });
      expect(existsSync(stale)).toBe(true);
    } finally {
      await rm(stale, { force: true });
      await rm(reused, { force: true });
    }
  });

  it("does not take a server process that started after the file was written for the file's writer", async () => {
    const later = await byHand(['--no-browser', `--port=${await freePort()}`]);
    const text = JSON.parse(readFileSync(nb.file, 'utf8'));
    const old = path.join(runtime, 'jpserver-1.json');
    const written = path.join(runtime, 'jpserver-2.json');
    await writeFile(old, JSON.stringify({ ...text, pid: later.child.pid }), { mode: 0o600 });
    await writeFile(written, JSON.stringify({ ...text, pid: later.child.pid }), { mode: 0o600 });
    // The first file was written an hour before that process existed: a reused pid.
    const { utimes } = await import('node:fs/promises');
    await utimes(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    try {
      const { servers } = await listed();
      expect(servers.find((s) => s.file === old)).toMatchObject({ alive: false });
      expect(servers.find((s) => s.file === written)).toMatchObject({ alive: true });
    } finally {
      await rm(old, { force: true });
      await rm(written, { force: true });
      process.kill(later.child.pid!, 'SIGTERM');
    }
  });

  it('reports a malformed server file and skips it', async () => {
    const bad = path.join(runtime, 'jpserver-424242.json');
    await writeFile(bad, '{"url": "http://localhost:1/", "pid": "many"', { mode: 0o600 });
    const noPort = path.join(runtime, 'jpserver-434343.json');
    await writeFile(noPort, JSON.stringify({ url: 'http://localhost:0/', pid: 434343, port: 0, sock: '' }), { mode: 0o600 });
    try {
      const { servers, warnings } = await listed();
      expect(servers.some((s) => s.file === bad || s.file === noPort)).toBe(false);
      expect(warnings).toContain(`Skipped ${bad}: Server file ${bad}: not JSON (${jsonError('{"url": "http://localhost:1/", "pid": "many"')})`);
      expect(warnings.some((w) => w.startsWith(`Skipped ${noPort}: `) && w.includes('neither a port nor a unix socket'))).toBe(true);
    } finally {
      await rm(bad, { force: true });
      await rm(noPort, { force: true });
    }
  });

  it('warns when other users can read a server file that holds a token', async () => {
    const open = path.join(root, 'open-runtime');
    await mkdir(open, { mode: 0o755 });
    const copy = path.join(open, `nbserver-${nb.child.pid}.json`);
    await copyFile(nb.file, copy);
    await import('node:fs/promises').then((fs) => fs.chmod(copy, 0o644));
    const l = await listKernels(host, [open]);
    const s = l.servers.find((x) => x.file === copy)!;
    expect(s.warnings.join(' ')).toMatch(/mode 644.*can be read by other users/);
    await rm(open, { recursive: true, force: true });
  });
});

describe('ktray server start: detached, loopback only, a fresh token in no argv and no log', () => {
  it.each([['notebook' as const], ['server' as const]])('starts --app %s on a unix socket in the private runtime dir, 0600, and stops it through its API', async (app) => {
    const started = await startServer(host, { app, cwd: work, python: PY, startTimeoutSec: 60 });
    const s = started.server;
    pids.add(s.pid!);
    expect(started.ownToken).toBe(true);
    expect(s.alive).toBe(true);
    expect(s.info.app).toBe(app === 'notebook' ? 'notebook' : 'jupyter-server');
    expect(s.place.endpoint).toMatchObject({ kind: 'unix' });
    expect(path.dirname((s.place.endpoint as { path: string }).path)).toBe(runtime);
    expect(statSync(s.file).mode & 0o777).toBe(0o600);
    expect(statSync((s.place.endpoint as { path: string }).path).mode & 0o777).toBe(0o600);
    const token = s.info.token;
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    // Not in its argv, nor its environment; the token file it was handed is gone.
    expect(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8')).not.toContain(token);
    expect(readFileSync(`/proc/${s.pid}/environ`, 'utf8')).not.toContain(token);
    expect((await readdir(runtime)).filter((f) => f.startsWith('.ktray-token-'))).toEqual([]);
    // It answers, with that token, on its socket.
    const landing = await landingPath(serverStream(host, s.place, s.name), s.info);
    expect(landing).toBe(app === 'notebook' ? '/tree' : '/');
    const api = await httpRequest(serverStream(host, s.place, s.name), { method: 'GET', path: '/api/status', token });
    expect(api.status).toBe(200);
    // Outlives the script that started it: a session of its own, its nanny (which reaps it) as its parent.
    const sid = async (pid: number) => Number((await run('ps', ['-o', 'sid=', '-p', String(pid)])).trim());
    expect(await sid(s.pid!)).not.toBe(await sid(process.pid));
    const ppid = Number((await run('ps', ['-o', 'ppid=', '-p', String(s.pid)])).trim());
    expect(readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0')).toContain('ktray-nanny');
    expect(await stopServer(host, { id: s.name, file: s.file, info: s.info, place: s.place, pid: s.pid, processStart: s.processStart })).toBe('api');
    expect(existsSync(s.file)).toBe(false);
    const log = readFileSync(started.log, 'utf8');
    expect(log).toContain('/api/shutdown');
    expect(log).not.toContain(token);
    expect(existsSync((s.place.endpoint as { path: string }).path)).toBe(false);
  });

  it('says what is missing, and what is there, when the app is not installed', async () => {
    await expect(startServer(host, { app: 'lab', cwd: work, python: PY })).rejects.toMatchObject({
      code: 'SERVER_START_FAILED',
      message: expect.stringMatching(/Jupyter lab is not installed for \/usr\/bin\/python3 on local\. .*has: notebook, server\./),
      hint: expect.stringContaining('pip install jupyterlab'),
    });
    await expect(startServer(host, { cwd: path.join(root, 'nope'), python: PY })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('does not exist') });
  });

  it('shows the tail of its log when the server dies while starting', async () => {
    // A broken install: a `notebook` package earlier on the path whose server exits with a traceback.
    const fake = path.join(root, 'broken-site');
    await mkdir(path.join(fake, 'notebook'), { recursive: true });
    await writeFile(path.join(fake, 'notebook', '__init__.py'), '');
    await writeFile(path.join(fake, 'notebook', '__main__.py'), "import sys\nprint('starting the broken notebook')\nraise ImportError('cannot import name url_path_join from notebook.utils')\n");
    vi.stubEnv('PYTHONPATH', fake);
    try {
      const err = await startServer(host, { app: 'notebook', cwd: work, python: PY, startTimeoutSec: 30 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SERVER_START_FAILED', message: 'The Jupyter notebook on local exited while starting (exit code 1).' });
      const hint = (err as { hint: string }).hint;
      expect(hint).toMatch(new RegExp(`^Last lines of its log \\(local:${root}/cache/ktray/server-[0-9a-f-]+\\.log\\):\\n`));
      expect(hint).toMatch(/\nFix what the log says \(often an upgrade of the package it names, for \/usr\/bin\/python3\), or pick another --app or --python\.$/);
      expect(hint).toContain('starting the broken notebook');
      expect(hint).toContain('ImportError: cannot import name url_path_join from notebook.utils');
    } finally {
      vi.stubEnv('PYTHONPATH', '');
    }
  });
});

describe('server files at the boundary', () => {
  it('copies out what it uses, defaults what classic Notebook leaves out, and rejects the rest', () => {
    const nb = parseServerFile(JSON.stringify({ base_url: '/x', hostname: 'localhost', notebook_dir: '/w', password: false, pid: 5, port: 8887, secure: false, sock: '', token: 't', url: 'http://localhost:8887/x/' }), '/r/nbserver-5.json');
    expect(nb).toEqual({ app: 'notebook', pid: 5, url: 'http://localhost:8887/x/', hostname: 'localhost', port: 8887, sock: '', baseUrl: '/x/', secure: false, token: 't', password: false, rootDir: '/w', version: null });
    expect(() => parseServerFile('[]', '/r/jpserver-1.json')).toThrow(/expected a JSON object/);
    expect(() => parseServerFile(JSON.stringify({ pid: 1, port: 80, url: 'u', password: 'yes' }), '/r/jpserver-1.json')).toThrow(/password must be true or false/);
    expect(() => parseServerFile(JSON.stringify({ pid: 0, port: 80, url: 'u' }), '/r/jpserver-1.json')).toThrow(/pid must be an integer/);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}
