// A real remote host for end-to-end tests and the benchmark: Debian's OpenSSH sshd with its own
// host key and users' keys, reached only through a TCP bridge we control, running real
// ipykernels as a separate unix user. As root it lives in namespaces of its own (see
// isolated-remote.ts); otherwise it falls back to sshd on loopback (loopback-remote.ts).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, BackendKeys, RemoteAuth } from './backend';
import { startIsolated } from './isolated-remote';
import { startLoopback } from './loopback-remote';
import { runOk, sleep } from './proc';
import { clientConfig, keygen, knownHostsLine } from './ssh-files';
import { TcpBridge } from './tcp-bridge';

export interface RemoteHost {
  /** Host alias in sshConfigFile, 'kt-remote-<hex>'; also the remote's hostname when isolated. */
  alias: string;
  sshConfigFile: string;
  /** Trusts the remote's host key as `[127.0.0.1]:<port> ssh-ed25519 AAAA...`. */
  knownHostsFile: string;
  /** The remote's public host key, 'ssh-ed25519 AAAA...'. */
  hostKeyLine: string;
  /** A different ed25519 public key, for "host key changed" tests. */
  otherHostKeyLine: string;
  /** Unencrypted ed25519 client key, mode 0600. */
  identityFile: string;
  /** Passphrase-protected ed25519 client key, also authorized for `user`. */
  encryptedIdentityFile: string;
  passphrase: string;
  /** Where clients connect: '127.0.0.1' and the bridge port. */
  hostname: string;
  port: number;
  user: string;
  home: string;
  /** True when sshd runs in its own network namespace (the remote's loopback is private). */
  isolated: boolean;
  /** The namespace's name (`ktr-<hex>`) when isolated, else null. */
  namespace: string | null;
  python: string;
  dir: string;
  /** Runs `sh -c cmd` as `user` on the remote, without going through SSH or product code. */
  exec(cmd: string, opts?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `user`'s uid when it is a user of its own (isolated), else null. */
  uid: number | null;
  /**
   * Starts argv on the remote as another user of this machine (`nobody`: someone else on a
   * shared host), in the remote's namespaces; null when not isolated (there is no other user).
   */
  spawnAs: ((otherUser: string, argv: string[]) => ChildProcess) | null;
  /** Cuts every connection currently through the bridge; new connections still work. */
  dropConnections(): void;
  /** false: new and existing connections are reset at once (host unreachable). */
  setReachable(reachable: boolean): void;
  /** Added one-way delay per direction, in ms (RTT grows by 2*ms). */
  setLatency(ms: number): void;
  /** Connections currently open through the bridge. */
  connectionCount(): number;
  /** Connections the bridge accepted since the remote started. */
  acceptedCount(): number;
  /** Open connections silently stop carrying bytes, sockets left open (a laptop that slept); new ones work. */
  freezeConnections(): void;
  /** Set with the certificates option. */
  certificates: RemoteCertificates | null;
  /** Recent sshd log output (for diagnosing a failing test). */
  logs(): string;
  /** Restarts the sshd listener; established sessions survive, like `systemctl restart ssh`. */
  restartSshd(): Promise<void>;
  /** Kills sshd and every remote process (kernels too), removes namespace and dir. Idempotent. */
  stop(): Promise<void>;
}

const live = new Map<Backend, string>(); // backend -> its temp dir
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that ends without awaiting stop() must still not leave kernels behind.
  process.on('exit', () => {
    for (const [b, dir] of live) {
      b.stopSync();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

export interface RemoteHostOptions {
  latencyMs?: number;
  loginShell?: string;
  reapOrphans?: boolean;
  /** A remote of another kind behind the same keys and bridge (the Slurm harness's login node). */
  backend?: (keys: BackendKeys) => Promise<Backend>;
  /** Password/OTP logins through PAM (isolated mode only). */
  auth?: RemoteAuth;
  /**
   * An SSH certificate authority of the test's (made with ssh-keygen): sshd trusts user
   * certificates it signs (TrustedUserCAKeys) and shows a host certificate it signed.
   */
  certificates?: boolean;
}

export interface RemoteCertificates {
  /** The host CA's public key, 'ssh-ed25519 AAAA...', for @cert-authority lines. */
  hostCaLine: string;
  /** A CA that signed nothing here (an unknown CA). */
  otherCaLine: string;
  /** A client key NOT in authorized_keys, with IDENTITY-cert.pub signed by the user CA beside it. */
  certIdentityFile: string;
}

export async function startRemoteHost(opts: RemoteHostOptions = {}): Promise<RemoteHost> {
  const id = randomBytes(4).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), `kt-remote-${id}-`));
  const alias = `kt-remote-${id}`;
  let backend: Backend | undefined;
  let bridge: TcpBridge | undefined;
  try {
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    const identityFile = join(dir, 'id_ed25519');
    const encryptedIdentityFile = join(dir, 'id_ed25519_encrypted');
    const passphrase = `kt-${randomBytes(6).toString('hex')}`;
    const [hostKeyLine, otherHostKeyLine, clientPub, encryptedPub] = await Promise.all([
      keygen(hostKey, alias),
      keygen(join(dir, 'other_host_key'), 'not-the-real-host-key'),
      keygen(identityFile, 'kt-e2e'),
      keygen(encryptedIdentityFile, 'kt-e2e-encrypted', passphrase),
    ]);
    let certificates: RemoteCertificates | null = null;
    const sshdExtra: string[] = [];
    if (opts.certificates) {
      const userCa = join(dir, 'user_ca');
      const hostCa = join(dir, 'host_ca');
      const certIdentityFile = join(dir, 'id_cert');
      const [, hostCaLine, otherCaLine] = await Promise.all([
        keygen(userCa, 'kt-user-ca'),
        keygen(hostCa, 'kt-host-ca'),
        keygen(join(dir, 'other_ca'), 'kt-other-ca'),
        keygen(certIdentityFile, 'kt-e2e-cert'),
      ]);
      // The host certificate names the address clients connect to (ssh checks it, without the port).
      await runOk('ssh-keygen', ['-q', '-s', hostCa, '-I', `${alias}-host`, '-h', '-n', `127.0.0.1,${alias}`, `${hostKey}.pub`]);
      sshdExtra.push(`TrustedUserCAKeys ${userCa}.pub`, `HostCertificate ${hostKey}-cert.pub`);
      certificates = { hostCaLine, otherCaLine, certIdentityFile };
    }
    const keys = { dir, id, hostname: alias, hostKey, authorizedKeys: `${clientPub}\n${encryptedPub}\n`, loginShell: opts.loginShell, reapOrphans: opts.reapOrphans, auth: opts.auth, sshdExtra };
    const mode = process.getuid?.() === 0 && process.env.KT_REMOTE_HOST_MODE !== 'loopback' ? 'isolated' : 'loopback';
    // PAM logins need a user of the remote's own and its own /etc/pam.d: root and namespaces.
    if (opts.auth && mode !== 'isolated') throw new Error('a remote with password/OTP logins needs root (isolated mode)');
    backend = opts.backend ? await opts.backend(keys) : mode === 'isolated' ? await startIsolated(keys) : await startLoopback(keys);
    installExitHook();
    live.set(backend, dir);
    const b = backend;
    bridge = await TcpBridge.listen({ connectUpstream: () => b.connectUpstream(), latencyMs: opts.latencyMs });
    const port = bridge.port;

    const knownHostsFile = join(dir, 'known_hosts');
    await writeFile(knownHostsFile, knownHostsLine(port, hostKeyLine), { mode: 0o600 });
    const sshConfigFile = join(dir, 'ssh_config');
    await writeFile(sshConfigFile, clientConfig({ alias, port, user: b.user, identityFile, knownHostsFile }), {
      mode: 0o600,
    });
    await waitForBanner(port, () => b.logs());
    if (certificates) {
      // Signed for the remote's user, known only now; sshd checks it at each login.
      await runOk('ssh-keygen', ['-q', '-s', join(dir, 'user_ca'), '-I', 'kt-e2e-cert', '-n', b.user, `${certificates.certIdentityFile}.pub`]);
    }

    const br = bridge;
    let stopping: Promise<void> | undefined;
    return {
      alias,
      sshConfigFile,
      knownHostsFile,
      hostKeyLine,
      otherHostKeyLine,
      identityFile,
      encryptedIdentityFile,
      passphrase,
      hostname: '127.0.0.1',
      port,
      user: b.user,
      home: b.home,
      isolated: b.isolated,
      namespace: b.namespace,
      python: '/usr/bin/python3',
      dir,
      exec: (cmd, o) => b.exec(cmd, o?.timeoutMs ?? 120_000),
      uid: b.uid,
      spawnAs: b.spawnAs,
      dropConnections: () => br.dropConnections(),
      setReachable: (r) => br.setReachable(r),
      setLatency: (ms) => br.setLatency(ms),
      connectionCount: () => br.connectionCount,
      acceptedCount: () => br.acceptedCount,
      freezeConnections: () => br.freezeConnections(),
      certificates,
      logs: () => b.logs(),
      async restartSshd() {
        await b.restartSshd();
        await waitForBanner(port, () => b.logs());
      },
      stop() {
        stopping ??= teardown(dir, b, br);
        return stopping;
      },
    };
  } catch (err) {
    await teardown(dir, backend, bridge).catch(() => {});
    throw err;
  }
}

async function teardown(dir: string, backend?: Backend, bridge?: TcpBridge): Promise<void> {
  await bridge?.close();
  try {
    await backend?.stop();
  } finally {
    if (backend) live.delete(backend);
    await rm(dir, { recursive: true, force: true });
  }
}

/** sshd is usable once its SSH-2.0 banner comes back through the whole chain. */
async function waitForBanner(port: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + 30_000; // safety net only
  while (Date.now() < deadline) {
    const banner = await new Promise<string>((resolve) => {
      const s = net.createConnection({ host: '127.0.0.1', port });
      let got = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        got += d;
        if (got.includes('\n')) s.destroy();
      });
      s.on('error', () => {});
      s.on('close', () => resolve(got));
    });
    if (banner.startsWith('SSH-2.0-')) return;
    await sleep(50);
  }
  throw new Error(`fake remote sshd never answered through the bridge on port ${port}. sshd log:\n${logs()}`);
}
