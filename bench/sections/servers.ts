// Jupyter servers: (1) listing the host's servers with the notebook each of
// their kernels runs, (2) "open": from the command to the server answering
// through a tunnel here. Against (a) the expert's way: one fresh ssh that
// reads the server files and asks each server's /api/sessions on the host
// (curl, the token fed on stdin), and `ssh -f -N -L` plus the same request.
import type { RemoteHost } from '../../e2e/harness/remote-host';
import { run } from '../../e2e/harness/proc';
import { startNotebookByHand, type HandServer } from '../../e2e/harness/jupyter-servers';
import type { ServerOpened, ServerSummary } from '../../electron/shared/types';
import type { TrayAgent } from '../baselines/ktray';
import type { KtrayCli } from '../baselines/ktray-cli';
import { emptyRow, rotated, type Results } from '../results';
import { freePorts, killSshClients, timed } from '../util';

export interface ServersContext {
  remote: RemoteHost;
  tray: TrayAgent;
  cli: KtrayCli;
  runs: number;
  servers: number;
  notebooksPerServer: number;
  log: (line: string) => void;
}

/** Sessions made on the host itself (python reads the token from the server file: no argv holds it). */
async function makeSessions(remote: RemoteHost, s: HandServer, n: number): Promise<void> {
  const py = `
import json, sys, urllib.request
info = json.load(open(sys.argv[1]))
for i in range(int(sys.argv[2])):
    body = json.dumps({"path": "nb-%d.ipynb" % i, "type": "notebook", "kernel": {"name": "python3"}}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/api/sessions" % info["port"], data=body, method="POST",
                                 headers={"Authorization": "token " + info["token"], "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=120).read()
`;
  const r = await remote.exec(`${remote.python} -c '${py}' '${s.file}' ${n}`, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`making notebook sessions on the remote failed: ${r.stderr}`);
}

/**
 * (a) One fresh ssh: every server file, the user's processes, and each live
 * server's sessions asked on the host with curl (token from the file, fed on
 * curl's stdin as config). Returns the kernel ids of the sessions seen.
 */
async function manualList(remote: RemoteHost): Promise<string[]> {
  const script = [
    'cd ~/.local/share/jupyter/runtime 2>/dev/null || exit 0',
    'for f in jpserver-*.json nbserver-*.json; do [ -f "$f" ] || continue; echo "== $f"; cat "$f"; echo',
    '  t=$(sed -n \'s/.*"token": "\\(.*\\)".*/\\1/p\' "$f"); p=$(sed -n \'s/.*"port": \\([0-9]*\\).*/\\1/p\' "$f")',
    '  printf \'header = "Authorization: token %s"\\n\' "$t" | curl -s -K - "http://127.0.0.1:$p/api/sessions"; echo',
    'done; ps -u "$(id -u)" -o pid=,ppid=,etime=,args=',
  ].join('\n');
  const r = await run('ssh', ['-F', remote.sshConfigFile, '-o', 'ControlPath=none', remote.alias, script], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`(a) ssh listing exited ${r.code}: ${r.stderr.trim()}`);
  // One kernel id per session (each session names its path twice, as `path` and `notebook.path`).
  return [...new Set([...r.stdout.matchAll(/"kernel": \{"id": "([^"]+)"/g)].map((m) => m[1]!))];
}

async function answers(url: string): Promise<void> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  await res.text();
}

export async function serversSection(ctx: ServersContext): Promise<NonNullable<Results['servers']>> {
  const { remote } = ctx;
  const started: HandServer[] = [];
  try {
    for (let i = 0; i < ctx.servers; i++) {
      const s = await startNotebookByHand(remote, { port: (remote.isolated ? 8887 : 18887) + i, dir: `${remote.home}/bench-nb-${i}` });
      started.push(s);
      await makeSessions(remote, s, ctx.notebooksPerServer);
    }
    const expected = ctx.servers * ctx.notebooksPerServer;
    ctx.log(`  ${ctx.servers} servers with ${expected} notebook kernels running`);
    const named = (list: ServerSummary[], kernels: { notebook: string | null }[]) => {
      const names = kernels.filter((k) => k.notebook).length;
      if (list.filter((s) => s.alive).length !== ctx.servers || names !== expected) throw new Error(`listed ${list.length} servers and ${names} named kernels, expected ${ctx.servers} and ${expected}`);
    };
    const discovery = emptyRow('ms', ['a', 'c', 'cli']);
    const steps: Record<'a' | 'c' | 'cli', () => Promise<void>> = {
      a: async () => {
        const [paths, ms] = await timed(() => manualList(remote));
        if (paths.length !== expected) throw new Error(`(a) saw ${paths.length} notebooks, expected ${expected}`);
        discovery.a!.add(ms);
      },
      c: async () => {
        const [, ms] = await timed(async () => named(await ctx.tray.agent.servers({ host: remote.alias, refresh: true }), await ctx.tray.agent.kernels({ host: remote.alias })));
        discovery.c!.add(ms);
      },
      cli: async () => {
        const [list, ms] = await timed(() => ctx.cli.json<ServerSummary[]>(['servers', remote.alias]));
        discovery.cli!.add(ms);
        named(list, await ctx.cli.json<{ notebook: string | null }[]>(['ls', remote.alias]));
      },
    };
    // The tray is connected (as it stays); so is the CLI's agent.
    await ctx.tray.agent.servers({ host: remote.alias, refresh: true });
    await ctx.cli.json(['servers', remote.alias]);
    for (let i = 0; i < ctx.runs; i++) {
      for (const a of rotated<'a' | 'c' | 'cli'>(['a', 'c', 'cli'], i)) {
        await steps[a]().catch((err) => {
          discovery[a]!.fail(err);
          ctx.log(`  servers listing ${a} run ${i + 1} failed: ${(err as Error).message}`);
        });
      }
    }

    // Open: each run a fresh tunnel, closed afterwards.
    const id = `${remote.alias}/nbserver-${started[0]!.pid}`;
    const open = emptyRow('ms', ['a', 'c', 'cli']);
    const openSteps: Record<'a' | 'c' | 'cli', () => Promise<void>> = {
      a: async () => {
        const [port] = await freePorts(1);
        const [, ms] = await timed(async () => {
          const r = await run('ssh', ['-F', remote.sshConfigFile, '-o', 'ControlPath=none', '-f', '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${port}:127.0.0.1:${started[0]!.port}`, remote.alias], { timeoutMs: 60_000 });
          if (r.code !== 0) throw new Error(`(a) ssh -f -N -L exited ${r.code}: ${r.stderr.trim()}`);
          await answers(`http://127.0.0.1:${port}/api`);
        });
        open.a!.add(ms);
        killSshClients(remote.sshConfigFile);
      },
      c: async () => {
        const [, ms] = await timed(async () => {
          const o = await ctx.tray.agent.openServer({ id });
          await answers(new URL('api', o.server.localUrl!).toString());
        });
        open.c!.add(ms);
        await ctx.tray.agent.closeServer({ id });
      },
      cli: async () => {
        const [, ms] = await timed(async () => {
          const o = await ctx.cli.json<ServerOpened>(['open', id, '--print']);
          await answers(new URL('api', o.server.localUrl!).toString());
        });
        open.cli!.add(ms);
        await ctx.cli.json(['server', 'close', id]);
      },
    };
    for (let i = 0; i < ctx.runs; i++) {
      for (const a of rotated<'a' | 'c' | 'cli'>(['a', 'c', 'cli'], i)) {
        await openSteps[a]().catch((err) => {
          open[a]!.fail(err);
          ctx.log(`  open ${a} run ${i + 1} failed: ${(err as Error).message}`);
        });
      }
    }
    return { servers: ctx.servers, kernels: expected, discovery, open };
  } finally {
    // Their kernels go with them (the servers' own shutdown on SIGTERM).
    for (const s of started) await remote.exec(`kill -TERM ${s.pid}; i=0; while kill -0 ${s.pid} 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`);
  }
}
