// Root mode: the remote is a network + PID + mount + UTS namespace of its own. Its loopback
// (where kernels listen) cannot be reached from this machine except through sshd, its `ps`
// shows only its own processes, and our init reaps orphaned kernels.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LogTail, waitForLine, type Backend, type BackendKeys } from './backend';
import {
  claimUser,
  ensureUser,
  killUserProcesses,
  releaseUser,
  removeNamespace,
  removeNamespaceSync,
  sweepStale,
} from './host-state';
import { isAlive, run, runOk, SYSTEM_PATH, sleep, tryKill } from './proc';
import { SSHD, sshdConfig, writeSshdConfig } from './ssh-files';

const INIT = fileURLToPath(new URL('./remote-init.py', import.meta.url));
const env = { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' };

export async function startIsolated(k: BackendKeys): Promise<Backend> {
  await sweepStale();
  const ns = `ktr-${k.id}`;
  const user = await claimUser(ns, k.dir);
  const undo: (() => Promise<unknown>)[] = [async () => releaseUser(user), () => killUserProcesses(user)];
  try {
    const u = await ensureUser(user, k.loginShell);
    await killUserProcesses(user);
    await resetHome(u.home, u.uid, u.gid, k.authorizedKeys);
    undo.push(() => resetHome(u.home, u.uid, u.gid, null));
    const binds: [string, string][] = [];
    if (k.auth) {
      // The password through stdin (never an argv); back to "no password" when the remote stops.
      await runOk('chpasswd', [], { env, input: `${user}:${k.auth.password}\n` });
      undo.push(() => runOk('usermod', ['-p', '*', user], { env }));
      const pam = join(k.dir, 'pam-sshd');
      const otp = k.auth.kind === 'otp';
      await writeFile(
        pam,
        ['auth required pam_unix.so', ...(otp ? ['auth required pam_google_authenticator.so'] : []), 'account required pam_permit.so', 'session required pam_permit.so', ''].join('\n'),
        { mode: 0o644 },
      );
      // Only this remote's sshd reads it: bind-mounted in its own mount namespace by remote-init.py.
      binds.push([pam, '/etc/pam.d/sshd']);
      if (otp) {
        const ga = join(u.home, '.google_authenticator');
        await writeFile(ga, `${k.auth.totpSecret}\n" TOTP_AUTH\n" WINDOW_SIZE 3\n`, { mode: 0o400 });
        await chown(ga, u.uid, u.gid);
      }
    }

    // sshd's privilege separation directory; Debian creates it only from its service unit.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const config = join(k.dir, 'sshd_config');
    await writeSshdConfig(
      config,
      sshdConfig({
        listen: '127.0.0.1:22',
        hostKey: k.hostKey,
        pidFile: join(k.dir, 'sshd.pid'),
        user,
        authorizedKeysFile: '.ssh/authorized_keys',
        strictModes: true,
        extra: k.sshdExtra,
        ...(k.auth
          ? { pam: k.auth.kind === 'otp' ? { password: false, kbdInteractive: true, methods: 'keyboard-interactive' } : { password: true, kbdInteractive: false, methods: 'password' } }
          : {}),
      }),
    );

    await runOk('ip', ['netns', 'add', ns], { env });
    undo.push(() => removeNamespace(ns));
    await runOk('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'], { env });

    const socket = join(k.dir, 'sshd.sock');
    const logs = new LogTail();
    const initCfg = {
      hostname: k.hostname,
      sshd: [SSHD, '-D', '-e', '-f', config],
      bridge: ['/usr/bin/socat', `UNIX-LISTEN:${socket},fork,mode=600,unlink-early`, 'TCP:127.0.0.1:22'],
      reap: k.reapOrphans === false ? 'own' : 'all',
      mounts: binds,
    };
    // --kill-child: if unshare dies, our init gets SIGKILL and the kernel empties the namespace.
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, 'unshare', '--pid', '--fork', '--mount-proc', '--uts', '--kill-child', '--',
        '/usr/bin/python3', '-u', INIT, JSON.stringify(initCfg)],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    undo.push(() => stopInit(child, ns));
    const lines = new Set<(line: string) => void>();
    createInterface({ input: child.stdout! }).on('line', (line) => lines.forEach((cb) => cb(line)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => logs.add(d));
    child.stdin!.on('error', () => {});
    const subscribe = (cb: (line: string) => void) => {
      lines.add(cb);
      return () => lines.delete(cb);
    };
    const describe = () => `fake remote sshd in namespace ${ns} did not start. Its log:\n${logs}`;
    await waitForLine(subscribe, 'sshd-ready', 30_000, describe);
    const initPid = await initPidOf(child.pid!);

    return {
      user,
      home: u.home,
      isolated: true,
      namespace: ns,
      uid: u.uid,
      spawnAs: (other, argv) => {
        const { uid, gid } = userIds(other);
        return spawn(
          'nsenter',
          ['--target', String(initPid), '--net', '--pid', '--mount', '--uts', '--wd=/', '--',
            'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--reset-env', '--', ...argv],
          { env, stdio: ['pipe', 'pipe', 'pipe'] },
        );
      },
      connectUpstream: () => net.createConnection(socket),
      logs: () => logs.toString(),
      exec: (cmd, timeoutMs) =>
        run(
          'nsenter',
          ['--target', String(initPid), '--net', '--pid', '--mount', '--uts', `--wd=${u.home}`, '--',
            'setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--reset-env', '--',
            '/bin/sh', '-c', cmd],
          { env, timeoutMs },
        ),
      async restartSshd() {
        const ready = waitForLine(subscribe, 'sshd-ready', 30_000, describe);
        child.stdin!.write('restart-sshd\n');
        await ready;
      },
      stop: () => runUndo(undo),
      stopSync() {
        if (child.pid) tryKill(child.pid);
        removeNamespaceSync(ns);
        try {
          execFileSync('pkill', ['-KILL', '-u', user], { env, stdio: 'ignore' });
        } catch {
          // best effort at exit
        }
        releaseUser(user);
      },
    };
  } catch (err) {
    await runUndo(undo);
    throw err;
  }
}

async function runUndo(undo: (() => Promise<unknown>)[]): Promise<void> {
  const errors: unknown[] = [];
  while (undo.length) {
    try {
      await undo.pop()!();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}

/** uid and gid of a user of this machine (the remote shares its /etc/passwd). */
export function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { env, encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** unshare --fork leaves our init as its only child; we need its pid to nsenter. */
async function initPidOf(unsharePid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const r = await run('pgrep', ['-P', String(unsharePid)], { env });
    const pid = Number(r.stdout.trim().split('\n')[0]);
    if (pid > 0) return pid;
    await sleep(20);
  }
  throw new Error(`cannot find the init process under unshare (pid ${unsharePid})`);
}

async function stopInit(child: ChildProcess, ns: string): Promise<void> {
  // EOF on its stdin makes init exit; as PID 1 that takes every remote process with it.
  child.stdin!.end();
  for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
  if (child.pid && isAlive(child.pid)) tryKill(child.pid);
  await removeNamespace(ns);
}

/** Empties the test user's home (nothing survives between runs) and installs authorized_keys. */
async function resetHome(home: string, uid: number, gid: number, authorizedKeys: string | null): Promise<void> {
  for (const entry of await readdir(home)) await rm(join(home, entry), { recursive: true, force: true });
  if (authorizedKeys === null) return;
  const sshDir = join(home, '.ssh');
  await mkdir(sshDir, { mode: 0o700 });
  await writeFile(join(sshDir, 'authorized_keys'), authorizedKeys, { mode: 0o600 });
  await chown(sshDir, uid, gid);
  await chown(join(sshDir, 'authorized_keys'), uid, gid);
  await chmod(home, 0o755);
  await chown(home, uid, gid);
}
