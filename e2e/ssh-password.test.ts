// Password and keyboard-interactive logins against real sshd instances that log in through PAM
// (pam_unix, and Debian's pam_google_authenticator with codes from oathtool): every prompt is
// asked of the interactive client, a wrong answer is refused naming the prompt, a reconnect
// asks for a fresh code and says so in a notice, and nothing typed reaches an argv.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgent, hostAgent, type HostedAgent } from '../electron/core/agent/agent-host';
import type { AgentEvent, AuthPrompt } from '../electron/shared/types';
import { newTotpSecret, totpCode } from './harness/totp';
import { argvsHolding, watchLocalArgv, watchRemoteArgv } from './harness/argv-watch';
import { runJupyterCheck } from './harness/jupyter';
import { runOk, sleep } from './harness/proc';
import { until } from './harness/wait';
import { readFile } from 'node:fs/promises';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';

const ROOT = process.getuid?.() === 0;
if (!ROOT) console.warn('ssh-password tests skipped: PAM logins need the remote in namespaces of its own, which needs root');

const password = `pw-${randomBytes(6).toString('hex')}`;
const totpSecret = newTotpSecret();
let pwRemote: RemoteHost;
let otpRemote: RemoteHost;
let base: string;
const agents: HostedAgent[] = [];
const clients: { dispose(): void }[] = [];


const totp = (): Promise<string> => totpCode(totpSecret);

beforeAll(async () => {
  if (!ROOT) return;
  base = await mkdtemp(path.join(tmpdir(), 'kt-password-'));
  [pwRemote, otpRemote] = await Promise.all([
    startRemoteHost({ auth: { kind: 'password', password } }),
    startRemoteHost({ auth: { kind: 'otp', password, totpSecret } }),
  ]);
});

afterAll(async () => {
  for (const c of clients) c.dispose();
  for (const a of agents) await a.close();
  await Promise.all([pwRemote?.stop(), otpRemote?.stop()]);
  if (base) await rm(base, { recursive: true, force: true });
});

async function servedAgent(name: string, remote: RemoteHost, extra = '') {
  const file = path.join(base, `${name}.ssh_config`);
  await writeFile(file, `${await readFile(remote.sshConfigFile, 'utf8')}${extra}`, { mode: 0o600 });
  const hosted = await hostAgent({ mode: 'headless', home: path.join(base, name), runtimeDir: path.join(base, `${name}-rt`), sshConfigFile: file, serve: true });
  agents.push(hosted);
  const events: AgentEvent[] = [];
  hosted.connection.onEvent((e) => events.push(e));
  /** An interactive client (a terminal, the app) answering the agent's prompts. */
  const client = async (answer: (p: AuthPrompt) => Promise<string | null>) => {
    const c = (await connectAgent({ home: path.join(base, name), askPassphrase: answer }))!;
    clients.push(c);
    return c;
  };
  return { hosted, events, client };
}

describe.skipIf(!ROOT)('password and keyboard-interactive logins', () => {
  it('asks for the password (SSH password method), refuses a wrong one, and never puts it in an argv', async () => {
    const { client } = await servedAgent('pw', pwRemote);
    const asked: AuthPrompt[] = [];
    const wrong = await client(async (p) => (asked.push(p), 'not-the-password'));
    await expect(wrong.kernels({ host: pwRemote.alias, refresh: true })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: `${pwRemote.alias} (${pwRemote.user}@127.0.0.1:${pwRemote.port}) refused what was typed for password (password) 3 times.`,
      hint: expect.stringContaining('Check what you typed'),
    });
    // ssh's NumberOfPasswordPrompts (3 unless set), asking again in ssh's words. (With no keychain
    // here, the first prompt also says why it cannot be kept: `keep`.)
    const prompt = { host: pwRemote.alias, kind: 'password', prompt: `${pwRemote.user}@127.0.0.1's password: `, echo: false };
    const again = { ...prompt, instructions: 'Permission denied, please try again.' };
    expect(asked).toMatchObject([prompt, again, again]);
    wrong.dispose();

    const here = watchLocalArgv()!;
    const there = watchRemoteArgv(pwRemote)!;
    const right = await client(async (p) => (asked.push(p), password));
    const k = await right.start({ host: pwRemote.alias, python: pwRemote.python });
    const { localConnectionFile } = await right.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, 'import socket; socket.gethostname()')).result).toBe(`'${pwRemote.alias}'`);
    await right.stop({ id: k.id });
    const [seenHere, seenThere] = await Promise.all([here.stop(), there.stop()]);
    expect(seenHere.scans).toBeGreaterThan(0);
    expect(argvsHolding(seenHere.cmdlines, password), 'argvs here holding the password').toEqual([]);
    expect(argvsHolding(seenThere.cmdlines, password), 'argvs on the remote holding the password').toEqual([]);
    // Asked once per connection: the kernel's start, attach and stop shared it.
    expect(asked).toHaveLength(4);
  });

  it('honours NumberOfPasswordPrompts: asks again after a refusal on the same connection, and no more often than it says', async () => {
    // One prompt only: refused at once.
    const one = await servedAgent('pw-one', pwRemote, '  NumberOfPasswordPrompts 1\n');
    const asked: AuthPrompt[] = [];
    const c1 = await one.client(async (p) => (asked.push(p), 'not-the-password'));
    await expect(c1.kernels({ host: pwRemote.alias, refresh: true })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: `${pwRemote.alias} (${pwRemote.user}@127.0.0.1:${pwRemote.port}) refused what was typed for password (password).`,
    });
    expect(asked).toHaveLength(1);

    // Two: a typo, then the right one, in one login (one connection through the bridge).
    const two = await servedAgent('pw-two', pwRemote, '  NumberOfPasswordPrompts 2\n');
    const typed: AuthPrompt[] = [];
    const before = pwRemote.acceptedCount();
    const c2 = await two.client(async (p) => (typed.push(p), typed.length === 1 ? 'typo' : password));
    expect(await c2.kernels({ host: pwRemote.alias, refresh: true })).toEqual([]);
    expect(typed.map((p) => p.instructions ?? null)).toEqual([null, 'Permission denied, please try again.']);
    expect(pwRemote.acceptedCount() - before).toBe(1);
  });

  it('asks every PAM prompt (Password:, Verification code:), refuses a wrong code, and asks again on reconnect with a notice', async () => {
    const { client, events } = await servedAgent('otp', otpRemote);
    const asked: AuthPrompt[] = [];
    const answers = (code: () => Promise<string>) => async (p: AuthPrompt) => {
      asked.push(p);
      return /^Password:/.test(p.prompt ?? '') ? password : /^Verification code:/.test(p.prompt ?? '') ? code() : null;
    };
    const wrong = await client(answers(async () => ((Number(await totp()) + 1) % 1e6).toString().padStart(6, '0')));
    await expect(wrong.kernels({ host: otpRemote.alias, refresh: true })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: `${otpRemote.alias} (${otpRemote.user}@127.0.0.1:${otpRemote.port}) refused what was typed for keyboard-interactive (Password:, Verification code:) 3 times.`,
    });
    // As ssh: NumberOfPasswordPrompts (3) rounds, each again saying the last was refused.
    const refused = 'That was refused; try again.';
    expect(asked.map((p) => [p.kind, p.prompt, p.echo, p.instructions || null])).toEqual([
      ['server', 'Password: ', false, null],
      ['server', 'Verification code: ', false, null],
      ['server', 'Password: ', false, refused],
      ['server', 'Verification code: ', false, refused],
      ['server', 'Password: ', false, refused],
      ['server', 'Verification code: ', false, refused],
    ]);
    wrong.dispose();

    // This client answers until told to leave its prompts unanswered (the user walked away).
    let away = false;
    const answering = answers(totp);
    const right = await client(async (p) => (away ? (asked.push(p), null) : answering(p)));
    const k = await right.start({ host: otpRemote.alias, python: otpRemote.python });
    const { localConnectionFile } = await right.attach({ id: k.id });
    expect((await runJupyterCheck(localConnectionFile, '6*7')).result).toBe('42');
    expect(asked).toHaveLength(8);
    expect(events.some((e) => e.type === 'notice' && e.attention)).toBe(false);

    // The link drops; the attached kernel wants the host back, and that needs a fresh code.
    otpRemote.dropConnections();
    let result: string | null = null;
    for (let i = 0; i < 20 && result !== '42'; i++) {
      result = (await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 10 })).result;
      if (result !== '42') await sleep(500);
    }
    expect(result).toBe('42');
    expect(asked.slice(8).map((p) => p.prompt)).toEqual(['Password: ', 'Verification code: ']);
    const notices = events.filter((e): e is Extract<AgentEvent, { type: 'notice' }> => e.type === 'notice' && e.attention === true);
    expect(notices).toMatchObject([{ host: otpRemote.alias, message: `${otpRemote.alias} asks for "Password:" to reconnect: answer it in the Kernel Tray window, or run \`ktray reconnect ${otpRemote.alias}\` in a terminal.` }]);

    // Dropped again, nobody answering: asked once, then it waits for the user rather than
    // retrying (by its backoff, or for each connection to the kernel's tunnel) into more prompts.
    away = true;
    otpRemote.dropConnections();
    await until(async () => (await right.hosts({})).find((h) => h.id === otpRemote.alias)?.error?.code === 'AUTH_FAILED', { timeoutMs: 30_000, what: 'the unanswered reconnect to fail' });
    expect((await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 5 })).result).not.toBe('42');
    await sleep(5000);
    expect(asked.slice(10).map((p) => p.prompt)).toEqual(['Password: ']);
    expect((await right.hosts({})).find((h) => h.id === otpRemote.alias)?.connection).toBe('lost');
    away = false;
    expect((await right.reconnect({ host: otpRemote.alias }))[0].connection).toBe('connected');
    expect(asked.slice(11).map((p) => p.prompt)).toEqual(['Password: ', 'Verification code: ']);
    expect((await runJupyterCheck(localConnectionFile, '6*7', { timeoutSec: 20 })).result).toBe('42');
    await right.stop({ id: k.id });
  });
});
