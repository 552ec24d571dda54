// Sockets an agent that was killed (SIGKILL, a crash, a power cut) left behind
// in our own folders: each is removed only when it is ours by name, is a
// socket, is not one the next re-attach means to reuse, and nobody answers on
// it (a live agent of another KTRAY_HOME may share the folder).
import { lstat, readdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** Our socket names: watch tunnels `kt-HEX-N`, attachments `kt-HEX[-HEX]-N` and `kernel-ktray-…-N`. */
const OURS = /^(kt-[0-9a-f]{12,16}(-[0-9a-f]{6})?|kernel-ktray-[A-Za-z0-9._@-]+)-[0-9]+$/;

const CONNECT_TIMEOUT_MS = 1_000;

/** 'dead' only on ECONNREFUSED: the file is there, its listener is not. */
function probe(file: string): Promise<'alive' | 'dead' | 'unsure'> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    const done = (r: 'alive' | 'dead' | 'unsure') => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('unsure'), CONNECT_TIMEOUT_MS);
    sock.once('connect', () => done('alive'));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'dead' : 'unsure'));
  });
}

/**
 * Removes dead sockets of ours in `dirs`, keeping those whose path starts
 * with one of `keepPrefixes` (a remembered attachment's sockets). Returns the
 * paths removed.
 */
export async function sweepDeadSockets(dirs: string[], keepPrefixes: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    const candidates = names.filter((n) => OURS.test(n)).map((n) => path.join(dir, n));
    await Promise.all(
      candidates.map(async (file) => {
        if (keepPrefixes.some((p) => file.startsWith(`${p}-`) && /^[0-9]+$/.test(file.slice(p.length + 1)))) return;
        try {
          if (!(await lstat(file)).isSocket()) return;
        } catch {
          return;
        }
        if ((await probe(file)) !== 'dead') return;
        try {
          await unlink(file);
          removed.push(file);
        } catch {
          // Gone already, or not ours to remove after all: left as it is.
        }
      }),
    );
  }
  return removed.sort();
}
