// The opt-in OS keychain, for real: a Secret Service (gnome-keyring-daemon on a
// D-Bus session of its own, in a private HOME), real sshd instances that log in
// through PAM (a password; a password and a one-time code), and the real
// `ktray` command in a terminal (a pty from script(1)) answering its prompts.
// The first login asks and keeps the password when told to, the next does not
// ask, a changed password is asked again and replaces the kept one, --forget-
// secrets removes it, a one-time code is never kept or offered for keeping,
// and the password is in no argv (here or on the remote), log or file of ktray.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argvsHolding, watchLocalArgv, watchRemoteArgv, type ArgvWatch } from './harness/argv-watch';
import { runJupyterCheck } from './harness/jupyter';
import { runOk } from './harness/proc';
import { newTotpSecret, totpCode } from './harness/totp';
import { startRemoteHost, type RemoteHost } from './harness/remote-host';
import { filesHolding, startSecretService, type SecretService } from './harness/secret-service';
import { cliWorld, type CliWorld } from './ktray-cli';

const ROOT = process.getuid?.() === 0;
if (!ROOT) console.warn('ssh-keychain tests skipped: PAM logins need the remote in namespaces of its own, which needs root');

const ENTRY = fileURLToPath(new URL('../bin/ktray.js', import.meta.url));
const firstPassword = `pw1-${randomBytes(6).toString('hex')}`;
const secondPassword = `pw2-${randomBytes(6).toString('hex')}`;
const otpPassword = `pw3-${randomBytes(6).toString('hex')}`;
const totpSecret = newTotpSecret();

let keyring: SecretService;
let pwRemote: RemoteHost;
let otpRemote: RemoteHost;
const worlds: CliWorld[] = [];


const totp = (): Promise<string> => totpCode(totpSecret);

beforeAll(async () => {
  if (!ROOT) return;
  [keyring, pwRemote, otpRemote] = await Promise.all([
    startSecretService(),
    startRemoteHost({ auth: { kind: 'password', password: firstPassword } }),
    startRemoteHost({ auth: { kind: 'otp', password: otpPassword, totpSecret } }),
  ]);
}, 180_000);

afterAll(async () => {
  for (const w of worlds) await w.dispose();
  await Promise.all([pwRemote?.stop(), otpRemote?.stop()]);
  await keyring?.stop();
});

async function world(remote: RemoteHost): Promise<CliWorld> {
  const file = path.join(remote.dir, 'ssh_config.keychain');
  await writeFile(file, await readFile(remote.sshConfigFile, 'utf8'), { mode: 0o600 });
  const w = await cliWorld(file, { env: () => keyring.env });
  worlds.push(w);
  return w;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `ktray ARGS` in a terminal of its own (script(1) makes the pty), typing an
 * answer whenever the output since the last one ends in a question `answer`
 * knows; what it asked is in `asked`, in order.
 */
function inTerminal(
  w: CliWorld,
  args: string[],
  answer: (question: string) => Promise<string | null>,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; output: string; asked: string[] }> {
  const command = [process.execPath, ENTRY, ...args, '--ssh-config', w.sshConfig].map(q).join(' ');
  const env = { ...process.env, ...keyring.env, KTRAY_HOME: w.home, JUPYTER_RUNTIME_DIR: w.runtimeDir, SSH_AUTH_SOCK: '', TERM: 'dumb', ...extraEnv };
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let pending = '';
  const asked: string[] = [];
  let busy = false;
  const onData = async (d: Buffer) => {
    output += d.toString('utf8');
    pending += d.toString('utf8');
    if (busy) return;
    const line = pending.split(/\r?\n/).pop() ?? '';
    if (!/[:?\]] $/.test(line)) return;
    busy = true;
    const reply = await answer(line.trim());
    busy = false;
    if (reply === null) return;
    asked.push(line.trim());
    pending = '';
    child.stdin.write(`${reply}\r`);
  };
  child.stdout.on('data', (d: Buffer) => void onData(d));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ktray ${args.join(' ')} in a terminal timed out; it said:\n${output}`));
    }, 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output, asked });
    });
  });
}

const KEEP = /^Keep it in the Secret Service \(secret-tool\) for next time\? \[y\/N\]$/;

describe.skipIf(!ROOT)('the opt-in OS keychain (Secret Service through secret-tool)', () => {
  it('keeps a password when told to, then logs in without asking; a changed one is asked again and replaces it; --forget-secrets removes it', async () => {
    const w = await world(pwRemote);
    const host = pwRemote.alias;
    const watches: ArgvWatch[] = [watchLocalArgv()!, watchRemoteArgv(pwRemote)!];
    const attrs = { application: 'ktray', host };

    // 1. Asked, and kept because the user says y.
    const first = await inTerminal(w, ['ls', host], async (question) =>
      question.endsWith("password:") ? firstPassword : KEEP.test(question) ? 'y' : null,
    );
    expect(first.code, first.output).toBe(0);
    expect(first.asked).toEqual([`(${host}) ${pwRemote.user}@127.0.0.1's password:`, 'Keep it in the Secret Service (secret-tool) for next time? [y/N]']);
    expect(keyring.secrets(attrs)).toEqual([firstPassword]);
    expect(keyring.lookup({ ...attrs, kind: 'password', account: `${pwRemote.user}@127.0.0.1:${pwRemote.port}` })).toBe(firstPassword);

    // 2. A new agent (a new login): nothing asked in the terminal, and a kernel runs code.
    expect((await w.run(['agent', 'stop'])).code).toBe(0);
    const second = await inTerminal(w, ['start', host, '--python', pwRemote.python], async () => {
      throw new Error('asked a question with the password kept');
    });
    expect(second.code, second.output).toBe(0);
    expect(second.asked).toEqual([]);
    expect(second.output).not.toMatch(/password/i);
    const id = second.output.trim().split(/\s+/).pop()!;
    const attached = await w.json<{ localConnectionFile: string }>(['attach', id, '--frontend', 'none']);
    expect((await runJupyterCheck(attached.localConnectionFile, 'import socket; socket.gethostname()')).result).toBe(`'${host}'`);
    expect((await w.run(['stop', id])).code).toBe(0);

    // 3. The password changes on the server: the kept one is refused, removed, the user asked, the new one kept.
    await runOk('chpasswd', [], { input: `${pwRemote.user}:${secondPassword}\n` });
    expect((await w.run(['agent', 'stop'])).code).toBe(0);
    const third = await inTerminal(w, ['ls', host], async (question) =>
      question.endsWith("password:") ? secondPassword : KEEP.test(question) ? 'y' : null,
    );
    expect(third.code, third.output).toBe(0);
    expect(third.asked).toEqual([`(${host}) ${pwRemote.user}@127.0.0.1's password:`, 'Keep it in the Secret Service (secret-tool) for next time? [y/N]']);
    expect(keyring.secrets(attrs)).toEqual([secondPassword]);

    // 4. Forgotten on request.
    const forget = await w.run(['hosts', host, '--forget-secrets']);
    expect(forget.stdout.trim()).toBe(`Removed 1 secret kept for ${host} from the Secret Service (secret-tool).`);
    expect(keyring.count(attrs)).toBe(0);
    expect((await w.run(['hosts', host, '--forget-secrets'])).stdout.trim()).toBe(`Nothing was kept for ${host} in the Secret Service (secret-tool).`);
    // It names the host's key files, whose passphrases the app forgets from its own store too.
    const again = await w.json<{ removed: number; keyFiles: string[] }>(['hosts', host, '--forget-secrets']);
    expect(again.removed).toBe(0);
    expect(again.keyFiles.length).toBeGreaterThan(0);
    for (const f of again.keyFiles) expect(path.isAbsolute(f), f).toBe(true);

    // And typed "n": asked, used, not kept.
    expect((await w.run(['agent', 'stop'])).code).toBe(0);
    const declined = await inTerminal(w, ['ls', host], async (question) => (question.endsWith("password:") ? secondPassword : KEEP.test(question) ? 'n' : null));
    expect(declined.code, declined.output).toBe(0);
    expect(keyring.count(attrs)).toBe(0);

    const [here, there] = await Promise.all(watches.map((x) => x.stop()));
    expect(here.scans).toBeGreaterThan(0);
    for (const pw of [firstPassword, secondPassword]) {
      expect(argvsHolding(here.cmdlines, pw), 'argvs here holding a password').toEqual([]);
      expect(argvsHolding(there.cmdlines, pw), 'argvs on the remote holding a password').toEqual([]);
      expect(await filesHolding(w.home, pw), 'files under KTRAY_HOME holding a password').toEqual([]);
    }
    // The sampler saw the keychain tool run: the check looked where the secret went.
    expect(here.cmdlines.some((c) => c.includes('secret-tool store'))).toBe(true);
    await runOk('chpasswd', [], { input: `${pwRemote.user}:${firstPassword}\n` });
  });

  it('offers nothing where no keychain can be reached, and says why once', async () => {
    const w = await world(pwRemote);
    const host = pwRemote.alias;
    const noBus = { DBUS_SESSION_BUS_ADDRESS: '' };
    const answer = async (question: string) => (question.endsWith('password:') ? firstPassword : /\[y\/N\]$/.test(question) ? 'y' : null);
    const first = await inTerminal(w, ['ls', host], answer, noBus);
    expect(first.code, first.output).toBe(0);
    expect(first.asked).toEqual([`(${host}) ${pwRemote.user}@127.0.0.1's password:`]);
    expect(first.output).toContain('It cannot be kept in a keychain: there is no D-Bus session here (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached.');
    // The same agent, a new login: asked again, and not told again.
    pwRemote.dropConnections();
    await new Promise((r) => setTimeout(r, 500));
    const second = await inTerminal(w, ['ls', host], answer, noBus);
    expect(second.code, second.output).toBe(0);
    expect(second.asked).toEqual([`(${host}) ${pwRemote.user}@127.0.0.1's password:`]);
    expect(second.output).not.toContain('cannot be kept');
    expect(keyring.count({ application: 'ktray', host })).toBe(0);
  });

  it('keeps the password of a password + one-time-code login, never the code, and asks only for the code next time', async () => {
    const w = await world(otpRemote);
    const host = otpRemote.alias;
    const attrs = { application: 'ktray', host };
    const codes: string[] = [];
    const answer = async (question: string) => {
      if (question.endsWith('Password:')) return otpPassword;
      if (question.endsWith('Verification code:')) {
        codes.push(await totp());
        return codes[codes.length - 1];
      }
      return KEEP.test(question) ? 'y' : null;
    };
    const first = await inTerminal(w, ['ls', host], answer);
    expect(first.code, first.output).toBe(0);
    // Offered once, after the password; the code is never offered for keeping.
    expect(first.asked).toEqual([`(${host}) Password:`, 'Keep it in the Secret Service (secret-tool) for next time? [y/N]', `(${host}) Verification code:`]);
    expect(keyring.secrets(attrs)).toEqual([otpPassword]);

    expect((await w.run(['agent', 'stop'])).code).toBe(0);
    const second = await inTerminal(w, ['start', host, '--python', otpRemote.python], answer);
    expect(second.code, second.output).toBe(0);
    expect(second.asked).toEqual([`(${host}) Verification code:`]);
    const id = second.output.trim().split(/\s+/).pop()!;
    const attached = await w.json<{ localConnectionFile: string }>(['attach', id, '--frontend', 'none']);
    expect((await runJupyterCheck(attached.localConnectionFile, '6*7')).result).toBe('42');
    expect((await w.run(['stop', id])).code).toBe(0);

    expect(keyring.secrets(attrs)).toEqual([otpPassword]);
    for (const code of codes) expect(keyring.secrets({ application: 'ktray' })).not.toContain(code);
    expect(await filesHolding(w.home, otpPassword), 'files under KTRAY_HOME holding the password').toEqual([]);
  });
});
