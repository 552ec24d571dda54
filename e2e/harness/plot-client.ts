// plot_client.py on the remote box (a frontend there, as a console in tmux is) or here.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { run } from './proc';
import type { RemoteHost } from './remote-host';

export const PLOT_CLIENT = fileURLToPath(new URL('./plot_client.py', import.meta.url));

export interface ClientImage {
  type: string;
  mime: string;
  displayId: string | null;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
}

export interface ClientRun {
  status: string;
  session: string;
  username: string;
  images: ClientImage[];
  stdout: string;
  error: string | null;
}

function parse(stdout: string, stderr: string, code: number, where: string): ClientRun {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ClientRun;
  } catch {
    throw new Error(`plot_client.py ${where} gave no JSON (exit ${code}):\n${stdout}\n${stderr}`);
  }
}

/** Puts the client in the remote user's home and checks matplotlib is there; once per remote. */
export async function installPlotClient(remote: RemoteHost): Promise<void> {
  const script = await readFile(PLOT_CLIENT, 'utf8');
  if (script.includes('PYEOF')) throw new Error('plot_client.py must not contain the heredoc marker');
  const put = await remote.exec(`cat > ~/plot_client.py <<'PYEOF'\n${script}\nPYEOF`);
  if (put.code !== 0) throw new Error(`could not put plot_client.py on the remote: ${put.stderr}`);
  const mpl = await remote.exec(`/usr/bin/python3 -c 'import matplotlib, matplotlib_inline'`);
  if (mpl.code !== 0) throw new Error(`python3-matplotlib must be on the remote (scripts/test-prereqs.mjs): ${mpl.stderr}`);
}

/** Runs CODE from a jupyter_client on the remote box, on the kernel's own (remote) connection file. */
export async function remotePlotClient(remote: RemoteHost, connectionFile: string, code: string): Promise<ClientRun> {
  const b64 = Buffer.from(code).toString('base64');
  const r = await remote.exec(`/usr/bin/python3 ~/plot_client.py '${connectionFile}' "$(echo ${b64} | base64 -d)" --timeout 90`, { timeoutMs: 150_000 });
  return parse(r.stdout, r.stderr, r.code, 'on the remote');
}

/** The same client here, on a local connection file (an attachment's, through the tunnel). */
export async function localPlotClient(connectionFile: string, code: string): Promise<ClientRun> {
  const r = await run('/usr/bin/python3', [PLOT_CLIENT, connectionFile, code, '--timeout', '90'], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...(process.env.HOME ? { HOME: process.env.HOME } : {}) },
    timeoutMs: 150_000,
  });
  return parse(r.stdout, r.stderr, r.code, 'here');
}
