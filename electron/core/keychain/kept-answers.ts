// The keychain layer of the prompt path, for one login (one connection, with
// at most one retry): before a prompt is asked, an answer the user chose to
// keep is taken from the OS keychain instead; after a login that worked, what
// the user chose to keep is stored; an answer from the keychain that the
// server refused is removed and the user asked again. Only passwords and key
// passphrases are ever keepable (see keepableItem); the prompt path below
// (ssh-auth.ts, the terminal, the dialog) is unchanged by it.
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AuthAnswer, AuthPrompt } from '../../shared/types';
import type { HostProfile } from '../ssh/ssh-profile';
import { logger } from '../util/logger';
import type { Keychain, KeychainItem } from './keychain';

const log = logger('keychain');

/** An interactive client's prompt: its answer may carry the wish to keep it. */
export type AnswerPrompt = ((prompt: AuthPrompt) => Promise<AuthAnswer | null>) & { canAsk?: () => boolean };

/** The answer alone, for a path with no keychain layer (the OpenSSH transport's askpass). */
export function answersOnly(ask: AnswerPrompt): ((prompt: AuthPrompt) => Promise<string | null>) & { canAsk?: () => boolean } {
  const only = async (prompt: AuthPrompt) => {
    const got = await ask(prompt);
    return got === null || typeof got === 'string' ? got : got.answer;
  };
  return ask.canAsk ? Object.assign(only, { canAsk: () => ask.canAsk!() }) : only;
}

/**
 * A server prompt that asks for the account's password, decided from its words
 * alone and conservatively: "password" in it, and none of the words of a
 * one-time code, a token, a PIN, a second factor or a password change, neither
 * in the prompt nor in the exchange's name and instructions; and hidden (a
 * prompt the server lets echo is not a secret it treats as one).
 */
export function isPasswordPrompt(p: Pick<AuthPrompt, 'prompt' | 'name' | 'instructions' | 'echo'>): boolean {
  if (p.echo) return false;
  if (!/password/i.test(p.prompt ?? '')) return false;
  const words = `${p.prompt ?? ''} ${p.name ?? ''} ${p.instructions ?? ''}`;
  return !/code|token|otp|one[- ]?time|verif|\bpin\b|2fa|factor|duo|yubi|\bnew\b|again|retype|confirm|expired|change/i.test(words);
}

/** What in the keychain would hold this prompt's answer, or null when it is never kept. */
export function keepableItem(prompt: AuthPrompt, profile: Pick<HostProfile, 'alias' | 'user' | 'hostname' | 'port'>): KeychainItem | null {
  const kind = prompt.kind ?? 'passphrase';
  if (kind === 'passphrase') return prompt.keyFile ? { host: profile.alias, kind: 'passphrase', account: prompt.keyFile } : null;
  const account = `${profile.user}@${profile.hostname}:${profile.port}`;
  if (kind === 'password') return { host: profile.alias, kind: 'password', account };
  return isPasswordPrompt(prompt) ? { host: profile.alias, kind: 'password', account } : null;
}

const keyOf = (i: KeychainItem) => `${i.host}\0${i.kind}\0${i.account}`;

/** Whether `passphrase` opens the key in `keyFile` (a wrong kept one is found before it is used). */
async function opensKey(keyFile: string, passphrase: string): Promise<boolean> {
  const data = await readFile(keyFile).catch(() => null);
  if (!data) return true; // Not ours to judge: the key attempt will say what is wrong with the file.
  return !(ssh2.utils.parseKey(data, passphrase) instanceof Error);
}

/** Said once per agent run where no keychain can be used, then not again. */
const told = new WeakSet<Keychain>();

export class KeptAnswers {
  /** Answers taken from the keychain in the current attempt. */
  private readonly fromKeychain = new Map<string, { item: KeychainItem; answer: string }>();
  /** Answers typed that the user chose to keep, stored once the login works. */
  private readonly toKeep = new Map<string, { item: KeychainItem; answer: string }>();
  /** Answers typed in this login (to tell a changed password from the kept one). */
  private readonly typed = new Map<string, string>();
  /** Whether the user typed any answer (a code, say) in the current attempt. */
  private userAnswered = false;
  /** After a refusal: ask the user, not the keychain. */
  private bypass = false;
  /** Kept answers used in a failed attempt that may or may not have been the wrong one. */
  private readonly suspects = new Map<string, { item: KeychainItem; answer: string }>();

  constructor(private readonly keychain: Keychain | undefined) {}

  /** askPassphrase with the keychain before it. */
  wrap(ask: AnswerPrompt | undefined, profile: Pick<HostProfile, 'alias' | 'user' | 'hostname' | 'port'>): (prompt: AuthPrompt) => Promise<string | null> {
    return async (prompt) => {
      const item = this.keychain ? keepableItem(prompt, profile) : null;
      if (item && this.keychain) {
        const key = keyOf(item);
        if (this.fromKeychain.has(key)) {
          // Asked again in the same login: the server did not take the kept one.
          this.fromKeychain.delete(key);
          await this.forget(item, 'asked for again in the same login');
        } else if (!this.bypass) {
          const kept = await this.keychain.get(item).catch(() => null);
          if (kept !== null) {
            if (item.kind === 'passphrase' && !(await opensKey(item.account, kept))) {
              await this.forget(item, 'it does not open the key');
            } else {
              this.fromKeychain.set(key, { item, answer: kept });
              log.info(`${item.host}: the ${item.kind} for ${item.account} is taken from ${this.keychain.name}`);
              return kept;
            }
          }
        }
        const why = await this.keychain.unavailable().catch((e: Error) => e.message);
        if (why === null) prompt = { ...prompt, keep: { offered: true, keychain: this.keychain.name } };
        else if (!told.has(this.keychain)) {
          told.add(this.keychain);
          prompt = { ...prompt, keep: { offered: false, reason: `It cannot be kept in a keychain: ${why}.` } };
        }
      }
      if (!ask) return null;
      const got = await ask(prompt);
      if (got === null) return null;
      const answer = typeof got === 'string' ? got : got.answer;
      this.userAnswered = true;
      if (item) {
        this.typed.set(keyOf(item), answer);
        if (typeof got === 'object' && got.keep && prompt.keep?.offered) this.toKeep.set(keyOf(item), { item, answer });
      }
      return answer;
    };
  }

  /** The login worked: keep what the user chose to keep (replacing an older answer). */
  async succeeded(notice?: (message: string) => void): Promise<void> {
    if (!this.keychain) return;
    for (const { item, answer } of this.toKeep.values()) {
      try {
        await this.keychain.set(item, answer);
        log.info(`${item.host}: the ${item.kind} for ${item.account} is kept in ${this.keychain.name}`);
      } catch (err) {
        notice?.(`The ${item.kind} for ${item.host} was not kept: ${(err as Error).message}`);
      }
    }
    // A kept answer the user had to retype differently was the stale one.
    for (const [key, { item, answer }] of this.suspects) {
      const typed = this.typed.get(key);
      if (typed !== undefined && typed !== answer && !this.toKeep.has(key)) await this.forget(item, 'a different one got in');
    }
    this.toKeep.clear();
    this.fromKeychain.clear();
    this.suspects.clear();
    this.typed.clear();
  }

  /**
   * The login failed. Kept answers it used are removed when they alone were
   * refused (nothing typed in the same login could be the wrong one); either way
   * true means: try once more, asking the user instead of the keychain.
   */
  async failed(): Promise<boolean> {
    if (!this.keychain || this.bypass || this.fromKeychain.size === 0) return false;
    if (!this.userAnswered) {
      for (const { item } of this.fromKeychain.values()) await this.forget(item, 'the server refused it');
    } else {
      for (const [key, v] of this.fromKeychain) this.suspects.set(key, v);
    }
    this.fromKeychain.clear();
    this.toKeep.clear();
    this.typed.clear();
    this.userAnswered = false;
    this.bypass = true;
    return true;
  }

  private async forget(item: KeychainItem, why: string): Promise<void> {
    log.info(`${item.host}: the kept ${item.kind} for ${item.account} is removed from ${this.keychain!.name} (${why})`);
    await this.keychain!.remove(item).catch(() => undefined);
  }
}
