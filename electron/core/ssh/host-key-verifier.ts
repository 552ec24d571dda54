// Host keys are checked against known_hosts on every connect and never
// accepted silently: unknown keys are refused with their fingerprint and the
// command that trusts them, changed keys with the file and line that disagree.
import { KtrayError } from '../../shared/errors';
import type { KnownHostsLineRef, ReplacedKnownHosts } from '../../shared/types';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostLookupName,
  keyTypeOf,
  knownHostsLine,
  matchesHost,
  readKnownHostsFiles,
  type KnownHostEntry,
} from './known-hosts';
import { removeKnownHost } from './known-hosts-remove';
import { shellCommand } from '../util/shell-quote';
import type { HostProfile } from './ssh-profile';

export interface HostKeySeen {
  hostname: string;
  port: number;
  keyType: string;
  fingerprint: string;
  key: Buffer;
  /** known_hosts already holds exactly this key for this host. */
  known: boolean;
  /** Where `trust` writes. */
  knownHostsFile: string;
  /** HostKeyAlias from ssh_config: known_hosts is keyed by it instead of the name and port. */
  hostKeyAlias?: string;
  /** What known_hosts is searched for: `host`, `[host]:port`, or the HostKeyAlias (what `ssh-keygen -R` takes). */
  lookupName: string;
  /** Lines holding another key of this type for the host: the key has CHANGED. */
  changed: KnownHostsLineRef[];
  /** The @revoked line for this very key. */
  revoked: KnownHostsLineRef | null;
  /** The user's own known_hosts files: the only ones `trust` edits. */
  userFiles: string[];
}

function lineRef(e: KnownHostEntry): KnownHostsLineRef {
  return { file: e.file, line: e.line, keyType: e.keyType, fingerprint: fingerprintSha256(e.key) };
}

const at = (refs: KnownHostsLineRef[]) => refs.map((r) => `${r.file}:${r.line}`).join(', ');

export interface VerifyOptions {
  profile: HostProfile;
  key: Buffer;
  /** The host the user asked for (the profile may be a jump host on its way). */
  hostId: string;
  /** Hand the key over instead of deciding (used by `trust` to show the fingerprint). */
  capture?: (seen: HostKeySeen) => boolean;
  notice?: (message: string) => void;
}

export function knownHostsFiles(profile: HostProfile): string[] {
  return [...profile.userKnownHostsFiles, ...profile.globalKnownHostsFiles];
}

/** true to go on, else the error that says why not. */
export async function verifyHostKey(opts: VerifyOptions): Promise<true | KtrayError> {
  const { profile, key } = opts;
  const hostname = profile.hostKeyAlias ?? profile.hostname;
  const aliasOpt = { hostKeyAlias: profile.hostKeyAlias ?? undefined };
  const port = profile.port;
  const entries = await readKnownHostsFiles(knownHostsFiles(profile));
  const check = checkHostKey({ hostname: profile.hostname, port, key, entries, hostKeyAlias: profile.hostKeyAlias ?? undefined });
  const seen: HostKeySeen = {
    hostname,
    port,
    keyType: keyTypeOf(key),
    fingerprint: fingerprintSha256(key),
    key,
    known: check.status === 'trusted',
    knownHostsFile: profile.userKnownHostsFiles[0],
    hostKeyAlias: aliasOpt.hostKeyAlias,
    lookupName: profile.hostKeyAlias ?? hostLookupName(profile.hostname, port),
    changed: check.status === 'changed' ? check.conflicts.map(lineRef) : [],
    revoked: check.status === 'revoked' ? lineRef(check.entry) : null,
    userFiles: profile.userKnownHostsFiles,
  };
  if (opts.capture) {
    return opts.capture(seen) ? true : new KtrayError({ code: 'HOST_KEY_UNKNOWN', host: opts.hostId, message: 'Host key captured.' });
  }
  const name = profile.alias;
  const via = name === opts.hostId ? '' : ` (jump host for ${opts.hostId})`;
  switch (check.status) {
    case 'trusted':
      return true;
    case 'revoked':
      return new KtrayError({
        code: 'HOST_KEY_CHANGED',
        host: opts.hostId,
        message: `${name}${via} offered a host key that is marked @revoked at ${check.entry.file}:${check.entry.line}.`,
        hint: 'Refusing to connect. Ask the host administrator which key is current.',
        detail: { fingerprint: seen.fingerprint, keyType: seen.keyType, file: check.entry.file, line: check.entry.line },
      });
    case 'changed':
      return changedKeyError(seen, name, via, opts.hostId, false);
    case 'unknown': {
      if (profile.strictHostKeyChecking === 'accept-new' || profile.strictHostKeyChecking === 'no') {
        // The user's ssh_config asked for this (StrictHostKeyChecking accept-new/no):
        // record the key like OpenSSH does, and say so.
        await appendKnownHost(seen.knownHostsFile, knownHostsLine(profile.hostname, port, key, { hostKeyAlias: profile.hostKeyAlias ?? undefined }));
        opts.notice?.(
          `Added ${name}'s ${seen.keyType} key ${seen.fingerprint} to ${seen.knownHostsFile} (StrictHostKeyChecking ${profile.strictHostKeyChecking}).`,
        );
        return true;
      }
      const other = check.otherTypes.length
        ? ` (${check.otherTypes[0].file}:${check.otherTypes[0].line} holds a ${check.otherTypes[0].keyType} key for it)`
        : '';
      // ssh2 negotiates no certificate host key algorithms (lib/protocol/constants.js in 1.17.0 lists
      // none), so a host a CA vouches for shows its plain key here: say so rather than look broken.
      const ca = entries.find((e) => e.marker === '@cert-authority' && matchesHost(e, seen.lookupName));
      const caNote = ca
        ? ` ${ca.file}:${ca.line} trusts ${name}'s host certificate through a certificate authority (@cert-authority), which ssh2 cannot check (it sees only the plain key); \`ktray hosts ${opts.hostId} --transport auto\` lets your ssh check it.`
        : '';
      return new KtrayError({
        code: 'HOST_KEY_UNKNOWN',
        host: opts.hostId,
        message: `${name}${via} is not in known_hosts${other}. It offers ${seen.keyType} key ${seen.fingerprint}.`,
        hint: `${caNote.trim() ? `${caNote.trim()} ` : ''}Check that fingerprint with the host's administrator (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${seen.keyType.replace(/^ssh-/, '')}_key.pub), then run \`ktray trust ${name}\`.`,
        detail: { fingerprint: seen.fingerprint, keyType: seen.keyType, knownHostsFile: seen.knownHostsFile, hostname, port, trustHost: name },
      });
    }
  }
}

/** The key disagrees with known_hosts: loud, naming every old line and how to replace them knowingly. */
function changedKeyError(seen: HostKeySeen, name: string, via: string, hostId: string, asked: boolean): KtrayError {
  const old = seen.changed[0];
  const others = seen.changed.length > 1 ? ` (and ${at(seen.changed.slice(1))})` : '';
  return new KtrayError({
    code: 'HOST_KEY_CHANGED',
    host: hostId,
    message:
      `WARNING: the host key of ${name}${via} has CHANGED: it now offers ${seen.keyType} ${seen.fingerprint}, ` +
      `but ${old.file}:${old.line}${others} holds ${old.keyType} ${old.fingerprint}. ` +
      `Someone may be intercepting the connection, or the host was reinstalled.${asked ? ' Nothing was trusted.' : ''}`,
    hint:
      `Only if you know why it changed, and the new fingerprint is the one its administrator gives you: ` +
      `\`ktray trust ${name} --replace\` removes the old lines for ${seen.lookupName} as ` +
      `\`${shellCommand(['ssh-keygen', '-R', seen.lookupName, '-f', old.file])}\` would (keeping ${old.file}.old) and adds the new key.`,
    detail: {
      fingerprint: seen.fingerprint,
      keyType: seen.keyType,
      file: old.file,
      line: old.line,
      changed: seen.changed,
      hostname: seen.hostname,
      port: seen.port,
      knownHostsFile: seen.knownHostsFile,
    },
  });
}

/**
 * Adds the key to the user's known_hosts, only if it is the one the user
 * confirmed. A changed key is replaced only when asked to (`replace`), and
 * then as `ssh-keygen -R` and a fresh accept would: the old lines for the
 * host go from the user's files that hold them (each kept as FILE.old), the
 * new key is added. A revoked key, or an old line in a system file, is never
 * touched.
 */
export async function trustHostKey(
  seen: HostKeySeen,
  confirmedFingerprint: string,
  hostId: string,
  opts: { replace?: boolean } = {},
): Promise<{ replaced: ReplacedKnownHosts[] }> {
  if (seen.fingerprint !== confirmedFingerprint.trim()) {
    throw new KtrayError({
      code: 'HOST_KEY_CHANGED',
      host: hostId,
      message: `${hostId} now offers ${seen.keyType} key ${seen.fingerprint}, not the ${confirmedFingerprint} you confirmed. Nothing was trusted.`,
      hint: `Run \`ktray trust ${hostId}\` again and compare the fingerprint with the host's administrator.`,
    });
  }
  if (seen.revoked) {
    throw new KtrayError({
      code: 'HOST_KEY_CHANGED',
      host: hostId,
      message: `${hostId} offers ${seen.keyType} key ${seen.fingerprint}, which ${seen.revoked.file}:${seen.revoked.line} marks @revoked. Kernel Tray never trusts a revoked key; nothing was trusted.`,
      hint: 'Ask the host administrator which key is current.',
      detail: { fingerprint: seen.fingerprint, keyType: seen.keyType, revoked: seen.revoked },
    });
  }
  if (seen.known) return { replaced: [] };
  const replaced: ReplacedKnownHosts[] = [];
  if (seen.changed.length) {
    if (!opts.replace) throw changedKeyError(seen, hostId, '', hostId, true);
    const system = seen.changed.filter((c) => !seen.userFiles.includes(c.file));
    if (system.length) {
      throw new KtrayError({
        code: 'HOST_KEY_CHANGED',
        host: hostId,
        message: `The old key of ${hostId} is in ${at(system)}, a system file Kernel Tray does not edit. Nothing was trusted.`,
        hint: `Ask the administrator of this computer, or remove it yourself: \`${shellCommand(['sudo', 'ssh-keygen', '-R', seen.lookupName, '-f', system[0].file])}\`.`,
        detail: { changed: seen.changed },
      });
    }
    const files = [...new Set(seen.changed.map((c) => c.file))];
    // Every file is checked before any is changed, so a refusal leaves all of them as they were.
    for (const file of files) await removeKnownHost(file, seen.lookupName, { dryRun: true });
    for (const file of files) replaced.push(await removeKnownHost(file, seen.lookupName));
  }
  await appendKnownHost(seen.knownHostsFile, knownHostsLine(seen.hostname, seen.port, seen.key, { hostKeyAlias: seen.hostKeyAlias }));
  return { replaced };
}
