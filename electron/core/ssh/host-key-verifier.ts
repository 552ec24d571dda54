// Host keys are checked against known_hosts on every connect and never
// accepted silently: unknown keys are refused with their fingerprint and the
// command that trusts them, changed keys with the file and line that disagree.
import { KtrayError } from '../../shared/errors';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  keyTypeOf,
  knownHostsLine,
  readKnownHostsFiles,
} from './known-hosts';
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
}

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
    case 'changed': {
      const lookup = port === 22 ? hostname : `[${hostname}]:${port}`;
      return new KtrayError({
        code: 'HOST_KEY_CHANGED',
        host: opts.hostId,
        message:
          `The host key of ${name}${via} has CHANGED: it is ${seen.keyType} ${seen.fingerprint}, ` +
          `which disagrees with ${check.entry.file}:${check.entry.line}. Someone may be intercepting the connection, or the host was reinstalled.`,
        hint: `If you know why it changed, remove the old key with \`${shellCommand(['ssh-keygen', '-R', lookup, '-f', check.entry.file])}\`, then run \`ktray trust ${name}\`.`,
        detail: { fingerprint: seen.fingerprint, keyType: seen.keyType, file: check.entry.file, line: check.entry.line },
      });
    }
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
      return new KtrayError({
        code: 'HOST_KEY_UNKNOWN',
        host: opts.hostId,
        message: `${name}${via} is not in known_hosts${other}. It offers ${seen.keyType} key ${seen.fingerprint}.`,
        hint: `Check that fingerprint with the host's administrator (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${seen.keyType.replace(/^ssh-/, '')}_key.pub), then run \`ktray trust ${name}\`.`,
        detail: { fingerprint: seen.fingerprint, keyType: seen.keyType, knownHostsFile: seen.knownHostsFile, hostname, port, trustHost: name },
      });
    }
  }
}

/** Adds the key to the user's known_hosts, only if it is the one the user confirmed. */
export async function trustHostKey(seen: HostKeySeen, confirmedFingerprint: string, hostId: string): Promise<void> {
  if (seen.fingerprint !== confirmedFingerprint.trim()) {
    throw new KtrayError({
      code: 'HOST_KEY_CHANGED',
      host: hostId,
      message: `${hostId} now offers ${seen.keyType} key ${seen.fingerprint}, not the ${confirmedFingerprint} you confirmed. Nothing was trusted.`,
      hint: `Run \`ktray trust ${hostId}\` again and compare the fingerprint with the host's administrator.`,
    });
  }
  if (seen.known) return;
  await appendKnownHost(seen.knownHostsFile, knownHostsLine(seen.hostname, seen.port, seen.key, { hostKeyAlias: seen.hostKeyAlias }));
}
