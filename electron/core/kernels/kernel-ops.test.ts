// Kernel lifecycle against this computer (LocalHost) and real ipykernel
// processes started detached by the launch script, as on a remote host.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serializeConnectionFile } from '../jupyter/connection-file';
import { KtrayError } from '../../shared/errors';
import { KernelClient } from '../jupyter/kernel-client';
import type { JupyterMessage } from '../jupyter/message';
import {
  hostOffer,
  interruptKernel,
  launchFromCommand,
  listKernels,
  restartKernel,
  startKernel,
  stopKernel,
  type Started,
} from './kernel-ops';
import { LocalHost } from '../hosts/local-host';
import type { ConnectionInfo } from '../../shared/types';
import { freePorts } from '../../../e2e/harness/net';
import { pythonWithoutIpykernel } from '../../../e2e/harness/python';

const PY = '/usr/bin/python3';
const host = new LocalHost();
let root: string;
let runtime: string;
const pids = new Set<number>();
const clients: KernelClient[] = [];

/** Alive and not a zombie (pid 1 here does not reap orphans). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function start(spec: Parameters<typeof startKernel>[1] = {}): Promise<Started> {
  const s = await startKernel(host, { python: PY, ...spec });
  if (s.kernel.pid !== null) pids.add(s.kernel.pid);
  return s;
}

function client(info: Started['kernel']['info']): KernelClient {
  const c = new KernelClient(info, { host: 'local' });
  clients.push(c);
  return c;
}


/** Execute, again if ipykernel aborted the request (it aborts requests queued behind an error). */
async function run(c: KernelClient, code: string) {
  for (let i = 0; ; i++) {
    const r = await c.execute(code, { timeoutMs: 30_000 });
    if (r.status !== 'aborted' || i === 4) return r;
  }
}

async function failure(p: Promise<unknown>): Promise<KtrayError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KtrayError);
  return err as KtrayError;
}

beforeAll(async () => {
  root = realpathSync(await mkdtemp(path.join(tmpdir(), 'ktray-ops-')));
  runtime = path.join(root, 'runtime');
  await mkdir(runtime);
  const jpath = path.join(root, 'jpath');
  await mkdir(path.join(jpath, 'kernels', 'boom'), { recursive: true });
  await writeFile(
    path.join(jpath, 'kernels', 'boom', 'kernel.json'),
    JSON.stringify({ argv: ['sh', '-c', 'echo boom >&2; exit 3', '{connection_file}'], display_name: 'Boom', language: 'sh' }),
  );
  vi.stubEnv('JUPYTER_RUNTIME_DIR', runtime);
  vi.stubEnv('JUPYTER_PATH', jpath);
  vi.stubEnv('JUPYTER_DATA_DIR', path.join(root, 'data'));
  vi.stubEnv('XDG_CACHE_HOME', path.join(root, 'cache'));
  vi.stubEnv('IPYTHONDIR', path.join(root, 'ipython'));
  vi.stubEnv('JPY_PARENT_PID', undefined);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

describe('startKernel and listKernels', () => {
  it('starts a kernel that lists as alive, beside a stale file and a broken one', async () => {
    const s = await start({ id: 'listed' });
    expect(s.kernel).toMatchObject({ name: 'listed', connectionFile: path.join(runtime, 'kernel-listed.json'), alive: true });
    expect(s.runtimeDir).toBe(runtime);
    expect(s.python).toBe(PY);
    expect(running(s.kernel.pid!)).toBe(true);

    const stale = path.join(runtime, 'kernel-stale.json');
    await copyFile(s.kernel.connectionFile, stale);
    await writeFile(path.join(runtime, 'kernel-broken.json'), '{"ip": "127.0.0.1"}');

    const listing = await listKernels(host, [runtime]);
    expect(listing.home).toBe(process.env.HOME);
    const ours = listing.kernels.filter((k) => k.connectionFile.startsWith(runtime + '/'));
    const byName = Object.fromEntries(ours.map((k) => [k.name, k]));
    expect(Object.keys(byName).sort()).toEqual(['listed', 'stale']);
    expect(byName.listed).toMatchObject({ pid: s.kernel.pid, alive: true, info: s.kernel.info });
    expect(byName.listed.command).toContain('ipykernel_launcher');
    expect(byName.listed.startedAt).toBeLessThanOrEqual(Date.now() + 1000);
    expect(byName.stale).toMatchObject({ pid: null, alive: false, command: null });
    expect(byName.stale.startedAt).toBeGreaterThan(0);
    expect(listing.warnings.some((w) => w.includes('kernel-broken.json') && /missing key/.test(w))).toBe(true);
    await rm(stale);
  });

  it('names what is wrong when python is missing', async () => {
    const err = await failure(startKernel(host, { python: '/opt/nowhere/bin/python' }));
    expect(err).toMatchObject({ code: 'IPYKERNEL_MISSING', host: 'local' });
    expect(err.message).toContain('/opt/nowhere/bin/python');
    expect(err.hint).toMatch(/--python/);
  });

  it('names what is wrong when ipykernel is missing', async () => {
    const noIpykernel = pythonWithoutIpykernel();
    expect(() => execFileSync(noIpykernel, ['-c', 'import ipykernel'], { stdio: 'ignore' })).toThrow();
    const err = await failure(startKernel(host, { python: noIpykernel }));
    expect(err).toMatchObject({ code: 'IPYKERNEL_MISSING', host: 'local' });
    expect(err.hint).toContain('-m pip install ipykernel');
  });

  it('lists the kernelspecs there are when the one asked for is not', async () => {
    const err = await failure(startKernel(host, { python: PY, kernel: 'julia-1.9' }));
    expect(err).toMatchObject({ code: 'BAD_INPUT' });
    expect(err.message).toContain('julia-1.9');
    expect(err.hint).toMatch(/Available there: .*boom/);
    expect(err.hint).toContain('python3');
  });

  it('says the working directory is missing', async () => {
    const err = await failure(startKernel(host, { python: PY, cwd: '/nonexistent/ktray' }));
    expect(err).toMatchObject({ code: 'BAD_INPUT' });
    expect(err.message).toContain('/nonexistent/ktray');
  });

  it('shows the exit code and the log of a kernel that died starting', async () => {
    const err = await failure(startKernel(host, { python: PY, kernel: 'boom' }));
    expect(err).toMatchObject({ code: 'KERNEL_START_FAILED' });
    expect(err.message).toContain('exit code 3');
    expect(err.hint).toContain('boom');
    expect(err.detail).toMatchObject({ log: expect.stringContaining('boom') });
  });
});

describe('a running kernel', () => {
  let k: Started;

  beforeAll(async () => {
    k = await start({ id: 'life' });
  }, 60_000);

  it('is interrupted out of a long sleep', async () => {
    const c = client(k.kernel.info);
    const started = new Promise<void>((resolve) => {
      const off = c.onIopub((m: JupyterMessage) => {
        if (m.header.msg_type === 'stream' && String(m.content.text).includes('sleeping')) {
          off();
          resolve();
        }
      });
    });
    const reply = c.execute("import time; print('sleeping', flush=True); time.sleep(30)", { timeoutMs: 60_000 });
    await started;
    await interruptKernel(host, { info: k.kernel.info, pid: k.kernel.pid, processStart: k.kernel.processStart, connectionFile: k.kernel.connectionFile, local: null });
    const r = await reply;
    expect(r.status).toBe('error');
    expect(r.ename).toBe('KeyboardInterrupt');
    // Still usable afterwards.
    expect((await run(c, '6*7')).result).toBe('42');
  });

  it('restarts on the same ports and key, and a client carries on', async () => {
    const before = k.kernel;
    const c = client(before.info);
    expect((await run(c, 'x = 1; x')).result).toBe('1');
    const after = await restartKernel(
      host,
      { info: before.info, pid: before.pid, processStart: before.processStart, connectionFile: before.connectionFile, local: null },
      { python: PY },
    );
    if (after.kernel.pid !== null) pids.add(after.kernel.pid);
    expect(after.kernel.pid).not.toBe(before.pid);
    expect(running(before.pid!)).toBe(false);
    expect(after.kernel.connectionFile).toBe(before.connectionFile);
    expect(after.kernel.info).toEqual(before.info);
    // A fresh process: the old variable is gone, the same ports answer.
    const fresh = client(after.kernel.info);
    expect((await run(fresh, '6*7')).result).toBe('42');
    expect((await run(fresh, "'x' in dir()")).result).toBe('False');
    // The client from before the restart reconnects by itself to the same ports.
    expect((await run(c, '7*6')).result).toBe('42');
    k = after;
  });

  it('stops, removing the connection file when asked', async () => {
    // Restarted on a file the launcher wrote, the kernel does not own that file
    // (ipykernel deletes only files it created): only stopKernel can remove it.
    const file = k.kernel.connectionFile;
    await stopKernel(host, { info: k.kernel.info, pid: k.kernel.pid, processStart: k.kernel.processStart, connectionFile: file, local: null }, { removeFile: true });
    expect(running(k.kernel.pid!)).toBe(false);
    expect(existsSync(file)).toBe(false);
  });
});

it('stopKernel keeps the connection file unless asked', async () => {
  // A kernel on a file written beforehand (as a restart does), so ipykernel leaves it alone.
  const ports = await freePorts(5);
  const info: ConnectionInfo = {
    ip: '127.0.0.1',
    transport: 'tcp',
    shell_port: ports[0],
    iopub_port: ports[1],
    stdin_port: ports[2],
    control_port: ports[3],
    hb_port: ports[4],
    key: 'k-' + Math.random().toString(36).slice(2),
    signature_scheme: 'hmac-sha256',
  };
  const file = path.join(runtime, 'kernel-keepfile.json');
  const s = await start({ id: 'keepfile', reuseFile: file, reuseInfo: serializeConnectionFile(info) });
  expect(s.kernel.info).toMatchObject(info);
  expect((await run(client(s.kernel.info), '1+1')).result).toBe('2');
  await stopKernel(host, { info: s.kernel.info, pid: s.kernel.pid, processStart: s.kernel.processStart, connectionFile: file, local: null }, { removeFile: false });
  expect(running(s.kernel.pid!)).toBe(false);
  expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ key: info.key, hb_port: info.hb_port });
});

describe('launchFromCommand', () => {
  it.each([
    ['/usr/bin/python3 -m ipykernel_launcher -f /run/user/1000/jupyter/kernel-abc.json', { python: '/usr/bin/python3' }],
    ['python3.11 -m ipykernel_launcher -f kernel-1.json', { python: 'python3.11' }],
    ['/opt/conda/envs/ml/bin/python -m ipykernel -f /x/kernel-2.json', { python: '/opt/conda/envs/ml/bin/python' }],
    ['/opt/conda/bin/python /opt/conda/bin/ipython kernel -f /x/kernel-3.json', { python: '/opt/conda/bin/python' }],
    ['/usr/lib/R/bin/exec/R --no-echo -e IRkernel::main() --args /x/kernel-4.json', null],
    ['/usr/bin/python3 /usr/bin/jupyter-console --existing /x/kernel-5.json', null],
    ['/usr/bin/python3 -m http.server', null],
    ['', null],
    [null, null],
  ])('%s -> %j', (command, launch) => {
    expect(launchFromCommand(command)).toEqual(launch);
  });
});

describe('hostOffer', () => {
  it('lists /usr/bin/python3 with ipykernel, the python3 kernelspec, and one without', async () => {
    const offer = await hostOffer(host);
    expect(offer.host).toBe('local');
    expect(offer.home).toBe(process.env.HOME);
    expect(offer.pythons).toContainEqual({ path: PY, label: 'system: /usr/bin/python3', hasIpykernel: true });
    const pyenv = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
    if (pyenv !== PY) expect(offer.pythons.find((p) => p.path === pyenv)).toMatchObject({ hasIpykernel: false });
    expect(new Set(offer.pythons.map((p) => p.path)).size).toBe(offer.pythons.length);
    expect(offer.kernelspecs).toContainEqual({ name: 'python3', displayName: expect.stringMatching(/Python 3/), language: 'python' });
    expect(offer.kernelspecs).toContainEqual({ name: 'boom', displayName: 'Boom', language: 'sh' });
    // What `ktray start` with nothing asked for would start, and the window preselects.
    expect(offer.preferred).toEqual({ kernel: 'python3' });
  });
});
