// What another user, a changed host key or a broken config must not be able to do to Kernel
// Tray over real SSH: a real sshd, real kernels, the real CLI and agent (issue 14, SSH side).
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './harness/proc';
import { argvsHolding, OTHER_USER, watchLocalArgv, watchRemoteArgv } from './harness/argv-watch';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { cliWorld, type CliResult, type CliWorld } from './ktray-cli';

let remote: RemoteHost;
let world: CliWorld;

beforeAll(async () => {
  remote = await startRemoteHost();
  world = await cliWorld(remote.sshConfigFile);
});

afterAll(async () => {
  await world?.dispose();
  await remote?.stop();
});

async function ok(args: string[]): Promise<string> {
  const r = await world.run(args);
  if (r.code !== 0) throw new Error(`ktray ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

describe('kernel keys never reach an argv', () => {
  it(`stay out of every process list, as ${OTHER_USER} sees it on the remote and here, while kernels restart side by side`, async (ctx) => {
    const remoteWatch = watchRemoteArgv(remote);
    const localWatch = watchLocalArgv();
    if (!remoteWatch || !localWatch) {
      const why = 'needs root: the remote must run as a user of its own and the test must become a second user (nobody)';
      console.warn(`skipped: ${why}`);
      ctx.skip();
      return;
    }
    let watching = true;
    try {
      const ids = await Promise.all([1, 2, 3].map(async () => (await ok(['start', remote.alias, '--python', remote.python])).trim()));
      const listed = await world.json<{ id: string; connectionFile: string }[]>(['ls', remote.alias]);
      const keys = await Promise.all(
        ids.map(async (id) => {
          const file = listed.find((k) => k.id === id)!.connectionFile;
          const r = await remote.exec(`cat '${file}'`);
          return (JSON.parse(r.stdout) as { key: string }).key;
        }),
      );
      expect(keys.every((k) => k.length >= 16)).toBe(true);
      // Restarts carry the connection file, key and all, to the host. Side by side, with
      // listings in between, they keep one shell busy while the others need one too.
      for (let round = 0; round < 2; round++) {
        const results = await Promise.all([
          ...ids.map((id) => world.run(['restart', id])),
          ...[1, 2, 3].map(() => world.run(['ls', remote.alias])),
        ]);
        for (const r of results) expect(r.code, r.stderr).toBe(0);
      }
      watching = false;
      const [there, here] = await Promise.all([remoteWatch.stop(), localWatch.stop()]);
      // The samplers looked, and saw the test user's processes: kernels and their shells.
      expect(there.scans).toBeGreaterThan(10);
      expect(there.cmdlines.some((c) => c.includes('ipykernel_launcher'))).toBe(true);
      expect(here.scans).toBeGreaterThan(10);
      const short = (lines: string[]) => lines.map((c) => (c.length > 120 ? `${c.slice(0, 120)}… (${c.length} chars)` : c));
      for (const key of keys) {
        expect(short(argvsHolding(there.cmdlines, key)), 'argvs on the remote holding a kernel key').toEqual([]);
        expect(short(argvsHolding(here.cmdlines, key)), 'argvs on this machine holding a kernel key').toEqual([]);
      }
      // Several commands were on the host at once: a shell was busy, and another one served.
      expect(there.maxSh).toBeGreaterThan(1);
      await Promise.all(ids.map((id) => ok(['stop', id])));
    } finally {
      if (watching) await Promise.all([remoteWatch.stop(), localWatch.stop()]).catch(() => {});
    }
  });
});

/** OpenSSH's own complaint about a config file, `FILE line N: ...` (ssh ends its lines with \r\n). */
async function sshSays(file: string, alias: string): Promise<string> {
  const r = await run('ssh', ['-G', '-F', file, alias]);
  expect(r.code, 'ssh -G accepted the file').not.toBe(0);
  return r.stderr.split(/\r?\n/)[0];
}

function failedWith(r: CliResult, words: string): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toContain(words);
}

describe('a malformed ssh config', () => {
  it('is named by file and line in ssh\'s words, never wedges the agent, and is forgotten once fixed', async () => {
    const file = path.join(remote.dir, 'ssh_config.broken');
    const good = await readFile(remote.sshConfigFile, 'utf8');
    await writeFile(file, good, { mode: 0o600 });
    const w = await cliWorld(file);
    try {
      expect((await w.run(['hosts'])).code).toBe(0);
      const pid = (await w.json<{ pid: number }>(['agent', 'status'])).pid;

      // The case: an unbalanced quote appended to the file.
      await appendFile(file, '  HostName "oops\n');
      const line = good.split('\n').length;
      const words = await sshSays(file, remote.alias);
      expect(words).toBe(`${file} line ${line}: invalid quotes`);
      failedWith(await w.run(['hosts']), words);
      failedWith(await w.run(['ls', remote.alias]), words);

      // status and stop always answer; status says what is wrong.
      const status = await w.run(['agent', 'status']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(words);
      expect((await w.json<{ pid: number; sshConfigError: { code: string } }>(['agent', 'status'])).sshConfigError).toMatchObject({ code: 'SSH_CONFIG_INVALID' });
      // A command naming another config hears about that, not about this file's error.
      const other = await w.run(['hosts'], { sshConfig: remote.sshConfigFile });
      failedWith(other, `The running agent reads ${file}, not ${remote.sshConfigFile}`);
      expect(other.stderr).not.toContain('invalid quotes');

      // Fixed: the next command works, same agent, nothing cached.
      await writeFile(file, good, { mode: 0o600 });
      expect((await w.run(['hosts'])).code).toBe(0);
      expect((await w.json<{ id: string }[]>(['ls', remote.alias]))).toEqual([]);
      expect((await w.json<{ pid: number }>(['agent', 'status'])).pid).toBe(pid);

      // Values ssh rejects are rejected the same way, in its words.
      for (const bad of ['  Port abc\n', '  StrictHostKeyChecking maybe\n', 'Host\n']) {
        await writeFile(file, good + bad, { mode: 0o600 });
        failedWith(await w.run(['hosts']), await sshSays(file, remote.alias));
      }

      // And stop works with the file still broken: the agent is gone.
      const stop = await w.run(['agent', 'stop']);
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toContain(`Agent ${pid} stopped`);
      expect((await w.json<{ running: boolean }>(['agent', 'status'])).running).toBe(false);
    } finally {
      await writeFile(file, good, { mode: 0o600 });
      await w.dispose();
    }
  });
});
