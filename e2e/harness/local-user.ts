// A second, unprivileged user on THIS computer (not the remote), for tests of
// what other local users can reach: tunnels, sockets, files. Needs root (to
// create the user and to run commands as it); without root there is none and
// the caller says why it skips.
import { fileURLToPath } from 'node:url';
import { readableByAll } from './readable';
import { run, SYSTEM_PATH, type RunResult } from './proc';

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  /** Runs a command as this user, in `/`, with a minimal environment. */
  run(cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
}

const env = { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' };

/** The user `name` (default `ktlocal2`), created if missing; null when not root. */
export async function otherLocalUser(name = 'ktlocal2'): Promise<LocalUser | null> {
  if (process.getuid?.() !== 0) return null;
  if ((await run('id', ['-u', name], { env })).code !== 0) {
    const add = await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { env });
    // 9: it exists (another test run made it meanwhile).
    if (add.code !== 0 && add.code !== 9) throw new Error(`useradd ${name} failed (${add.code}): ${add.stderr}`);
  }
  const uid = Number((await run('id', ['-u', name], { env })).stdout.trim());
  const gid = Number((await run('id', ['-g', name], { env })).stdout.trim());
  if (!(uid > 0) || !(gid > 0)) throw new Error(`cannot find the uid/gid of ${name}`);
  return {
    name,
    uid,
    gid,
    run: (cmd, args, opts = {}) =>
      run('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--', cmd, ...args], {
        env: { ...env, HOME: '/nonexistent' },
        cwd: '/',
        timeoutMs: opts.timeoutMs ?? 60_000,
      }),
  };
}

export interface ProbeResult {
  /** Per target: 'connected' or the errno name (EACCES, ENOENT, ECONNREFUSED, ...). */
  connect: Record<string, string>;
  /** Messages a ZeroMQ SUB received on `sub`, and whether any contained the needle. */
  sub: { messages: number; sawNeedle: boolean } | null;
}

const PROBE = fileURLToPath(new URL('./other_user_probe.py', import.meta.url));

/**
 * As `user`, tries to connect to each target (`unix:/path` or `tcp:HOST:PORT`)
 * and, with `sub` (a ZeroMQ endpoint), listens on it for `seconds` for a
 * message containing `needle`: what an attacker who knows the addresses does.
 */
export async function probeAs(
  user: LocalUser,
  spec: { connect: string[]; sub?: string; needle?: string; seconds?: number },
): Promise<ProbeResult> {
  const r = await user.run('/usr/bin/python3', [readableByAll(PROBE), JSON.stringify(spec)], { timeoutMs: ((spec.seconds ?? 0) + 60) * 1000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ProbeResult;
  } catch {
    throw new Error(`the probe as ${user.name} gave no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
