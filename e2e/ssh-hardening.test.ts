// What another user, a changed host key or a broken config must not be able to do to Kernel
// Tray over real SSH: a real sshd, real kernels, the real CLI and agent (issue 14, SSH side).
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, SYSTEM_PATH } from './harness/proc';
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

      // The issue's case: an unbalanced quote appended to the file.
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

/** The fingerprint as OpenSSH computes it, independent of the product's own code. */
async function fingerprintOf(publicKeyLine: string): Promise<string> {
  const file = path.join(remote.dir, 'fp.pub');
  await writeFile(file, `${publicKeyLine}\n`);
  const r = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
  expect(r.code).toBe(0);
  return r.stdout.split(/\s+/)[1]!;
}

/** `ktray ...` in a pseudo-terminal (util-linux script), typing `input`: the interactive path. */
async function inTerminal(w: CliWorld, args: string[], input: string): Promise<CliResult> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // As users run it, and as e2e/ktray-cli.ts does: bin/ktray.js.
  const cmd = [process.execPath, path.join(root, 'bin/ktray.js'), ...args, '--ssh-config', w.sshConfig]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const env = { PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`, HOME: process.env.HOME, KTRAY_HOME: w.home, JUPYTER_RUNTIME_DIR: w.runtimeDir, SSH_AUTH_SOCK: '', TERM: 'dumb' };
  const r = await run('script', ['-q', '-e', '-c', cmd, '/dev/null'], { env, cwd: root, input, timeoutMs: 120_000 });
  // The terminal merges the streams; the test reads both as stderr.
  return { code: r.code, stdout: '', stderr: r.stdout + r.stderr };
}

describe('trusting over a changed host key', () => {
  it('refuses loudly, names the old lines, and replaces them only when told to, as ssh-keygen -R + accept would', async () => {
    const kh = path.join(remote.dir, 'known_hosts.changed');
    const stale = `[127.0.0.1]:${remote.port} ${remote.otherHostKeyLine}`;
    const original = [
      '# my hosts',
      stale,
      `unrelated.example ${remote.otherHostKeyLine}`,
      `[127.0.0.1]:${remote.port},old-name ${remote.otherHostKeyLine}`,
      `@revoked other.example ${remote.otherHostKeyLine}`,
      '',
    ].join('\n');
    await writeFile(kh, original, { mode: 0o600 });
    const cfgFile = path.join(remote.dir, 'ssh_config.changed');
    await writeFile(cfgFile, (await readFile(remote.sshConfigFile, 'utf8')).replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${kh}`), { mode: 0o600 });
    const w = await cliWorld(cfgFile);
    const alias = remote.alias;
    const fresh = await fingerprintOf(remote.hostKeyLine);
    const old = await fingerprintOf(remote.otherHostKeyLine);
    const unchanged = async () => expect(await readFile(kh, 'utf8')).toBe(original);
    try {
      failedWith(await w.run(['ls', alias]), `${kh}:2`);

      // --fingerprint alone: loud, both lines named, nothing written.
      const plain = await w.run(['trust', alias, '--fingerprint', fresh]);
      failedWith(plain, 'HAS CHANGED');
      for (const words of [`${kh}:2`, `${kh}:4`, old, fresh, '--replace', 'ssh-keygen -R']) expect(plain.stderr).toContain(words);
      expect(plain.stdout).not.toContain('Trusted');
      await unchanged();
      // --replace needs the fingerprint too without a terminal, and the right one.
      failedWith(await w.run(['trust', alias, '--replace']), `--replace --fingerprint ${fresh}`);
      await unchanged();
      failedWith(await w.run(['trust', alias, '--replace', '--fingerprint', old]), 'Nothing was trusted');
      await unchanged();

      // In a terminal: Enter, or "yes", is no confirmation of a changed key; only the word is.
      for (const answer of ['\n', 'yes\n', 'y\n']) {
        const r = await inTerminal(w, ['trust', alias], answer);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain('HAS CHANGED');
        expect(r.stderr).toContain('Type "replace"');
        expect(r.stderr).toContain('Nothing was trusted');
        await unchanged();
      }

      // What ssh-keygen -R would leave, plus the new key: the file Kernel Tray must produce.
      const reference = path.join(remote.dir, 'known_hosts.reference');
      await writeFile(reference, original, { mode: 0o600 });
      const keygen = await run('ssh-keygen', ['-R', `[127.0.0.1]:${remote.port}`, '-f', reference]);
      expect(keygen.code, keygen.stderr).toBe(0);
      const expected = `${await readFile(reference, 'utf8')}[127.0.0.1]:${remote.port} ${remote.hostKeyLine}\n`;

      const typed = await inTerminal(w, ['trust', alias], 'replace\n');
      expect(typed.code, typed.stderr).toBe(0);
      expect(typed.stderr).toContain(`Removed from ${kh}: line 2 ([127.0.0.1]:${remote.port}), line 4 ([127.0.0.1]:${remote.port},old-name)`);
      expect(await readFile(kh, 'utf8')).toBe(expected);
      expect(await readFile(`${kh}.old`, 'utf8')).toBe(original);
      expect((await w.run(['ls', alias])).code).toBe(0);

      // The flag way, from the same start: the same result.
      await writeFile(kh, original, { mode: 0o600 });
      await w.run(['agent', 'stop']);
      const flagged = await w.run(['trust', alias, '--replace', '--fingerprint', fresh]);
      expect(flagged.code, flagged.stderr).toBe(0);
      expect(flagged.stderr).toContain('HAS CHANGED');
      expect(flagged.stdout).toContain(`the file as it was is kept as ${kh}.old`);
      expect(flagged.stdout).toContain('A line that named other hosts too went whole');
      expect(await readFile(kh, 'utf8')).toBe(expected);
      expect((await stat(kh)).mode & 0o777).toBe(0o600);
      expect((await w.run(['ls', alias])).code).toBe(0);
      // Trusted now: nothing more to replace.
      expect((await w.run(['trust', alias])).stdout).toContain('already trusted');
    } finally {
      await w.dispose();
    }
  });
});
