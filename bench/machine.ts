// What the numbers were measured on: the report is useless without it.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from '../e2e/harness/proc';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  python: string;
  jupyterClient: string;
  ipykernel: string;
  openssh: string;
  ssh2: string;
  date: string;
  /** 1-minute load average when the run started (other work on the machine skews timings). */
  load: number;
}

export async function describeMachine(): Promise<Machine> {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const py = await run('/usr/bin/python3', ['-c', 'import sys, jupyter_client, ipykernel; print(sys.version.split()[0], jupyter_client.__version__, ipykernel.__version__)'], {
    env: { PATH: '/usr/bin:/bin' },
  });
  const [python = '?', jupyterClient = '?', ipykernel = '?'] = py.stdout.trim().split(' ');
  const ssh = await run('ssh', ['-V']);
  const ssh2 = JSON.parse(readFileSync(new URL('../node_modules/ssh2/package.json', import.meta.url), 'utf8')).version as string;
  return {
    cpu,
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    python,
    jupyterClient,
    ipykernel,
    openssh: (ssh.stderr || ssh.stdout).trim().split(',')[0] ?? '?',
    ssh2,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    load: os.loadavg()[0] ?? NaN,
  };
}
