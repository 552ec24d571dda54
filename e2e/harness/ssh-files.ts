// Key pairs and config files for the fake remote host's sshd and for ssh clients.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { run, runOk } from './proc';

export const SSHD = '/usr/sbin/sshd';

/** Creates an ed25519 key pair at `path` and returns the public key as 'ssh-ed25519 AAAA...'. */
export async function keygen(path: string, comment: string, passphrase = ''): Promise<string> {
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', path]);
  const pub = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/);
  return `${pub[0]} ${pub[1]}`;
}

export interface SshdConfigOptions {
  listen: string; // '127.0.0.1:22'
  hostKey: string;
  pidFile: string;
  user: string;
  authorizedKeysFile: string; // relative to the user's home unless absolute
  strictModes: boolean;
  /** Extra environment for every session (loopback mode: a private HOME and a marker). */
  setEnv?: Record<string, string>;
  /** Logins through PAM instead of keys: which methods sshd offers, and requires (AuthenticationMethods). */
  pam?: { password: boolean; kbdInteractive: boolean; methods: string };
  /** More sshd_config lines (TrustedUserCAKeys, HostCertificate). */
  extra?: string[];
}

export function sshdConfig(o: SshdConfigOptions): string {
  const lines = [
    `ListenAddress ${o.listen}`,
    `HostKey ${o.hostKey}`,
    `PidFile ${o.pidFile}`,
    `AuthorizedKeysFile ${o.authorizedKeysFile}`,
    `StrictModes ${o.strictModes ? 'yes' : 'no'}`,
    `AllowUsers ${o.user}`,
    // Only root logins through the loopback fallback run as root; the dedicated user never is.
    `PermitRootLogin ${o.user === 'root' ? 'prohibit-password' : 'no'}`,
    'PubkeyAuthentication yes',
    `PasswordAuthentication ${o.pam?.password ? 'yes' : 'no'}`,
    `KbdInteractiveAuthentication ${o.pam?.kbdInteractive ? 'yes' : 'no'}`,
    `UsePAM ${o.pam ? 'yes' : 'no'}`,
    ...(o.pam ? [`AuthenticationMethods ${o.pam.methods}`] : []),
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'AllowTcpForwarding yes',
    'AllowStreamLocalForwarding yes',
    'StreamLocalBindUnlink yes',
    'Subsystem sftp internal-sftp',
    // Tests open many connections at once (and a benchmark even more).
    'MaxStartups 200',
    'MaxSessions 100',
    'LoginGraceTime 60',
    'LogLevel VERBOSE',
    ...(o.extra ?? []),
  ];
  if (o.setEnv) {
    lines.push(`SetEnv ${Object.entries(o.setEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Newer sshd (9.8+) penalises sources that fail to authenticate; every connection here comes
 * from 127.0.0.1 and tests fail on purpose, so switch that off where the option exists.
 */
export async function writeSshdConfig(path: string, text: string): Promise<void> {
  const withPenaltiesOff = text + 'PerSourcePenalties no\n';
  await writeFile(path, withPenaltiesOff, { mode: 0o600 });
  // sshd -t wants its privilege separation folder, which only a booted Debian has made (tmpfiles).
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const check = await run(SSHD, ['-t', '-f', path]);
  if (check.code === 0) return;
  if (!/PerSourcePenalties/i.test(check.stderr)) {
    throw new Error(`sshd rejected its test config ${path}: ${check.stderr.trim()}`);
  }
  await writeFile(path, text, { mode: 0o600 });
  await runOk(SSHD, ['-t', '-f', path]);
}

export interface ClientConfigOptions {
  alias: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
}

export function clientConfig(o: ClientConfigOptions): string {
  return [
    `Host ${o.alias}`,
    '  HostName 127.0.0.1',
    `  Port ${o.port}`,
    `  User ${o.user}`,
    `  IdentityFile ${o.identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${o.knownHostsFile}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n');
}

export function knownHostsLine(port: number, hostKeyLine: string): string {
  return `[127.0.0.1]:${port} ${hostKeyLine}\n`;
}
