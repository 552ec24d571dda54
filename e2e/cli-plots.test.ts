// `ktray plots` end to end (issue 10): the real CLI and its own headless agent, a real sshd
// + ipykernel remote, and a real jupyter_client ON THE REMOTE BOX running the user's
// matplotlib line, as a console in tmux there would. The files `ktray plots ID --dir D`
// writes must hold exactly the bytes the kernel sent; --follow writes new ones as they come;
// --inline, run in a real tmux with allow-passthrough on and a client attached (through
// `script`, a pty whose output is recorded), must send kitty's escapes with those bytes
// both into the pane and on to the terminal tmux draws on.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPlotClient, remotePlotClient, type ClientRun } from './harness/plot-client';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { run } from './harness/proc';
import { cliWorld, type CliWorld } from './ktray-cli';

const SLOW = { timeout: 90_000, interval: 250 };
const NOTES_PLOT = 'import matplotlib.pyplot as plt\nplt.plot([1,2,3,4,4,5,6])\nplt.show()';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let remote: RemoteHost;
let world: CliWorld;
let id: string;
let connectionFile: string;
/** sha256 of every image drawn so far, in order. */
const drawnShas: string[] = [];

async function draw(code: string): Promise<ClientRun> {
  const got = await remotePlotClient(remote, connectionFile, code);
  expect(got.error, got.stdout).toBeNull();
  expect(got.status).toBe('ok');
  drawnShas.push(...got.images.map((i) => i.sha256));
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

  describe('--inline in tmux', () => {
    const ROOT = fileURLToPath(new URL('..', import.meta.url));
    let base: string;
    let sock: string;
    let client: ChildProcess | undefined;
    const tmux = async (...args: string[]) => {
      const r = await run('tmux', ['-S', sock, '-f', '/dev/null', ...args], { timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
    /** Runs ktray ARGS in a new (current) window, its output piped to NAME.pane from the first byte; the visible text once it exited. */
    async function inTmux(name: string, env: Record<string, string>, args: string[]): Promise<{ code: number; screen: string; pane: Buffer }> {
      const script = [
        `while [ ! -e ${q(path.join(base, name + '.go'))} ]; do sleep 0.1; done`,
        ...Object.entries({ KTRAY_HOME: world.home, JUPYTER_RUNTIME_DIR: world.runtimeDir, SSH_AUTH_SOCK: '', ...env }).map(([k, v]) => `export ${k}=${q(v)}`),
        `cd ${q(ROOT)}`,
        "trap 'true' INT", // Ctrl-C stops ktray; this shell goes on to say how it ended
        `${q(process.execPath)} bin/ktray.js ${args.map(q).join(' ')} --ssh-config ${q(world.sshConfig)}`,
        'echo "ktray exited $?"',
        'sleep 600',
      ].join('\n');
      await writeFile(path.join(base, name + '.sh'), script);
      await tmux('new-window', '-t', 'kt', '-n', name, `sh ${q(path.join(base, name + '.sh'))}`);
      await tmux('pipe-pane', '-O', '-t', `kt:${name}`, `cat > ${q(path.join(base, name + '.pane'))}`);
      await writeFile(path.join(base, name + '.go'), '');
      let screen = '';
      await expect.poll(async () => (screen = await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', `kt:${name}`)), SLOW).toMatch(/ktray exited \d+/);
      const code = Number(/ktray exited (\d+)/.exec(screen)![1]);
      return { code, screen, pane: await readFile(path.join(base, name + '.pane')) };
    }
    /** The PNGs carried by kitty's escapes (a=T,f=100 then m=1… m=0) in STREAM, ESC doubled or not. */
    function kittyImages(stream: string): { images: Buffer[]; chunks: number[] } {
      const images: Buffer[] = [];
      const chunks: number[] = [];
      let cur: string[] = [];
      for (const m of stream.matchAll(/\x1b{1,2}_G([^;]*);([A-Za-z0-9+/=]*)\x1b{1,2}\\/g)) {
        const keys = m[1]!;
        if (keys.includes('a=T')) expect(keys).toMatch(/^a=T,f=100,q=2,C=1,r=\d+,m=[01]$/);
        expect(m[2]!.length).toBeLessThanOrEqual(4096);
        cur.push(m[2]!);
        if (keys.endsWith('m=0')) {
          images.push(Buffer.from(cur.join(''), 'base64'));
          chunks.push(cur.length);
          cur = [];
        }
      }
      expect(cur).toEqual([]); // no image left without its m=0
      return { images, chunks };
    }

    beforeAll(async () => {
      base = await mkdtemp(path.join(tmpdir(), 'kt-tmux-'));
      sock = path.join(base, 'tmux.sock');
      await tmux('new-session', '-d', '-s', 'kt', '-x', '160', '-y', '50', 'sleep 600');
      await tmux('set', '-g', 'allow-passthrough', 'on');
      // A client attached as a terminal would be: `script` gives it a pty and records what tmux draws on it.
      client = spawn('script', ['-qfec', `tmux -S ${q(sock)} -f /dev/null attach -t kt`, path.join(base, 'terminal.log')], { env: { ...process.env, TERM: 'xterm-256color' }, stdio: ['pipe', 'ignore', 'ignore'] });
      for (let i = 0; !(await tmux('list-clients', '-t', 'kt')).includes('attached'); i++) {
        if (i > 200) throw new Error('the tmux client run by script never attached');
        await new Promise((r) => setTimeout(r, 100));
      }
    }, 60_000);

    afterAll(async () => {
      await tmux('kill-server').catch(() => {});
      client?.kill();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it("draws the kernel's PNGs with kitty's escapes, wrapped for tmux, and tmux passes them on to its terminal", async () => {
      expect(drawnShas.length).toBe(2); // the notes' plot and the --follow one
      // tmux started from kitty: its panes inherit KITTY_WINDOW_ID; TERM inside is tmux's own.
      const r = await inTmux('inline', { KITTY_WINDOW_ID: '1' }, ['plots', id, '--inline']);
      expect(r.code, r.screen).toBe(0);
      const pane = r.pane.toString('latin1');
      // Into the pane: every kitty escape inside tmux's DCS passthrough, ESC doubled.
      const wrapped = pane.split('\x1bPtmux;').length - 1;
      const fromPane = kittyImages(pane);
      expect(wrapped).toBe(fromPane.chunks.reduce((a, b) => a + b, 0));
      expect(pane).not.toMatch(/(?<!\x1b)\x1b_G/); // no kitty escape outside the passthrough
      expect(fromPane.images.map(sha256).sort()).toEqual([...drawnShas].sort());
      expect(Math.max(...fromPane.chunks)).toBeGreaterThan(1); // a real plot takes several 4096-byte chunks
      // On to the terminal tmux draws on: the escapes as kitty reads them, unwrapped, the same bytes.
      await expect.poll(async () => kittyImages((await readFile(path.join(base, 'terminal.log'))).toString('latin1')).images.length, SLOW).toBe(2);
      const terminal = (await readFile(path.join(base, 'terminal.log'))).toString('latin1');
      expect(terminal).not.toContain('\x1bPtmux;');
      expect(kittyImages(terminal).images.map(sha256).sort()).toEqual([...drawnShas].sort());
      // What the pane shows as text: each plot's line, and no base64 spilled as text.
      expect(r.screen).toContain(`${id}#1  `);
      expect(r.screen).toContain(`${id}#2  `);
      expect(r.screen).toContain('plt.plot([1,2,3,4,4,5,6])');
      expect(r.screen).not.toMatch(/[A-Za-z0-9+/]{64}/);
      // The text goes on below each image, by the rows the image was given (r=), which tmux cannot see.
      const lines = r.screen.split('\n');
      const rows = [...pane.matchAll(/_Ga=T,f=100,q=2,C=1,r=(\d+)/g)].map((m) => Number(m[1]));
      const at = (seq: number) => lines.findIndex((l) => l.startsWith(`${id}#${seq}  `));
      expect(at(1) - at(2)).toBe(1 + rows[0]!); // newest first: #2, its image, then #1
      expect(lines.findIndex((l) => l.startsWith('ktray exited')) - at(1)).toBe(1 + rows[1]!);
      const colored = await tmux('capture-pane', '-p', '-e', '-t', 'kt:inline');
      expect(colored).not.toContain('_Ga=T');
      // Kept to look at: the pane as text, and what the terminal was sent.
      const out = path.join(ROOT, 'test-results', 'cli-plots');
      await mkdir(out, { recursive: true });
      await writeFile(path.join(out, 'inline-tmux-screen.txt'), r.screen);
      await writeFile(path.join(out, 'inline-tmux-terminal.log'), terminal, 'latin1');
    });

    it('--inline --follow draws a new plot as it comes, with the kernel\'s bytes', async () => {
      const name = 'follow';
      const started = inTmux(name, { KITTY_WINDOW_ID: '1' }, ['plots', id, '--inline', '--follow']);
      const pane = path.join(base, name + '.pane');
      const heard = async () => kittyImages((await readFile(pane).catch(() => Buffer.alloc(0))).toString('latin1')).images.length;
      await expect.poll(heard, SLOW).toBe(2); // the two already there
      await expect.poll(async () => tmux('capture-pane', '-p', '-t', `kt:${name}`), SLOW).toContain('Waiting for new plots');
      const drawn = await draw('import matplotlib.pyplot as plt\nplt.figure(figsize=(3, 2), dpi=60)\nplt.bar([1, 2, 3], [3, 1, 2])\nplt.show()');
      await expect.poll(heard, SLOW).toBe(3);
      const images = kittyImages((await readFile(pane)).toString('latin1')).images;
      expect(sha256(images[2]!)).toBe(drawn.images[0]!.sha256);
      await tmux('send-keys', '-t', `kt:${name}`, 'C-c');
      const r = await started;
      expect(r.code, r.screen).toBe(0);
      expect(r.screen).toContain(`${id}#3  `);
    });

    it('says how to turn passthrough on when it is off, and which terminals it knows when none is', async () => {
      await tmux('set', '-g', 'allow-passthrough', 'off');
      try {
        const off = await inTmux('off', { KITTY_WINDOW_ID: '1' }, ['plots', id, '--inline']);
        expect(off.code).toBe(1);
        expect(off.screen).toContain('allow-passthrough is off');
        expect(off.screen).toContain('tmux set -g allow-passthrough on');
        expect(off.pane.toString('latin1')).not.toContain('_G');
      } finally {
        await tmux('set', '-g', 'allow-passthrough', 'on');
      }
      const none = await inTmux('none', {}, ['plots', id, '--inline']);
      expect(none.code).toBe(1);
      expect(none.screen).toMatch(/no inline image protocol that Kernel Tray knows; --inline draws in kitty .*iTerm2 and WezTerm/s);
      expect(none.screen).toContain('tmux client xterm-256color');
      expect(none.screen).toContain('--dir DIR');
      // Not a terminal at all (a pipe): said so, nothing written.
      const piped = await world.run(['plots', id, '--inline'], { env: { KITTY_WINDOW_ID: '1' } });
      expect(piped.code).toBe(1);
      expect(piped.stderr).toContain('standard output is not one');
      expect(piped.stdout).toBe('');
    });
  });
});
