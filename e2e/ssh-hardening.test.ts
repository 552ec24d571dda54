// What another user, a changed host key or a broken config must not be able to do to Kernel
// Tray over real SSH: a real sshd, real kernels, the real CLI and agent (issue 14, SSH side).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argvsHolding, OTHER_USER, watchLocalArgv, watchRemoteArgv } from './harness/argv-watch';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { cliWorld, type CliWorld } from './ktray-cli';

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
