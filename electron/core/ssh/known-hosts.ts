// OpenSSH known_hosts, read and appended the way ssh(1) does, so a host key
// trusted in a terminal is trusted here and the other way round (sshd(8)
// "SSH_KNOWN_HOSTS FILE FORMAT"; hostfile.c, match.c).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KtrayError } from '../../shared/errors';

export type KnownHostMarker = '@revoked' | '@cert-authority';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  marker: KnownHostMarker | null;
  /** The host field as written: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  hashed: boolean;
  keyType: string;
  keyBase64: string;
  /** SSH wire-format public key blob. */
  key: Buffer;
}

export interface KnownHostsProblem {
  file: string;
  line: number;
  reason: string;
}

export type HostKeyCheck =
  | { status: 'trusted'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: KnownHostEntry[] }
  /** `entry` is the first line that disagrees; `conflicts` are all of them, in file order. */
  | { status: 'changed'; entry: KnownHostEntry; conflicts: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

const HASH_MAGIC = '|1|';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The first SSH string of a public key blob: its type, e.g. `ssh-ed25519`. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) throw new Error('SSH public key blob is too short');
  const len = key.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > key.length) throw new Error('SSH public key blob has no valid type');
  return key.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:<unpadded base64>`, as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise; lowercase like ssh. */
export function hostLookupName(hostname: string, port: number): string {
  const host = hostname.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`, 's');
}

/** OpenSSH's match_pattern: `*` any run, `?` exactly one character, the rest literal. */
export function matchPattern(pattern: string, text: string): boolean {
  return globToRegExp(pattern).test(text);
}

/**
 * OpenSSH pattern lists: true when some pattern matches and no `!pattern`
 * does (a negated match excludes whatever else matched).
 */
export function matchPatternList(patterns: readonly string[], text: string, ignoreCase = false): boolean {
  const subject = ignoreCase ? text.toLowerCase() : text;
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = ignoreCase ? raw.slice(negated ? 1 : 0).toLowerCase() : raw.slice(negated ? 1 : 0);
    if (!matchPattern(pattern, subject)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedName(salt: Buffer, name: string): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

/** Whether a line's host field covers `lookupName` (see hostLookupName). */
export function matchesHost(entry: KnownHostEntry, lookupName: string): boolean {
  if (entry.hashed) {
    const [salt64, hash64] = entry.hosts.slice(HASH_MAGIC.length).split('|');
    const want = Buffer.from(hash64 ?? '', 'base64');
    const got = hashedName(Buffer.from(salt64 ?? '', 'base64'), lookupName);
    return want.length === got.length && timingSafeEqual(want, got);
  }
  // Hostnames compare without case, as in OpenSSH's match_hostname.
  return matchPatternList(entry.hosts.split(','), lookupName, true);
}

function parseLine(text: string, file: string, line: number): KnownHostEntry | string {
  const fields = text.trim().split(/[ \t]+/);
  let marker: KnownHostMarker | null = null;
  if (fields[0].startsWith('@')) {
    if (fields[0] !== '@revoked' && fields[0] !== '@cert-authority') return `unknown marker ${fields[0]}`;
    marker = fields.shift() as KnownHostMarker;
  }
  const [hosts, keyType, keyBase64] = fields;
  if (!hosts || !keyType || !keyBase64) return 'expected hosts, key type and key';
  const hashed = hosts.startsWith(HASH_MAGIC);
  if (hashed && !/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/.test(hosts)) return 'malformed hashed host';
  if (!BASE64.test(keyBase64)) return 'key is not base64';
  const key = Buffer.from(keyBase64, 'base64');
  let inner: string;
  try {
    inner = keyTypeOf(key);
  } catch (err) {
    return (err as Error).message;
  }
  if (inner !== keyType) return `key type ${keyType} does not match the key's own type ${inner}`;
  return { file, line, marker, hosts, hashed, keyType, keyBase64, key };
}

/** Entries and the lines ssh would skip too, with why. */
export function parseKnownHostsDetailed(
  text: string,
  file: string,
): { entries: KnownHostEntry[]; problems: KnownHostsProblem[] } {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const parsed = parseLine(trimmed, file, i + 1);
    if (typeof parsed === 'string') problems.push({ file, line: i + 1, reason: parsed });
    else entries.push(parsed);
  });
  return { entries, problems };
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  return parseKnownHostsDetailed(text, file).entries;
}

/**
 * What ssh would decide about `key` for this host: revoked beats everything,
 * any line with exactly this key trusts it, a line with another key of the
 * same type means the key changed, and lines of other types alone leave it
 * unknown. @cert-authority lines vouch for certificates, not plain keys.
 */
export function checkHostKey(opts: {
  hostname: string;
  port: number;
  key: Buffer;
  entries: KnownHostEntry[];
  hostKeyAlias?: string;
}): HostKeyCheck {
  // With HostKeyAlias ssh looks the alias up as is, without the port.
  const name = opts.hostKeyAlias ?? hostLookupName(opts.hostname, opts.port);
  const type = keyTypeOf(opts.key);
  const matching = opts.entries.filter((e) => e.marker !== '@cert-authority' && matchesHost(e, name));
  const revoked = matching.find((e) => e.marker === '@revoked' && e.key.equals(opts.key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = matching.filter((e) => e.marker === null);
  const trusted = plain.find((e) => e.key.equals(opts.key));
  if (trusted) return { status: 'trusted', entry: trusted };
  const conflicts = plain.filter((e) => e.keyType === type);
  if (conflicts.length) return { status: 'changed', entry: conflicts[0], conflicts };
  return { status: 'unknown', otherTypes: plain };
}

/** A known_hosts line for this host and key, hashed like `HashKnownHosts yes` if asked. */
export function knownHostsLine(
  hostname: string,
  port: number,
  key: Buffer,
  opts: { hash?: boolean; hostKeyAlias?: string } = {},
): string {
  const name = opts.hostKeyAlias ?? hostLookupName(hostname, port);
  let hosts = name;
  if (opts.hash) {
    const salt = randomBytes(20);
    hosts = `${HASH_MAGIC}${salt.toString('base64')}|${hashedName(salt, name).toString('base64')}`;
  }
  return `${hosts} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/** All entries of the files that exist, in order; a missing file is an empty one. */
export async function readKnownHostsFiles(files: string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new KtrayError(
        { code: 'BAD_INPUT', message: `Cannot read known hosts file ${file}: ${(err as Error).message}`, hint: `Check that ${file} is a readable file.` },
        { cause: err },
      );
    }
    all.push(...parseKnownHosts(text, file));
  }
  return all;
}

/**
 * Add one line at the end of a known_hosts file, creating its directory
 * (0700) and the file (0600) when missing. Existing lines are never touched.
 */
export async function appendKnownHost(file: string, line: string): Promise<void> {
  const text = line.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(text)) throw new Error('a known_hosts line cannot contain a line break');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.write(`${prefix}${text}\n`);
  } finally {
    await handle.close();
  }
}
