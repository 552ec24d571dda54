// The host scripts, run for real by /bin/sh through LocalHost, against real
// ipykernel processes (Debian's /usr/bin/python3) and real connection files.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pythonWithoutIpykernel } from '../../../e2e/harness/python';
import { LocalHost } from '../hosts/local-host';
import { parseConnectionFile } from '../jupyter/connection-file';
import { matchKernel, parseDiscovery, parseElapsed, type Discovery } from './discovery';
import { stateSaid } from './kernel-ops';
import { discoveryScript, launchScript, parseLaunch, signalScript, stopScript, type LaunchOutcome, type LaunchSpec } from './remote-scripts';

const PY = '/usr/bin/python3';
// A python with neither ipykernel nor jupyter_core.
const PY_WITHOUT_IPYKERNEL = pythonWithoutIpykernel();
const host = new LocalHost();

let root: string;
let runtime: string;
let kernelspecs: string;
/** Detached kernels started by launchScript, killed in afterAll whatever happens. */
const started = new Set<number>();

/** Alive and not a zombie: where pid 1 does not reap (containers), a killed orphan stays a zombie. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function killPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (running(pid)) await new Promise((r) => setTimeout(r, 20));
}

function sid(pid: number): string {
  return execFileSync('ps', ['-o', 'sid=', '-p', String(pid)], { encoding: 'utf8' }).trim();
}

async function launch(spec: Partial<LaunchSpec>): Promise<LaunchOutcome> {
  const res = await host.run(launchScript({ id: `t${Math.random().toString(36).slice(2, 10)}`, startTimeoutSec: 30, ...spec }), { timeoutMs: 60_000 });
  const out = parseLaunch(res.stdout);
  if (!out) throw new Error(`no launch report; stdout=${res.stdout} stderr=${res.stderr}`);
  if (out.ok) started.add(out.pid);
  return out;
}

beforeAll(async () => {
  root = realpathSync(await mkdtemp(path.join(tmpdir(), 'ktray-scripts-')));
  runtime = path.join(root, 'runtime');
  kernelspecs = path.join(root, 'jpath');
  await mkdir(runtime, { recursive: true });
  // A kernelspec that dies at once, with something on stderr.
  await mkdir(path.join(kernelspecs, 'kernels', 'boom'), { recursive: true });
  await writeFile(
    path.join(kernelspecs, 'kernels', 'boom', 'kernel.json'),
    JSON.stringify({ argv: ['sh', '-c', 'echo boom >&2; exit 3', '{connection_file}'], display_name: 'Boom', language: 'sh' }),
  );
  // LocalHost's sh inherits this process's environment: keep every file the
  // scripts and kernels write inside the temp dir.
  vi.stubEnv('JUPYTER_RUNTIME_DIR', runtime);
  vi.stubEnv('JUPYTER_PATH', kernelspecs);
  vi.stubEnv('JUPYTER_DATA_DIR', path.join(root, 'data'));
  vi.stubEnv('XDG_CACHE_HOME', path.join(root, 'cache'));
  vi.stubEnv('IPYTHONDIR', path.join(root, 'ipython'));
  vi.stubEnv('JPY_PARENT_PID', undefined);
});

afterAll(async () => {
  await Promise.all([...started].map(killPid));
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

describe('parseElapsed', () => {
  it.each([
    ['05:03', 303],
    ['00:00', 0],
    ['1:02:03', 3723],
    ['12:00:00', 43200],
    ['2-03:04:05', 2 * 86400 + 3 * 3600 + 4 * 60 + 5],
    ['10-00:00:01', 864001],
    ['garbage', 0],
  ])('%s is %i s', (etime, sec) => {
    expect(parseElapsed(etime)).toBe(sec);
  });
});

describe('discovery with live, stale and broken connection files', () => {
  let kernel: ChildProcess;
  let console_: ChildProcess;
  let live: string;
  let stale: string;
  let spaced: string;
  let broken: string;
  let pidNamed: string;
  let odd: string;

  beforeAll(async () => {
    live = path.join(runtime, 'kernel-abc.json');
    kernel = spawn(PY, ['-m', 'ipykernel_launcher', '-f', live], { stdio: 'ignore', env: { ...process.env } });
    while (!existsSync(live) || !(await readFile(live, 'utf8')).includes('hb_port')) {
      if (kernel.exitCode !== null) throw new Error(`ipykernel exited with ${kernel.exitCode}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Give the kernel a moment to finish writing; the JSON must parse.
    for (;;) {
      try {
        JSON.parse(await readFile(live, 'utf8'));
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const nonce = Math.random().toString(36).slice(2);
    stale = path.join(runtime, `kernel-stale-${nonce}.json`);
    await copyFile(live, stale);
    spaced = path.join(runtime, `kernel-with space ${nonce}.json`);
    await copyFile(live, spaced);
    broken = path.join(runtime, 'kernel-broken.json');
    await writeFile(broken, '{"shell_port": 1, "ip": ');
    // `ipython kernel` names its file after its pid and does not name the file in its arguments.
    pidNamed = path.join(runtime, `kernel-${kernel.pid}.json`);
    await copyFile(live, pidNamed);
    // A frontend attached to the stale file names it too, but serves nothing.
    console_ = spawn(PY, ['-c', 'import time; time.sleep(120)', 'jupyter-console', '--existing', stale], { stdio: 'ignore' });
    // A folder with a hostile name, given as an extra dir.
    odd = path.join(root, "it's $(touch pwned-extra)");
    await mkdir(odd);
    await copyFile(live, path.join(odd, 'kernel-odd.json'));
  }, 60_000);

  afterAll(async () => {
    console_?.kill('SIGKILL');
    kernel?.kill('SIGKILL');
  });

  it('lists every file once, with its text, and the processes, and matches only the live kernel', async () => {
    const { script, marker } = discoveryScript([runtime, odd]);
    const res = await host.run(script, { timeoutMs: 30_000 });
    expect(res.code).toBe(0);
    const found = parseDiscovery(res.stdout, marker);

    expect(found.home).toBe(process.env.HOME);
    expect(Math.abs(found.now - Date.now())).toBeLessThan(3600_000);

    const ours = found.files.filter((f) => f.dir === runtime || f.dir === odd);
    expect(ours.map((f) => f.path).sort()).toEqual([broken, live, pidNamed, spaced, stale, path.join(odd, 'kernel-odd.json')].sort());
    const liveText = await readFile(live, 'utf8');
    const byPath = new Map(ours.map((f) => [f.path, f]));
    expect(JSON.parse(byPath.get(live)!.text!)).toEqual(JSON.parse(liveText));
    expect(JSON.parse(byPath.get(spaced)!.text!)).toEqual(JSON.parse(liveText));
    expect(byPath.get(spaced)!.dir).toBe(runtime);
    expect(byPath.get(broken)!.text!.trim()).toBe('{"shell_port": 1, "ip":');
    for (const f of ours) expect(f.mtime).toBeGreaterThan(0);

    const me = found.processes.find((p) => p.pid === kernel.pid);
    expect(me).toBeDefined();
    expect(me!.args).toContain('ipykernel_launcher');
    expect(me!.elapsedSec).toBeGreaterThanOrEqual(0);

    const match = (file: string) => {
      const f = found.files.find((x) => x.path === file)!;
      return matchKernel(file, parseConnectionFile(f.text!, file), found);
    };
    expect(found.procfs).not.toBeNull();
    expect(match(live)?.pid).toBe(kernel.pid);
    expect(match(live)?.start).toMatch(/^\d+$/);
    expect(match(pidNamed)?.pid).toBe(kernel.pid);
    // Copies of the live file have its ports, but the kernel's argv names another file.
    expect(match(stale)).toBeNull();
    expect(match(spaced)).toBeNull();
    expect(existsSync(path.join(root, 'pwned-extra'))).toBe(false);
    expect(existsSync('pwned-extra')).toBe(false);
  });

  it('reports a listing cut short', () => {
    const { marker } = discoveryScript();
    expect(() => parseDiscovery(`\n${marker} begin\n${marker} now 1\n${marker} home raw:/h\n${marker} ps\n 1 00:01 init\n`, marker)).toThrow(/cut short/);
  });

  it('ignores lines that look like markers from another run, and whatever a login shell printed first', () => {
    const { marker } = discoveryScript();
    const other = discoveryScript().marker;
    expect(other).not.toBe(marker);
    const d = parseDiscovery(
      `welcome, no newline${other} file 5 2 raw:/x/kernel-a.json\n{}\n\n${marker} begin\n${marker} now 7\n${marker} ps\n  42     1 01:00 python -m ipykernel_launcher -f /x/kernel-a.json\n${marker} end\n`,
      marker,
    );
    expect(d.files).toEqual([]);
    expect(d.now).toBe(7000);
    expect(d.processes).toEqual([{ pid: 42, ppid: 1, elapsedSec: 60, args: 'python -m ipykernel_launcher -f /x/kernel-a.json' }]);
  });

  it('lists a file whose name holds a newline under its whole name', async () => {
    const weird = path.join(runtime, 'kernel-two\nlines.json');
    await copyFile(live, weird);
    try {
      const { script, marker } = discoveryScript([runtime]);
      const found = parseDiscovery((await host.run(script, { timeoutMs: 30_000 })).stdout, marker);
      const f = found.files.find((x) => x.path === weird);
      expect(f?.dir).toBe(runtime);
      expect(JSON.parse(f!.text!)).toEqual(JSON.parse(await readFile(live, 'utf8')));
    } finally {
      await rm(weird, { force: true });
    }
  });

  it("reads every candidate's argv exactly, one cat for all or one each where mktemp fails", async () => {
    const argvs = [
      ['-c', 'import time; time.sleep(60)', 'kernel-a b.json'],
      ['-c', 'import time; time.sleep(60)', 'two\nlines', 'kernel-c.json', ''],
      ['-c', 'import time; time.sleep(60)', '--existing', 'x.json\nnext'],
    ];
    const procs = argvs.map((a) => spawn(PY, a, { stdio: 'ignore' }));
    const execed = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`${PY}\0-c`);
    while (!procs.every((p) => execed(p.pid!))) await new Promise((r) => setTimeout(r, 20));
    const noMktemp = await mkdtemp(path.join(tmpdir(), 'kt-no-mktemp-'));
    await writeFile(path.join(noMktemp, 'mktemp'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    try {
      for (const prefix of ['', `PATH=${noMktemp}:$PATH; `]) {
        const { script, marker } = discoveryScript([runtime]);
        const found = parseDiscovery((await host.run(prefix + script, { timeoutMs: 30_000 })).stdout, marker);
        procs.forEach((p, i) => expect(found.procfs!.details.get(p.pid!)?.argv).toEqual([PY, ...argvs[i]!]));
        expect(found.procfs!.details.get(kernel.pid!)?.argv).toEqual([PY, '-m', 'ipykernel_launcher', '-f', live]);
        expect(found.procfs!.details.get(kernel.pid!)?.cwd).toBe(realpathSync(process.cwd()));
      }
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      await rm(noMktemp, { recursive: true, force: true });
    }
  });

  it('copies a file without a final newline as it is', async () => {
    const bare = path.join(runtime, 'kernel-bare.json');
    await writeFile(bare, '{"a": "x\\\\y"}\n\n  {');
    try {
      const { script, marker } = discoveryScript([runtime]);
      const found = parseDiscovery((await host.run(script, { timeoutMs: 30_000 })).stdout, marker);
      expect(found.files.find((x) => x.path === bare)).toMatchObject({ text: '{"a": "x\\\\y"}\n\n  {', size: 18 });
    } finally {
      await rm(bare, { force: true });
    }
  });

  it('reports a file too big to be a connection file by its size, without reading it', async () => {
    const big = path.join(runtime, 'kernel-big.json');
    await writeFile(big, JSON.stringify({ pad: 'x'.repeat(70_000) }));
    try {
      const { script, marker } = discoveryScript([runtime]);
      const found = parseDiscovery((await host.run(script, { timeoutMs: 30_000 })).stdout, marker);
      const f = found.files.find((x) => x.path === big);
      expect(f).toMatchObject({ text: null });
      expect(f!.size).toBeGreaterThan(70_000);
    } finally {
      await rm(big, { force: true });
    }
  });
});

describe('matching kernels to processes without /proc (argv only)', () => {
  const info = { ip: '127.0.0.1', transport: 'tcp', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: '', signature_scheme: 'hmac-sha256' } as const;
  const discovery = (args: string[]): Discovery => ({ now: 0, home: '/h', files: [], servers: [], procfs: null, queue: null, processes: args.map((a, i) => ({ pid: 100 + i, ppid: 1, elapsedSec: 1, args: a })) });

  it('takes a kernel process that names the file, never `tail -f` or a frontend on it', () => {
    const d = discovery(['tail -f /rt/kernel-a.json', 'jupyter-console --existing /rt/kernel-a.json', 'python3 -m ipykernel_launcher -f /rt/kernel-a.json']);
    expect(matchKernel('/rt/kernel-a.json', info, d)?.pid).toBe(102);
    expect(matchKernel('/rt/kernel-b.json', info, discovery(['tail -f /rt/kernel-b.json', 'less /rt/kernel-b.json']))).toBeNull();
  });

  it('takes the pid of a kernel-PID.json file only when that process is a kernel', () => {
    expect(matchKernel('/rt/kernel-100.json', info, discovery(['/usr/bin/python3 -m IPython kernel']))?.pid).toBe(100);
    expect(matchKernel('/rt/kernel-100.json', info, discovery(['vim notes.txt']))).toBeNull();
  });
});

describe('launchScript', () => {
  it('starts ipykernel detached, in its own session, in the given cwd', async () => {
    const cwd = path.join(root, 'work');
    await mkdir(cwd);
    const out = await launch({ python: PY, cwd, id: 'detached1' });
    expect(out).toMatchObject({ ok: true, python: PY, runtime_dir: runtime, file: path.join(runtime, 'kernel-detached1.json') });
    if (!out.ok) return;
    // The launcher has exited (host.run returned); the kernel lives on.
    expect(running(out.pid)).toBe(true);
    expect(sid(out.pid)).not.toBe(sid(process.pid));
    // Its parent is its nanny, leader of the kernel's own session, which reaps it when it exits.
    const parent = Number(readFileSync(`/proc/${out.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    expect(sid(out.pid)).toBe(String(parent));
    expect(readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0')).toContain('ktray-nanny');
    expect(readlinkSync(`/proc/${out.pid}/cwd`)).toBe(cwd);
    const info = out.info as Record<string, unknown>;
    expect(info).toMatchObject({ transport: 'tcp', ip: '127.0.0.1' });
    expect(JSON.parse(await readFile(out.file, 'utf8'))).toEqual(info);
    expect(out.log).toBe(path.join(root, 'cache', 'ktray', 'kernel-detached1.log'));
    // The kernel reads nothing from the launcher's stdin.
    expect(readlinkSync(`/proc/${out.pid}/fd/0`)).toBe('/dev/null');
  });

  it('restarting on the same connection file keeps its ports and key', async () => {
    const first = await launch({ python: PY, id: 'reuse1' });
    if (!first.ok) throw new Error(JSON.stringify(first));
    const text = await readFile(first.file, 'utf8');
    await killPid(first.pid);
    const second = await launch({ python: PY, id: 'reuse1', reuseFile: first.file, reuseInfo: text });
    if (!second.ok) throw new Error(JSON.stringify(second));
    expect(second.pid).not.toBe(first.pid);
    expect(second.file).toBe(first.file);
    expect(second.info).toEqual(first.info);
    expect(running(second.pid)).toBe(true);
    // It is bound to the old heartbeat port (the launcher waits for that).
    const { hb_port } = first.info as { hb_port: number };
    const sock = await host.openStream('127.0.0.1', hb_port);
    sock.destroy();
  });

  it('reports a python that does not exist', async () => {
    expect(await launch({ python: '/nonexistent/bin/python3' })).toEqual({ ok: false, error: 'PYTHON_MISSING', python: '/nonexistent/bin/python3' });
  });

  it('reports a missing python whatever characters its path holds', async () => {
    // The report is JSON: a quote or backslash in the path must not break it.
    for (const python of ['/opt/my "env"/bin/python', '/opt/back\\slash/python', "/opt/it's/python"]) {
      expect(await launch({ python })).toEqual({ ok: false, error: 'PYTHON_MISSING', python });
    }
  });

  it('reports a python without ipykernel', async () => {
    expect(() => execFileSync(PY_WITHOUT_IPYKERNEL, ['-c', 'import ipykernel'], { stdio: 'ignore' })).toThrow();
    expect(await launch({ python: PY_WITHOUT_IPYKERNEL })).toMatchObject({ ok: false, error: 'IPYKERNEL_MISSING' });
  });

  it('reports a working directory that does not exist, as given', async () => {
    const cwd = path.join(root, "no such 'dir'");
    expect(await launch({ python: PY, cwd })).toMatchObject({ ok: false, error: 'CWD_MISSING', cwd });
  });

  it('reports an unknown kernelspec with the ones that exist', async () => {
    const out = await launch({ python: PY, kernel: 'nope' });
    expect(out).toMatchObject({ ok: false, error: 'KERNELSPEC_MISSING' });
    if (out.ok) return;
    expect(out.available).toEqual(expect.arrayContaining(['boom', 'python3']));
  });

  it('reports a kernel that dies while starting, with its exit code and log', async () => {
    const out = await launch({ python: PY, kernel: 'boom', id: 'boom1' });
    expect(out).toMatchObject({ ok: false, error: 'DIED', code: 3 });
    if (out.ok) return;
    expect(out.log).toContain('boom');
  });

  it('runs nothing hidden in a working directory name', async () => {
    // A directory name cannot hold '/', so the would-be command touches a
    // relative name: look for it wherever a shell could have run it.
    const name = `ktray-pwned-${Math.random().toString(36).slice(2)}`;
    const places = [process.cwd(), root, runtime, process.env.HOME ?? '/'].map((d) => path.join(d, name));
    const cwd = path.join(root, `'$(touch ${name})'\`$(touch ${name})\``);
    await mkdir(cwd);
    try {
      const out = await launch({ python: PY, cwd, id: "quo'te" });
      expect(out).toMatchObject({ ok: true });
      if (!out.ok) return;
      expect(readlinkSync(`/proc/${out.pid}/cwd`)).toBe(cwd);
      expect(out.file).toBe(path.join(runtime, "kernel-quo'te.json"));
      const bad = await launch({ python: `${PY}; touch ${name}` });
      expect(bad).toMatchObject({ ok: false, error: 'PYTHON_MISSING', python: `${PY}; touch ${name}` });
      for (const p of [...places, path.join(cwd, name)]) expect(existsSync(p), p).toBe(false);
    } finally {
      await Promise.all(places.map((p) => rm(p, { force: true })));
    }
  });
});

describe('signals reach only the process that was listed', () => {
  it('stop and interrupt leave alone a process that has the pid but another start time', async () => {
    const other = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const start = readFileSync(`/proc/${other.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19]!;
      const wrong = String(Number(start) + 1);
      const stop = await host.run(stopScript(other.pid!, { graceSec: 0, start: wrong }), { timeoutMs: 30_000 });
      expect(stop.stdout.trim()).toBe('gone');
      const sig = await host.run(signalScript(other.pid!, 'INT', wrong), { timeoutMs: 30_000 });
      expect(sig.stdout).not.toContain('sent');
      expect(running(other.pid!)).toBe(true);
      // With its own start time it is the one: signalled and stopped.
      expect((await host.run(stopScript(other.pid!, { graceSec: 0, start }), { timeoutMs: 30_000 })).stdout.trim().split('\n')).toEqual(['sent TERM', 'gone']);
      await new Promise((r) => setTimeout(r, 100));
      expect(other.exitCode !== null || other.signalCode !== null).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('what a stop that failed says of the process', () => {
  it('names the state and the kernel function the script saw', () => {
    expect(stateSaid('sent TERM\nsent KILL\nalive D folio_wait_bit_common\n')).toBe(' (its state is D, waiting in folio_wait_bit_common)');
    expect(stateSaid('sent TERM\nsent KILL\nalive R 0\n')).toBe(' (its state is R)');
    expect(stateSaid('sent TERM\ngone\n')).toBe('');
  });
});

describe("the launcher's kernelspec lookup", () => {
  it('finds what jupyter_client\'s KernelSpecManager finds, without importing it', async () => {
    const launcher = readFileSync(path.join(__dirname, 'scripts/launcher.py'), 'utf8');
    const probe = /PROBE = r"""([\s\S]*?)"""/.exec(launcher)![1]!;
    const base = await mkdtemp(path.join(tmpdir(), 'kt-specs-'));
    try {
      // Two folders on JUPYTER_PATH (the first wins), a name in capitals, a name
      // jupyter refuses, a folder without kernel.json, and no python3 of its own.
      const spec = (argv: string[]) => JSON.stringify({ argv, display_name: 'x', language: 'python', env: { A: '1' } });
      const files: Record<string, string> = {
        'one/kernels/Torch/kernel.json': spec(['python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}']),
        'one/kernels/r/kernel.json': spec(['R', '--slave', '-f', '{connection_file}']),
        'two/kernels/r/kernel.json': spec(['/opt/R', '-f', '{connection_file}']),
        'two/kernels/bad name!/kernel.json': spec(['x']),
        'two/kernels/empty/README': 'no kernel.json here',
      };
      for (const [f, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(base, f)), { recursive: true });
        await writeFile(path.join(base, f), text);
      }
      const compare = `${probe}
from jupyter_client.kernelspec import KernelSpecManager
m = KernelSpecManager()
ours = {n: look(n) for n in ("torch", "r", "python3", "empty")}
theirs = sorted(m.find_kernel_specs())
def spec(n):
    try:
        s = m.get_kernel_spec(n)
        return {"argv": list(s.argv), "env": dict(s.env or {}), "dir": s.resource_dir}
    except Exception:
        return None
print(json.dumps({"ours": sorted(ours["r"]["specs"]), "theirs": theirs,
                  "specs": {n: [ours[n].get("spec"), spec(n)] for n in ours}}))
`;
      const home = path.join(base, 'home');
      await mkdir(home);
      const out = execFileSync(PY, ['-c', compare], {
        env: { PATH: process.env.PATH, HOME: home, JUPYTER_PATH: `${path.join(base, 'one')}:${path.join(base, 'two')}`, JUPYTER_DATA_DIR: path.join(home, 'data') },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const r = JSON.parse(out.trim().split('\n').pop()!);
      expect(r.ours).toEqual(r.theirs);
      expect(r.ours).toEqual(expect.arrayContaining(['torch', 'r', 'python3']));
      expect(r.ours).not.toContain('empty');
      for (const [name, [ours, theirs]] of Object.entries(r.specs as Record<string, [unknown, unknown]>)) expect(ours, name).toEqual(theirs);
      expect(r.specs.r[0].argv[0]).toBe('R');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
