// Fallback without root (or with KT_REMOTE_HOST_MODE=loopback): sshd on a 127.0.0.1 port as
// the current user. Not isolated: kernel ports are reachable directly on this machine. Every
// session gets a private HOME and a marker variable, so stop() can find and kill exactly the
// processes this remote started (and never the test runner's own).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LogTail, type Backend, type BackendKeys } from './backend';
import { freePort } from './net';
import { descendantsOf, isAlive, processesWithEnv, run, sleep, tryKill } from './proc';
import { SSHD, sshdConfig, writeSshdConfig } from './ssh-files';

const MARKER = 'KT_REMOTE_HOST';

export async function startLoopback(k: BackendKeys): Promise<Backend> {
  const user = userInfo().username;
  const home = join(k.dir, 'home');
  await mkdir(home, { mode: 0o755 });
  const authorizedKeys = join(k.dir, 'authorized_keys');
  await writeFile(authorizedKeys, k.authorizedKeys, { mode: 0o600 });
  const config = join(k.dir, 'sshd_config');
  const logs = new LogTail();
  let port = 0;
  let sshd: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (!port || attempt > 0) port = await freePort();
      await writeSshdConfig(
        config,
        sshdConfig({
          listen: `127.0.0.1:${port}`,
          hostKey: k.hostKey,
          pidFile: join(k.dir, 'sshd.pid'),
          user,
          authorizedKeysFile: authorizedKeys,
          strictModes: false, // temp dirs and the runner's home are not sshd-strict
          setEnv: { HOME: home, [MARKER]: k.id },
          extra: k.sshdExtra,
        }),
      );
      sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      const outcome = await new Promise<'ready' | 'exited'>((resolve) => {
        createInterface({ input: sshd!.stderr! }).on('line', (line) => {
          logs.add(line + '\n');
          if (line.includes('Server listening on')) resolve('ready');
        });
        sshd!.on('exit', () => resolve('exited'));
      });
      if (outcome === 'ready') return;
      // Someone took the port between freePort() and sshd's bind: try another one.
      if (attempt >= 3 || !/Address already in use/.test(logs.toString())) {
        throw new Error(`fake remote sshd on 127.0.0.1:${port} did not start. Its log:\n${logs}`);
      }
    }
  };

  const killAll = () => {
    const pids = new Set([...(sshd?.pid ? descendantsOf(sshd.pid) : []), ...processesWithEnv(MARKER, k.id)]);
    for (const pid of pids) tryKill(pid);
    return pids.size;
  };

  await start();
  return {
    user,
    home,
    isolated: false,
    namespace: null,
    uid: null,
    // Without root there is no second user to be.
    spawnAs: null,
    connectUpstream: () => net.createConnection({ host: '127.0.0.1', port }),
    logs: () => logs.toString(),
    exec: (cmd, timeoutMs) =>
      run('/bin/sh', ['-c', cmd], {
        cwd: home,
        timeoutMs,
        env: { HOME: home, USER: user, LOGNAME: user, SHELL: '/bin/sh', PATH: '/usr/local/bin:/usr/bin:/bin', [MARKER]: k.id },
      }),
    async restartSshd() {
      // Like `systemctl restart ssh`: the listener restarts, established sessions live on.
      const old = sshd!;
      old.kill('SIGTERM');
      for (let i = 0; i < 200 && isAlive(old.pid!); i++) await sleep(25);
      await start();
    },
    async stop() {
      for (let i = 0; i < 200 && killAll() > 0; i++) await sleep(50);
    },
    stopSync() {
      killAll();
    },
  };
}
