// The OpenSSH transport's own parts, with the real ssh client: reconnect backoff (a host whose
// ProxyCommand fails, each try logged by that command), and the SSH_ASKPASS helper run as ssh runs it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../e2e/harness/wait';
import { askpassQuestion, startAskpass, type AskpassQuestion } from './openssh-askpass';
import { OpenSshHost } from './openssh-host';

const dir = mkdtempSync(join(tmpdir(), 'kt-openssh-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OpenSshHost reconnects', () => {
  it("backs off as the ssh2 session does (doubling to its maximum), not a flat retry", async () => {
    const tries = join(dir, 'tries');
    const config = join(dir, 'backoff.ssh_config');
    writeFileSync(config, `Host bo\n  HostName 127.0.0.1\n  ProxyCommand sh -c 'date +%%s%%N >> ${tries}; exit 1'\n  StrictHostKeyChecking yes\n  UserKnownHostsFile /dev/null\n`);
    const host = new OpenSshHost({ id: 'bo', configFile: config, userControlPath: null, reason: 'test', wanted: () => true, backoff: { initialMs: 200, maxMs: 800 } });
    try {
      await expect(host.connect()).rejects.toMatchObject({ code: 'HOST_UNREACHABLE', message: expect.stringContaining('the OpenSSH transport') });
      expect(host.state).toBe('lost');
      const times = () => (existsSync(tries) ? readFileSync(tries, 'utf8').trim().split('\n').map((l) => Number(BigInt(l) / 1_000_000n)) : []);
      await until(() => times().length >= 6, { timeoutMs: 30_000, what: 'six tries' });
      const t = times();
      const gaps = t.slice(1).map((x, i) => x - t[i]);
      // 200, 400, 800, then 800 (the maximum), each plus the try's own time.
      expect(gaps[0]).toBeGreaterThanOrEqual(200);
      expect(gaps[1]).toBeGreaterThanOrEqual(400);
      expect(gaps[2]).toBeGreaterThanOrEqual(800);
      expect(gaps[3]).toBeGreaterThanOrEqual(800);
      expect(gaps[4]).toBeGreaterThanOrEqual(800);
    } finally {
      await host.close();
    }
  });
});

describe('the SSH_ASKPASS helper', () => {
  it('reads ssh\'s prompts as ssh 9.2 words them', () => {
    expect(askpassQuestion("Enter passphrase for key '/home/u/.ssh/id_ed25519': ", '')).toEqual({ kind: 'ask', prompt: { kind: 'passphrase', keyFile: '/home/u/.ssh/id_ed25519', echo: false } });
    expect(askpassQuestion("u@10.0.0.1's password: ", '')).toEqual({ kind: 'ask', prompt: { kind: 'password', prompt: "u@10.0.0.1's password: ", echo: false } });
    expect(askpassQuestion('(u@login.hpc) Verification code: ', '')).toEqual({ kind: 'ask', prompt: { kind: 'server', prompt: 'Verification code: ', echo: false } });
    expect(askpassQuestion('Enter PIN for ED25519-SK key /k: ', '')).toMatchObject({ kind: 'ask', prompt: { kind: 'server', prompt: 'Enter PIN for ED25519-SK key /k: ' } });
    expect(askpassQuestion('Confirm user presence for key ED25519-SK SHA256:x', 'none')).toEqual({ kind: 'notice', message: 'Confirm user presence for key ED25519-SK SHA256:x' });
    expect(askpassQuestion('Are you sure you want to continue connecting (yes/no/[fingerprint])? ', '').kind).toBe('refuse');
    expect(askpassQuestion('Allow shared connection to h? ', 'confirm').kind).toBe('refuse');
  });

  it('carries the answer from the agent to ssh over its private socket and stdout only', async () => {
    const d = mkdtempSync(join(dir, 'ap-'));
    const seen: AskpassQuestion[] = [];
    const server = await startAskpass(d, async (q) => (seen.push(q), q.kind === 'ask' ? 's3cret answer' : null));
    try {
      expect(statSync(join(d, 'askpass.sock')).mode & 0o777).toBe(0o600);
      expect(statSync(join(d, 'askpass')).mode & 0o777).toBe(0o700);
      const run = (prompt: string, hint?: string) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(server.env.SSH_ASKPASS, [prompt], { env: { PATH: process.env.PATH, ...server.env, ...(hint ? { SSH_ASKPASS_PROMPT: hint } : {}) } });
          let out = '';
          child.stdout.on('data', (x) => (out += x));
          child.on('close', (code) => resolve({ code, out }));
        });
      expect(await run('(u@h) Verification code: ')).toEqual({ code: 0, out: 's3cret answer\n' });
      // No answer: a failing exit, which ssh takes as cancelled.
      expect(await run('Are you sure you want to continue connecting (yes/no)? ')).toEqual({ code: 1, out: '' });
      expect(seen.map((q) => q.kind)).toEqual(['ask', 'refuse']);
    } finally {
      server.close();
    }
    // Without the agent listening, the helper gives no answer rather than hanging.
    const lone = spawn(join(d, 'askpass'), ['x: '], { env: { PATH: process.env.PATH, KTRAY_ASKPASS_SOCKET: join(d, 'askpass.sock'), KTRAY_ASKPASS_NODE: process.execPath } });
    expect(await new Promise((r) => lone.on('close', r))).toBe(1);
  });
});
