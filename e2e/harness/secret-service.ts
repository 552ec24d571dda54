// A real Secret Service for tests: a dbus-daemon session bus of its own and
// gnome-keyring-daemon on it, its login keyring made and unlocked with a test
// password, everything under a private HOME (nothing of the user's keyring is
// touched). Clients get its env (DBUS_SESSION_BUS_ADDRESS, HOME, XDG_*).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep } from './proc';

export interface SecretService {
  /** The variables a client of this Secret Service runs with. */
  env: NodeJS.ProcessEnv;
  dir: string;
  /** `secret-tool lookup ATTR VALUE...` against this service: the secret, or null. */
  lookup(attrs: Record<string, string>): string | null;
  /** Items whose attributes include these (as `secret-tool search --all` lists them). */
  count(attrs: Record<string, string>): number;
  /** The secrets of those items. */
  secrets(attrs: Record<string, string>): string[];
  stop(): Promise<void>;
}

export async function startSecretService(): Promise<SecretService> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kt-keyring-'));
  const home = path.join(dir, 'home');
  const runtime = path.join(dir, 'run');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(runtime, { recursive: true, mode: 0o700 });
  const address = `unix:path=${path.join(dir, 'bus')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    DBUS_SESSION_BUS_ADDRESS: address,
  };
  delete env.DISPLAY;
  const procs: ChildProcess[] = [];
  // A bus with no service directories: nothing is started by D-Bus activation (the system's
  // org.freedesktop.secrets.service would start a second, locked keyring daemon first).
  const busConfig = path.join(dir, 'bus.conf');
  await writeFile(
    busConfig,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${address}</listen>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`,
  );
  const bus = spawn('dbus-daemon', [`--config-file=${busConfig}`, '--nofork', '--print-address'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(bus);
  await new Promise<void>((resolve, reject) => {
    bus.stdout!.once('data', () => resolve());
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
  });
  // --foreground: a child of ours, stopped by its pid. The keyring password on stdin.
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(keyring);
  let keyringErr = '';
  keyring.stderr!.on('data', (d) => (keyringErr += d));
  keyring.stdin!.end(`kt-keyring-${randomBytes(6).toString('hex')}`);
  const tool = (args: string[], input = '') => spawnSync('secret-tool', args, { env, encoding: 'utf8', timeout: 10_000, input });
  const stopAll = async () => {
    for (const p of [...procs].reverse()) if (p.exitCode === null && p.pid) p.kill('SIGTERM');
    await sleep(200);
    await rm(dir, { recursive: true, force: true });
  };
  // Ready when the login keyring exists and takes an item (the daemon answers searches before that).
  for (let i = 0; ; i++) {
    const r = tool(['store', '--label=probe', 'application', 'kt-probe'], 'probe');
    if (r.status === 0 && tool(['clear', 'application', 'kt-probe']).status === 0) break;
    if (i > 100) {
      await stopAll();
      throw new Error(`gnome-keyring-daemon did not answer: ${r.stderr} ${keyringErr}`);
    }
    await sleep(100);
  }
  const argv = (attrs: Record<string, string>) => Object.entries(attrs).flat();
  return {
    env,
    dir,
    lookup(attrs) {
      const r = tool(['lookup', ...argv(attrs)]);
      return r.status === 0 ? r.stdout : null;
    },
    count(attrs) {
      const r = tool(['search', '--all', ...argv(attrs)]);
      return (`${r.stdout}${r.stderr}`.match(/^label = /gm) ?? []).length;
    },
    secrets(attrs) {
      const r = tool(['search', '--all', ...argv(attrs)]);
      return [...`${r.stdout}\n${r.stderr}`.matchAll(/^secret = (.*)$/gm)].map((m) => m[1]);
    },
    stop: stopAll,
  };
}

/** Every file under `dir` holding `secret` (its bytes, anywhere in the file). */
export async function filesHolding(dir: string, secret: string): Promise<string[]> {
  const { readdir, stat } = await import('node:fs/promises');
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = path.join(d, name);
      const s = await stat(p).catch(() => null);
      if (!s) continue;
      if (s.isDirectory()) await walk(p);
      else if (s.isFile() && (await readFile(p).catch(() => Buffer.alloc(0))).includes(secret)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}
