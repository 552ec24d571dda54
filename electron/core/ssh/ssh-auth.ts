// Public-key authentication the way ssh does it (sshconnect2.c pubkey_prepare
// in OpenSSH 9.2): agent keys that are an IdentityFile first, then the agent's
// other keys unless IdentitiesOnly, then the IdentityFiles the agent does not
// hold, asking for a passphrase when a key is encrypted. What happened to each
// key is kept, so a failure can say exactly what was offered, and what not.
// Then, as ssh's PreferredAuthentications default has it, keyboard-interactive
// and password when the server offers them, every prompt asked through the
// same path as a passphrase (terminal or dialog) and never kept.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2, { type AuthHandlerMiddleware, type BaseAgent, type ParsedKey } from 'ssh2';
import { KtrayError } from '../../shared/errors';
import type { AuthPrompt } from '../../shared/types';
import type { HostProfile } from './ssh-profile';

/**
 * Asks the user; null: no answer. canAsk: whether anyone could answer now (a
 * terminal or window attached); absent means yes.
 */
export type PassphrasePrompt = ((prompt: AuthPrompt) => Promise<string | null>) & { canAsk?: () => boolean };

/** A password or keyboard-interactive exchange: the server's prompts (never the answers). */
interface InteractiveOutcome {
  method: 'password' | 'keyboard-interactive';
  prompts: string[];
  outcome: 'refused' | 'unanswered';
}

type FileOutcome =
  | { kind: 'missing' }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'not-a-key'; reason: string }
  | { kind: 'no-passphrase' }
  | { kind: 'wrong-passphrase' }
  | { kind: 'in-agent' }
  | { kind: 'offered'; keyType: string; certificate?: string };

type AgentOutcome =
  | { kind: 'none' }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'listed'; offered: number; skipped: number };

/** What authentication tried on one connection, for the words of its failure. */
export class AuthLog {
  agent: AgentOutcome = { kind: 'none' };
  readonly files = new Map<string, FileOutcome>();
  readonly failures: string[] = [];
  readonly interactive: InteractiveOutcome[] = [];

  get offered(): number {
    const files = [...this.files.values()].filter((o) => o.kind === 'offered').length;
    return files + (this.agent.kind === 'listed' ? this.agent.offered : 0);
  }
}

interface AuthOptions {
  profile: HostProfile;
  hostId: string;
  /** Filled with what was tried, for the error message. */
  log: AuthLog;
  /** Passphrases already typed this session, by key file. */
  passphrases: Map<string, string>;
  askPassphrase?: PassphrasePrompt;
}

type Method = Parameters<Parameters<AuthHandlerMiddleware>[2]>[0];
/** null: nothing to try from this one; 'probe': first learn which methods the server takes. */
type Attempt = (methodsLeft: string[] | null) => Promise<Method | null | 'probe'>;

export function authMethods(opts: AuthOptions): AuthHandlerMiddleware {
  const { profile, log } = opts;
  const attempts: Attempt[] = [];
  /** IdentityFiles whose key the agent offered: ssh does not offer them again from the file. */
  const viaAgent = new Set<string>();
  if (profile.identityAgent) {
    const socket = profile.identityAgent;
    attempts.push(async () => ({
      type: 'agent',
      username: profile.user,
      agent: new ChosenKeysAgent(ssh2.createAgent(socket), async (keys) => {
        const files = await identityPublicKeys(profile.identityFiles);
        const matching: ParsedKey[] = [];
        const others: ParsedKey[] = [];
        for (const key of keys) {
          const blob = key.getPublicSSH();
          const file = files.find((f) => f.blob.equals(blob));
          if (file) {
            matching.push(key);
            viaAgent.add(file.file);
          } else {
            others.push(key);
          }
        }
        const offer = profile.identitiesOnly ? matching : [...matching, ...others];
        log.agent = { kind: 'listed', offered: offer.length, skipped: keys.length - offer.length };
        return offer;
      }, (err) => {
        log.agent = { kind: 'unreachable', reason: err.message };
      }),
    }));
  }
  for (const file of profile.identityFiles) {
    attempts.push(async () => {
      if (viaAgent.has(file)) {
        log.files.set(file, { kind: 'in-agent' });
        return null;
      }
      return keyAttempt(file, opts);
    });
  }
  // As ssh does (sshconnect2.c userauth_kbdint, userauth_passwd): each method asked up to
  // NumberOfPasswordPrompts times, again only after a refusal (not after a prompt nobody answered).
  for (const method of ['keyboard-interactive', 'password'] as const) {
    for (let n = 0; n < profile.numberOfPasswordPrompts; n++) {
      attempts.push((left) => {
        if (n === 0) return interactiveAttempt(method, left, opts, false);
        const last = log.interactive.filter((i) => i.method === method).at(-1);
        return last?.outcome === 'refused' ? interactiveAttempt(method, left, opts, true) : Promise.resolve(null);
      });
    }
  }
  let index = 0;
  let probed = false;
  let pending: InteractiveOutcome | null = null;
  return (methodsLeft, _partial, next) => {
    // Called again: what was just sent did not get us in.
    if (pending) log.interactive.push(pending);
    pending = null;
    const step = (): void => {
      const attempt = attempts[index++];
      if (!attempt) {
        (next as unknown as (v: false) => void)(false);
        return;
      }
      attempt(methodsLeft ?? null).then(
        (method) => {
          if (method === 'probe') {
            if (probed) return step();
            // ssh starts with "none" for the list; ssh2 gives it to the next call of this handler.
            probed = true;
            index--;
            return next({ type: 'none', username: profile.user });
          }
          if (method && typeof method === 'object' && (method.type === 'password' || method.type === 'keyboard-interactive')) {
            pending = (method as unknown as { outcome: InteractiveOutcome }).outcome;
          }
          return method ? next(method) : step();
        },
        (err: unknown) => {
          log.failures.push(err instanceof Error ? err.message : String(err));
          step();
        },
      );
    };
    step();
  };
}

/** Shown above a keyboard-interactive prompt asked again after the server refused the answers. */
export const REFUSED_AGAIN = 'That was refused; try again.';

/**
 * keyboard-interactive or password, if the server takes it: each prompt asked
 * through askPassphrase; an unanswered one (no terminal or window, or
 * cancelled) ends the attempt. The outcome rides on the method for the log.
 */
async function interactiveAttempt(
  method: 'password' | 'keyboard-interactive',
  methodsLeft: string[] | null,
  opts: AuthOptions,
  again: boolean,
): Promise<Method | null | 'probe'> {
  if (methodsLeft === null) return 'probe';
  if (!methodsLeft.includes(method)) return null;
  const { profile, log } = opts;
  const ask = (p: Omit<AuthPrompt, 'host'>) => (opts.askPassphrase ? opts.askPassphrase({ host: opts.hostId, ...p }) : Promise.resolve(null));
  const outcome: InteractiveOutcome = { method, prompts: [], outcome: 'refused' };
  if (method === 'password') {
    const prompt = `${profile.user}@${profile.hostname}'s password: `;
    outcome.prompts.push('password');
    // ssh's own words when it asks again.
    const password = await ask({ kind: 'password', prompt, echo: false, ...(again ? { instructions: 'Permission denied, please try again.' } : {}) });
    if (password === null) {
      log.interactive.push({ ...outcome, outcome: 'unanswered' });
      return null;
    }
    return Object.assign({ type: 'password' as const, username: profile.user, password }, { outcome });
  }
  return Object.assign(
    {
      type: 'keyboard-interactive' as const,
      username: profile.user,
      prompt: (name: string, instructions: string, _lang: string, prompts: { prompt: string; echo?: boolean }[], finish: (answers: string[]) => void) => {
        void (async () => {
          const answers: string[] = [];
          for (const p of prompts) {
            outcome.prompts.push(p.prompt.trim());
            const said = again ? [REFUSED_AGAIN, instructions].filter((t) => t?.trim()).join('\n') : instructions;
            const answer = outcome.outcome === 'unanswered' ? null : await ask({ kind: 'server', prompt: p.prompt, name, instructions: said, echo: Boolean(p.echo) });
            if (answer === null) outcome.outcome = 'unanswered';
            answers.push(answer ?? '');
          }
          finish(answers);
        })();
      },
    },
    { outcome },
  );
}

/**
 * An agent that offers only the keys `choose` picks, in its order (ssh2's
 * agent auth offers every key getIdentities returns, ssh2 lib/client.js
 * tryNextAgentKey). An agent that cannot be reached offers none, as ssh goes
 * on without it; ssh2 would emit a connection error instead (lib/client.js,
 * the 'agent' case of doNextAuth, in 1.17.0).
 */
class ChosenKeysAgent extends ssh2.BaseAgent<ParsedKey> {
  constructor(
    private readonly inner: BaseAgent,
    private readonly choose: (keys: ParsedKey[]) => Promise<ParsedKey[]>,
    private readonly unreachable: (err: Error) => void,
  ) {
    super();
  }

  getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    this.inner.getIdentities((err, keys) => {
      if (err || !keys) {
        this.unreachable(err ?? new Error('no answer'));
        cb(undefined, []);
        return;
      }
      const parsed = keys.flatMap((k) => {
        const p = typeof k === 'object' && 'getPublicSSH' in k ? k : ssh2.utils.parseKey(k as Buffer);
        return p instanceof Error ? [] : [Array.isArray(p) ? p[0] : p];
      });
      this.choose(parsed).then(
        (chosen) => cb(undefined, chosen),
        (e: Error) => cb(e),
      );
    });
  }

  sign(pubKey: ParsedKey, data: Buffer, options: unknown, cb?: (err: Error | undefined, signature?: Buffer) => void): void {
    (this.inner.sign as (...a: unknown[]) => void)(pubKey, data, options, cb);
  }
}

/**
 * The public half of each IdentityFile as ssh finds it (authfile.c
 * sshkey_load_public): the file itself if it is a public key, else FILE.pub,
 * else the public key an OpenSSH-format private key carries in clear, even
 * when encrypted, else the key itself when it is not encrypted.
 */
async function identityPublicKeys(files: string[]): Promise<{ file: string; blob: Buffer }[]> {
  const found = await Promise.all(files.map(async (file) => ({ file, blob: await publicKeyOf(file) })));
  return found.filter((f): f is { file: string; blob: Buffer } => f.blob !== null);
}

async function publicKeyOf(file: string): Promise<Buffer | null> {
  const read = (f: string) => readFile(f).catch(() => null);
  const own = await read(file);
  const asPublic = (data: Buffer | null) => {
    if (!data) return null;
    const k = ssh2.utils.parseKey(data);
    if (k instanceof Error) return null;
    const key = Array.isArray(k) ? k[0] : k;
    return key.isPrivateKey() ? null : key.getPublicSSH();
  };
  const pub = asPublic(own) ?? asPublic(await read(`${file}.pub`));
  if (pub) return pub;
  if (!own) return null;
  const fromHeader = openSshPublicKey(own);
  if (fromHeader) return fromHeader;
  const k = ssh2.utils.parseKey(own);
  return k instanceof Error ? null : (Array.isArray(k) ? k[0] : k).getPublicSSH();
}

/** The first public key of an `openssh-key-v1` private key file (PROTOCOL.key in OpenSSH). */
export function openSshPublicKey(data: Buffer): Buffer | null {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(data.toString('latin1'));
  if (!m) return null;
  const blob = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  const magic = Buffer.from('openssh-key-v1\0', 'latin1');
  if (blob.length < magic.length || !blob.subarray(0, magic.length).equals(magic)) return null;
  let p = magic.length;
  const string = (): Buffer | null => {
    if (p + 4 > blob.length) return null;
    const len = blob.readUInt32BE(p);
    if (p + 4 + len > blob.length) return null;
    const s = blob.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    return s;
  };
  // ciphername, kdfname, kdfoptions, then the number of keys and the first public key.
  if (!string() || !string() || !string() || p + 4 > blob.length) return null;
  if (blob.readUInt32BE(p) < 1) return null;
  p += 4;
  return string();
}

async function keyAttempt(file: string, opts: AuthOptions): Promise<Method | null> {
  const { log } = opts;
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    log.files.set(file, code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable', reason: code ?? (err as Error).message });
    return null;
  }
  let parsed = ssh2.utils.parseKey(data);
  // ssh2 says a key is encrypted only in its error's words ("Encrypted ... key detected, but no
  // passphrase given": lib/protocol/keyParser.js lines 496, 848, 1047 in 1.17.0); no code to test.
  if (parsed instanceof Error && /passphrase|encrypted/i.test(parsed.message)) {
    const encrypted = parsed;
    // As ssh does (sshconnect2.c load_identity_file): a wrong passphrase is asked again, saying
    // so, up to NumberOfPasswordPrompts times; one kept from earlier this session is tried first.
    let passphrase = opts.passphrases.get(file) ?? null;
    let wrong = 0;
    for (;;) {
      if (passphrase === null && opts.askPassphrase && wrong < Math.max(1, opts.profile.numberOfPasswordPrompts)) {
        passphrase = await opts.askPassphrase({
          host: opts.hostId,
          kind: 'passphrase',
          keyFile: file,
          ...(wrong ? { instructions: 'Wrong passphrase; try again.' } : {}),
        });
        if (passphrase === null) break;
      }
      if (passphrase === null) break;
      parsed = ssh2.utils.parseKey(data, passphrase);
      if (!(parsed instanceof Error)) break;
      opts.passphrases.delete(file);
      passphrase = null;
      parsed = encrypted;
      wrong++;
    }
    if (passphrase === null) {
      log.files.set(file, wrong ? { kind: 'wrong-passphrase' } : { kind: 'no-passphrase' });
      return null;
    }
    opts.passphrases.set(file, passphrase);
  }
  if (parsed instanceof Error) {
    log.files.set(file, { kind: 'not-a-key', reason: parsed.message });
    return null;
  }
  const key: ParsedKey = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key.isPrivateKey()) {
    log.files.set(file, { kind: 'not-a-key', reason: 'it is a public key' });
    return null;
  }
  // ssh offers FILE-cert.pub with its key; ssh2 cannot (Protocol.authPK in 1.17.0 writes the
  // certificate's algorithm name into the signature too), so the key goes alone, and a failure says so.
  const certificate = `${file}-cert.pub`;
  const hasCert = await readFile(certificate).then(() => true, () => false);
  log.files.set(file, { kind: 'offered', keyType: key.type, ...(hasCert ? { certificate } : {}) });
  return { type: 'publickey', username: opts.profile.user, key };
}

/** The error for a server that accepted none of what was offered, or for nothing to offer. */
export function authFailure(profile: HostProfile, hostId: string, via: string, log: AuthLog): KtrayError {
  const where = `${profile.user}@${profile.hostname}:${profile.port}`;
  const notes: string[] = [];
  const todo: string[] = [];

  const a = log.agent;
  if (!profile.identityAgent) {
    notes.push(`no ssh-agent (${profile.identityAgentOff === 'none' ? 'IdentityAgent none' : 'SSH_AUTH_SOCK is not set'})`);
  } else if (a.kind === 'unreachable') {
    notes.push(`ssh-agent at ${profile.identityAgent} cannot be reached (${a.reason.replace(/\.$/, '')})`);
    todo.push(`Start ssh-agent, or point IdentityAgent (or SSH_AUTH_SOCK) at a running one`);
  } else if (a.kind === 'listed') {
    const total = a.offered + a.skipped;
    if (total === 0) {
      notes.push(`ssh-agent at ${profile.identityAgent} holds no keys (\`ssh-add\` adds one)`);
    } else {
      const parts: string[] = [];
      if (a.offered) parts.push(`${a.offered} ${a.offered === 1 ? 'key' : 'keys'} refused`);
      if (a.skipped) parts.push(`${a.skipped} ${a.skipped === 1 ? 'key' : 'keys'}, not offered (IdentitiesOnly yes)`);
      notes.push(`ssh-agent at ${profile.identityAgent}: ${parts.join(', ')}`);
    }
  }

  const missingDefaults: string[] = [];
  for (const file of profile.identityFiles) {
    const o = log.files.get(file);
    if (!o) continue;
    switch (o.kind) {
      case 'missing':
        if (profile.identityFilesDefault) missingDefaults.push(file);
        else notes.push(`${file} (not found)`);
        break;
      case 'unreadable':
        notes.push(`${file} (cannot be read: ${o.reason})`);
        todo.push(`Check that ${file} is a file you can read`);
        break;
      case 'not-a-key':
        notes.push(`${file} (not a key Kernel Tray can read: ${o.reason.replace(/\.$/, '')})`);
        break;
      case 'no-passphrase':
        notes.push(`${file} (encrypted; no passphrase given: load it into ssh-agent with \`ssh-add ${file}\` or run ktray in a terminal)`);
        break;
      case 'wrong-passphrase':
        notes.push(`${file} (wrong passphrase)`);
        break;
      case 'in-agent':
        notes.push(`${file} (its key in ssh-agent, refused)`);
        break;
      case 'offered':
        notes.push(
          o.certificate
            ? `${file} (${o.keyType}, refused; its certificate ${o.certificate} was not offered: ssh2 cannot sign with OpenSSH certificates; \`ktray hosts ${hostId} --transport auto\` lets your ssh do it)`
            : `${file} (${o.keyType}, refused)`,
        );
        break;
    }
  }
  if (missingDefaults.length && missingDefaults.length === profile.identityFiles.length) {
    const dir = dirname(missingDefaults[0]);
    notes.push(`no key file in ${dir} (${missingDefaults.map((f) => f.slice(dir.length + 1)).join(', ')})`);
  }
  for (const f of log.failures) notes.push(`an attempt that failed: ${f}`);
  const asked = log.interactive;
  const refusedNow = asked.filter((i) => i.outcome === 'refused');
  if (refusedNow.length) notes.push(`${refusedWords(refusedNow)}: refused`);
  for (const i of asked.filter((x) => x.outcome !== 'refused')) {
    const what = i.prompts.length ? ` (${i.prompts.join(', ')})` : '';
    notes.push(`${i.method}${what}: not answered (no terminal or window to ask in, or cancelled)`);
  }
  const refusedAnswers = asked.filter((i) => i.outcome === 'refused');
  if (refusedAnswers.length) todo.push('Check what you typed and try again; a one-time code is asked afresh each time');
  else if (asked.length) todo.push(`Run the command in a terminal (or use the app) to answer ${profile.alias}'s prompts, or load a key it accepts into ssh-agent`);

  const noKey = log.offered === 0;
  if (asked.length) {
    // The server asked for typed answers: a key is one way out, not the thing to fix.
  } else if (noKey) {
    const nothingAtAll = [...log.files.values()].every((o) => o.kind === 'missing') && !(a.kind === 'listed' && a.offered + a.skipped > 0);
    if (nothingAtAll) {
      todo.push(`Create a key with \`ssh-keygen -t ed25519\` and add its .pub to ~/.ssh/authorized_keys on ${profile.hostname}, or set IdentityFile for ${profile.alias} in your ssh config`);
    }
  } else {
    todo.push(`Add your public key to ~/.ssh/authorized_keys on ${profile.hostname}, or set IdentityFile for ${profile.alias} in your ssh config`);
  }
  return new KtrayError({
    code: 'AUTH_FAILED',
    host: hostId,
    message: refusedAnswers.length
      ? `${profile.alias}${via} (${where}) refused what was typed for ${refusedWords(refusedAnswers)}.`
      : asked.length
        ? `${profile.alias}${via} (${where}) asks for ${asked.map((i) => i.method).join(' or ')}, and nothing answered its prompts.`
        : noKey
          ? `${profile.alias}${via} (${where}): Kernel Tray had no key to offer.`
          : `${profile.alias}${via} (${where}) refused every key Kernel Tray offered.`,
    hint: `${noKey && !asked.length ? 'Looked at' : 'Tried'}: ${notes.join('; ') || 'nothing'}.${todo.length ? ` ${todo.join('. ')}.` : ''}`,
  });
}

/** "password (password) 3 times and keyboard-interactive (Password:, Verification code:)": each method once, with how often. */
export function refusedWords(refused: { method: string; prompts: string[] }[]): string {
  const groups = new Map<string, number>();
  for (const i of refused) {
    const key = `${i.method}${i.prompts.length ? ` (${[...new Set(i.prompts)].join(', ')})` : ''}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([k, n]) => (n > 1 ? `${k} ${n} times` : k)).join(' and ');
}
