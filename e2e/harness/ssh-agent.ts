// A real OpenSSH ssh-agent for a test, with keys added by the real ssh-add.
import { spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, runOk, sleep } from './proc';

export interface SshAgent {
  sock: string;
  /** ssh-add FILE; an encrypted key's passphrase goes through SSH_ASKPASS and the environment, never an argv. */
  add(file: string, passphrase?: string): Promise<void>;
  /** ssh-add -L: the public keys it holds. */
  list(): Promise<string[]>;
  stop(): void;
}

/** Starts `ssh-agent -D` on a socket in `dir` (a private test directory) and waits until it answers. */
export async function startSshAgent(dir: string, name = 'agent'): Promise<SshAgent> {
  const sock = path.join(dir, `${name}.sock`);
  const proc = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  const env = { ...process.env, SSH_AUTH_SOCK: sock };
  for (let i = 0; ; i++) {
    // ssh-add -l: 1 when the agent runs without identities, 2 when it cannot be reached.
    const r = await run('ssh-add', ['-l'], { env });
    if (r.code === 0 || r.code === 1) break;
    if (i > 100) throw new Error(`ssh-agent on ${sock} did not answer: ${r.stderr}`);
    await sleep(50);
  }
  const askpass = path.join(dir, `${name}-askpass`);
  await writeFile(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$KT_TEST_PASSPHRASE"\n', { mode: 0o700 });
  await chmod(askpass, 0o700);
  return {
    sock,
    async add(file, passphrase) {
      const askEnv = passphrase === undefined ? env : { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', KT_TEST_PASSPHRASE: passphrase };
      await runOk('ssh-add', [file], { env: askEnv, timeoutMs: 30_000 });
    },
    async list() {
      const r = await run('ssh-add', ['-L'], { env });
      return r.code === 0 ? r.stdout.trim().split('\n') : [];
    },
    stop: () => proc.kill(),
  };
}
