// Jupyter servers from the command line, end to end: Debian's real
// jupyter-notebook 6.4 and jupyter_server 1.23 on the harness's remote host (a
// real sshd in its own namespaces), the real ktray CLI and agent, a real
// headless Chromium as the browser `ktray open` starts, and a real
// `jupyter console --existing` on the kernel of a notebook.
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSummary, ServerOpened, ServerSummary } from '../electron/shared/types';
import { remoteRuntimeDir, remoteServerToken, startNotebookByHand, watchArgv, type HandServer } from './harness/jupyter-servers';
import { runJupyterCheck, runJupyterConsole } from './harness/jupyter';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { until } from './harness/wait';
import { cliWorld, type CliWorld } from './ktray-cli';

let remote: RemoteHost;
let world: CliWorld;
let proj: string;

beforeAll(async () => {
  remote = await startRemoteHost();
  world = await cliWorld(remote.sshConfigFile);
  proj = `${remote.home}/proj`;
  await remote.exec(`mkdir -p '${proj}'`);
});

afterAll(async () => {
  await world?.dispose();
  await remote?.stop();
});

const servers = () => world.json<ServerSummary[]>(['servers', remote.alias]);
const byPid = async (pid: number) => (await servers()).find((s) => s.pid === pid);

/** The notes' server, started once by whichever test needs it first. */
let notes: Promise<HandServer> | null = null;
const notesServer = () => (notes ??= startNotebookByHand(remote, { port: remote.isolated ? 8887 : 18887, dir: proj }));

/** One server started by `ktray server start`, shared the same way. */
let ours: Promise<ServerSummary> | null = null;
const ktrayServer = () =>
  (ours ??= (async () => {
    const r = await world.run(['server', 'start', remote.alias, '--cwd', proj]);
    if (r.code !== 0) throw new Error(`ktray server start failed (${r.code}): ${r.stderr}`);
    const id = r.stdout.trim();
    return (await servers()).find((s) => s.id === id)!;
  })());

/** A browser for `ktray open`: real headless Chromium, started through $BROWSER, that saves the page it ends on. */
async function dumpingBrowser(name: string): Promise<{ env: NodeJS.ProcessEnv; dump: string }> {
  const dump = path.join(world.home, '..', `${name}.html`);
  const script = path.join(world.home, '..', `${name}.sh`);
  await writeFile(
    script,
    `#!/bin/sh\nexec /usr/bin/chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$(mktemp -d)" --virtual-time-budget=5000 --dump-dom "$1" > '${dump}' 2>/dev/null\n`,
  );
  await chmod(script, 0o755);
  return { env: { BROWSER: script }, dump };
}

describe('ktray servers: every Jupyter server on the host, in the kernels round trip', () => {
  it('lists a server started by hand exactly as in the notes and one started by `ktray server start`', async () => {
    const hand = await notesServer();
    const mine = await ktrayServer();
    const list = await servers();
    const h = list.find((s) => s.pid === hand.pid)!;
    expect(h).toMatchObject({ id: `${remote.alias}/nbserver-${hand.pid}`, app: 'notebook', alive: true, rootDir: proj, auth: 'token', listens: 'loopback', startedByKtray: false });
    expect(h.endpoint).toMatchObject({ kind: 'tcp', port: hand.port });
    expect(h.version).toBe('6.4.12');
    // No --app: the first installed of lab, notebook, server; the harness remote has notebook 6.4 and jupyter_server.
    expect(mine).toMatchObject({ app: 'notebook', alive: true, rootDir: proj, auth: 'token', startedByKtray: true });
    // Ours listens on a unix socket in the user's private runtime dir: no TCP port for other users.
    expect(mine.endpoint.kind).toBe('unix');
    expect(path.posix.dirname((mine.endpoint as { path: string }).path)).toBe(remoteRuntimeDir(remote));
    // The table a user reads.
    const text = (await world.run(['servers', remote.alias])).stdout;
    expect(text).toMatch(new RegExp(`${h.id}\\s+Notebook 6\\.4\\.12\\s+running\\s+${hand.pid}`));
    expect(text).toContain(`127.0.0.1:${hand.port}`);
    expect(text).toContain(mine.id);
    // The token is the agent's alone: never in what it tells a face.
    const json = (await world.run(['servers', remote.alias, '--json'])).stdout;
    expect(json).not.toContain(hand.token);
    expect(json).not.toContain(await remoteServerToken(remote, mine.file));
  });

  it('shows a stale server file as dead, keeps it, and removes it only when asked', async () => {
    const hand = await notesServer();
    const stale = `${remoteRuntimeDir(remote)}/nbserver-999999.json`;
    await remote.exec(`sed 's/"pid": ${hand.pid}/"pid": 999999/' '${hand.file}' > '${stale}' && chmod 600 '${stale}'`);
    const s = (await servers()).find((x) => x.file === stale)!;
    expect(s).toMatchObject({ alive: false, pid: 999999 });
    expect((await world.run(['servers', remote.alias])).stdout).toContain(`note: ${s.id} is not running: ${stale} is a stale file`);
    expect((await remote.exec(`test -f '${stale}'`)).code).toBe(0);
    const open = await world.run(['open', s.id, '--print']);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`Cannot open ${s.id}: its process (pid 999999) is not running`);
    const stop = await world.run(['server', 'stop', s.id]);
    expect(stop.stdout).toContain(`${s.id} was not running; its stale file is removed`);
    expect((await remote.exec(`test -f '${stale}'`)).code).not.toBe(0);
  });

  it('reports a malformed server file and skips it', async () => {
    const bad = `${remoteRuntimeDir(remote)}/jpserver-31337.json`;
    await remote.exec(`printf '{"pid": 31337, "url": ' > '${bad}'`);
    try {
      const r = await world.run(['servers', remote.alias]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`warning: ${remote.alias}: Skipped ${bad}: Server file ${bad}: not JSON`));
      expect(r.stdout).not.toContain('jpserver-31337');
    } finally {
      await remote.exec(`rm -f '${bad}'`);
    }
  });

  it('lists a password-only server and says the browser will ask for the password', async () => {
    const cfg = `${remote.home}/pw-config`;
    const hashed = (await remote.exec(`/usr/bin/python3 -c "from notebook.auth import passwd; print(passwd('s3cret'))"`)).stdout.trim();
    await remote.exec(`mkdir -p '${cfg}' && printf '{"NotebookApp": {"password": "%s"}}' '${hashed}' > '${cfg}/jupyter_notebook_config.json'`);
    const pw = await startNotebookByHand(remote, { port: remote.isolated ? 8890 : 18890, env: `JUPYTER_CONFIG_DIR='${cfg}'` });
    const s = (await byPid(pw.pid))!;
    expect(s).toMatchObject({ alive: true, auth: 'password' });
    expect((await world.run(['servers', remote.alias])).stdout).toContain(`note: ${s.id} uses a password`);
    const r = await world.run(['open', s.id, '--print', '--json']);
    expect(r.code).toBe(0);
    const opened = JSON.parse(r.stdout) as ServerOpened;
    expect(opened.loginFile).toBeNull();
    expect(opened.note).toBe(`${s.id} uses a password, not a token: the browser will ask for it (Kernel Tray never sees it).`);
    expect(r.stderr).toContain(`note: ${opened.note}`);
    // The browser gets the login page: the server answers through the tunnel and asks.
    const login = await fetch(opened.localUrl, { redirect: 'manual' });
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toMatch(/\/login\?next=/);
    const stop = await world.run(['server', 'stop', s.id]);
    expect(stop.stdout).toContain(`${s.id} stopped with signals`);
    expect((await remote.exec(`kill -0 ${pw.pid}`)).code).not.toBe(0);
  });

  it('starts a plain jupyter_server (--app server): its jpserver file, on a unix socket, answered through the tunnel, stopped through its API', async () => {
    const r = await world.run(['server', 'start', remote.alias, '--app', 'server', '--cwd', proj]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(new RegExp(`^${remote.alias}/jpserver-\\d+$`));
    const s = (await servers()).find((x) => x.id === id)!;
    expect(s).toMatchObject({ app: 'jupyter-server', version: '1.23.3', alive: true, rootDir: proj, auth: 'token', startedByKtray: true, endpoint: { kind: 'unix' } });
    expect((await world.run(['servers', remote.alias])).stdout).toMatch(new RegExp(`${id}\\s+Jupyter Server 1\\.23\\.3\\s+running`));
    const opened = await world.json<ServerOpened>(['open', id, '--print']);
    expect(opened.loginFile).toMatch(/\/servers\/login-.*\.html$/);
    const api = await fetch(new URL('api', opened.server.localUrl!));
    expect(await api.json()).toMatchObject({ version: '1.23.3' });
    // Through the tunnel, still only with the token.
    expect((await fetch(new URL('api/sessions', opened.server.localUrl!))).status).toBe(403);
    const stop = await world.run(['server', 'stop', id]);
    expect(stop.stdout.trim()).toBe(`${id} shut down through its API`);
    expect((await remote.exec(`kill -0 ${s.pid}`)).code).not.toBe(0);
    expect((await servers()).some((x) => x.id === id)).toBe(false);
  });

  it('carries a warning for a server on --ip=0.0.0.0, which the network can reach', async () => {
    const wide = await startNotebookByHand(remote, { port: remote.isolated ? 8891 : 18891, args: '--ip=0.0.0.0' });
    const s = (await byPid(wide.pid))!;
    expect(s).toMatchObject({ listens: 'all-interfaces', endpoint: { kind: 'tcp', address: '0.0.0.0', port: wide.port } });
    const text = (await world.run(['servers', remote.alias])).stdout;
    expect(text).toContain(`warning: ${s.id}: It listens on 0.0.0.0:${wide.port}, so the network can reach it, not just this host's loopback.`);
    // Still opened through its loopback side.
    const opened = await world.json<ServerOpened>(['open', s.id, '--print']);
    expect((await fetch(new URL('api', opened.server.localUrl!))).status).toBe(200);
    await world.run(['server', 'stop', s.id]);
  });
});

describe('ktray open: the browser logged in, through the one SSH connection, the token in no argv', () => {
  it('opens the notes server in a real browser: no token in any argv on either machine, and the server answers through the tunnel', async () => {
    const hand = await notesServer();
    const id = `${remote.alias}/nbserver-${hand.pid}`;
    // The watcher sees what it should see: a canary in a remote argv.
    const canary = `ktray-canary-${Date.now()}`;
    const selfCheck = watchArgv(remote, [canary]);
    await remote.exec(`sh -c 'sleep 2' ${canary} >/dev/null 2>&1 &`);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await selfCheck.stop()).hits.some((h) => h.startsWith('remote:') && h.includes(canary))).toBe(true);

    const logBefore = (await remote.exec(`grep -c '${hand.token}' '${hand.log}'`)).stdout.trim();
    const browser = await dumpingBrowser('notes');
    const watch = watchArgv(remote, [hand.token]);
    const r = await world.run(['open', id], { env: browser.env });
    await until(async () => (await readFile(browser.dump, 'utf8').catch(() => '')).includes('</html>'), { timeoutMs: 60_000, what: 'the browser to save the page it opened' });
    const seen = await watch.stop();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(seen.rounds).toBeGreaterThan(0);
    expect(seen.hits).toEqual([]);
    // Opening added no line with its token to the server's log (a redirect with ?token= would have).
    expect((await remote.exec(`grep -c '${hand.token}' '${hand.log}'`)).stdout.trim()).toBe(logBefore);
    // Logged in: the page is the notebook's file tree, not its login form.
    const page = await readFile(browser.dump, 'utf8');
    expect(page).toContain('<title>Home Page - Select or create a notebook</title>');
    const s = (await servers()).find((x) => x.id === id)!;
    expect(r.stdout.split('\n')[0]).toBe(`http://127.0.0.1:${s.localPort}/tree`);
    expect(s).toMatchObject({ tunnelled: true, localUrl: `http://127.0.0.1:${s.localPort}/` });
    // The login page: 0600 in a 0700 folder of the agent's home.
    const login = path.join(world.home, 'servers', `login-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.html`);
    expect((await stat(login)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(login))).mode & 0o777).toBe(0o700);
  });

  it('keeps the same local port across a dropped connection and an agent restart', async () => {
    const hand = await notesServer();
    const mine = await ktrayServer();
    const id = `${remote.alias}/nbserver-${hand.pid}`;
    const opened = await world.json<ServerOpened>(['open', id, '--print']);
    const url = opened.server.localUrl!;
    expect((await fetch(new URL('api', url))).status).toBe(200);
    remote.dropConnections();
    await until(async () => (await fetch(new URL('api', url)).then((x) => x.status, () => 0)) === 200, { timeoutMs: 60_000, what: 'the tunnel to answer again after the drop' });
    await world.run(['agent', 'stop']);
    // The next command starts an agent, which opens the tunnel again (as it re-attaches kernels), on the same port.
    await until(async () => (await servers()).find((x) => x.id === id)?.tunnelled === true, { timeoutMs: 60_000, intervalMs: 300, what: 'the new agent to reopen the tunnel' });
    expect((await servers()).find((x) => x.id === id)).toMatchObject({ tunnelled: true, localUrl: url });
    await until(async () => (await fetch(new URL('api', url)).then((x) => x.status, () => 0)) === 200, { timeoutMs: 60_000, what: 'the reopened tunnel to answer' });
    // The server `ktray server start` made is detached: it outlived the dropped SSH connection and the agent that started it.
    expect((await remote.exec(`kill -0 ${mine.pid}`)).code).toBe(0);
    expect((await servers()).find((x) => x.id === mine.id)).toMatchObject({ alive: true, pid: mine.pid });
  });
});

describe("a notebook's kernel, every frontend", () => {
  it('lists the kernel with its notebook, attaches it by that name, and a real jupyter console sees what the notebook did', async () => {
    const mine = await ktrayServer();
    const opened = await world.json<ServerOpened>(['open', mine.id, '--print']);
    const token = await remoteServerToken(remote, mine.file);
    // What a browser does when you create analysis.ipynb: a session through the tunnel.
    const made = await fetch(new URL('api/sessions', opened.server.localUrl!), {
      method: 'POST',
      headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: 'analysis.ipynb', type: 'notebook', kernel: { name: 'python3' } }),
    });
    expect(made.status).toBe(201);
    const kernelUuid = ((await made.json()) as { kernel: { id: string } }).kernel.id;
    let k: KernelSummary | undefined;
    await until(async () => (k = (await world.json<KernelSummary[]>(['ls', remote.alias])).find((x) => x.name === kernelUuid && x.alive)) !== undefined, { timeoutMs: 60_000, what: 'the notebook kernel to be listed' });
    expect(k).toMatchObject({ server: mine.id, notebook: 'analysis.ipynb' });
    expect((await world.run(['ls', remote.alias])).stdout).toMatch(new RegExp(`${remote.alias}/${kernelUuid}.*analysis\\.ipynb on ${mine.name}`));
    expect((await servers()).find((s) => s.id === mine.id)!.kernels).toEqual([`${remote.alias}/${kernelUuid}`]);

    // One command: the kernel of analysis.ipynb, by that name.
    const attached = await world.json<{ localConnectionFile: string; kernel: KernelSummary }>(['attach', `${remote.alias}/analysis.ipynb`, '--frontend', 'none']);
    expect(attached.kernel.id).toBe(`${remote.alias}/${kernelUuid}`);
    expect((await runJupyterCheck(attached.localConnectionFile, 'x = 6*7')).status).toBe('ok');
    const printed = await runJupyterConsole(attached.localConnectionFile, 'print(x)\n');
    expect(printed).toMatch(/In \[\d+\]: 42/);
  });

  it('`ktray server stop` says which kernels go with it, shuts it down through its API, and leaves nothing behind', async () => {
    const mine = await ktrayServer();
    const token = await remoteServerToken(remote, mine.file);
    const going = (await servers()).find((s) => s.id === mine.id)!.kernels;
    expect(going.length).toBe(1);
    const r = await world.run(['server', 'stop', mine.id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Stopping ${mine.id} stops its kernel: ${going[0]} (analysis.ipynb)`);
    const agentLog = await readFile(path.join(world.home, 'agent.log'), 'utf8').catch(() => '(no agent.log)');
    expect(r.stdout.trim(), `agent.log says:\n${agentLog.split('\n').filter((l) => l.includes('[servers]') || l.includes('no agent.log')).join('\n')}`).toBe(`${mine.id} shut down through its API`);
    expect((await remote.exec(`kill -0 ${mine.pid}`)).code).not.toBe(0);
    expect((await remote.exec(`ls '${remoteRuntimeDir(remote)}'`)).stdout).not.toMatch(new RegExp(`nbserver-${mine.pid}|kernel-${going[0]!.split('/')[1]}|\\.ktray-token`));
    expect((await servers()).some((s) => s.id === mine.id)).toBe(false);
    expect((await world.json<KernelSummary[]>(['ls', remote.alias])).find((k) => k.id === going[0])?.alive ?? false).toBe(false);
    // The login page (it held the token) is gone with the tunnel.
    expect((await readdir(path.join(world.home, 'servers'))).some((f) => f.includes(mine.name))).toBe(false);
    // And the token was in no log: the agent's, its state, the server's own log on the host.
    for (const f of await readdir(world.home)) {
      const p = path.join(world.home, f);
      if ((await stat(p)).isFile() && f !== 'agent.sock') expect(await readFile(p, 'utf8'), p).not.toContain(token);
    }
    const logs = await remote.exec(`cat ~/.cache/ktray/server-*.log`);
    expect(logs.stdout).toContain('Shutting down on /api/shutdown request');
    expect(logs.stdout).not.toContain(token);
  });
});

describe('what a user gets wrong', () => {
  it('says what is not a server, and what is missing on the host', async () => {
    const r = await world.run(['open', `${remote.alias}/nbserver-1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No Jupyter server ${remote.alias}/nbserver-1.`);
    expect(r.stderr).toContain(`ktray servers ${remote.alias}`);
    const lab = await world.run(['server', 'start', remote.alias, '--app', 'lab']);
    expect(lab.code).toBe(1);
    expect(lab.stderr).toMatch(/Jupyter lab is not installed for \S*python3 on .*has: notebook, server\./);
    expect(lab.stderr).toContain('pip install jupyterlab');
    const app = await world.run(['server', 'start', remote.alias, '--app', 'voila']);
    expect(app.code).toBe(2);
    expect(app.stderr).toContain('--app must be lab, notebook or server, not voila.');
  });
});
