// `ktray plots` end to end (issue 10): the real CLI and its own headless agent, a real sshd
// + ipykernel remote, and a real jupyter_client ON THE REMOTE BOX running the user's
// matplotlib line, as a console in tmux there would. The files `ktray plots ID --dir D`
// writes must hold exactly the bytes the kernel sent; --follow writes new ones as they come.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPlotClient, remotePlotClient, type ClientRun } from './harness/plot-client';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { cliWorld, type CliWorld } from './ktray-cli';

const SLOW = { timeout: 90_000, interval: 250 };
const NOTES_PLOT = 'import matplotlib.pyplot as plt\nplt.plot([1,2,3,4,4,5,6])\nplt.show()';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let remote: RemoteHost;
let world: CliWorld;
let id: string;
let connectionFile: string;

async function draw(code: string): Promise<ClientRun> {
  const got = await remotePlotClient(remote, connectionFile, code);
  expect(got.error, got.stdout).toBeNull();
  expect(got.status).toBe('ok');
  return got;
}

beforeAll(async () => {
  remote = await startRemoteHost();
  world = await cliWorld(remote.sshConfigFile);
  await installPlotClient(remote);
  const started = await world.run(['start', remote.alias, '--python', remote.python]);
  expect(started.code, started.stderr).toBe(0);
  id = started.stdout.trim();
  const pinned = await world.json<{ connectionFile: string }>(['pin', id]);
  connectionFile = pinned.connectionFile;
}, 300_000);

afterAll(async () => {
  if (id) await world?.run(['stop', id]).catch(() => {});
  await world?.dispose();
  await remote?.stop();
});

describe('ktray plots', () => {
  it('says there are none yet, and names an unknown kernel as such', async () => {
    const none = await world.run(['plots', id]);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/No plots of .* yet: Kernel Tray keeps them while it watches the kernel/);
    const unknown = await world.run(['plots', `${remote.alias}/no-such-kernel`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No kernel .*no-such-kernel.*ktray ls/s);
  });

  it("writes the notes' plot, drawn by a client on the remote box, as a file with the kernel's bytes", async () => {
    const drawn = await draw(NOTES_PLOT);
    expect(drawn.images).toHaveLength(1);
    await expect.poll(async () => (await world.json<{ plots: unknown[] }>(['plots', id])).plots.length, SLOW).toBe(1);
    const listed = await world.run(['plots', id]);
    expect(listed.stdout).toContain(`${id}#1  ${drawn.images[0]!.width}×${drawn.images[0]!.height} PNG`);
    expect(listed.stdout).toContain('plt.plot([1,2,3,4,4,5,6])');
    const dir = path.join(world.home, '..', 'plots-out');
    const r = await world.run(['plots', id, '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    const files = r.stdout.trim().split('\n');
    expect(files).toHaveLength(1);
    expect(path.dirname(files[0]!)).toBe(dir);
    expect(files[0]!).toMatch(/-1\.png$/);
    expect(sha256(await readFile(files[0]!))).toBe(drawn.images[0]!.sha256);
  });

  it('--follow writes each new plot as it comes, until stopped', async () => {
    const dir = path.join(world.home, '..', 'plots-follow');
    const child = world.spawn(['plots', id, '--dir', dir, '--follow']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    try {
      await expect.poll(() => stderr, SLOW).toContain('Waiting for new plots');
      expect(stdout.trim().split('\n')).toHaveLength(1); // the one there already
      const drawn = await draw('import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=50)\nplt.scatter([1, 2], [2, 1])\nplt.show()');
      await expect.poll(() => stdout.trim().split('\n').length, SLOW).toBe(2);
      const file = stdout.trim().split('\n')[1]!;
      expect(file).toMatch(/-2\.png$/);
      expect(sha256(await readFile(file))).toBe(drawn.images[0]!.sha256);
      expect((await readdir(dir)).sort()).toHaveLength(2);
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
  });
});
