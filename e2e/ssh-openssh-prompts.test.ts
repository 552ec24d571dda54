// The OpenSSH transport asks what ssh asks: its master runs with our SSH_ASKPASS helper, so a
// key's passphrase (not in ssh-agent), a password and a one-time code reach the user the way the
// ssh2 transport's prompts do: a real `ktray` run in a pseudo-terminal answering on its terminal,
// and an interactive client of the agent answering PAM's prompts (pam_unix + Debian's
// pam_google_authenticator, codes from oathtool). Wrong answers are refused, a reconnect asks
// again with one notice, and nothing typed reaches an argv here or on the remote, or a log.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import type { AgentEvent, AuthPrompt } from '../electron/shared/types';
import { newTotpSecret, totpCode } from './harness/totp';
import { argvsHolding, watchLocalArgv, watchRemoteArgv } from './harness/argv-watch';
import { runJupyterCheck } from './harness/jupyter';
import { cliWorld, type CliWorld } from './ktray-cli';
import { runOk, sleep, SYSTEM_PATH } from './harness/proc';
import { until } from './harness/wait';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

const ROOT = process.getuid?.() === 0;
if (!ROOT) console.warn('OpenSSH prompt tests skipped: another user\'s view of argvs and PAM logins need root');

const password = `pw-${randomBytes(6).toString('hex')}`;
const totpSecret = newTotpSecret();
let keyRemote: RemoteHost;
let otpRemote: RemoteHost;
let base: string;
const agents: HostedAgent[] = [];
const clients: { dispose(): void }[] = [];
const worlds: CliWorld[] = [];


const totp = (): Promise<string> => totpCode(totpSecret);

beforeAll(async () => {
  if (!ROOT) return;
  base = await mkdtemp(path.join(tmpdir(), 'kt-openssh-prompts-'));
  [keyRemote, otpRemote] = await Promise.all([startRemoteHost(), startRemoteHost({ auth: { kind: 'otp', password, totpSecret } })]);
});

afterAll(async () => {
  for (const c of clients) c.dispose();
  for (const a of agents) await a.close();
  for (const w of worlds) await w.dispose();
  await Promise.all([keyRemote?.stop(), otpRemote?.stop()]);
  if (base) await rm(base, { recursive: true, force: true });
});

/** Every file under dir (the agent's home: its log, state), as text. */
async function filesUnder(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const texts = await Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(path.join(e.parentPath, e.name), 'utf8').catch(() => '')));
  return texts.join('\n');
}

/**
 * `ktray ARGS` in a pseudo-terminal (util-linux script), as a user types: each time the
 * terminal shows `when`, `answer` is typed. Returns everything the terminal showed.
 */
function inTerminal(w: CliWorld, args: string[], when: RegExp, answer: () => string): Promise<{ code: number; shown: string; typed: number }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cmd = [process.execPath, path.join(root, 'bin/ktray.js'), ...args, '--ssh-config', w.sshConfig].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env = { PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`, HOME: process.env.HOME, KTRAY_HOME: w.home, JUPYTER_RUNTIME_DIR: w.runtimeDir, SSH_AUTH_SOCK: '', TERM: 'dumb' };
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { env, cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let shown = '';
    let answeredUpTo = 0;
    let typed = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ktray ${args.join(' ')} in a terminal timed out; it showed:\n${shown}`));
    }, 120_000);
    const onData = (d: Buffer) => {
      shown += d.toString('utf8');
      const rest = shown.slice(answeredUpTo);
      const m = when.exec(rest);
      if (m) {
        answeredUpTo += m.index + m[0].length;
        typed++;
        child.stdin.write(`${answer()}\r`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, shown: shown.replace(/\r/g, ''), typed });
    });
  });
}

describe.skipIf(!ROOT)('the OpenSSH transport asks what ssh asks', () => {
  it('asks a key passphrase on the terminal of a real ktray run (key not in ssh-agent); the kernel starts, attaches and runs code', async () => {
    // The harness's host with only the encrypted key; no ssh-agent (SSH_AUTH_SOCK is empty).
    const config = path.join(base, 'key.ssh_config');
    const text = (await readFile(keyRemote.sshConfigFile, 'utf8')).replace(/IdentityFile .*/, `IdentityFile ${keyRemote.encryptedIdentityFile}`);
    await writeFile(config, text, { mode: 0o600 });
    const w = await cliWorld(config);
    worlds.push(w);
    const set = await w.run(['hosts', keyRemote.alias, '--transport', 'openssh']);
    expect(set.code, set.stderr).toBe(0);

    // Without a terminal nothing can be asked: ssh runs with BatchMode=yes, and the error says so.
    const blind = await w.run(['ls', keyRemote.alias]);
    expect(blind.code).not.toBe(0);
    expect(blind.stderr).toContain('(the OpenSSH transport) did not connect');
    expect(blind.stderr).toContain('Permission denied (publickey)');
    expect(blind.stderr).toContain('BatchMode=yes');

    const here = watchLocalArgv()!;
    const there = watchRemoteArgv(keyRemote)!;
    const wrongFirst = { n: 0 };
    const r = await inTerminal(
      w,
      ['start', keyRemote.alias, '--python', keyRemote.python, '--attach', '--frontend', 'none'],
      /Passphrase for \S+ \([^)]+\): $/,
      // First a wrong one: ssh asks again, and the terminal says why.
      () => (wrongFirst.n++ === 0 ? 'not-the-passphrase' : keyRemote.passphrase),
    );
    expect(r.code, r.shown).toBe(0);
    expect(r.typed).toBe(2);
    expect(r.shown).toContain(`Passphrase for ${keyRemote.encryptedIdentityFile} (${keyRemote.alias}): `);
    expect(r.shown).toContain('Wrong passphrase; try again.');
    expect(r.shown).not.toContain(keyRemote.passphrase);
    const file = r.shown.split('\n').map((l) => l.trim()).find((l) => l.endsWith('.json'));
    expect(file, r.shown).toBeTruthy();
    expect((await runJupyterCheck(file!, 'import socket; socket.gethostname()')).result).toBe(`'${keyRemote.alias}'`);

    // It went through ssh, our master: one `ssh ... ControlMaster=yes ... -N HOST`, without BatchMode.
    const hosts = await w.json<{ id: string; transport?: { kind: string } }[]>(['hosts', keyRemote.alias, '--json']);
    expect(hosts[0].transport?.kind).toBe('openssh');
    const [seenHere, seenThere] = await Promise.all([here.stop(), there.stop()]);
    const masters = seenHere.cmdlines.filter((c) => /\bssh\b.*ControlMaster=yes.* -N /.test(c) && c.includes(keyRemote.alias));
    expect(masters.length, seenHere.cmdlines.filter((c) => c.includes('ssh')).join('\n')).toBeGreaterThan(0);
    expect(masters.every((c) => !c.includes('BatchMode'))).toBe(true);
    expect(seenHere.scans).toBeGreaterThan(0);
    expect(argvsHolding(seenHere.cmdlines, keyRemote.passphrase), 'argvs here holding the passphrase').toEqual([]);
    expect(argvsHolding(seenThere.cmdlines, keyRemote.passphrase), 'argvs on the remote holding the passphrase').toEqual([]);
    expect(await filesUnder(w.home), 'the agent home (its log, state)').not.toContain(keyRemote.passphrase);
    const stop = await w.run(['stop', (r.shown.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`${keyRemote.alias}/`)))!]);
    expect(stop.code, stop.stderr).toBe(0);
  });

  it('asks PAM\'s Password: and Verification code: through ssh, refuses a wrong code (ssh asks again), and asks again on reconnect with one notice', async () => {
    const file = path.join(base, 'otp.ssh_config');
    await writeFile(file, await readFile(otpRemote.sshConfigFile, 'utf8'), { mode: 0o600 });
    const home = path.join(base, 'otp');
    const hosted = await hostAgent({ mode: 'headless', home, runtimeDir: path.join(base, 'otp-rt'), sshConfigFile: file, serve: true });
    agents.push(hosted);
    const events: AgentEvent[] = [];
    hosted.connection.onEvent((e) => events.push(e));
    await hosted.connection.setTransport({ host: otpRemote.alias, transport: 'openssh' });
    const client = async (answer: (p: AuthPrompt) => Promise<string | null>) => {
      const c = (await connectAgent({ home, askPassphrase: answer }))!;
      clients.push(c);
      return c;
    };
    const asked: AuthPrompt[] = [];
    const codes: string[] = [];
    const answers = (code: () => Promise<string>) => async (p: AuthPrompt) => {
      asked.push(p);
      if (/^Password:/.test(p.prompt ?? '')) return password;
      if (/^Verification code:/.test(p.prompt ?? '')) {
        const c = await code();
        codes.push(c);
        return c;
      }
      return null;
    };
    const here = watchLocalArgv()!;
    const there = watchRemoteArgv(otpRemote)!;

    const wrong = await client(answers(async () => ((Number(await totp()) + 1) % 1e6).toString().padStart(6, '0')));
    await expect(wrong.kernels({ host: otpRemote.alias, refresh: true })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringMatching(
        new RegExp(`^${otpRemote.alias} \\(the OpenSSH transport\\) refused what was typed for keyboard-interactive \\(Password:, Verification code:\\) 3 times\\. ssh said: .*Permission denied`),
      ),
    });
    // ssh's NumberOfPasswordPrompts (3) rounds, the server's own words, each again saying the last was refused.
    expect(asked.map((p) => [p.kind, p.prompt, p.echo, p.instructions ?? null])).toEqual([
      ['server', 'Password: ', false, null],
      ['server', 'Verification code: ', false, null],
      ['server', 'Password: ', false, 'That was refused; try again.'],
      ['server', 'Verification code: ', false, 'That was refused; try again.'],
      ['server', 'Password: ', false, 'That was refused; try again.'],
      ['server', 'Verification code: ', false, 'That was refused; try again.'],
    ]);
    wrong.dispose();

    // The one client below answers until told to leave its prompts unanswered (walked away).
    let away = false;
    const answering = answers(totp);
    const right = await client(async (p) => (away ? (asked.push(p), null) : answering(p)));
    const k = await right.start({ host: otpRemote.alias, python: otpRemote.python });
    const { localConnectionFile } = await right.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, '6*7')).result).toBe('42');
    expect(asked).toHaveLength(8);
    expect(events.some((e) => e.type === 'notice' && e.attention)).toBe(false);
    expect((await right.hosts({})).find((h) => h.id === otpRemote.alias)?.transport?.kind).toBe('openssh');

    // The link drops: the master ends, and the attached kernel's reconnect needs a fresh code.
    otpRemote.dropConnections();
    let result: string | null = null;
    for (let i = 0; i < 30 && result !== '42'; i++) {
      result = (await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 10 })).result;
      if (result !== '42') await sleep(500);
    }
    expect(result).toBe('42');
    expect(asked.slice(8).map((p) => p.prompt)).toEqual(['Password: ', 'Verification code: ']);
    const notices = events.filter((e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice' && e.attention === true);
    expect(notices).toMatchObject([{ host: otpRemote.alias, message: `${otpRemote.alias} asks for "Password:" to reconnect: answer it in the Kernel Tray window, or run \`ktray reconnect ${otpRemote.alias}\` in a terminal.` }]);

    // Dropped again with nobody answering: asked once, then it waits for the user, not
    // retrying into more prompts (ssh itself would ask three rounds; the rest get no answer).
    away = true;
    otpRemote.dropConnections();
    await until(async () => (await right.hosts({})).find((h) => h.id === otpRemote.alias)?.error?.code === 'AUTH_FAILED', { timeoutMs: 30_000, what: 'the unanswered reconnect to fail' });
    // A connection to the kernel's tunnel does not ask either; nor does time (the old 1 s retries).
    expect((await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 5 })).result).not.toBe('42');
    await sleep(5000);
    expect(asked.slice(10).map((p) => p.prompt)).toEqual(['Password: ']);
    const lost = (await right.hosts({})).find((h) => h.id === otpRemote.alias)!;
    expect(lost.connection).toBe('lost');
    expect(lost.error).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining('asks for "Password:", and nothing answered') });
    // `ktray reconnect` is the user coming back: asked afresh, and in.
    away = false;
    const back = await right.reconnect({ host: otpRemote.alias });
    expect(back[0].connection).toBe('connected');
    expect(asked.slice(11).map((p) => p.prompt)).toEqual(['Password: ', 'Verification code: ']);
    expect((await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 20 })).result).toBe('42');
    await right.stop({ id: k.id });

    const [seenHere, seenThere] = await Promise.all([here.stop(), there.stop()]);
    expect(seenHere.scans).toBeGreaterThan(0);
    for (const secret of [password, ...codes]) {
      expect(argvsHolding(seenHere.cmdlines, secret), `argvs here holding ${secret === password ? 'the password' : 'a code'}`).toEqual([]);
      expect(argvsHolding(seenThere.cmdlines, secret), `argvs on the remote holding ${secret === password ? 'the password' : 'a code'}`).toEqual([]);
      expect(await filesUnder(home), 'the agent home').not.toContain(secret);
    }
  });
});
