// Kernels on the remote host started and stopped directly (the harness's exec,
// no SSH, no product code): fixtures for discovery, warm attach and memory.
import { randomBytes } from 'node:crypto';
import type { RemoteHost } from '../e2e/harness/remote-host';
import { sleep } from './util';

export const runtimeDir = (remote: RemoteHost) => `${remote.home}/.local/share/jupyter/runtime`;

async function exec(remote: RemoteHost, cmd: string, timeoutMs = 180_000): Promise<string> {
  const r = await remote.exec(cmd, { timeoutMs });
  if (r.code !== 0) throw new Error(`on the remote host, \`${cmd.slice(0, 120)}\` exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Starts n detached ipykernels and waits until each has written its connection file. */
export async function startKernels(remote: RemoteHost, n: number, prefix = 'bench'): Promise<string[]> {
  const dir = runtimeDir(remote);
  const files = Array.from({ length: n }, (_, i) => `${dir}/kernel-${prefix}-${i}-${randomBytes(4).toString('hex')}.json`);
  // Few at a time: 2 cores, and each ipykernel spends ~1 s of CPU importing.
  const batch = 4;
  await exec(remote, `mkdir -p ${dir} && chmod 700 ${dir}`);
  for (let i = 0; i < files.length; i += batch) {
    const chunk = files.slice(i, i + batch);
    const launches = chunk
      .map((f) => `(cd ~ && setsid nohup ${remote.python} -m ipykernel_launcher -f ${f} >/dev/null 2>&1 </dev/null &)`)
      .join('\n');
    const waits = chunk.map((f) => `[ -s ${f} ]`).join(' && ');
    await exec(remote, `${launches}\ni=0; until ${waits}; do i=$((i+1)); [ $i -gt 1200 ] && exit 3; sleep 0.05; done`);
  }
  await waitListening(remote, files);
  return files;
}

/** A connection file is written before the kernel binds its sockets on some versions: wait for hb. */
async function waitListening(remote: RemoteHost, files: string[]): Promise<void> {
  // Inside single quotes on the remote shell: no single quote in this script.
  const check = `
import json, socket, sys, time
deadline = time.time() + 120
for f in sys.argv[1:]:
    info = json.load(open(f))
    while True:
        try:
            socket.create_connection(("127.0.0.1", info["hb_port"]), timeout=1).close(); break
        except OSError:
            if time.time() > deadline: sys.exit("kernel of %s never listened" % f)
            time.sleep(0.05)
`;
  await exec(remote, `${remote.python} -c '${check}' ${files.join(' ')}`);
}

/**
 * Every ipykernel serving a file of the remote's runtime dir, ended by pid; the files removed.
 * `ipykerne[l]` keeps the shell running this script from matching its own command line.
 */
export async function stopAllKernels(remote: RemoteHost): Promise<void> {
  const dir = runtimeDir(remote);
  // Only kernels whose file is in the remote's runtime dir: in loopback mode (not root) the
  // remote user is the real user, whose own kernels must not be touched.
  const list = `ps -u "$(id -u)" -o pid=,args= | while read pid args; do case "$args" in *ipykerne[l]_launcher*${dir}/*) echo "$pid";; esac; done`;
  await exec(remote, `for p in $(${list}); do kill "$p" 2>/dev/null; done; true`);
  for (let i = 0; i < 100; i++) {
    if (!(await exec(remote, list)).trim()) break;
    await sleep(100);
  }
  await exec(remote, `for p in $(${list}); do kill -9 "$p" 2>/dev/null; done; rm -f ${dir}/kernel-*.json; true`);
}

/** The pid of the kernel serving this connection file, or null. */
export async function kernelPid(remote: RemoteHost, file: string): Promise<number | null> {
  const out = await exec(remote, `ps -u "$(id -u)" -o pid=,args= | while read pid args; do case "$args" in *ipykerne[l]_launcher*${file}*) echo "$pid";; esac; done`);
  const pid = Number(out.trim().split('\n')[0]);
  return pid > 0 ? pid : null;
}

/** Ends one kernel by pid and removes its file (between runs, untimed). */
export async function stopKernel(remote: RemoteHost, file: string): Promise<void> {
  const pid = await kernelPid(remote, file);
  if (pid) await exec(remote, `kill ${pid}; i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -9 ${pid} 2>/dev/null; true`);
  await exec(remote, `rm -f ${file}`);
}

export async function countKernels(remote: RemoteHost): Promise<number> {
  return Number((await exec(remote, `ls ${runtimeDir(remote)}/kernel-*.json 2>/dev/null | wc -l`)).trim());
}

/** How long an ipykernel takes to come up on the host itself, no SSH: the floor of every cold start. */
export async function kernelBootMs(remote: RemoteHost): Promise<number> {
  const f = `${runtimeDir(remote)}/kernel-boot-${randomBytes(4).toString('hex')}.json`;
  const out = await exec(
    remote,
    `mkdir -p ${runtimeDir(remote)}; s=$(date +%s%N); (cd ~ && setsid nohup ${remote.python} -m ipykernel_launcher -f ${f} >/dev/null 2>&1 </dev/null &); ` +
      `until [ -s ${f} ]; do sleep 0.01; done; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
  );
  await stopKernel(remote, f);
  return Number(out.trim());
}
