// Root mode bookkeeping: which dedicated unix user each live fake remote uses, and clean-up of
// whatever a crashed run left behind (namespaces, processes, temp dirs).
//
// One lock file per user in STATE_DIR, written BEFORE the namespace exists, names the owner
// process (pid + start time), the namespace and the temp dir. So a `ktr-*` namespace is either
// claimed by a live owner, or it is debris and safe to remove.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { processStartTime, run, runOk, SYSTEM_PATH, sleep, tryKill } from './proc';

const STATE_DIR = '/run/ktr-harness';
const USER_POOL = ['ktremote', 'ktremote2', 'ktremote3', 'ktremote4', 'ktremote5', 'ktremote6'];
export const NS_PATTERN = /^ktr-[0-9a-f]{8}$/;
const env = { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}` };

export interface Claim {
  user: string;
  ns: string;
  dir: string;
  ownerPid: number;
  ownerStart: string | null;
}

const lockPath = (user: string) => `${STATE_DIR}/${user}.json`;

function readClaim(path: string): Claim | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Claim;
  } catch {
    return null;
  }
}

function ownerAlive(c: Claim): boolean {
  const start = processStartTime(c.ownerPid);
  return start !== null && start === c.ownerStart;
}

/** Takes the first free user of the pool for this process; returns its name. */
export async function claimUser(ns: string, dir: string): Promise<string> {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const claim = (user: string): Claim => ({
    user,
    ns,
    dir,
    ownerPid: process.pid,
    ownerStart: processStartTime(process.pid),
  });
  for (const user of USER_POOL) {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(lockPath(user), JSON.stringify(claim(user)), { flag: 'wx', mode: 0o600 });
        return user;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = readClaim(lockPath(user));
      if (held && ownerAlive(held)) break;
      if (held) await destroyRemains(held);
      rmSync(lockPath(user), { force: true });
    }
  }
  throw new Error(`all ${USER_POOL.length} test users (${USER_POOL.join(', ')}) are in use by live harnesses`);
}

export function releaseUser(user: string): void {
  const held = readClaim(lockPath(user));
  if (held && held.ownerPid === process.pid) unlinkSync(lockPath(user));
}

/** Removes namespaces, processes, temp dirs and locks whose owner process is gone. */
export async function sweepStale(): Promise<void> {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const live = new Set<string>();
  for (const file of readdirSync(STATE_DIR)) {
    const held = readClaim(`${STATE_DIR}/${file}`);
    if (held && ownerAlive(held)) {
      live.add(held.ns);
      continue;
    }
    if (held) await destroyRemains(held);
    rmSync(`${STATE_DIR}/${file}`, { force: true });
  }
  const list = await run('ip', ['netns', 'list'], { env });
  for (const line of list.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    if (NS_PATTERN.test(ns) && !live.has(ns)) await removeNamespace(ns);
  }
}

async function destroyRemains(c: Claim): Promise<void> {
  await removeNamespace(c.ns);
  await killUserProcesses(c.user);
  if (/\/kt-remote-[0-9a-f]{8}-[^/]+$/.test(c.dir)) rmSync(c.dir, { recursive: true, force: true });
}

function namespacePids(ns: string): number[] | null {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return null; // no such namespace
  }
}

/** SIGKILLs everything in the namespace, waits until it is empty, then deletes it. */
export async function removeNamespace(ns: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const pids = namespacePids(ns);
    if (pids === null) return;
    if (pids.length === 0) break;
    for (const pid of pids) tryKill(pid);
    await sleep(50);
  }
  await run('ip', ['netns', 'delete', ns], { env });
}

/** Synchronous last resort for process exit: kill the namespace's processes and delete it. */
export function removeNamespaceSync(ns: string): void {
  for (const pid of namespacePids(ns) ?? []) tryKill(pid);
  try {
    execFileSync('ip', ['netns', 'delete', ns], { env, stdio: 'ignore' });
  } catch {
    // already gone
  }
}

export async function killUserProcesses(user: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await run('pgrep', ['-u', user], { env });
    if (r.code !== 0) return; // none left
    await run('pkill', ['-KILL', '-u', user], { env });
    await sleep(50);
  }
  throw new Error(`processes of test user ${user} survive SIGKILL`);
}

export interface UnixUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Creates the dedicated test user once; later runs reuse it, with the login shell asked for. */
export async function ensureUser(name: string, loginShell = '/bin/sh'): Promise<UnixUser> {
  let entry = await run('getent', ['passwd', name], { env });
  if (entry.code !== 0) {
    await retryLocked(['useradd', '-m', '-d', `/home/${name}`, '-s', '/bin/sh', '-c', 'Kernel Tray e2e remote user', name]);
    entry = await runOk('getent', ['passwd', name], { env });
  }
  // A locked password ('!') makes sshd without PAM refuse even key logins; '*' is "no password".
  const shadow = await runOk('getent', ['shadow', name], { env });
  if (shadow.stdout.split(':')[1]?.startsWith('!')) await retryLocked(['usermod', '-p', '*', name]);
  const [, , uid, gid, , home, shell] = entry.stdout.trim().split(':');
  if (shell !== loginShell) await retryLocked(['usermod', '-s', loginShell, name]);
  if (!home?.startsWith('/home/')) throw new Error(`test user ${name} has home ${home}, expected /home/${name}`);
  return { name, uid: Number(uid), gid: Number(gid), home };
}

/** useradd/usermod fail instead of waiting when another harness holds /etc/passwd's lock. */
async function retryLocked([cmd, ...args]: string[]): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await run(cmd!, args, { env });
    if (r.code === 0) return;
    if (i >= 50 || !/lock/i.test(r.stderr)) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim()}`);
    await sleep(100);
  }
}
