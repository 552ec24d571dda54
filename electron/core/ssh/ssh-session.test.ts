// SshSession against ssh2's in-process SSH server (the DESIGN allows it for
// unit tests of edge cases; the e2e suite runs against a real sshd). The
// server runs commands with a real /bin/sh and forwards to real TCP ports.
import { execFileSync, spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2, { type Connection, type ParsedKey } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ssh2Internals } from './ssh2-window';
import { KtrayError } from '../../shared/errors';
import type { HostStateChange } from '../hosts/host';
import { fingerprintSha256, knownHostsLine } from './known-hosts';
import type { HostProfile } from './ssh-profile';
import { SshSession, type SshSessionOptions } from './ssh-session';
import { MAX_SHELLS } from './shell-pool';
import { until } from '../../../e2e/harness/wait';

const { utils } = ssh2;

/** Commands the fake server is running now; killed when their channel goes. */
let execRunning = 0;
const children = new Set<ReturnType<typeof spawn>>();

function killGroup(child: ReturnType<typeof spawn>): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}


interface FakeServer {
  port: number;
  hostKeyBlob: Buffer;
  /** TCP connections accepted so far. */
  accepted: number;
  /** Authentications that succeeded. */
  authenticated: number;
  /** Destroy every TCP connection, as a dropped network does. */
  dropAll(): void;
  /** When true, new TCP connections are cut at once. */
  refuse: boolean;
  /** When true, port forwarding requests are refused. */
  noForwarding: boolean;
  /** Exec requests served so far. */
  execs: number;
  /** Every exec request's command, in order: what sshd would put in an argv. */
  commands: string[];
  /** Session channels open now. */
  sessions: number;
  /** When set, session channels beyond this many at once are refused (sshd's MaxSessions). */
  maxSessions: number | null;
  /** When set, commands run with this PATH (a host without base64). */
  path: string | null;
  close(): Promise<void>;
}

function parsed(key: string): ParsedKey {
  const k = utils.parseKey(key);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0] : k;
}

function sameKey(ctxKey: { algo: string; data: Buffer }, allowed: ParsedKey): boolean {
  const want = allowed.getPublicSSH();
  return ctxKey.algo === allowed.type && ctxKey.data.length === want.length && timingSafeEqual(ctxKey.data, want);
}

async function startServer(hostPrivate: string, authorized: ParsedKey[]): Promise<FakeServer> {
  const sockets = new Set<net.Socket>();
  const ssh = new ssh2.Server({ hostKeys: [hostPrivate] }, (conn: Connection) => {
    conn.on('error', () => {});
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const key = authorized.find((k) => sameKey(ctx.key, k));
      if (!key) return ctx.reject(['publickey']);
      if (ctx.signature && key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    conn.on('ready', () => {
      server.authenticated++;
      conn.on('session', (accept, reject) => {
        if (server.maxSessions !== null && server.sessions >= server.maxSessions) return reject();
        const session = accept();
        server.sessions++;
        session.on('close', () => server.sessions--);
        session.on('exec', (acceptExec, _reject, info) => {
          server.execs++;
          server.commands.push(info.command);
          const stream = acceptExec();
          // Its own process group, so a kill reaches the commands the script started too.
          const env = server.path === null ? process.env : { ...process.env, PATH: server.path };
          const child = spawn('/bin/sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env });
          execRunning++;
          children.add(child);
          stream.on('close', () => killGroup(child));
          stream.pipe(child.stdin);
          child.stdout.pipe(stream, { end: false });
          child.stderr.pipe(stream.stderr, { end: false });
          child.on('close', (code) => {
            execRunning--;
            children.delete(child);
            stream.exit(code ?? 255);
            stream.end();
          });
        });
      });
      // Without a tcpip listener ssh2 refuses forwards as "administratively
      // prohibited" (reason 1), which is what sshd answers under AllowTcpForwarding no.
      if (server.noForwarding) return;
      conn.on('tcpip', (acceptTcp, rejectTcp, info) => {
        const sock = net.connect(info.destPort, info.destIP);
        sock.once('error', () => rejectTcp());
        sock.once('connect', () => {
          const ch = acceptTcp();
          sock.removeAllListeners('error');
          sock.on('error', () => ch.destroy());
          ch.on('error', () => sock.destroy());
          ch.pipe(sock).pipe(ch);
        });
      });
    });
  });
  const tcp = net.createServer((sock) => {
    server.accepted++;
    if (server.refuse) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    ssh.injectSocket(sock);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const server: FakeServer = {
    port: (tcp.address() as net.AddressInfo).port,
    hostKeyBlob: parsed(hostPrivate).getPublicSSH(),
    accepted: 0,
    authenticated: 0,
    refuse: false,
    noForwarding: false,
    execs: 0,
    commands: [],
    sessions: 0,
    maxSessions: null,
    path: null,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      server.dropAll();
      await new Promise((r) => tcp.close(r));
    },
  };
  return server;
}

/**
 * ssh2 1.17's generateKeyPairSync writes about 1 ed25519 key in 300 with a
 * 31-byte public key (a leading zero byte lost), which its own parser then
 * rejects as malformed: draw again until both halves parse.
 */
function keyPair(opts?: { passphrase: string; cipher: string; rounds: number }): { private: string; public: string } {
  for (;;) {
    const k = opts ? utils.generateKeyPairSync('ed25519', opts) : utils.generateKeyPairSync('ed25519');
    const priv = opts ? utils.parseKey(k.private, opts.passphrase) : utils.parseKey(k.private);
    if (!(utils.parseKey(k.public) instanceof Error) && !(priv instanceof Error)) return k;
  }
}

const hostKey = keyPair();
const otherHostKey = keyPair();
const userKey = keyPair();
const strangerKey = keyPair();
const PASSPHRASE = 'correct horse';
const lockedKey = keyPair({ passphrase: PASSPHRASE, cipher: 'aes256-cbc', rounds: 4 });

let dir: string;
let server: FakeServer;
let knownHosts: string;
let userKeyFile: string;
let strangerKeyFile: string;
let lockedKeyFile: string;
const sessions: SshSession[] = [];

function profile(over: Partial<HostProfile> = {}): HostProfile {
  return {
    alias: 'fake',
    hostname: '127.0.0.1',
    user: 'ada',
    port: server.port,
    identityFiles: [userKeyFile],
    identityFilesDefault: false,
    identitiesOnly: true,
    identityAgent: null,
    proxyJump: [],
    proxyCommand: null,
    userKnownHostsFiles: [knownHosts],
    globalKnownHostsFiles: [],
    strictHostKeyChecking: 'yes',
    hostKeyAlias: null,
    serverAliveIntervalSec: 15,
    serverAliveCountMax: 3,
    numberOfPasswordPrompts: 3,
    connectTimeoutSec: 20,
    ...over,
  };
}

function session(over: Partial<HostProfile> = {}, opts: Partial<SshSessionOptions> = {}): SshSession {
  const s = new SshSession({
    profile: profile(over),
    resolveHop: () => {
      throw new Error('no jumps in this test');
    },
    ...opts,
  });
  sessions.push(s);
  return s;
}

async function trustServer(): Promise<void> {
  await mkdir(path.dirname(knownHosts), { recursive: true });
  await writeFile(knownHosts, knownHostsLine('127.0.0.1', server.port, server.hostKeyBlob) + '\n');
}

async function failure(p: Promise<unknown>): Promise<KtrayError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KtrayError);
  return err as KtrayError;
}

/** Resolves when the session has gone through these states, in this order. */
function states(s: SshSession, wanted: string[]): Promise<HostStateChange[]> {
  return new Promise((resolve) => {
    const seen: HostStateChange[] = [];
    const off = s.onStateChange((c) => {
      seen.push(c);
      const names = seen.map((x) => x.state);
      // Look for `wanted` as a subsequence of what was seen.
      let i = 0;
      for (const n of names) if (n === wanted[i]) i++;
      if (i === wanted.length) {
        off();
        resolve(seen);
      }
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ktray-ssh-'));
  knownHosts = path.join(dir, 'ssh', 'known_hosts');
  userKeyFile = path.join(dir, 'id_user');
  strangerKeyFile = path.join(dir, 'id_stranger');
  lockedKeyFile = path.join(dir, 'id_locked');
  await writeFile(userKeyFile, userKey.private, { mode: 0o600 });
  await writeFile(strangerKeyFile, strangerKey.private, { mode: 0o600 });
  await writeFile(lockedKeyFile, lockedKey.private, { mode: 0o600 });
  server = await startServer(hostKey.private, [parsed(userKey.public), parsed(lockedKey.public)]);
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  server.refuse = false;
  server.noForwarding = false;
  server.maxSessions = null;
  server.path = null;
  await rm(path.dirname(knownHosts), { recursive: true, force: true });
});

afterAll(async () => {
  for (const c of children) killGroup(c);
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('host keys', () => {
  it('refuses an unknown host key, with its fingerprint, before authenticating', async () => {
    const before = server.authenticated;
    const s = session();
    const err = await failure(s.connect());
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.host).toBe('fake');
    expect(err.detail?.fingerprint).toBe(fingerprintSha256(server.hostKeyBlob));
    expect(err.message).toContain(fingerprintSha256(server.hostKeyBlob));
    expect(err.hint).toContain('ktray trust fake');
    expect(server.authenticated).toBe(before);
    expect(s.state).toBe('idle');
    expect(s.lastError?.code).toBe('HOST_KEY_UNKNOWN');
  });

  it('accepts a key known_hosts holds', async () => {
    await trustServer();
    const s = session();
    await s.connect();
    expect(s.state).toBe('connected');
    expect(s.lastError).toBeNull();
  });

  it('refuses a changed key, naming the file and line that disagree', async () => {
    await mkdir(path.dirname(knownHosts), { recursive: true });
    const stale = parsed(otherHostKey.public).getPublicSSH();
    await writeFile(knownHosts, `# keys\n${knownHostsLine('127.0.0.1', server.port, stale)}\n`);
    const err = await failure(session().connect());
    expect(err.code).toBe('HOST_KEY_CHANGED');
    expect(err.message).toContain(`${knownHosts}:2`);
    expect(err.detail).toMatchObject({ file: knownHosts, line: 2, fingerprint: fingerprintSha256(server.hostKeyBlob) });
    expect(err.hint).toContain('ssh-keygen -R');
    // Nothing was changed in known_hosts.
    expect(await readFile(knownHosts, 'utf8')).toBe(`# keys\n${knownHostsLine('127.0.0.1', server.port, stale)}\n`);
  });

  it('under StrictHostKeyChecking accept-new, records the key and says so', async () => {
    const notices: string[] = [];
    const s = session({ strictHostKeyChecking: 'accept-new' }, { notice: (m) => notices.push(m) });
    await s.connect();
    expect(s.state).toBe('connected');
    expect(await readFile(knownHosts, 'utf8')).toBe(knownHostsLine('127.0.0.1', server.port, server.hostKeyBlob) + '\n');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(fingerprintSha256(server.hostKeyBlob));
    expect(notices[0]).toContain(knownHosts);
    // From now on a strict session trusts it.
    await session().connect();
  });

  it('fetchHostKey shows the key without authenticating', async () => {
    const before = server.authenticated;
    const seen = await session().fetchHostKey();
    expect(seen).toMatchObject({ hostname: '127.0.0.1', port: server.port, keyType: 'ssh-ed25519', known: false, knownHostsFile: knownHosts });
    expect(seen.fingerprint).toBe(fingerprintSha256(server.hostKeyBlob));
    expect(server.authenticated).toBe(before);
  });
});

describe('authentication', () => {
  it('says which keys it tried when all are refused', async () => {
    await trustServer();
    const missing = path.join(dir, 'id_missing');
    const err = await failure(session({ identityFiles: [missing, strangerKeyFile] }).connect());
    expect(err.code, JSON.stringify({ message: err.message, hint: err.hint })).toBe('AUTH_FAILED');
    expect(err.hint).toContain(`${missing} (not found)`);
    expect(err.hint).toContain(`${strangerKeyFile} (ssh-ed25519, refused)`);
  });

  it('says that a key with an OpenSSH certificate beside it went without it', async () => {
    await trustServer();
    // A real certificate for the key, signed by a test CA with ssh-keygen -s.
    const keyFile = path.join(dir, 'id_certified');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'user_ca')]);
    execFileSync('ssh-keygen', ['-q', '-s', path.join(dir, 'user_ca'), '-I', 'ada', '-n', 'ada', `${keyFile}.pub`]);
    const err = await failure(session({ identityFiles: [keyFile] }).connect());
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toContain(`${keyFile} (ssh-ed25519, refused; its certificate ${keyFile}-cert.pub was not offered: ssh2 cannot sign with OpenSSH certificates; \`ktray hosts`);
  });

  it('asks for the passphrase of an encrypted key', async () => {
    await trustServer();
    const asked: Array<{ host: string; keyFile?: string }> = [];
    const s = session({ identityFiles: [lockedKeyFile] }, { askPassphrase: async (p) => (asked.push(p), PASSPHRASE) });
    await s.connect();
    expect(asked).toEqual([{ host: 'fake', kind: 'passphrase', keyFile: lockedKeyFile }]);
    // A reconnect does not ask again.
    const back = states(s, ['connected']);
    server.dropAll();
    await s.check();
    await back;
    expect(s.state).toBe('connected');
    expect(asked).toHaveLength(1);
  });

  it('reports a wrong passphrase', async () => {
    await trustServer();
    const err = await failure(session({ identityFiles: [lockedKeyFile] }, { askPassphrase: async () => 'wrong' }).connect());
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toContain(`${lockedKeyFile} (wrong passphrase)`);
  });

  it('says how to unlock an encrypted key when nobody can be asked', async () => {
    await trustServer();
    const err = await failure(session({ identityFiles: [lockedKeyFile] }).connect());
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/encrypted; no passphrase given.*ssh-add/);
  });
});

describe('a connected session', () => {
  it('runs a script with sh and returns its output and exit code', async () => {
    await trustServer();
    const s = session();
    const res = await s.run('x="it works"\necho "$x"\necho oops >&2\nexit 7\n');
    expect(res).toEqual({ code: 7, stdout: 'it works\n', stderr: 'oops\n' });
    // Connected on demand, and reused.
    expect(s.state).toBe('connected');
    const accepted = server.accepted;
    expect((await s.run('echo again')).stdout).toBe('again\n');
    expect(server.accepted).toBe(accepted);
  });

  it('runs commands one after another through one standing shell', async () => {
    await trustServer();
    const s = session();
    const before = server.execs;
    for (const word of ['one', 'two', 'three']) expect((await s.run(`echo ${word}`)).stdout).toBe(`${word}\n`);
    // A script's exit, an error or a syntax error stays inside its own sh.
    expect((await s.run('exit 3')).code).toBe(3);
    expect((await s.run('if then fi')).code).not.toBe(0);
    expect(await s.run('printf "no newline"; echo err >&2')).toEqual({ code: 0, stdout: 'no newline', stderr: 'err\n' });
    expect(server.execs - before).toBe(1);
  });

  it('runs commands side by side when the standing shell is busy', async () => {
    await trustServer();
    const s = session();
    const results = await Promise.all([1, 2, 3].map((n) => s.run(`sleep 0.2; echo ${n}`)));
    expect(results.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n']);
  });

  it('never puts a script in an exec request (sshd would show it in the host\'s process list)', async () => {
    await trustServer();
    const s = session();
    const before = server.commands.length;
    const secret = 'kernel-key-0f3c9a';
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => s.run(`KEY='${secret}'; sleep 0.2; echo ${n} "$KEY"`)));
    expect(results.map((r) => r.stdout)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `${n} ${secret}\n`));
    expect(new Set(server.commands.slice(before))).toEqual(new Set(['sh -s']));
  });

  it('opens at most a few shells side by side, and queues the rest', async () => {
    await trustServer();
    const s = session();
    await s.connect();
    const before = server.execs;
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, server.sessions)), 5);
    try {
      const results = await Promise.all([...Array(10).keys()].map((n) => s.run(`sleep 0.3; echo ${n}`)));
      expect(results.map((r) => r.stdout)).toEqual([...Array(10).keys()].map((n) => `${n}\n`));
    } finally {
      clearInterval(watch);
    }
    expect(server.execs - before).toBe(MAX_SHELLS);
    expect(most).toBeLessThanOrEqual(MAX_SHELLS);
  });

  it('makes do with fewer shells when the server allows fewer sessions', async () => {
    await trustServer();
    server.maxSessions = 2;
    const s = session();
    const results = await Promise.all([...Array(5).keys()].map((n) => s.run(`sleep 0.2; echo ${n}`)));
    expect(results.map((r) => r.stdout)).toEqual([...Array(5).keys()].map((n) => `${n}\n`));
  });

  it('says so when the server allows no session at all, for every waiting command', async () => {
    await trustServer();
    server.maxSessions = 0;
    const s = session();
    const outcomes = await Promise.allSettled([1, 2, 3].map(() => s.run('echo never')));
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'REMOTE_COMMAND_FAILED', host: 'fake', hint: expect.stringContaining('MaxSessions') });
    }
  });

  it('counts the wait for a shell in a command\'s time limit', async () => {
    await trustServer();
    server.maxSessions = 1;
    const s = session();
    const long = s.run('sleep 1; echo done');
    await expect(s.run('echo late', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT', host: 'fake' });
    expect((await long).stdout).toBe('done\n');
  });

  it('feeds scripts to sh -s on stdin on a host without base64, running each once', async () => {
    await trustServer();
    const bin = path.join(dir, 'bin-no-base64');
    await mkdir(bin, { recursive: true });
    await symlink('/bin/sh', path.join(bin, 'sh')).catch(() => {});
    server.path = bin;
    const s = session();
    const before = server.commands.length;
    const marker = path.join(dir, 'ran-once');
    expect((await s.run(`echo x >> ${marker}; echo first`)).stdout).toBe('first\n');
    expect((await s.run('echo second')).stdout).toBe('second\n');
    expect(await readFile(marker, 'utf8')).toBe('x\n');
    // The shell said it could not, once; from then on stdin only.
    expect(server.commands.slice(before)).toEqual(['sh -s', 'sh -s', 'sh -s']);
  });

  it('gives up on a command that takes too long, and the next one still runs', async () => {
    await trustServer();
    const s = session();
    await expect(s.run('sleep 5', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT', host: 'fake' });
    expect((await s.run('echo after')).stdout).toBe('after\n');
  });

  it('fails a command cut off by a dropped connection, rather than returning its partial output', async () => {
    await trustServer();
    const s = session({}, { wanted: () => false });
    await s.connect();
    const result = s.run('echo started; sleep 30; echo never').then(
      (r) => ({ resolved: r }),
      (e: unknown) => ({ rejected: e }),
    );
    // Drop once the command is surely running on the server.
    await until(() => execRunning > 0);
    server.dropAll();
    const outcome = await result;
    expect(outcome).toHaveProperty('rejected');
    expect((outcome as { rejected: unknown }).rejected).toBeInstanceOf(KtrayError);
    expect((outcome as { rejected: KtrayError }).rejected.host).toBe('fake');
  });

  it('opens streams to ports on the host', async () => {
    await trustServer();
    const echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    try {
      const stream = await session().openStream('127.0.0.1', (echo.address() as net.AddressInfo).port);
      const back = new Promise<string>((resolve) => {
        let got = '';
        stream.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.length >= 5) resolve(got);
        });
      });
      stream.write('hello');
      expect(await back).toBe('hello');
      stream.destroy();
    } finally {
      await new Promise((r) => echo.close(r));
    }
  });

  it('explains a forward the server refuses', async () => {
    // sshd under AllowTcpForwarding no answers reason 1 (administratively
    // prohibited) with the description "open failed"; checked against OpenSSH.
    await trustServer();
    server.noForwarding = true;
    const err = await failure(session().openStream('127.0.0.1', 9));
    expect(err.code).toBe('FORWARD_REFUSED');
    expect(err.message).toContain('127.0.0.1:9');
    expect(err.hint).toMatch(/AllowTcpForwarding/);
  });

  it('keeps a forwarded channel\'s receive window topped up, and the bytes intact', async () => {
    await trustServer();
    expect(ssh2Internals, 'ssh2 internals moved: see ssh2-window.ts').not.toBeNull();
    const size = 6 * 1024 * 1024;
    const payload = Buffer.alloc(size, 7);
    const source = net.createServer((c) => c.end(payload));
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', () => r()));
    const adjust = vi.spyOn(ssh2Internals!, 'windowAdjust');
    try {
      const stream = await session().openStream('127.0.0.1', (source.address() as net.AddressInfo).port);
      const got: Buffer[] = [];
      await new Promise<void>((resolve) => {
        stream.on('data', (d: Buffer) => got.push(d));
        stream.on('end', () => resolve());
      });
      expect(Buffer.concat(got).equals(payload)).toBe(true);
      // ssh2 alone would grant window 3 times for 6 MiB (at each half of 2 MiB);
      // topped up every few packets it is dozens.
      expect(adjust.mock.calls.length).toBeGreaterThan(20);
    } finally {
      adjust.mockRestore();
      await new Promise((r) => source.close(r));
    }
  });

  it('comes back by itself after a drop while something needs it', async () => {
    await trustServer();
    const s = session({}, { wanted: () => true, backoff: { initialMs: 50, maxMs: 200 } });
    await s.connect();
    const seen = states(s, ['lost', 'connected']);
    server.dropAll();
    const changes = await seen;
    const lost = changes.find((c) => c.state === 'lost')!;
    expect(lost.error).toMatchObject({ code: 'HOST_DOWN', host: 'fake' });
    expect(s.state).toBe('connected');
    expect((await s.run('echo back')).stdout).toBe('back\n');
  });

  it('goes idle after a drop when nothing needs it', async () => {
    await trustServer();
    const s = session({}, { wanted: () => false });
    await s.connect();
    const accepted = server.accepted;
    const idle = states(s, ['idle']);
    server.dropAll();
    await idle;
    expect(s.lastError).toBeNull();
    // The next command connects again.
    expect((await s.run('echo hi')).stdout).toBe('hi\n');
    expect(server.accepted).toBe(accepted + 1);
  });

  it('fails fast with HOST_DOWN while lost after a recent failure', async () => {
    await trustServer();
    const s = session({}, { wanted: () => true, backoff: { initialMs: 60_000, maxMs: 120_000 } });
    await s.connect();
    server.refuse = true;
    const failedReconnect = new Promise<void>((resolve) => {
      const off = s.onStateChange((c) => {
        if (c.state === 'lost' && c.error && c.error.code !== 'HOST_DOWN') {
          off();
          resolve();
        }
      });
    });
    server.dropAll();
    await failedReconnect;
    // The failed attempt's own promise settles just after its state change.
    await new Promise((r) => setImmediate(r));
    const accepted = server.accepted;
    const err = await failure(s.connect());
    expect(err.code).toBe('HOST_DOWN');
    expect(err.host).toBe('fake');
    expect(err.message).toMatch(/unreachable/);
    // Answered from what it knew: no new connection was tried.
    expect(server.accepted).toBe(accepted);
    const run = await failure(s.run('true'));
    expect(run.code).toBe('HOST_DOWN');
    // check() tries now, whatever the backoff, and succeeds once the host is back.
    server.refuse = false;
    await s.check();
    expect(s.state).toBe('connected');
  });

  it('is done after close()', async () => {
    await trustServer();
    const s = session();
    await s.connect();
    await s.close();
    expect(s.state).toBe('idle');
    expect((await failure(s.connect())).code).toBe('HOST_DOWN');
  });
});
