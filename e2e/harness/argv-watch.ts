// Another user's view of the process list: cmdline_sampler.py run as `nobody`, on the remote
// (in its namespaces) or on this machine, for tests that secrets never reach an argv.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { userIds } from './isolated-remote';
import type { RemoteHost } from './remote-host';
import { SYSTEM_PATH } from './proc';
import { readableByAll } from './readable';

const SAMPLER_SOURCE = fileURLToPath(new URL('./cmdline_sampler.py', import.meta.url));
/** Run as nobody: from a copy every user can read. */
const sampler = () => readableByAll(SAMPLER_SOURCE);
export const OTHER_USER = 'nobody';

export interface ArgvSample {
  /** Full passes over /proc: proof the sampler was looking at all. */
  scans: number;
  /** Every distinct argv seen, NULs as spaces. */
  cmdlines: string[];
  /** Most `sh -s` processes of the watched uid seen in one pass. */
  maxSh: number;
}

export interface ArgvWatch {
  /** Ends the sampling and returns what it saw. */
  stop(): Promise<ArgvSample>;
}

function watch(child: ChildProcess, where: string): ArgvWatch {
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    async stop() {
      child.stdin!.end();
      const code = await closed;
      if (code !== 0) throw new Error(`the argv sampler ${where} exited ${code}: ${err}`);
      const r = JSON.parse(out) as { scans: number; cmdlines: string[]; max_sh: number };
      return { scans: r.scans, cmdlines: r.cmdlines, maxSh: r.max_sh };
    },
  };
}

/** Samples the remote's process list as `nobody` there; null when the remote has no other user. */
export function watchRemoteArgv(remote: RemoteHost): ArgvWatch | null {
  if (!remote.spawnAs) return null;
  const argv = ['/usr/bin/python3', '-u', sampler(), ...(remote.uid === null ? [] : [String(remote.uid)])];
  return watch(remote.spawnAs(OTHER_USER, argv), 'on the remote');
}

/** Samples a process list as `nobody` through a spawner of the harness (a Slurm compute node, say). */
export function watchArgvWith(spawnAs: (user: string, argv: string[]) => ChildProcess, uid: number | null, where: string): ArgvWatch {
  return watch(spawnAs(OTHER_USER, ['/usr/bin/python3', '-u', sampler(), ...(uid === null ? [] : [String(uid)])]), where);
}

/** Samples this machine's process list as `nobody`; null unless we are root (cannot become another user). */
export function watchLocalArgv(): ArgvWatch | null {
  if (process.getuid?.() !== 0) return null;
  const { uid, gid } = userIds(OTHER_USER);
  const child = spawn(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--reset-env', '--', '/usr/bin/python3', '-u', sampler()],
    { env: { PATH: SYSTEM_PATH }, stdio: ['pipe', 'pipe', 'pipe'], cwd: '/' },
  );
  return watch(child, 'on this machine');
}

/**
 * Where `secret` shows in any of the argvs, also base64-encoded at any alignment (a script
 * handed over as `echo <base64> | base64 -d | sh` carries it so) and inside decodable tokens.
 */
export function argvsHolding(cmdlines: string[], secret: string): string[] {
  const forms = new Set([secret]);
  const bytes = Buffer.from(secret, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Drop the characters that also depend on the bytes around the secret.
    const start = Math.ceil((shift * 4) / 3);
    const end = b64.replace(/=+$/, '').length - 2;
    if (end - start >= 16) forms.add(b64.slice(start, end));
  }
  return cmdlines.filter((line) => {
    if ([...forms].some((f) => line.includes(f))) return true;
    return (line.match(/[A-Za-z0-9+/=]{24,}/g) ?? []).some((tok) => Buffer.from(tok, 'base64').toString('utf8').includes(secret));
  });
}
