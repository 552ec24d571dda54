// The OpenSSH transport's prompts: its master runs with SSH_ASKPASS pointing at
// scripts/askpass.sh and SSH_ASKPASS_REQUIRE=force (OpenSSH 8.4 and later), so
// every question ssh would ask on a terminal (a key's passphrase, a password, a
// server's keyboard-interactive prompt, a security key's PIN) comes here over a
// unix socket in the host's private folder, and goes through the same path as
// the ssh2 transport's prompts (the CLI's terminal, the app's prompt window).
// ssh's own yes/no questions (a new host key) are never answered here: host
// keys are ssh's checking, as the user has it set.
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { AuthPrompt } from '../../shared/types';
import ASKPASS_SH from './scripts/askpass.sh';

/** What an askpass request asks for, from ssh's prompt text (readpass.c passes nothing else). */
export type AskpassQuestion =
  | { kind: 'ask'; prompt: Omit<AuthPrompt, 'host'> }
  /** ssh tells the user something and expects no answer (SSH_ASKPASS_PROMPT=none). */
  | { kind: 'notice'; message: string }
  /** Not ours to answer: a yes/no permission question, a new host key. */
  | { kind: 'refuse'; why: string };

/**
 * The question behind an askpass PROMPT, in the words of OpenSSH 9.2:
 * "Enter passphrase for key '%s': " (sshconnect2.c load_identity_file),
 * "%s@%s's password: " (userauth_passwd), "(%s@%s) PROMPT" for each
 * keyboard-interactive prompt (input_userauth_info_req), "Enter PIN for %s key
 * %s: " (a security key). ssh does not tell askpass whether a prompt may echo,
 * so every answer is typed hidden.
 */
export function askpassQuestion(prompt: string, hint: string): AskpassQuestion {
  if (hint === 'none') return { kind: 'notice', message: prompt.trim() };
  if (hint === 'confirm') return { kind: 'refuse', why: 'a yes/no question of ssh' };
  if (/continue connecting \(yes\/no/i.test(prompt) || /host key/i.test(prompt)) return { kind: 'refuse', why: 'a host key question (host keys are ssh\'s own checking)' };
  const key = /^Enter passphrase for (?:key )?'(.+)': $/.exec(prompt) ?? /^Enter passphrase for (?:key )?(.+?): $/.exec(prompt);
  if (key) return { kind: 'ask', prompt: { kind: 'passphrase', keyFile: key[1], echo: false } };
  if (/^\S+@\S+'s password: $/.test(prompt)) return { kind: 'ask', prompt: { kind: 'password', prompt, echo: false } };
  // ssh puts "(user@host) " before the server's own words.
  const ki = /^\([^()\s]+@[^()\s]+\) ([\s\S]*)$/.exec(prompt);
  return { kind: 'ask', prompt: { kind: 'server', prompt: ki ? ki[1] : prompt, echo: false } };
}

export interface AskpassServer {
  /** The environment the master runs with: SSH_ASKPASS and the socket. */
  env: Record<string, string>;
  close(): void;
}

/**
 * Listens on `dir`/askpass.sock (0600; `dir` is the host's 0700 private
 * folder) and writes the helper beside it. `answer` gets each question; null
 * means no answer (ssh takes that as cancelled).
 */
export async function startAskpass(dir: string, answer: (q: AskpassQuestion) => Promise<string | null>): Promise<AskpassServer> {
  const helper = join(dir, 'askpass');
  writeFileSync(helper, ASKPASS_SH, { mode: 0o700 });
  chmodSync(helper, 0o700);
  const socket = join(dir, 'askpass.sock');
  const server = net.createServer((conn) => {
    conn.setEncoding('utf8');
    let got = '';
    let asked = false;
    conn.on('error', () => {});
    conn.on('data', (d: string) => {
      got += d;
      const nl = got.indexOf('\n');
      if (nl < 0 || asked) return;
      asked = true;
      let req: { prompt?: unknown; hint?: unknown } = {};
      try {
        req = JSON.parse(got.slice(0, nl)) as typeof req;
      } catch {
        // Not our helper: no answer.
      }
      const q = askpassQuestion(typeof req.prompt === 'string' ? req.prompt : '', typeof req.hint === 'string' ? req.hint : '');
      answer(q).then(
        (a) => conn.end(`${JSON.stringify({ answer: a })}\n`),
        () => conn.end(`${JSON.stringify({ answer: null })}\n`),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  chmodSync(socket, 0o600);
  return {
    env: {
      SSH_ASKPASS: helper,
      SSH_ASKPASS_REQUIRE: 'force',
      KTRAY_ASKPASS_SOCKET: socket,
      KTRAY_ASKPASS_NODE: process.execPath,
    },
    close: () => server.close(),
  };
}
