// Key passphrases the user chose to remember: encrypted with the OS keychain
// through safeStorage and kept in a store of their own, never in the settings
// file and never in plain text. Where no keychain exists, nothing is saved.
import type Conf from 'conf';
import type { Options as ConfOptions } from 'conf';
import type { SafeStorage } from 'electron';
import { KtrayError } from '../shared/errors';
import { currentPlatform, type Platform } from './platform';

export type SecretsFile = {
  /** Absolute key file path -> base64 of safeStorage.encryptString(passphrase). */
  passphrases: Record<string, string>;
};

export function secretsStoreOptions(): ConfOptions<SecretsFile> & { name: string } {
  return {
    name: 'secrets',
    defaults: { passphrases: {} },
    schema: {
      passphrases: { type: 'object', additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' } },
    } as ConfOptions<SecretsFile>['schema'],
    // Key file paths contain dots; they are keys, not property paths.
    accessPropertiesByDotNotation: false,
    configFileMode: 0o600,
  };
}

export type Availability = { ok: true } | { ok: false; reason: string };

export interface SecretsOptions {
  store: Conf<SecretsFile>;
  safeStorage: Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'>;
  platform?: Platform;
}

export class Secrets {
  private readonly platform: Platform;

  constructor(private readonly o: SecretsOptions) {
    this.platform = o.platform ?? currentPlatform();
  }

  /** Whether a passphrase could be saved here, and if not, why, in words for the user. */
  availability(): Availability {
    if (!this.o.safeStorage.isEncryptionAvailable()) {
      return { ok: false, reason: 'No OS keychain is available to encrypt it (safeStorage reports no encryption).' };
    }
    // Without Secret Service or KWallet, Chromium "encrypts" with a fixed, public key.
    if (this.platform === 'linux' && this.o.safeStorage.getSelectedStorageBackend() === 'basic_text') {
      return {
        ok: false,
        reason: 'No Secret Service or KWallet keyring is running, so it could only be stored with a fixed key, which is no better than plain text.',
      };
    }
    return { ok: true };
  }

  savePassphrase(keyFile: string, passphrase: string): void {
    const a = this.availability();
    if (!a.ok) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        message: `The passphrase for ${keyFile} was not saved. ${a.reason}`,
        hint: 'It will be asked for again next time; ssh-agent can hold it for the session instead.',
      });
    }
    const cipher = this.o.safeStorage.encryptString(passphrase).toString('base64');
    this.o.store.set('passphrases', { ...this.all(), [keyFile]: cipher });
  }

  /** The saved passphrase, or null when none is saved or it cannot be decrypted any more. */
  passphrase(keyFile: string): string | null {
    const cipher = this.all()[keyFile];
    if (!cipher || !this.availability().ok) return null;
    try {
      return this.o.safeStorage.decryptString(Buffer.from(cipher, 'base64'));
    } catch {
      // The keychain changed (new login keyring, other machine): ask the user instead.
      return null;
    }
  }

  has(keyFile: string): boolean {
    return keyFile in this.all();
  }

  /** Forgets each of these key files' passphrases; returns how many were kept. */
  forgetAll(keyFiles: readonly string[]): number {
    const all = this.all();
    const gone = keyFiles.filter((f) => f in all);
    if (gone.length === 0) return 0;
    for (const f of gone) delete all[f];
    this.o.store.set('passphrases', all);
    return gone.length;
  }

  forget(keyFile: string): void {
    const { [keyFile]: _gone, ...rest } = this.all();
    this.o.store.set('passphrases', rest);
  }

  private all(): Record<string, string> {
    return { ...(this.o.store.get('passphrases') ?? {}) };
  }
}
