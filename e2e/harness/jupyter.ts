// Runs jupyter_check.py, a real jupyter_client (BlockingKernelClient), against a connection file.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run } from './proc';

const SCRIPT = fileURLToPath(new URL('./jupyter_check.py', import.meta.url));
// The system python has jupyter_client; a `python3` on PATH (pyenv) may not.
const PYTHON = '/usr/bin/python3';

export interface JupyterCheckResult {
  status: 'ok' | 'error';
  /** text/plain of the execute_result, e.g. '42' for `6*7`; null when the code returned nothing. */
  result: string | null;
  stdout: string;
  stderr: string;
  ename?: string;
  evalue?: string;
  /** Exit status of jupyter_check.py: 0 ok, 1 kernel error, 2 kernel unreachable or too slow. */
  exitCode: number;
}

export async function runJupyterCheck(
  connectionFile: string,
  code: string,
  opts: { timeoutSec?: number } = {},
): Promise<JupyterCheckResult> {
  const timeoutSec = opts.timeoutSec ?? 30;
  // A clean environment: a pyenv PYTHONPATH/PYTHONHOME would break the system python.
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...(process.env.HOME ? { HOME: process.env.HOME } : {}) };
  const r = await run(PYTHON, [SCRIPT, connectionFile, code, '--timeout', String(timeoutSec)], {
    env,
    timeoutMs: (timeoutSec * 2 + 30) * 1000, // safety net; the script has its own timeout
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`jupyter_check.py gave no JSON (exit ${r.code}) for ${connectionFile}:\n${r.stdout}${r.stderr}`);
  }
  return {
    status: parsed.status === 'ok' ? 'ok' : 'error',
    result: typeof parsed.result === 'string' ? parsed.result : null,
    stdout: String(parsed.stdout ?? ''),
    stderr: String(parsed.stderr ?? ''),
    ...(parsed.ename ? { ename: String(parsed.ename) } : {}),
    ...(parsed.evalue ? { evalue: String(parsed.evalue) } : {}),
    exitCode: r.code,
  };
}

/** A real `jupyter console --existing FILE --simple-prompt`, fed lines on stdin: everything it printed. */
export function runJupyterConsole(file: string, input: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/jupyter-console', ['--existing', file, '--simple-prompt'], {
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...(process.env.HOME ? { HOME: process.env.HOME } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`jupyter console did not finish:\n${out}`));
    }, opts.timeoutMs ?? 60_000);
    c.on('error', reject);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    c.stdin.end(input);
  });
}
