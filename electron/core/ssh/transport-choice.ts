// Which transport a host goes through: ssh2 in this process, or the system's
// own OpenSSH client for what ssh2 cannot do. Decided from the host's profile
// and the files ssh would read for it, never by trying a connection.
import { existsSync, readFileSync } from 'node:fs';
import { hostLookupName, matchesHost, parseKnownHosts, type KnownHostEntry } from './known-hosts';
import type { HostProfile } from './ssh-profile';

import type { TransportSetting } from '../../shared/types';

export type { TransportSetting };

export interface TransportReason {
  /** In `ktray hosts` after "OpenSSH:". */
  why: string;
}

/** FIDO security-key public key types (ssh2 has none: PR #1496 is unmerged). */
const SK_KEY = /^(sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)(-cert-v01@openssh\.com)?\s/;
/** The default keys ssh offers that are security keys, beside the ones ssh2 can use. */
const DEFAULT_SK = ['id_ecdsa_sk', 'id_ed25519_sk'];

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function knownHostsEntries(files: string[]): KnownHostEntry[] {
  return files.flatMap((f) => {
    const text = readText(f);
    return text === null ? [] : parseKnownHosts(text, f);
  });
}

/**
 * Why this profile needs the OpenSSH transport, or null when ssh2 does all it
 * asks. A ControlMaster and GSSAPI are decided by the registry (one asks
 * `ssh -G`); this covers certificates, @cert-authority, Match exec and sk keys.
 */
export function openSshNeededFor(p: HostProfile): TransportReason | null {
  // A user certificate: CertificateFile, or KEY-cert.pub beside a key ssh would offer.
  const cert = p.certificateFiles?.find((f) => existsSync(f)) ?? p.identityFiles.map((f) => `${f}-cert.pub`).find((f) => existsSync(f));
  if (cert) return { why: `a user certificate (${cert}): ssh2 has no certificates` };

  // A host only a certificate authority vouches for: ssh checks its certificate (and @revoked).
  const lookup = p.hostKeyAlias ?? hostLookupName(p.hostname, p.port);
  const entries = knownHostsEntries([...p.userKnownHostsFiles, ...p.globalKnownHostsFiles]);
  const ca = entries.find((e) => e.marker === '@cert-authority' && matchesHost(e, lookup));
  if (ca && !entries.some((e) => e.marker === null && matchesHost(e, lookup))) {
    return { why: `an @cert-authority line (${ca.file}:${ca.line}) vouches for its host key: ssh2 cannot check host certificates` };
  }

  if (p.matchExec !== undefined) return { why: `a Match exec block (exec "${p.matchExec}"): only ssh runs it` };

  // Security keys: an IdentityFile whose public half is an sk- key; of ssh's default keys,
  // only when no key ssh2 can use is there.
  const sk = (f: string) => SK_KEY.test(readText(`${f}.pub`) ?? '');
  if (!p.identityFilesDefault) {
    const key = p.identityFiles.find(sk);
    if (key) return { why: `a security key (${key}): ssh2 has no sk- keys` };
  } else if (!p.identityFiles.some((f) => existsSync(f))) {
    const dir = p.identityFiles[0]?.replace(/\/[^/]+$/, '');
    const key = dir === undefined ? undefined : DEFAULT_SK.map((n) => `${dir}/${n}`).find(sk);
    if (key) return { why: `a security key (${key}): ssh2 has no sk- keys` };
  }
  return null;
}

export function parseTransportSetting(value: string): TransportSetting | null {
  return value === 'auto' || value === 'ssh2' || value === 'openssh' ? value : null;
}
