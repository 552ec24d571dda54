// Removing a host's keys from a known_hosts file exactly as `ssh-keygen -R
// NAME -f FILE` does (OpenSSH 9.2 ssh-keygen.c do_known_hosts and
// known_hosts_find_delete, hostfile.c hostkeys_foreach_file): every line whose
// host field matches NAME goes, whole, even when it names other hosts too,
// except @cert-authority and @revoked lines; comments and every other line
// stay byte for byte; the original is kept as FILE.old; and a file with a
// line ssh-keygen cannot read is not rewritten at all.
import { randomBytes } from 'node:crypto';
import { chmod, link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { KtrayError } from '../../shared/errors';
import { matchesHost, type KnownHostEntry } from './known-hosts';

export interface RemovedLines {
  file: string;
  /** 1-based numbers of the lines removed, as `ssh-keygen -R` prints them (`# Host NAME found: line N`). */
  lines: number[];
  /** The host field of each removed line. */
  hosts: string[];
  /** The original, as ssh-keygen keeps it: FILE.old. Null when nothing was removed (the file is untouched). */
  backup: string | null;
}

/** sshkey.c keyimpls (Debian's build: no XMSS): names, and short names for plain keys (any case). */
const KEY_TYPES = new Set([
  'ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com', 'sk-ssh-ed25519@openssh.com', 'sk-ssh-ed25519-cert-v01@openssh.com',
  'ssh-rsa', 'ssh-rsa-cert-v01@openssh.com', 'rsa-sha2-256', 'rsa-sha2-512', 'rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com', 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-dss', 'ssh-dss-cert-v01@openssh.com',
]);
const SHORT_NAMES = new Set(['ed25519', 'ed25519-sk', 'rsa', 'ecdsa', 'ecdsa-sk', 'dsa']);

type Parsed =
  | { kind: 'comment' }
  | { kind: 'invalid' }
  | { kind: 'entry'; marker: boolean; hosts: string };

/** One line as hostkeys_foreach_file sees it when it does not parse keys (which is how -R reads). */
function readLine(line: string): Parsed {
  let cp = line.replace(/^[ \t]+/, '');
  if (cp === '' || cp.startsWith('#')) return { kind: 'comment' };
  let marker = false;
  if (cp.startsWith('@')) {
    const m = /^@(cert-authority|revoked)[ \t]/.exec(cp);
    if (!m) return { kind: 'invalid' };
    marker = true;
    cp = cp.slice(m[0].length).replace(/^[ \t]+/, '');
  }
  const hostsEnd = cp.search(/[ \t]|$/);
  const hosts = cp.slice(0, hostsEnd);
  if (hosts.startsWith('|') && !saltOk(hosts)) return { kind: 'invalid' }; // "bad host hash"
  const rest = cp.slice(hostsEnd).replace(/^[ \t]+/, '');
  if (rest === '' || rest.startsWith('#')) return { kind: 'invalid' }; // truncated before key type
  const typeLen = rest.search(/[ \t]|$/);
  const type = rest.slice(0, typeLen);
  if (typeLen <= 1 || typeLen >= 128 || typeLen === rest.length) return { kind: 'invalid' };
  if (!KEY_TYPES.has(type) && !SHORT_NAMES.has(type.toLowerCase())) return { kind: 'invalid' };
  const key = rest.slice(typeLen).replace(/^[ \t]+/, '');
  if (key === '' || key.startsWith('#')) return { kind: 'invalid' }; // truncated after key type
  return { kind: 'entry', marker, hosts };
}

/** hostfile.c extract_salt: `|1|`, then base64 of exactly 20 bytes, then `|`. */
function saltOk(hosts: string): boolean {
  const m = /^\|1\|([^|]{1,1024})\|/.exec(hosts);
  if (!m || !/^[A-Za-z0-9+/]+={0,2}$/.test(m[1]) || m[1].length % 4 !== 0) return false;
  return Buffer.from(m[1], 'base64').length === 20;
}

/** Whether a host field matches the name ssh looks up, as match_maybe_hashed decides. */
function hostFieldMatches(hosts: string, name: string): boolean {
  const entry = { hosts, hashed: hosts.startsWith('|') } as KnownHostEntry;
  return matchesHost(entry, name);
}

/**
 * `ssh-keygen -R NAME -f FILE`, where NAME is what ssh looks up: `host`,
 * `[host]:port` off port 22, or the HostKeyAlias.
 */
export async function removeKnownHost(file: string, name: string, opts: { dryRun?: boolean } = {}): Promise<RemovedLines> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept: string[] = [];
  const removed: number[] = [];
  const hosts: string[] = [];
  const invalid: number[] = [];
  lines.forEach((line, i) => {
    const p = readLine(line);
    if (p.kind === 'invalid') invalid.push(i + 1);
    if (p.kind === 'entry' && !p.marker && hostFieldMatches(p.hosts, name)) {
      removed.push(i + 1);
      hosts.push(p.hosts);
    } else {
      kept.push(line);
    }
  });
  if (invalid.length) {
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `${file}:${invalid[0]} is not a line ssh-keygen can read, so Kernel Tray will not rewrite ${file} (nor would \`ssh-keygen -R\`). Nothing was changed.`,
      hint: `Fix or delete line ${invalid[0]} of ${file}${invalid.length > 1 ? ` (and lines ${invalid.slice(1).join(', ')})` : ''}, then try again.`,
      detail: { file, lines: invalid },
    });
  }
  if (removed.length === 0 || opts.dryRun) return { file, lines: removed, hosts, backup: null };
  const { mode } = await stat(file);
  const tmp = `${file}.${randomBytes(5).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(kept.map((l) => `${l}\n`).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
  // As ssh-keygen: the new file gets the old one's mode, less any write or execute bits for others.
  await chmod(tmp, mode & 0o644);
  const backup = `${file}.old`;
  try {
    await unlink(backup).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await link(file, backup);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new KtrayError(
      { code: 'INTERNAL', message: `Could not replace ${file}: ${(err as Error).message}. Nothing was changed.`, hint: `Check that you can write to the folder of ${file}.` },
      { cause: err },
    );
  }
  return { file, lines: removed, hosts, backup };
}
