// Jupyter servers on the harness's remote host, started by hand as a user
// would (not through Kernel Tray), and the checks that a server's token shows
// up in no process's argv on either machine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RemoteHost } from './remote-host';
import { until } from './wait';

const pexec = promisify(execFile);

export interface HandServer {
  pid: number;
  /** Its nbserver-PID.json on the remote. */
  file: string;
  token: string;
  port: number;
  log: string;
}

/** The remote user's Jupyter runtime dir (the harness gives no XDG_RUNTIME_DIR). */
export function remoteRuntimeDir(remote: RemoteHost): string {
  return `${remote.home}/.local/share/jupyter/runtime`;
}

/**
 * `cd DIR && jupyter notebook --no-browser --port=PORT &`, as in the user's
 * notes, with its output in a log of its own; waits for its server file.
 */
export async function startNotebookByHand(
  remote: RemoteHost,
  o: { port: number; dir?: string; args?: string; env?: string; log?: string },
): Promise<HandServer> {
  const dir = o.dir ?? remote.home;
  const log = o.log ?? `${remote.home}/nb-${o.port}.log`;
  const started = await remote.exec(`mkdir -p '${dir}' && cd '${dir}' && (${o.env ?? ''} jupyter notebook --no-browser --port=${o.port} ${o.args ?? ''} > '${log}' 2>&1 &) ; echo ok`);
  if (!started.stdout.includes('ok')) throw new Error(`could not start jupyter notebook on the remote: ${started.stderr}`);
  let file = '';
  await until(
    async () => {
      const r = await remote.exec(`grep -l '"port": ${o.port},' '${remoteRuntimeDir(remote)}'/nbserver-*.json 2>/dev/null | head -1`);
      file = r.stdout.trim();
      return file !== '';
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `jupyter notebook on port ${o.port} to write its server file (log: ${log})` },
  );
  const info = JSON.parse((await remote.exec(`cat '${file}'`)).stdout) as { pid: number; token: string };
  return { pid: info.pid, file, token: info.token, port: o.port, log };
}

export async function remoteServerToken(remote: RemoteHost, file: string): Promise<string> {
  return (JSON.parse((await remote.exec(`cat '${file}'`)).stdout) as { token: string }).token;
}

/** Every process's argv on this machine and on the remote, as `ps` shows them. */
async function allArgv(remote: RemoteHost): Promise<{ local: string; remote: string }> {
  const [local, far] = await Promise.all([pexec('ps', ['-eww', '-o', 'args='], { maxBuffer: 16 * 1024 * 1024 }), remote.exec('ps -eww -o args=')]);
  return { local: local.stdout, remote: far.stdout };
}

export interface ArgvWatch {
  /** Stops sampling; resolves with how many rounds ran and every line that held a secret. */
  stop(): Promise<{ rounds: number; hits: string[] }>;
}

/** Samples `ps` on both machines, over and over, until stopped, looking for any of the secrets. */
export function watchArgv(remote: RemoteHost, secrets: string[]): ArgvWatch {
  let running = true;
  let rounds = 0;
  const hits: string[] = [];
  const loop = (async () => {
    while (running) {
      const { local, remote: far } = await allArgv(remote);
      rounds++;
      for (const [where, text] of [['local', local], ['remote', far]] as const) {
        for (const line of text.split('\n')) if (secrets.some((s) => s && line.includes(s))) hits.push(`${where}: ${line}`);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { rounds, hits };
    },
  };
}
